//! The notifier's in-memory core: the alert store, aggregation groups and
//! their flush rounds. Planning (what to send now) and applying results
//! are separate steps so no lock is held while requests are in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::alert::{StoredAlert, presentation_order};
use super::config::Compiled;
use super::forward::{FORWARD_RESOLVED_MS, ForwardJob, Forwarder};
use super::inhibit::Inhibitor;
use super::metrics::Metrics;
use super::nflog::{Entry, NfLog, needs_update};
use super::receiver::{Integration, IntegrationKey, Notification, Outcome, SendError};
use super::silence::Silences;

/// Retry backoff: 1s doubling up to a minute.
pub(crate) fn backoff_ms(attempt: u32) -> i64 {
    (1000_i64 << attempt.min(6)).min(60_000)
}

/// An alert in the store with the receivers it is routed to.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub alert: StoredAlert,
    pub receivers: Vec<String>,
}

/// (route node, group key): two sibling routes with identical matchers
/// share a key string but are still distinct groups.
pub(crate) type GroupId = (usize, String);

/// What a grouped notification says, shared by all attempts at it.
#[derive(Debug)]
pub(crate) struct Payload {
    pub notification: Notification,
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
}

#[derive(Debug)]
struct Retry {
    due: i64,
    attempt: u32,
    deadline: i64,
    reason: &'static str,
    integration: Arc<Integration>,
    payload: Arc<Payload>,
}

/// One flush of a group, open until every integration succeeded or gave up.
#[derive(Debug)]
struct Round {
    id: u64,
    pending: BTreeSet<IntegrationKey>,
    failed: bool,
    /// Resolved alerts as they were at the flush; dropped afterwards only
    /// if unchanged and everything was delivered.
    resolved: Vec<StoredAlert>,
}

/// An aggregation group.
#[derive(Debug)]
pub(crate) struct Group {
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub receiver: Option<String>,
    pub alerts: BTreeMap<u64, StoredAlert>,
    pub next_flush: i64,
    has_flushed: bool,
    round: Option<Round>,
    retries: BTreeMap<IntegrationKey, Retry>,
}

impl Group {
    fn drop_delivered(&mut self, resolved: &[StoredAlert]) {
        for a in resolved {
            if self.alerts.get(&a.fingerprint) == Some(a) {
                self.alerts.remove(&a.fingerprint);
            }
        }
    }
}

/// A delivery to perform.
#[derive(Debug)]
pub(crate) enum Job {
    Group(GroupJob),
    Forward(ForwardJob),
}

/// One grouped notification attempt for one integration.
#[derive(Debug)]
pub(crate) struct GroupJob {
    group: GroupId,
    round: u64,
    pub integration: Arc<Integration>,
    pub payload: Arc<Payload>,
    attempt: u32,
    deadline: i64,
}

/// The last attempt of an integration, for `/api/v2/receivers`.
#[derive(Clone, Debug, Default)]
pub(crate) struct AttemptStatus {
    pub at: i64,
    pub duration_ms: i64,
    pub error: String,
}

/// Everything behind the notifier's lock.
#[derive(Debug)]
pub(crate) struct Core {
    pub cfg: Arc<Compiled>,
    pub alerts: BTreeMap<u64, Held>,
    pub groups: BTreeMap<GroupId, Group>,
    pub silences: Silences,
    pub nflog: NfLog,
    pub forwarder: Forwarder,
    pub status: BTreeMap<IntegrationKey, AttemptStatus>,
    next_round: u64,
    /// Silences or the log changed since the last save.
    pub dirty: bool,
    /// Bumped for every snapshot taken for saving.
    pub persist_seq: u64,
}

impl Core {
    pub fn new(cfg: Arc<Compiled>, silences: Silences, nflog: NfLog) -> Self {
        Self {
            cfg,
            alerts: BTreeMap::new(),
            groups: BTreeMap::new(),
            silences,
            nflog,
            forwarder: Forwarder::default(),
            status: BTreeMap::new(),
            next_round: 0,
            dirty: false,
            persist_seq: 0,
        }
    }

    /// Stores an update, merging with the alert already held.
    pub fn insert(&mut self, alert: StoredAlert, now: i64) {
        let merged = match self.alerts.get(&alert.fingerprint) {
            Some(old) => StoredAlert::merge(&old.alert, alert, now),
            None => alert,
        };
        self.route(merged, now);
    }

