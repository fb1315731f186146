//! Alerts: the public input type, the stored form with its resolution
//! bookkeeping, Alertmanager's merge rule, fingerprints and timestamps in
//! Go's RFC 3339 style.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::matcher::is_valid_label_name;

/// How long an alert without `endsAt` stays firing without being re-sent.
pub(crate) const RESOLVE_TIMEOUT_MS: i64 = 5 * 60 * 1000;

/// Go's zero `time.Time`, which Alertmanager prints for "not set".
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Go's zero time in Unix milliseconds; anything at or before it is "unset".
const GO_ZERO_MS: i64 = -62_135_596_800_000;

/// An alert as a rule evaluator (or any Alertmanager client) sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alert {
    /// Identifying labels; at least one is required.
    pub labels: BTreeMap<String, String>,
    /// Informational annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started, Unix ms; 0 means "now".
    pub starts_at: i64,
    /// When it ended or, for a firing alert, until when it is known to be
    /// firing; `None` means now plus the 5 minute resolve timeout.
    pub ends_at: Option<i64>,
    /// Link back to the expression that generated it.
    pub generator_url: String,
}

/// An alert as held by the notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
    pub updated_at: i64,
    /// `ends_at` was not sent but filled in from the resolve timeout.
    pub timeout: bool,
    pub fingerprint: u64,
}

impl StoredAlert {
    /// Fills in defaults as Alertmanager does on receipt.
    pub fn from_alert(a: Alert, now: i64) -> Self {
        let starts_at = if a.starts_at != 0 {
            a.starts_at
        } else {
            // An alert posted only with its end is taken to have started then.
            a.ends_at.map_or(now, |e| e.min(now))
        };
        let (ends_at, timeout) = match a.ends_at {
            Some(e) => (e, false),
            None => (now.saturating_add(RESOLVE_TIMEOUT_MS), true),
        };
        let fingerprint = fingerprint(&a.labels);
        Self {
            labels: a.labels,
            annotations: a.annotations,
            starts_at,
            ends_at,
            generator_url: a.generator_url,
            updated_at: now,
            timeout,
            fingerprint,
        }
    }

    /// Resolved means its end time has been reached.
    pub fn resolved_at(&self, now: i64) -> bool {
        self.ends_at <= now
    }

    /// Combines an update with the alert already held for the same labels.
    /// Overlapping activity keeps the earlier start; the newer update's
    /// annotations win, and a later explicit end survives a timeout-based
    /// one.
    pub fn merge(old: &StoredAlert, new: StoredAlert, now: i64) -> StoredAlert {
        let overlaps = (new.ends_at > old.starts_at && new.ends_at < old.ends_at)
            || (new.starts_at > old.starts_at && new.starts_at < old.ends_at);
        if !overlaps {
            return new;
        }
        let mut res = new;
        res.starts_at = res.starts_at.min(old.starts_at);
        if res.resolved_at(now) {
            if old.resolved_at(now) && old.ends_at > res.ends_at {
                res.ends_at = old.ends_at;
            }
        } else if old.ends_at > res.ends_at && !old.timeout {
            res.ends_at = old.ends_at;
            res.timeout = false;
        }
        res
    }
}

/// Rejects what Alertmanager's API rejects: no labels, bad label or
/// annotation names, an end before the start.
pub(crate) fn validate_alert(a: &Alert) -> Result<(), String> {
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for name in a.labels.keys() {
        if !is_valid_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
    }
    for name in a.annotations.keys() {
        if !is_valid_label_name(name) {
            return Err(format!("invalid annotation name {name:?}"));
        }
    }
    if let Some(end) = a.ends_at
        && a.starts_at != 0
        && end < a.starts_at
    {
        return Err("start time must be before end time".into());
    }
    Ok(())
}

/// The alert's identity: FNV-1a 64 over the sorted labels, each name and
/// value followed by a 0xFF byte, exactly as Prometheus fingerprints.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (k, v) in labels {
        add(k.as_bytes());
        add(&[0xFF]);
        add(v.as_bytes());
        add(&[0xFF]);
    }
    h
}

/// 16 lowercase hex digits.
pub(crate) fn fingerprint_hex(fp: u64) -> String {
    format!("{fp:016x}")
}

/// RFC 3339 in UTC with the fraction trimmed of zeros, as Go's
/// `RFC3339Nano` prints.
pub(crate) fn format_time(ms: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return ZERO_TIME.to_string();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S");
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:03}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

/// Parses an RFC 3339 time; Go's zero time means "unset".
pub(crate) fn parse_time(s: &str) -> Result<Option<i64>, String> {
    let t = DateTime::parse_from_rfc3339(s).map_err(|e| format!("invalid time {s:?}: {e}"))?;
    let ms = t.timestamp_millis();
    Ok((ms > GO_ZERO_MS).then_some(ms))
}

/// Alertmanager's presentation order: by `job`, then `instance` (alerts
/// carrying the label first), then the whole label set.
pub(crate) fn presentation_order(a: &StoredAlert, b: &StoredAlert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_set_order(&a.labels, &b.labels)
}

