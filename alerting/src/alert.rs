//! The alert state machine of one alerting rule, as Prometheus runs it:
//! inactive → pending → firing → resolved, with `for`, `keep_firing_for`,
//! resend timing and the synthetic `ALERTS` / `ALERTS_FOR_STATE` series.
//! Pure: evaluation results go in, samples and alerts to send come out.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::backend::OutputSample;

/// Resolved alerts keep being sent this long, so a receiver that missed the
/// first resolution still hears of it.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Resolved (kept a while to be reported as such).
    Inactive,
    /// Condition holds, `for` not yet elapsed.
    Pending,
    /// Condition held for `for`.
    Firing,
}

impl AlertState {
    /// Prometheus' name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        }
    }
}

/// One alert instance of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Final labels: series labels without `__name__`, rule labels, `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// State.
    pub state: AlertState,
    /// The value of the last evaluation that produced it.
    #[serde(with = "float_text")]
    pub value: f64,
    /// When the condition started holding (ms).
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last handed to the notifier (ms).
    pub last_sent_at: Option<i64>,
    /// Until when the last notification vouches for it (ms).
    pub valid_until: Option<i64>,
    /// Since when it is firing only because of `keep_firing_for` (ms).
    pub keep_firing_since: Option<i64>,
}

/// Floats as text, so NaN and infinities survive JSON.
mod float_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One series of an evaluation, turned into alert labels and annotations.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Final alert labels.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// The series' value.
    pub value: f64,
}

/// The timing settings of an alerting rule.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// `for` (ms).
    pub hold_ms: i64,
    /// `keep_firing_for` (ms).
    pub keep_firing_for_ms: i64,
    /// The group's `limit` (0: none).
    pub limit: usize,
}

/// The alerts of one alerting rule, keyed by their label sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleAlerts {
    /// Active (pending or firing) and recently resolved alerts.
    pub alerts: Vec<Alert>,
}

impl RuleAlerts {
    /// Applies one evaluation at `ts`; returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples to store.
    pub fn apply(
        &mut self,
        ts: i64,
        timing: Timing,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<OutputSample>, String> {
        let mut seen: HashSet<BTreeMap<String, String>> = HashSet::with_capacity(candidates.len());
        for candidate in &candidates {
            if !seen.insert(candidate.labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
        }
        let index: HashMap<BTreeMap<String, String>, usize> = self
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.labels.clone(), i))
            .collect();
        for candidate in candidates {
            match index.get(&candidate.labels).copied() {
                Some(i) if self.alerts[i].state != AlertState::Inactive => {
                    let alert = &mut self.alerts[i];
                    alert.value = candidate.value;
                    alert.annotations = candidate.annotations;
                }
                found => {
                    let alert = Alert {
                        labels: candidate.labels,
                        annotations: candidate.annotations,
                        state: AlertState::Pending,
                        value: candidate.value,
                        active_at: ts,
                        fired_at: None,
                        resolved_at: None,
                        last_sent_at: None,
                        valid_until: None,
                        keep_firing_since: None,
                    };
                    match found {
                        Some(i) => self.alerts[i] = alert,
                        None => self.alerts.push(alert),
                    }
                }
            }
        }

        let mut active_or_pending = 0;
        let mut samples = Vec::new();
        let mut kept = Vec::with_capacity(self.alerts.len());
        for mut alert in std::mem::take(&mut self.alerts) {
            let present = seen.contains(&alert.labels);
            if present {
                alert.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if alert.state == AlertState::Firing && timing.keep_firing_for_ms > 0 {
                    let since = *alert.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < timing.keep_firing_for_ms;
                }
                // A pending alert that lost its condition is forgotten; a
                // resolved one is kept a while to be reported as resolved.
                let expired = alert
                    .resolved_at
                    .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS);
                let drop = alert.state == AlertState::Pending || expired;
                if alert.state != AlertState::Inactive && !keep_firing {
                    alert.state = AlertState::Inactive;
                    alert.resolved_at = Some(ts);
                }
                if drop {
                    continue;
                }
                if !keep_firing {
                    kept.push(alert);
                    continue;
                }
            }
            active_or_pending += 1;
            if alert.state == AlertState::Pending && ts - alert.active_at >= timing.hold_ms {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(ts);
            }
            samples.push(alerts_sample(&alert));
            samples.push(for_state_sample(&alert));
            kept.push(alert);
        }
        self.alerts = kept;
        if timing.limit > 0 && active_or_pending > timing.limit {
            self.alerts.clear();
            return Err(format!(
                "exceeded limit of {} with {active_or_pending} alerts",
                timing.limit
            ));
        }
        Ok(samples)
    }

    /// The alerts to hand to the notifier at `ts`: firing ones every
    /// `resend_delay_ms`, resolved ones at once and then with the rest.
    pub fn due_for_sending(
        &mut self,
        ts: i64,
        resend_delay_ms: i64,
        interval_ms: i64,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        for alert in &mut self.alerts {
            if alert.state == AlertState::Pending {
                continue;
            }
            let resolved_since_sent = match (alert.resolved_at, alert.last_sent_at) {
                (Some(r), Some(s)) => r > s,
                (Some(_), None) => true,
                _ => false,
            };
            let resend_due = alert.last_sent_at.is_none_or(|s| s + resend_delay_ms < ts);
            if resolved_since_sent || resend_due {
                alert.last_sent_at = Some(ts);
                // Two missed evaluations or sends may pass before the
                // receiver considers the alert gone.
                alert.valid_until = Some(ts + 4 * resend_delay_ms.max(interval_ms));
                out.push(alert.clone());
            }
        }
        out
    }

    /// The `ALERTS` and `ALERTS_FOR_STATE` series the active alerts write,
    /// so that restored state knows what to mark stale when they end.
    pub fn written_series(&self) -> impl Iterator<Item = BTreeMap<String, String>> + '_ {
        self.active()
            .flat_map(|a| [alerts_sample(a).labels, for_state_sample(a).labels])
    }

    /// Pending and firing alerts.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|a| a.state != AlertState::Inactive)
    }

    /// The rule's state: the most severe of its alerts.
    pub fn state(&self) -> AlertState {
        let mut state = AlertState::Inactive;
        for alert in &self.alerts {
            match alert.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => state = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
        state
    }
}