    fn route(&mut self, alert: StoredAlert, now: i64) {
        let routes = self.cfg.routes.match_routes(&alert.labels);
        let mut receivers: Vec<String> = Vec::new();
        for index in routes {
            let Some(node) = self.cfg.routes.nodes.get(index) else {
                continue;
            };
            if let Some(r) = &node.receiver
                && !receivers.contains(r)
            {
                receivers.push(r.clone());
            }
            let labels = self.cfg.routes.group_labels(index, &alert.labels);
            let key = self.cfg.routes.group_key(index, &labels);
            let wait = node.group_wait_ms;
            let g = self
                .groups
                .entry((index, key.clone()))
                .or_insert_with(|| Group {
                    key,
                    labels,
                    receiver: node.receiver.clone(),
                    alerts: BTreeMap::new(),
                    next_flush: now.saturating_add(wait),
                    has_flushed: false,
                    round: None,
                    retries: BTreeMap::new(),
                });
            // An alert that has been around longer than group_wait gains
            // nothing from waiting.
            if !g.has_flushed && alert.starts_at.saturating_add(wait) < now {
                g.next_flush = g.next_flush.min(now);
            }
            g.alerts.insert(alert.fingerprint, alert.clone());
        }
        self.alerts
            .insert(alert.fingerprint, Held { alert, receivers });
    }

    /// Switches to a new configuration: groups are rebuilt from every alert
    /// still known, and the log keeps already notified groups quiet.
    pub fn reload(&mut self, cfg: Arc<Compiled>, now: i64) {
        let mut known: BTreeMap<u64, StoredAlert> = BTreeMap::new();
        let from_groups = self.groups.values().flat_map(|g| g.alerts.values());
        let from_store = self.alerts.values().map(|h| &h.alert);
        for a in from_groups.chain(from_store) {
            let newer = known
                .get(&a.fingerprint)
                .is_none_or(|k| k.updated_at < a.updated_at);
            if newer {
                known.insert(a.fingerprint, a.clone());
            }
        }
        self.cfg = cfg;
        self.groups.clear();
        self.alerts.clear();
        for a in known.into_values() {
            self.route(a, now);
        }
    }

    fn forwards(&self, h: &Held) -> bool {
        h.receivers.iter().any(|r| {
            self.cfg
                .receivers
                .get(r)
                .is_some_and(|r| r.integrations.iter().any(|i| !i.grouped()))
        })
    }

    /// Forgets resolved alerts the store no longer needs (groups keep their
    /// own copies until notified), old silences and old log entries.
    pub fn gc(&mut self, now: i64) {
        let keep: BTreeSet<u64> = self
            .alerts
            .iter()
            .filter(|(_, h)| {
                !h.alert.resolved_at(now)
                    || (self.forwards(h)
                        && now < h.alert.ends_at.saturating_add(FORWARD_RESOLVED_MS))
            })
            .map(|(fp, _)| *fp)
            .collect();
        self.alerts.retain(|fp, _| keep.contains(fp));
        self.forwarder.gc(&self.alerts);
        if self.silences.gc(now) | self.nflog.gc(now) {
            self.dirty = true;
        }
    }

    /// Why each unresolved alert is muted: silences and inhibiting alerts.
    pub fn mute_status(&self, now: i64) -> BTreeMap<u64, (Vec<String>, Vec<u64>)> {
        let inhibitor = Inhibitor::new(
            &self.cfg.inhibit,
            self.alerts.values().map(|h| &h.alert),
            now,
        );
        self.alerts
            .values()
            .filter(|h| !h.alert.resolved_at(now))
            .map(|h| {
                let a = &h.alert;
                (
                    a.fingerprint,
                    (
                        self.silences.silenced_by(&a.labels, now),
                        inhibitor.inhibited_by(a),
                    ),
                )
            })
            .collect()
    }