/// How Prometheus orders label sets, which is not lexicographic: fewer
/// labels first; among equally many, at the first name only one set has,
/// the set lacking it comes first; otherwise by the first differing value.
pub(crate) fn label_set_order(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        match ka.cmp(kb) {
            // `b` lacks the smaller name `ka`.
            Ordering::Less => return Ordering::Greater,
            Ordering::Greater => return Ordering::Less,
            Ordering::Equal => match va.cmp(vb) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_match_prometheus() {
        assert_eq!(
            fingerprint_hex(fingerprint(&labels(&[]))),
            "cbf29ce484222325"
        );
        // Prometheus' own test vector for this label set.
        let ls = labels(&[("name", "garland, briggs"), ("fear", "love is not enough")]);
        assert_eq!(fingerprint(&ls), 5_799_056_148_416_392_346);
        assert_eq!(fingerprint_hex(fingerprint(&ls)), "507a62d79ee76c9a");
    }

    #[test]
    fn times_format_like_go() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000_500), "2023-11-14T22:13:20.5Z");
        assert_eq!(format_time(1_700_000_000_120), "2023-11-14T22:13:20.12Z");
        assert_eq!(format_time(1_700_000_000_007), "2023-11-14T22:13:20.007Z");
        assert_eq!(format_time(i64::MAX), ZERO_TIME);
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z"),
            Ok(Some(1_700_000_000_500))
        );
        assert_eq!(
            parse_time("2023-11-15T00:13:20+02:00"),
            Ok(Some(1_700_000_000_000))
        );
        assert_eq!(parse_time(ZERO_TIME), Ok(None));
        assert!(parse_time("yesterday").is_err());
    }

    fn stored(start: i64, end: Option<i64>, now: i64) -> StoredAlert {
        StoredAlert::from_alert(
            Alert {
                labels: labels(&[("alertname", "A")]),
                starts_at: start,
                ends_at: end,
                ..Alert::default()
            },
            now,
        )
    }

    #[test]
    fn defaults_fill_in_start_and_timeout() {
        let a = stored(0, None, 1000);
        assert_eq!(
            (a.starts_at, a.ends_at, a.timeout),
            (1000, 1000 + RESOLVE_TIMEOUT_MS, true)
        );
        let b = stored(0, Some(500), 1000);
        assert_eq!((b.starts_at, b.ends_at, b.timeout), (500, 500, false));
    }

    #[test]
    fn merge_keeps_earlier_start_and_explicit_end() {
        let old = stored(1_000, Some(1_000_000), 2_000);
        // A restarted Prometheus reports a later start inside the old range.
        let new = stored(5_000, None, 10_000);
        let m = StoredAlert::merge(&old, new.clone(), 10_000);
        assert_eq!(m.starts_at, 1_000);
        assert_eq!(m.ends_at, 1_000_000);
        assert!(!m.timeout);
        // No overlap: the new alert replaces the old one.
        let later = stored(2_000_000, None, 2_000_000);
        assert_eq!(StoredAlert::merge(&old, later.clone(), 2_000_000), later);
        // A resolution inside the old range ends the alert.
        let resolve = stored(1_000, Some(20_000), 20_000);
        let m = StoredAlert::merge(&old, resolve, 20_000);
        assert!(m.resolved_at(20_000));
    }

    #[test]
    fn validation() {
        let mut a = Alert::default();
        assert!(validate_alert(&a).is_err());
        a.labels = labels(&[("alertname", "X")]);
        assert!(validate_alert(&a).is_ok());
        a.labels.insert("bad-name".into(), "x".into());
        assert!(validate_alert(&a).is_err());
        a.labels.remove("bad-name");
        a.starts_at = 10;
        a.ends_at = Some(5);
        assert!(validate_alert(&a).is_err());
    }

    #[test]
    fn label_sets_order_like_prometheus() {
        let mk = |pairs: &[(&str, &str)]| StoredAlert {
            labels: labels(pairs),
            ..stored(1, None, 1)
        };
        let mut v = [
            mk(&[("alertname", "X"), ("a", "2"), ("c", "3")]),
            mk(&[("alertname", "X"), ("c", "1"), ("d", "1")]),
            mk(&[("alertname", "X"), ("b", "1")]),
            mk(&[("alertname", "X"), ("a", "1"), ("c", "3")]),
        ];
        v.sort_by(presentation_order);
        let shown: Vec<_> = v
            .iter()
            .map(|a| crate::notify::matcher::render_label_set(&a.labels))
            .collect();
        // Fewer labels first; then the set lacking the first name the other
        // has (`a`); then by value.
        assert_eq!(
            shown,
            [
                r#"{alertname="X", b="1"}"#,
                r#"{alertname="X", c="1", d="1"}"#,
                r#"{a="1", alertname="X", c="3"}"#,
                r#"{a="2", alertname="X", c="3"}"#,
            ]
        );
        let x = labels(&[("a", "1")]);
        assert_eq!(label_set_order(&x, &x.clone()), Ordering::Equal);
    }

    #[test]
    fn presentation_order_prefers_job_then_instance() {
        let mk = |pairs: &[(&str, &str)]| StoredAlert {
            labels: labels(pairs),
            ..stored(1, None, 1)
        };
        let mut v = [
            mk(&[("alertname", "Z")]),
            mk(&[("job", "b")]),
            mk(&[("job", "a"), ("instance", "2")]),
            mk(&[("job", "a"), ("instance", "1")]),
        ];
        v.sort_by(presentation_order);
        let jobs: Vec<_> = v
            .iter()
            .map(|a| crate::notify::matcher::render_label_set(&a.labels))
            .collect();
        assert_eq!(
            jobs,
            [
                r#"{instance="1", job="a"}"#,
                r#"{instance="2", job="a"}"#,
                r#"{job="b"}"#,
                r#"{alertname="Z"}"#
            ]
        );
    }
}