fn alerts_sample(alert: &Alert) -> OutputSample {
    let mut labels = alert.labels.clone();
    labels.insert("__name__".into(), "ALERTS".into());
    labels.insert("alertstate".into(), alert.state.as_str().into());
    OutputSample { labels, value: 1.0 }
}

fn for_state_sample(alert: &Alert) -> OutputSample {
    let mut labels = alert.labels.clone();
    labels.insert("__name__".into(), "ALERTS_FOR_STATE".into());
    OutputSample {
        labels,
        value: (alert.active_at / 1000) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(instance: &str, value: f64) -> Candidate {
        Candidate {
            labels: BTreeMap::from([
                ("alertname".to_string(), "Down".to_string()),
                ("instance".to_string(), instance.to_string()),
            ]),
            annotations: BTreeMap::new(),
            value,
        }
    }

    const MIN: i64 = 60_000;

    fn timing(hold_min: i64, keep_min: i64) -> Timing {
        Timing {
            hold_ms: hold_min * MIN,
            keep_firing_for_ms: keep_min * MIN,
            limit: 0,
        }
    }

    fn states(rule: &RuleAlerts) -> Vec<(AlertState, Option<i64>)> {
        rule.alerts
            .iter()
            .map(|a| (a.state, a.resolved_at))
            .collect()
    }

    #[test]
    fn pending_then_firing_then_resolved() -> Result<(), String> {
        let mut rule = RuleAlerts::default();
        let t = timing(2, 0);
        let samples = rule.apply(0, t, vec![candidate("a", 0.0)])?;
        assert_eq!(states(&rule), [(AlertState::Pending, None)]);
        assert_eq!(samples.len(), 2);
        assert_eq!(
            samples[0].labels.get("alertstate").map(String::as_str),
            Some("pending")
        );
        rule.apply(MIN, t, vec![candidate("a", 0.0)])?;
        assert_eq!(rule.state(), AlertState::Pending);
        rule.apply(2 * MIN, t, vec![candidate("a", 0.0)])?;
        assert_eq!(rule.state(), AlertState::Firing);
        assert_eq!(rule.alerts[0].fired_at, Some(2 * MIN));
        let samples = rule.apply(3 * MIN, t, vec![])?;
        assert!(samples.is_empty());
        assert_eq!(states(&rule), [(AlertState::Inactive, Some(3 * MIN))]);
        // Kept for 15 minutes to be reported as resolved, then dropped.
        rule.apply(18 * MIN, t, vec![])?;
        assert_eq!(rule.alerts.len(), 1);
        rule.apply(19 * MIN, t, vec![])?;
        assert!(rule.alerts.is_empty());
        Ok(())
    }

    #[test]
    fn pending_alerts_that_stop_are_forgotten() -> Result<(), String> {
        let mut rule = RuleAlerts::default();
        rule.apply(0, timing(5, 0), vec![candidate("a", 0.0)])?;
        rule.apply(MIN, timing(5, 0), vec![])?;
        assert!(rule.alerts.is_empty());
        Ok(())
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert() -> Result<(), String> {
        let mut rule = RuleAlerts::default();
        let t = timing(0, 2);
        rule.apply(0, t, vec![candidate("a", 1.0)])?;
        assert_eq!(rule.state(), AlertState::Firing);
        rule.apply(MIN, t, vec![])?;
        assert_eq!(rule.state(), AlertState::Firing);
        assert_eq!(rule.alerts[0].keep_firing_since, Some(MIN));
        rule.apply(2 * MIN, t, vec![])?;
        assert_eq!(rule.state(), AlertState::Firing);
        rule.apply(3 * MIN, t, vec![])?;
        assert_eq!(states(&rule), [(AlertState::Inactive, Some(3 * MIN))]);
        Ok(())
    }

    #[test]
    fn a_returning_condition_starts_a_new_alert() -> Result<(), String> {
        let mut rule = RuleAlerts::default();
        let t = timing(0, 0);
        rule.apply(0, t, vec![candidate("a", 1.0)])?;
        rule.apply(MIN, t, vec![])?;
        rule.apply(2 * MIN, t, vec![candidate("a", 1.0)])?;
        assert_eq!(rule.alerts.len(), 1);
        assert_eq!(rule.alerts[0].active_at, 2 * MIN);
        assert_eq!(rule.alerts[0].resolved_at, None);
        Ok(())
    }

    #[test]
    fn duplicates_and_limits_are_errors() {
        let mut rule = RuleAlerts::default();
        let dup = rule.apply(
            0,
            timing(0, 0),
            vec![candidate("a", 1.0), candidate("a", 2.0)],
        );
        assert_eq!(
            dup.err().as_deref(),
            Some("vector contains metrics with the same labelset after applying alert labels")
        );
        let limited = Timing {
            limit: 1,
            ..timing(0, 0)
        };
        let over = rule.apply(0, limited, vec![candidate("a", 1.0), candidate("b", 1.0)]);
        assert_eq!(
            over.err().as_deref(),
            Some("exceeded limit of 1 with 2 alerts")
        );
        assert!(rule.alerts.is_empty());
    }

    #[test]
    fn sending_follows_resend_delay_and_resolution() -> Result<(), String> {
        let mut rule = RuleAlerts::default();
        let t = timing(0, 0);
        rule.apply(0, t, vec![candidate("a", 1.0)])?;
        let sent = rule.due_for_sending(0, MIN, MIN);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].valid_until, Some(4 * MIN));
        rule.apply(30_000, t, vec![candidate("a", 1.0)])?;
        assert!(rule.due_for_sending(30_000, MIN, MIN).is_empty());
        rule.apply(MIN + 1, t, vec![candidate("a", 1.0)])?;
        assert_eq!(rule.due_for_sending(MIN + 1, MIN, MIN).len(), 1);
        rule.apply(MIN + 2, t, vec![])?;
        let sent = rule.due_for_sending(MIN + 2, MIN, MIN);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].resolved_at, Some(MIN + 2));
        Ok(())
    }
}
