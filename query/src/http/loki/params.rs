//! Loki's parameter rules: times as seconds, nanoseconds or RFC 3339;
//! `since`, `limit`, `direction` and `step` defaults.

use super::LokiError;
use crate::http::params::Params;
use crate::http::query::parse_duration_param;

const NS_PER_SEC: i64 = 1_000_000_000;
/// Default look-back when `start` is absent.
pub const DEFAULT_SINCE_NS: i64 = 3_600 * NS_PER_SEC;

/// Parses a Loki time: a float with a `.` is seconds; an integer of at most
/// ten digits is seconds and a longer one nanoseconds; anything else is
/// RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if s.contains('.')
        && let Ok(secs) = s.parse::<f64>()
    {
        let ms = (secs * 1000.0).round();
        if !ms.is_finite() || ms.abs() >= (i64::MAX / 1_000_000) as f64 {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        return Ok(ms as i64 * 1_000_000);
    }
    if let Ok(n) = s.parse::<i64>() {
        // Loki counts the characters as written, sign included.
        return Ok(if s.len() <= 10 {
            n.saturating_mul(NS_PER_SEC)
        } else {
            n
        });
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Wall-clock now in ns.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn time_param(params: &Params, name: &str) -> Result<Option<i64>, LokiError> {
    params
        .get(name)
        .map(parse_time)
        .transpose()
        .map_err(LokiError::bad)
}

/// `start` and `end` (ns) with Loki's defaults: `end` now, `start` `since`
/// (default `default_since`) before `end`.
pub fn range(params: &Params, default_since: i64) -> Result<(i64, i64), LokiError> {
    let end = time_param(params, "end")?.unwrap_or_else(now_ns);
    let since = match params.get("since") {
        Some(s) => parse_duration_param(s)
            .map(|ms| ms.saturating_mul(1_000_000))
            .map_err(LokiError::bad)?,
        None => default_since,
    };
    let start = match time_param(params, "start")? {
        Some(t) => t,
        None => end.min(now_ns()).saturating_sub(since),
    };
    if end < start {
        return Err(LokiError::bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

/// `time` of an instant query (default now).
pub fn instant(params: &Params) -> Result<i64, LokiError> {
    Ok(time_param(params, "time")?.unwrap_or_else(now_ns))
}

/// `limit` (default 100; must be positive).
pub fn limit(params: &Params, default: usize) -> Result<usize, LokiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n as usize),
            Ok(_) => Err(LokiError::bad("limit must be a positive value")),
            Err(_) => Err(LokiError::bad(format!("cannot parse limit {s:?}"))),
        },
    }
}

/// `direction`: true for backward (the default).
pub fn backward(params: &Params) -> Result<bool, LokiError> {
    match params
        .get("direction")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("backward") => Ok(true),
        Some("forward") => Ok(false),
        Some(other) => Err(LokiError::bad(format!("invalid direction '{other}'"))),
    }
}

/// `step` (ns): seconds or a duration; default `(end - start) / 250`,
/// at least one second.
pub fn step(params: &Params, start: i64, end: i64) -> Result<i64, LokiError> {
    match params.get("step") {
        Some(s) => {
            let ms = parse_duration_param(s).map_err(LokiError::bad)?;
            if ms <= 0 {
                return Err(LokiError::bad(
                    "zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            Ok(ms.saturating_mul(1_000_000))
        }
        None => {
            let secs = (end.saturating_sub(start) / NS_PER_SEC / 250).max(1);
            Ok(secs * NS_PER_SEC)
        }
    }
}

/// `interval` (ns) of a log query, 0 when absent: seconds or a duration,
/// like `step`.
pub fn interval(params: &Params) -> Result<i64, LokiError> {
    match params.get("interval") {
        None | Some("") => Ok(0),
        Some(s) => {
            let ms = parse_duration_param(s).map_err(LokiError::bad)?;
            if ms < 0 {
                return Err(LokiError::bad("interval must be a positive duration"));
            }
            Ok(ms.saturating_mul(1_000_000))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_lokis_heuristic() {
        assert_eq!(
            parse_time("1700000000").unwrap(),
            1_700_000_000 * NS_PER_SEC
        );
        assert_eq!(
            parse_time("1700000000000000000").unwrap(),
            1_700_000_000_000_000_000
        );
        assert_eq!(
            parse_time("1700000000.5").unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.000000001Z").unwrap(),
            1_700_000_000_000_000_001
        );
        assert_eq!(
            parse_time("4000000000").unwrap(),
            4_000_000_000 * NS_PER_SEC
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn defaults() {
        let p = Params::from_pairs([("start", "100"), ("end", "1100")]);
        assert_eq!(
            range(&p, DEFAULT_SINCE_NS).unwrap(),
            (100 * NS_PER_SEC, 1100 * NS_PER_SEC)
        );
        assert_eq!(step(&p, 0, 1000 * NS_PER_SEC).unwrap(), 4 * NS_PER_SEC);
        assert_eq!(step(&p, 0, 10 * NS_PER_SEC).unwrap(), NS_PER_SEC);
        assert_eq!(limit(&Params::default(), 100).unwrap(), 100);
        assert!(limit(&Params::from_pairs([("limit", "0")]), 100).is_err());
        assert!(backward(&Params::default()).unwrap());
        assert!(!backward(&Params::from_pairs([("direction", "FORWARD")])).unwrap());
        assert_eq!(
            step(&Params::from_pairs([("step", "30000ms")]), 0, 1).unwrap(),
            30 * NS_PER_SEC
        );
        assert_eq!(interval(&Params::default()).unwrap(), 0);
        assert_eq!(
            interval(&Params::from_pairs([("interval", "2s")])).unwrap(),
            2 * NS_PER_SEC
        );
        assert_eq!(
            interval(&Params::from_pairs([("interval", "1.5")])).unwrap(),
            1_500_000_000
        );
        assert!(interval(&Params::from_pairs([("interval", "-1s")])).is_err());
    }
}
