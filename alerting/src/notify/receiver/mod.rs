//! Receivers and their integrations: building them from the config,
//! the data a grouped notification carries, and the HTTP plumbing every
//! integration shares (auth headers, status classification).

mod alertmanager;
mod ntfy;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::alert::StoredAlert;
use super::config::{HttpConfig, ReceiverConfig};

pub(crate) use alertmanager::{AlertmanagerTarget, ForwardedAlert};
pub(crate) use ntfy::NtfyTarget;
pub(crate) use webhook::WebhookTarget;

/// What an integration does.
#[derive(Debug)]
pub(crate) enum Kind {
    Webhook(WebhookTarget),
    Ntfy(NtfyTarget),
    Alertmanager(AlertmanagerTarget),
}

/// One configured delivery target of a receiver.
#[derive(Debug)]
pub(crate) struct Integration {
    pub receiver: String,
    pub index: usize,
    pub send_resolved: bool,
    pub kind: Kind,
}

/// (receiver, integration type, index): identifies an integration across
/// reloads, in the notification log and in `/api/v2/receivers`.
pub(crate) type IntegrationKey = (String, &'static str, usize);

impl Integration {
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Webhook(_) => "webhook",
            Kind::Ntfy(_) => "ntfy",
            Kind::Alertmanager(_) => "alertmanager",
        }
    }

    pub fn key(&self) -> IntegrationKey {
        (self.receiver.clone(), self.name(), self.index)
    }

    /// Whether it receives grouped notifications (as opposed to ungrouped
    /// forwarding).
    pub fn grouped(&self) -> bool {
        !matches!(self.kind, Kind::Alertmanager(_))
    }

    /// Delivers a grouped notification.
    pub async fn notify(
        &self,
        client: &reqwest::Client,
        n: &Notification,
    ) -> Result<Outcome, SendError> {
        match &self.kind {
            Kind::Webhook(t) => t.send(client, self.send_resolved, n).await,
            Kind::Ntfy(t) => t.send(client, self.send_resolved, n).await,
            // Forwarding targets never get grouped notifications.
            Kind::Alertmanager(_) => Ok(Outcome::Skipped),
        }
    }
}

/// Integration type names, for initialising metrics.
pub(crate) const INTEGRATION_NAMES: [&str; 3] = ["webhook", "ntfy", "alertmanager"];

/// A receiver: a name and its integrations in config order.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub integrations: Vec<Arc<Integration>>,
}

impl Receiver {
    pub fn build(cfg: &ReceiverConfig) -> Result<Self, String> {
        let mut integrations = Vec::new();
        let mk = |index, send_resolved, kind| {
            Arc::new(Integration {
                receiver: cfg.name.clone(),
                index,
                send_resolved,
                kind,
            })
        };
        for (i, c) in cfg.webhook_configs.iter().enumerate() {
            let t = WebhookTarget::build(c).map_err(|e| format!("webhook_configs[{i}]: {e}"))?;
            integrations.push(mk(i, c.send_resolved, Kind::Webhook(t)));
        }
        for (i, c) in cfg.ntfy_configs.iter().enumerate() {
            let t = NtfyTarget::build(c).map_err(|e| format!("ntfy_configs[{i}]: {e}"))?;
            integrations.push(mk(i, c.send_resolved, Kind::Ntfy(t)));
        }
        for (i, c) in cfg.alertmanager_configs.iter().enumerate() {
            let t = AlertmanagerTarget::build(c)
                .map_err(|e| format!("alertmanager_configs[{i}]: {e}"))?;
            integrations.push(mk(i, c.send_resolved, Kind::Alertmanager(t)));
        }
        Ok(Self { integrations })
    }
}

/// Everything a grouped notification is rendered from.
#[derive(Debug)]
pub(crate) struct Notification {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    /// Unmuted alerts in presentation order.
    pub alerts: Vec<StoredAlert>,
    /// The flush time: alerts ended by then are resolved.
    pub now: i64,
    pub external_url: String,
}

impl Notification {
    /// The alerts an integration gets: resolved ones only with
    /// `send_resolved`.
    pub fn visible(&self, send_resolved: bool) -> Vec<&StoredAlert> {
        self.alerts
            .iter()
            .filter(|a| send_resolved || !a.resolved_at(self.now))
            .collect()
    }
}

/// A delivery that was made, or that had nothing to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Nothing left to send after filtering; no request was made.
    Skipped,
}

/// A failed delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendError {
    /// Worth trying again (network trouble, 429, 5xx).
    pub retryable: bool,
    /// Metric label: `clientError`, `serverError` or `other`.
    pub reason: &'static str,
    pub message: String,
}

