//! The HTTP API: the parts of Alertmanager's v2 API that Prometheus,
//! `amtool`-like clients and dashboards use.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::alert::{
    Alert, StoredAlert, ZERO_TIME, fingerprint_hex, format_time, label_set_order, parse_time,
    presentation_order,
};
use super::matcher::{Matcher, matches_all, parse_matchers};
use super::notifier::Notifier;
use super::silence::{Silence, SilenceError, SilenceMatcher, SilenceRequest, SilenceState};

type Shared = State<Arc<Notifier>>;

pub(super) fn router(n: Arc<Notifier>) -> Router {
    Router::new()
        .route("/api/v2/alerts", get(get_alerts).post(post_alerts))
        .route("/api/v2/alerts/groups", get(get_alert_groups))
        .route("/api/v2/silences", get(get_silences).post(post_silence))
        .route(
            "/api/v2/silence/{id}",
            get(get_silence).delete(delete_silence),
        )
        .route("/api/v2/receivers", get(get_receivers))
        .route("/api/v2/status", get(get_status))
        .with_state(n)
}

fn json_error(code: StatusCode, message: String) -> Response {
    let body = serde_json::json!({ "code": code.as_u16(), "message": message });
    (code, Json(body)).into_response()
}

fn text_error(code: StatusCode, message: String) -> Response {
    (code, message).into_response()
}

/// Query parameters in order; repeated keys (several `filter`s) allowed.
fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

fn filters(pairs: &[(String, String)]) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "filter") {
        out.extend(parse_matchers(v).map_err(|e| format!("bad filter {v:?}: {e}"))?);
    }
    Ok(out)
}

