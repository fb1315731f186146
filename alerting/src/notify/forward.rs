//! Ungrouped forwarding to external Alertmanagers, mimicking Prometheus:
//! each alert is sent when first seen and whenever it changes between
//! firing and resolved, then re-sent every `resend_delay`; resolved alerts
//! keep being re-sent for 15 minutes. Grouping, silencing and inhibition
//! are the external Alertmanager's business.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::alert::StoredAlert;
use super::config::Compiled;
use super::dispatch::{Held, backoff_ms};
use super::receiver::{ForwardedAlert, Integration, IntegrationKey, Kind};

/// How long resolved alerts keep being forwarded.
pub(crate) const FORWARD_RESOLVED_MS: i64 = 15 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    at: i64,
    resolved: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Backoff {
    until: i64,
    attempt: u32,
}

/// Per integration and alert, what was last forwarded.
#[derive(Debug, Default)]
pub(crate) struct Forwarder {
    sent: BTreeMap<(IntegrationKey, u64), Sent>,
    backoff: BTreeMap<IntegrationKey, Backoff>,
}

/// One batch for one forwarding integration.
#[derive(Debug)]
pub(crate) struct ForwardJob {
    pub integration: Arc<Integration>,
    /// (fingerprint, resolved) of every alert in the batch.
    pub alerts: Vec<(u64, bool)>,
    pub body: Vec<ForwardedAlert>,
}

/// Calls `f` for every (forwarding integration, alert) pair.
fn pairs<'a>(
    cfg: &'a Compiled,
    alerts: &'a BTreeMap<u64, Held>,
    mut f: impl FnMut(&'a Arc<Integration>, &'a StoredAlert),
) {
    for h in alerts.values() {
        for r in &h.receivers {
            let Some(rcv) = cfg.receivers.get(r) else {
                continue;
            };
            for i in rcv
                .integrations
                .iter()
                .filter(|i| matches!(i.kind, Kind::Alertmanager(_)))
            {
                f(i, &h.alert);
            }
        }
    }
}

impl Forwarder {
    /// When this pair next needs sending (at or before `now`: due now),
    /// ignoring backoff; `None` when it never will again.
    fn due_at(&self, integ: &Integration, a: &StoredAlert, resend: i64, now: i64) -> Option<i64> {
        let sent = self.sent.get(&(integ.key(), a.fingerprint));
        if a.resolved_at(now) {
            let stop = a.ends_at.saturating_add(FORWARD_RESOLVED_MS);
            if !integ.send_resolved || now >= stop {
                return None;
            }
            return match sent {
                Some(s) if s.resolved => Some(s.at.saturating_add(resend)).filter(|t| *t < stop),
                _ => Some(now),
            };
        }
        match sent {
            Some(s) if !s.resolved => {
                let resend_at = s.at.saturating_add(resend);
                // Reaching its end is a change worth telling right away.
                let change_at = if integ.send_resolved {
                    a.ends_at
                } else {
                    i64::MAX
                };
                Some(resend_at.min(change_at))
            }
            _ => Some(now),
        }
    }

    fn effective(&self, integ: &Integration, due: i64) -> i64 {
        self.backoff
            .get(&integ.key())
            .map_or(due, |b| due.max(b.until))
    }

    /// Batches of everything due at `now`.
    pub fn plan(
        &mut self,
        cfg: &Compiled,
        alerts: &BTreeMap<u64, Held>,
        now: i64,
    ) -> Vec<ForwardJob> {
        let mut jobs: BTreeMap<IntegrationKey, ForwardJob> = BTreeMap::new();
        pairs(cfg, alerts, |integ, a| {
            let Some(due) = self.due_at(integ, a, cfg.resend_delay_ms, now) else {
                return;
            };
            if self.effective(integ, due) > now {
                return;
            }
            let job = jobs.entry(integ.key()).or_insert_with(|| ForwardJob {
                integration: Arc::clone(integ),
                alerts: Vec::new(),
                body: Vec::new(),
            });
            job.alerts.push((a.fingerprint, a.resolved_at(now)));
            job.body.push(ForwardedAlert::new(a, now));
        });
        jobs.into_values().collect()
    }

    /// Records a batch's outcome.
    pub fn apply(&mut self, job: &ForwardJob, ok: bool, now: i64) {
        let key = job.integration.key();
        if ok {
            self.backoff.remove(&key);
            for (fp, resolved) in &job.alerts {
                self.sent.insert(
                    (key.clone(), *fp),
                    Sent {
                        at: now,
                        resolved: *resolved,
                    },
                );
            }
        } else {
            let b = self.backoff.entry(key).or_default();
            b.until = now.saturating_add(backoff_ms(b.attempt));
            b.attempt = b.attempt.saturating_add(1);
        }
    }

    /// The earliest future time a pair becomes due.
    pub fn next_due(&self, cfg: &Compiled, alerts: &BTreeMap<u64, Held>, now: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        pairs(cfg, alerts, |integ, a| {
            if let Some(due) = self.due_at(integ, a, cfg.resend_delay_ms, now) {
                let t = self.effective(integ, due);
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        });
        next
    }

    /// Forgets alerts no longer in the store.
    pub fn gc(&mut self, alerts: &BTreeMap<u64, Held>) {
        self.sent.retain(|(_, fp), _| alerts.contains_key(fp));
    }
}