    /// Everything due at `now`: group flushes, retries and forwards.
    pub fn plan(&mut self, now: i64, external_url: &str, metrics: &Metrics) -> Vec<Job> {
        let Core {
            cfg,
            alerts,
            groups,
            silences,
            nflog,
            next_round,
            ..
        } = self;
        let inhibitor = Inhibitor::new(&cfg.inhibit, alerts.values().map(|h| &h.alert), now);
        let muted = |a: &StoredAlert| {
            !silences.silenced_by(&a.labels, now).is_empty()
                || !inhibitor.inhibited_by(a).is_empty()
        };
        let mut jobs = Vec::new();
        let mut emptied = Vec::new();
        for (id, g) in groups.iter_mut() {
            if g.next_flush <= now {
                // A regular flush supersedes retries of the previous one.
                for (key, r) in std::mem::take(&mut g.retries) {
                    metrics.notification_failed(key.1, r.reason);
                }
                *next_round += 1;
                let ctx = FlushCtx {
                    cfg,
                    nflog,
                    muted: &muted,
                    now,
                    external_url,
                    round: *next_round,
                };
                if flush_group(id, g, &ctx, &mut jobs) {
                    emptied.push(id.clone());
                }
                continue;
            }
            let Some(round) = g.round.as_ref().map(|r| r.id) else {
                // Retries only exist within a round; never leave one
                // behind that would keep the schedule due forever.
                g.retries.clear();
                continue;
            };
            let due: Vec<IntegrationKey> = g
                .retries
                .iter()
                .filter(|(_, r)| r.due <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for key in due {
                if let Some(r) = g.retries.remove(&key) {
                    jobs.push(Job::Group(GroupJob {
                        group: id.clone(),
                        round,
                        integration: r.integration,
                        payload: r.payload,
                        attempt: r.attempt,
                        deadline: r.deadline,
                    }));
                }
            }
        }
        for id in emptied {
            groups.remove(&id);
        }
        let forwards = self.forwarder.plan(&self.cfg, &self.alerts, now);
        jobs.extend(forwards.into_iter().map(Job::Forward));
        jobs
    }

    /// Records the outcome of a grouped notification attempt.
    pub fn apply_group(
        &mut self,
        job: GroupJob,
        result: &Result<Outcome, SendError>,
        started: i64,
        finished: i64,
        metrics: &Metrics,
    ) {
        let integ = &job.integration;
        let key = integ.key();
        if !matches!(result, Ok(Outcome::Skipped)) {
            if job.attempt == 0 {
                metrics.notification(integ.name());
            }
            metrics.request(integ.name(), result.is_err());
            self.record_attempt(key.clone(), result.as_ref().err(), started, finished);
        }
        let failed = match result {
            Ok(_) => {
                // First attempts are logged at the flush time so that
                // repeat_interval counts from flush to flush.
                let timestamp = if job.attempt == 0 {
                    job.payload.notification.now
                } else {
                    finished
                };
                self.nflog.log(Entry {
                    group_key: job.payload.notification.group_key.clone(),
                    receiver: integ.receiver.clone(),
                    integration: integ.name().to_string(),
                    index: integ.index,
                    timestamp,
                    firing: job.payload.firing.clone(),
                    resolved: job.payload.resolved.clone(),
                });
                self.dirty = true;
                false
            }
            Err(e) => {
                let due = finished.saturating_add(backoff_ms(job.attempt));
                let group = self
                    .groups
                    .get_mut(&job.group)
                    .filter(|g| g.round.as_ref().is_some_and(|r| r.id == job.round));
                match group {
                    Some(g) if e.retryable && due < job.deadline => {
                        g.retries.insert(
                            key,
                            Retry {
                                due,
                                attempt: job.attempt.saturating_add(1),
                                deadline: job.deadline,
                                reason: e.reason,
                                integration: Arc::clone(&job.integration),
                                payload: Arc::clone(&job.payload),
                            },
                        );
                        return;
                    }
                    _ => {
                        tracing::warn!(
                            receiver = %integ.receiver,
                            integration = integ.name(),
                            group = %job.payload.notification.group_key,
                            error = %e.message,
                            "notification failed"
                        );
                        metrics.notification_failed(integ.name(), e.reason);
                        true
                    }
                }
            }
        };
        self.finish_round(&job.group, job.round, &key, failed);
    }

    pub fn record_attempt(
        &mut self,
        key: IntegrationKey,
        err: Option<&SendError>,
        started: i64,
        finished: i64,
    ) {
        self.status.insert(
            key,
            AttemptStatus {
                at: started,
                duration_ms: finished.saturating_sub(started).max(0),
                error: err.map(|e| e.message.clone()).unwrap_or_default(),
            },
        );
    }

    fn finish_round(&mut self, id: &GroupId, round: u64, key: &IntegrationKey, failed: bool) {
        let Some(g) = self.groups.get_mut(id) else {
            return;
        };
        let Some(r) = g.round.as_mut().filter(|r| r.id == round) else {
            return;
        };
        r.pending.remove(key);
        r.failed |= failed;
        if !r.pending.is_empty() {
            return;
        }
        if let Some(r) = g.round.take()
            && !r.failed
        {
            g.drop_delivered(&r.resolved);
        }
        if g.alerts.is_empty() && g.retries.is_empty() {
            self.groups.remove(id);
        }
    }

    /// The earliest time anything is due, if anything ever is.
    pub fn next_due(&self, now: i64) -> Option<i64> {
        let groups = self
            .groups
            .values()
            .flat_map(|g| std::iter::once(g.next_flush).chain(g.retries.values().map(|r| r.due)));
        let forward = self.forwarder.next_due(&self.cfg, &self.alerts, now);
        groups.chain(forward).min()
    }
}

struct FlushCtx<'a> {
    cfg: &'a Compiled,
    nflog: &'a NfLog,
    muted: &'a dyn Fn(&StoredAlert) -> bool,
    now: i64,
    external_url: &'a str,
    round: u64,
}