fn flag(pairs: &[(String, String)], name: &str) -> Result<bool, String> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
    {
        None => Ok(true),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(format!("{name}: expected true or false, got {other:?}")),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertStatus {
    state: &'static str,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
    muted_by: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Named {
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: String,
    updated_at: String,
    receivers: Vec<Named>,
    status: AlertStatus,
}

/// The filters `/api/v2/alerts` and `/api/v2/alerts/groups` share.
struct AlertQuery {
    matchers: Vec<Matcher>,
    receiver: Option<Regex>,
    active: bool,
    silenced: bool,
    inhibited: bool,
}

impl AlertQuery {
    fn parse(pairs: &[(String, String)]) -> Result<Self, String> {
        let matchers = filters(pairs)?;
        let receiver = match pairs.iter().find(|(k, _)| k == "receiver") {
            Some((_, r)) => Some(
                Regex::new(&format!("^(?:{r})$"))
                    .map_err(|e| format!("bad receiver regex: {e}"))?,
            ),
            None => None,
        };
        // `unprocessed` is accepted for compatibility; every alert held is
        // processed on receipt, so it never filters anything.
        flag(pairs, "unprocessed")?;
        Ok(Self {
            matchers,
            receiver,
            active: flag(pairs, "active")?,
            silenced: flag(pairs, "silenced")?,
            inhibited: flag(pairs, "inhibited")?,
        })
    }

    /// Whether an unresolved alert with this mute status is listed.
    fn admits(
        &self,
        labels: &BTreeMap<String, String>,
        silenced_by: &[String],
        inhibited_by: &[u64],
    ) -> bool {
        let muted = !silenced_by.is_empty() || !inhibited_by.is_empty();
        (muted || self.active)
            && (silenced_by.is_empty() || self.silenced)
            && (inhibited_by.is_empty() || self.inhibited)
            && matches_all(&self.matchers, labels)
    }

    fn receiver_matches(&self, name: &str) -> bool {
        self.receiver.as_ref().is_none_or(|re| re.is_match(name))
    }
}

fn gettable_alert(
    a: &StoredAlert,
    receivers: impl IntoIterator<Item = String>,
    silenced_by: &[String],
    inhibited_by: &[u64],
) -> GettableAlert {
    let muted = !silenced_by.is_empty() || !inhibited_by.is_empty();
    GettableAlert {
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        starts_at: format_time(a.starts_at),
        ends_at: format_time(a.ends_at),
        generator_url: a.generator_url.clone(),
        fingerprint: fingerprint_hex(a.fingerprint),
        updated_at: format_time(a.updated_at),
        receivers: receivers.into_iter().map(|name| Named { name }).collect(),
        status: AlertStatus {
            state: if muted { "suppressed" } else { "active" },
            silenced_by: silenced_by.to_vec(),
            inhibited_by: inhibited_by.iter().copied().map(fingerprint_hex).collect(),
            muted_by: Vec::new(),
        },
    }
}

async fn get_alerts(State(n): Shared, RawQuery(q): RawQuery) -> Response {
    let query = match AlertQuery::parse(&query_pairs(q.as_deref())) {
        Ok(query) => query,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    let now = n.clock.now_ms();
    let core = n.core.lock();
    let status = core.mute_status(now);
    let mut out = Vec::new();
    for (fp, (silenced_by, inhibited_by)) in &status {
        let Some(h) = core.alerts.get(fp) else {
            continue;
        };
        if !query.admits(&h.alert.labels, silenced_by, inhibited_by)
            || (query.receiver.is_some() && !h.receivers.iter().any(|r| query.receiver_matches(r)))
        {
            continue;
        }
        out.push(gettable_alert(
            &h.alert,
            h.receivers.iter().cloned(),
            silenced_by,
            inhibited_by,
        ));
    }
    Json(out).into_response()
}

#[derive(Debug, Serialize)]
struct AlertGroupView {
    labels: BTreeMap<String, String>,
    receiver: Named,
    alerts: Vec<GettableAlert>,
}

/// One entry per aggregation group with unresolved alerts passing the
/// filters. The receiver filter selects groups by their route's receiver,
/// and an alert's `receivers` are those of the listed groups holding it.
async fn get_alert_groups(State(n): Shared, RawQuery(q): RawQuery) -> Response {
    let query = match AlertQuery::parse(&query_pairs(q.as_deref())) {
        Ok(query) => query,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    let now = n.clock.now_ms();
    let core = n.core.lock();
    let status = core.mute_status(now);
    let mut listed = Vec::new();
    let mut receivers: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for (id, g) in &core.groups {
        let receiver = g.receiver.as_deref().unwrap_or_default();
        if !query.receiver_matches(receiver) {
            continue;
        }
        // Resolved alerts have no mute status and are left out.
        let mut alerts: Vec<&StoredAlert> = g
            .alerts
            .values()
            .filter(|a| {
                status
                    .get(&a.fingerprint)
                    .is_some_and(|(s, i)| query.admits(&a.labels, s, i))
            })
            .collect();
        if alerts.is_empty() {
            continue;
        }
        alerts.sort_by(|a, b| presentation_order(a, b));
        // Without any receivers configured the group still shows, but, as
        // in `/api/v2/alerts`, its alerts name no receiver.
        if g.receiver.is_some() {
            for a in &alerts {
                receivers.entry(a.fingerprint).or_default().insert(receiver);
            }
        }
        listed.push((id, g, receiver, alerts));
    }
    // Alertmanager's order (group labels, then receiver), made total by the
    // route and group key.
    listed.sort_by(|(ia, a, ra, _), (ib, b, rb, _)| {
        label_set_order(&a.labels, &b.labels)
            .then_with(|| ra.cmp(rb))
            .then_with(|| ia.cmp(ib))
    });
    let out: Vec<AlertGroupView> = listed
        .into_iter()
        .map(|(_, g, receiver, alerts)| AlertGroupView {
            labels: g.labels.clone(),
            receiver: Named {
                name: receiver.to_string(),
            },
            alerts: alerts
                .into_iter()
                .map(|a| {
                    let (silenced_by, inhibited_by) = status
                        .get(&a.fingerprint)
                        .map(|(s, i)| (s.as_slice(), i.as_slice()))
                        .unwrap_or_default();
                    let names = receivers
                        .get(&a.fingerprint)
                        .into_iter()
                        .flatten()
                        .map(|r| r.to_string());
                    gettable_alert(a, names, silenced_by, inhibited_by)
                })
                .collect(),
        })
        .collect();
    Json(out).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

fn to_alert(p: PostableAlert) -> Result<Alert, String> {
    let time = |s: Option<String>| match s.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => parse_time(s),
        None => Ok(None),
    };
    Ok(Alert {
        labels: p.labels,
        annotations: p.annotations.unwrap_or_default(),
        starts_at: time(p.starts_at)?.unwrap_or(0),
        ends_at: time(p.ends_at)?,
        generator_url: p.generator_url.unwrap_or_default(),
    })
}

async fn post_alerts(State(n): Shared, body: Bytes) -> Response {
    let posted: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("invalid alerts: {e}")),
    };
    let mut alerts = Vec::with_capacity(posted.len());
    let mut errors = Vec::new();
    for p in posted {
        match to_alert(p) {
            Ok(a) => alerts.push(a),
            Err(e) => errors.push(e),
        }
    }
    // Valid alerts are kept even when others in the batch are rejected.
    errors.extend(n.ingest(alerts));
    if errors.is_empty() {
        StatusCode::OK.into_response()
    } else {
        json_error(StatusCode::BAD_REQUEST, errors.join("; "))
    }
}

#[derive(Debug, Serialize)]
struct SilenceStatus {
    state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence {
    id: String,
    status: SilenceStatus,
    updated_at: String,
    matchers: Vec<SilenceMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

fn gettable(s: &Silence, now: i64) -> GettableSilence {
    GettableSilence {
        id: s.id.clone(),
        status: SilenceStatus {
            state: s.state(now).as_str(),
        },
        updated_at: format_time(s.updated_at),
        matchers: s.matchers.clone(),
        starts_at: format_time(s.starts_at),
        ends_at: format_time(s.ends_at),
        created_by: s.created_by.clone(),
        comment: s.comment.clone(),
    }
}

/// Alertmanager lists a silence for a filter only if the silence has a
/// matcher identical to each filter matcher: `job=~"web|api"` finds the
/// silence with exactly that matcher, and `job=~"w.*"` does not find one
/// with `job="web"`.
fn same_matcher(filter: &Matcher, m: &SilenceMatcher) -> bool {
    filter.name == m.name && filter.op == m.op() && filter.value == m.value
}

async fn get_silences(State(n): Shared, RawQuery(q): RawQuery) -> Response {
    let ms = match filters(&query_pairs(q.as_deref())) {
        Ok(ms) => ms,
        Err(e) => return text_error(StatusCode::BAD_REQUEST, e),
    };
    let now = n.clock.now_ms();
    let core = n.core.lock();
    let mut list: Vec<&Silence> = core
        .silences
        .iter()
        .filter(|s| {
            ms.iter()
                .all(|f| s.matchers.iter().any(|m| same_matcher(f, m)))
        })
        .collect();
    // Active first (ending soonest first), then pending (starting soonest
    // first), then expired (most recently ended first).
    list.sort_by_key(|s| match s.state(now) {
        SilenceState::Active => (0, s.ends_at),
        SilenceState::Pending => (1, s.starts_at),
        SilenceState::Expired => (2, s.ends_at.saturating_neg()),
    });
    let out: Vec<GettableSilence> = list.into_iter().map(|s| gettable(s, now)).collect();
    Json(out).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<SilenceMatcher>,
    starts_at: String,
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

async fn post_silence(State(n): Shared, body: Bytes) -> Response {
    let p: PostableSilence = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return text_error(StatusCode::BAD_REQUEST, format!("invalid silence: {e}")),
    };
    let times = parse_time(&p.starts_at).and_then(|s| Ok((s, parse_time(&p.ends_at)?)));
    let (starts_at, ends_at) = match times {
        Ok((Some(s), Some(e))) => (s, e),
        Ok(_) => {
            return text_error(
                StatusCode::BAD_REQUEST,
                "startsAt and endsAt are required".into(),
            );
        }
        Err(e) => return text_error(StatusCode::BAD_REQUEST, e),
    };
    let req = SilenceRequest {
        id: p.id,
        matchers: p.matchers,
        starts_at,
        ends_at,
        created_by: p.created_by,
        comment: p.comment,
    };
    match n.upsert_silence(req) {
        Ok(id) => Json(serde_json::json!({ "silenceID": id })).into_response(),
        Err(e @ SilenceError::NotFound(_)) => text_error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => text_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn get_silence(State(n): Shared, Path(id): Path<String>) -> Response {
    let now = n.clock.now_ms();
    let core = n.core.lock();
    match core.silences.get(&id) {
        Some(s) => Json(gettable(s, now)).into_response(),
        None => text_error(StatusCode::NOT_FOUND, format!("silence {id} not found")),
    }
}

async fn delete_silence(State(n): Shared, Path(id): Path<String>) -> Response {
    match n.expire_silence(&id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e @ SilenceError::NotFound(_)) => text_error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => text_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IntegrationView {
    name: &'static str,
    index: usize,
    send_resolved: bool,
    last_notify_attempt: String,
    last_notify_attempt_duration: String,
    last_notify_attempt_error: String,
}

#[derive(Debug, Serialize)]
struct ReceiverView {
    name: String,
    integrations: Vec<IntegrationView>,
}

async fn get_receivers(State(n): Shared) -> Response {
    let core = n.core.lock();
    let out: Vec<ReceiverView> = core
        .cfg
        .receivers
        .iter()
        .map(|(name, r)| ReceiverView {
            name: name.clone(),
            integrations: r
                .integrations
                .iter()
                .map(|i| {
                    let st = core.status.get(&i.key());
                    let ms = st.map_or(0, |s| s.duration_ms);
                    IntegrationView {
                        name: i.name(),
                        index: i.index,
                        send_resolved: i.send_resolved,
                        last_notify_attempt: st
                            .map_or_else(|| ZERO_TIME.to_string(), |s| format_time(s.at)),
                        last_notify_attempt_duration: format!("{}.{:03}s", ms / 1000, ms % 1000),
                        last_notify_attempt_error: st.map(|s| s.error.clone()).unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect();
    Json(out).into_response()
}

async fn get_status(State(n): Shared) -> Response {
    let original = n.core.lock().cfg.original.clone();
    let body = serde_json::json!({
        "cluster": { "status": "disabled", "peers": [] },
        "versionInfo": {
            "version": "0.25.0",
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        },
        "config": { "original": original },
        "uptime": format_time(n.started_at),
    });
    Json(body).into_response()
}