/// The `Authorization` header an HTTP config asks for.
pub(crate) fn auth_header(cfg: Option<&HttpConfig>) -> Result<Option<HeaderValue>, String> {
    let Some(cfg) = cfg else {
        return Ok(None);
    };
    let set = [
        cfg.basic_auth.is_some(),
        cfg.authorization.is_some(),
        cfg.bearer_token.is_some(),
    ];
    if set.iter().filter(|b| **b).count() > 1 {
        return Err("at most one of basic_auth, authorization and bearer_token may be set".into());
    }
    let text = if let Some(b) = &cfg.basic_auth {
        Some(basic(&b.username, &b.password.0))
    } else if let Some(a) = &cfg.authorization {
        let scheme = a.auth_type.as_deref().unwrap_or("Bearer");
        if scheme.eq_ignore_ascii_case("basic") {
            return Err("authorization type cannot be Basic; use basic_auth".into());
        }
        Some(format!("{scheme} {}", a.credentials.0))
    } else {
        cfg.bearer_token.as_ref().map(|t| format!("Bearer {}", t.0))
    };
    text.map(|t| header_value(&t)).transpose()
}

pub(crate) fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub(crate) fn header_value(text: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(text)
        .map_err(|_| "credentials contain characters not allowed in a header".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// Checks a target URL: absolute http(s) with a host.
pub(crate) fn parse_http_url(raw: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(raw).map_err(|e| format!("invalid url: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("url must be an absolute http or https URL".into());
    }
    Ok(u)
}

/// Sends a prepared JSON POST and classifies the result.
/// Encodes `payload` as JSON and posts it.
pub(crate) async fn post_payload<T: serde::Serialize>(
    client: &reqwest::Client,
    url: &url::Url,
    auth: Option<&HeaderValue>,
    payload: &T,
) -> Result<(), SendError> {
    let body = serde_json::to_vec(payload).map_err(|e| SendError {
        retryable: false,
        reason: "other",
        message: format!("cannot encode payload: {e}"),
    })?;
    post_json(client, url, auth, body).await
}

pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &url::Url,
    auth: Option<&HeaderValue>,
    body: Vec<u8>,
) -> Result<(), SendError> {
    let mut req = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(a) = auth {
        req = req.header(AUTHORIZATION, a.clone());
    }
    let resp = req.send().await.map_err(|e| SendError {
        retryable: true,
        reason: "other",
        message: format!("request failed: {}", error_chain(&e)),
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(256).collect();
    let code = status.as_u16();
    Err(SendError {
        retryable: code == 429 || status.is_server_error(),
        reason: if status.is_client_error() {
            "clientError"
        } else if status.is_server_error() {
            "serverError"
        } else {
            "other"
        },
        message: format!("unexpected status code {code}: {}", snippet.trim()),
    })
}

/// The error and its causes on one line; reqwest's top-level message
/// alone ("error sending request") hides the useful part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// Labels (or annotations) shared with equal values by every alert.
pub(crate) fn common<'a>(
    alerts: &[&'a StoredAlert],
    pick: impl Fn(&'a StoredAlert) -> &'a BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let Some(first) = alerts.first() else {
        return BTreeMap::new();
    };
    let mut out = pick(first).clone();
    for a in alerts.iter().skip(1) {
        let other = pick(a);
        out.retain(|k, v| other.get(k) == Some(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::config::{Authorization, BasicAuth, Secret};

    #[test]
    fn auth_headers() {
        let basic_cfg = HttpConfig {
            basic_auth: Some(BasicAuth {
                username: "u".into(),
                password: Secret("p".into()),
            }),
            ..HttpConfig::default()
        };
        assert_eq!(
            auth_header(Some(&basic_cfg)).unwrap().unwrap(),
            "Basic dTpw"
        );
        let bearer = HttpConfig {
            bearer_token: Some(Secret("tok".into())),
            ..HttpConfig::default()
        };
        assert_eq!(auth_header(Some(&bearer)).unwrap().unwrap(), "Bearer tok");
        let custom = HttpConfig {
            authorization: Some(Authorization {
                auth_type: Some("Token".into()),
                credentials: Secret("x".into()),
            }),
            ..HttpConfig::default()
        };
        assert_eq!(auth_header(Some(&custom)).unwrap().unwrap(), "Token x");
        let both = HttpConfig {
            bearer_token: Some(Secret("tok".into())),
            ..basic_cfg
        };
        assert!(auth_header(Some(&both)).is_err());
        assert!(auth_header(None).unwrap().is_none());
    }

    #[test]
    fn urls() {
        assert!(parse_http_url("http://127.0.0.1:9/x").is_ok());
        assert!(parse_http_url("ftp://h/x").is_err());
        assert!(parse_http_url("/relative").is_err());
    }
}