/// Starts a flush round for a group; returns whether the group is now
/// empty and can be dropped.
fn flush_group(id: &GroupId, g: &mut Group, ctx: &FlushCtx<'_>, jobs: &mut Vec<Job>) -> bool {
    let now = ctx.now;
    let Some(node) = ctx.cfg.routes.nodes.get(id.0) else {
        return true;
    };
    g.has_flushed = true;
    g.next_flush = now.saturating_add(node.group_interval_ms);
    let resolved_now: Vec<StoredAlert> = g
        .alerts
        .values()
        .filter(|a| a.resolved_at(now))
        .cloned()
        .collect();
    let mut visible: Vec<StoredAlert> = g
        .alerts
        .values()
        .filter(|a| !(ctx.muted)(a))
        .cloned()
        .collect();
    visible.sort_by(presentation_order);
    let mut round = Round {
        id: ctx.round,
        pending: BTreeSet::new(),
        failed: false,
        resolved: resolved_now,
    };
    let integrations = g
        .receiver
        .as_ref()
        .and_then(|r| ctx.cfg.receivers.get(r))
        .map_or(&[][..], |r| r.integrations.as_slice());
    if !visible.is_empty() {
        let (firing, resolved) = visible
            .iter()
            .partition::<Vec<&StoredAlert>, _>(|a| !a.resolved_at(now));
        let payload = Arc::new(Payload {
            firing: firing.iter().map(|a| a.fingerprint).collect(),
            resolved: resolved.iter().map(|a| a.fingerprint).collect(),
            notification: Notification {
                receiver: g.receiver.clone().unwrap_or_default(),
                group_key: g.key.clone(),
                group_labels: g.labels.clone(),
                alerts: visible,
                now,
                external_url: ctx.external_url.to_string(),
            },
        });
        for integ in integrations.iter().filter(|i| i.grouped()) {
            let last = ctx
                .nflog
                .get(&g.key, &integ.receiver, integ.name(), integ.index);
            let repeat = node.repeat_interval_ms;
            if needs_update(
                last,
                &payload.firing,
                &payload.resolved,
                integ.send_resolved,
                repeat,
                now,
            ) {
                round.pending.insert(integ.key());
                jobs.push(Job::Group(GroupJob {
                    group: id.clone(),
                    round: ctx.round,
                    integration: Arc::clone(integ),
                    payload: Arc::clone(&payload),
                    attempt: 0,
                    deadline: g.next_flush,
                }));
            }
        }
    }
    if round.pending.is_empty() {
        g.round = None;
        g.drop_delivered(&round.resolved);
        g.alerts.is_empty()
    } else {
        g.round = Some(round);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::notify::alert::Alert;
    use crate::notify::config::NotificationsConfig;
    use crate::notify::receiver::Outcome;

    const YAML: &str = r#"
route:
  receiver: a
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
  routes:
    - {matchers: [team=db], receiver: b, continue: true}
    - {matchers: [team=~".+"], receiver: c}
receivers:
  - {name: a, webhook_configs: [{url: "http://127.0.0.1:9/a"}]}
  - {name: b, webhook_configs: [{url: "http://127.0.0.1:9/b"}]}
  - {name: c, ntfy_configs: [{url: "http://127.0.0.1:9/c"}]}
"#;

    fn core() -> Core {
        let cfg: NotificationsConfig = serde_norway::from_str(YAML).unwrap();
        Core::new(
            Compiled::build(&cfg).unwrap(),
            Silences::default(),
            NfLog::default(),
        )
    }

    fn alert(team: &str, ends_at: Option<i64>, now: i64) -> StoredAlert {
        StoredAlert::from_alert(
            Alert {
                labels: [("alertname", "X"), ("team", team)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                starts_at: 1_000,
                ends_at,
                ..Alert::default()
            },
            now,
        )
    }

    fn group_jobs(jobs: Vec<Job>) -> Vec<GroupJob> {
        jobs.into_iter()
            .filter_map(|j| match j {
                Job::Group(g) => Some(g),
                Job::Forward(_) => None,
            })
            .collect()
    }

    #[test]
    fn continue_fans_out_and_the_log_deduplicates() {
        let m = Metrics::default();
        let mut c = core();
        c.insert(alert("db", Some(1_000_000), 1_000), 1_000);
        assert_eq!(
            c.alerts[&alert("db", None, 0).fingerprint].receivers,
            ["b", "c"]
        );
        let keys: Vec<&str> = c.groups.values().map(|g| g.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                r#"{}/{team="db"}:{alertname="X"}"#,
                r#"{}/{team=~".+"}:{alertname="X"}"#
            ]
        );
        assert!(c.plan(10_999, "", &m).is_empty());
        assert_eq!(c.next_due(10_999), Some(11_000));
        let jobs = group_jobs(c.plan(11_000, "", &m));
        let targets: Vec<(String, &str)> = jobs
            .iter()
            .map(|j| (j.integration.receiver.clone(), j.integration.name()))
            .collect();
        assert_eq!(
            targets,
            [("b".to_string(), "webhook"), ("c".to_string(), "ntfy")]
        );
        for j in jobs {
            c.apply_group(j, &Ok(Outcome::Sent), 11_000, 11_000, &m);
        }
        assert_eq!(c.nflog.entries().len(), 2);
        assert!(c.dirty);
        // Nothing changed a minute later.
        assert!(c.plan(71_000, "", &m).is_empty());
        // Resolution: notified, then the groups disappear.
        c.insert(alert("db", Some(80_000), 80_000), 80_000);
        let jobs = group_jobs(c.plan(131_000, "", &m));
        assert_eq!(jobs.len(), 2);
        for j in jobs {
            c.apply_group(j, &Ok(Outcome::Sent), 131_000, 131_000, &m);
        }
        assert!(c.groups.is_empty());
        c.gc(131_000);
        assert!(c.alerts.is_empty());
        assert_eq!(c.next_due(131_000), None);
    }

    #[test]
    fn failed_rounds_keep_resolved_alerts_for_the_next_flush() {
        let m = Metrics::default();
        let mut c = core();
        c.insert(alert("", Some(1_000_000), 1_000), 1_000);
        let jobs = group_jobs(c.plan(11_000, "", &m));
        assert_eq!(jobs.len(), 1);
        for j in jobs {
            c.apply_group(j, &Ok(Outcome::Sent), 11_000, 11_000, &m);
        }
        c.insert(alert("", Some(20_000), 20_000), 20_000);
        let permanent = SendError {
            retryable: false,
            reason: "clientError",
            message: "400".into(),
        };
        for j in group_jobs(c.plan(71_000, "", &m)) {
            c.apply_group(j, &Err(permanent.clone()), 71_000, 71_000, &m);
        }
        assert_eq!(c.groups.len(), 1, "undelivered resolution kept");
        // A reload rebuilds the group from its own copy of the alert.
        c.gc(72_000);
        assert!(c.alerts.is_empty());
        let cfg: NotificationsConfig = serde_norway::from_str(YAML).unwrap();
        c.reload(Compiled::build(&cfg).unwrap(), 72_000);
        let jobs = group_jobs(c.plan(72_000, "", &m));
        assert_eq!(jobs.len(), 1);
        assert!(jobs[0].payload.firing.is_empty());
        assert_eq!(jobs[0].payload.resolved.len(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let v: Vec<i64> = (0..9).map(backoff_ms).collect();
        assert_eq!(
            v,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        assert_eq!(backoff_ms(u32::MAX), 60_000);
    }
}
