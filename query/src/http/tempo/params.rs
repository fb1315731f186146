//! What the Tempo endpoints share: their error type, time ranges in unix
//! seconds, and the pre-TraceQL search form (`tags=` in logfmt with
//! `minDuration`/`maxDuration`), which is turned into TraceQL text so one
//! evaluator answers both.

use std::collections::BTreeMap;
use std::sync::Arc;

use hearth_storage::TracesEngine;

use crate::QueryState;
use crate::traceql::format_duration;

/// Why a Tempo request failed; each maps to a status and a plain-text
/// body, which is what Grafana shows.
#[derive(Debug, thiserror::Error)]
pub enum TempoError {
    /// The request is malformed (400).
    #[error("{0}")]
    Bad(String),
    /// Storage is not ready yet (503).
    #[error("{0}")]
    Unavailable(String),
    /// Reading failed (500).
    #[error("{0}")]
    Internal(String),
}

impl TempoError {
    /// A 400 with this message.
    pub fn bad(m: impl Into<String>) -> Self {
        Self::Bad(m.into())
    }

    /// A 500 reporting `e`.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(format!("reading traces: {e}"))
    }
}

/// The traces engine, or 503 while its WAL replays.
pub fn engine(state: &QueryState) -> Result<Arc<TracesEngine>, TempoError> {
    state
        .traces
        .get()
        .cloned()
        .ok_or_else(|| TempoError::Unavailable("storage is replaying its write-ahead log".into()))
}

/// `start` and `end` in unix seconds as Tempo takes them, as an inclusive
/// nanosecond range covering whole seconds. Missing bounds are open.
pub fn seconds_range(start: Option<&str>, end: Option<&str>) -> Result<(i64, i64), TempoError> {
    let parse = |name: &str, v: Option<&str>| -> Result<Option<i64>, TempoError> {
        v.map(|v| {
            v.trim()
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| TempoError::bad(format!("invalid {name} {v:?}: want unix seconds")))
        })
        .transpose()
    };
    let (start, end) = (parse("start", start)?, parse("end", end)?);
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err(TempoError::bad(
            "invalid start and end: end must be after start",
        ));
    }
    Ok((
        start.map_or(0, |s| s * 1_000_000_000),
        end.map_or(i64::MAX, |e| e * 1_000_000_000 + 999_999_999),
    ))
}

/// Parses logfmt `k=v k2="v 2"` pairs, as Tempo's `tags=` takes them.
pub fn logfmt(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            return Err(format!("invalid tags {text:?}: {key:?} has no =value"));
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(format!("invalid tags {text:?}: unterminated quote")),
                    },
                    Some(c) => value.push(c),
                    None => return Err(format!("invalid tags {text:?}: unterminated quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        out.insert(key, value);
    }
}

/// The TraceQL for a pre-TraceQL search: every tag must match a span or
/// resource attribute of one span (`name` and `status.code` are the span's
/// own fields), and the durations bound the trace's.
pub fn legacy_query(
    tags: &BTreeMap<String, String>,
    min_duration: Option<&str>,
    max_duration: Option<&str>,
) -> Result<String, String> {
    let mut conds = Vec::new();
    for (k, v) in tags {
        conds.push(match k.as_str() {
            "name" => format!("name = {}", quote(v)),
            "status.code" | "status" => match v.as_str() {
                "error" | "ok" | "unset" => format!("status = {v}"),
                "2" | "STATUS_CODE_ERROR" => "status = error".into(),
                "1" | "STATUS_CODE_OK" => "status = ok".into(),
                "0" | "STATUS_CODE_UNSET" => "status = unset".into(),
                _ => return Err(format!("invalid status {v:?}: want error, ok or unset")),
            },
            "error" if v == "true" => "status = error".into(),
            // Tempo matches this one as the integer it is.
            "http.status_code" if v.parse::<i64>().is_ok() => format!(".http.status_code = {v}"),
            _ => format!(".{} = {}", attribute_name(k), quote(v)),
        });
    }
    for (op, d) in [(">=", min_duration), ("<=", max_duration)] {
        if let Some(d) = d {
            let ns = go_duration(d).ok_or_else(|| format!("invalid duration {d:?}"))?;
            conds.push(format!("traceDuration {op} {}", format_duration(ns)));
        }
    }
    Ok(format!("{{ {} }}", conds.join(" && ")))
}

/// An attribute name as TraceQL reads it: bare when it can be, quoted
/// otherwise.
pub fn attribute_name(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if bare { name.to_string() } else { quote(name) }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A Go duration (`300ms`, `1.5s`, `1h2m`) in nanoseconds.
pub fn go_duration(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            // Prometheus' units, which `step` and `since` also take.
            "d" => 86_400e9,
            "w" => 604_800e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    (total.is_finite() && total < i64::MAX as f64).then_some(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traceql::compile;

    #[test]
    fn ranges_are_whole_seconds_and_ordered() {
        assert_eq!(
            seconds_range(Some("10"), Some("20")).ok(),
            Some((10_000_000_000, 20_999_999_999))
        );
        assert_eq!(seconds_range(None, None).ok(), Some((0, i64::MAX)));
        assert!(seconds_range(Some("20"), Some("10")).is_err());
        assert!(seconds_range(Some("20"), Some("20")).is_err());
        assert!(seconds_range(Some("-1"), None).is_err());
    }

    #[test]
    fn logfmt_pairs_with_quotes() {
        let got = logfmt(r#"service.name=api  http.url="/a b" x="q\"uote""#).expect("parses");
        assert_eq!(got["service.name"], "api");
        assert_eq!(got["http.url"], "/a b");
        assert_eq!(got["x"], "q\"uote");
        assert!(logfmt("novalue").is_err());
        assert!(logfmt(r#"a="open"#).is_err());
        assert!(logfmt("").expect("empty is fine").is_empty());
    }

    #[test]
    fn legacy_searches_become_traceql_that_compiles() {
        let tags = logfmt(
            r#"service.name=api name="GET /x" status.code=2 odd"key=v http/route=/a http.status_code=500"#,
        )
        .expect("parses");
        let q = legacy_query(&tags, Some("100ms"), Some("2s")).expect("builds");
        assert_eq!(
            q,
            r#"{ .http.status_code = 500 && ."http/route" = "/a" && name = "GET /x" && ."odd\"key" = "v" && .service.name = "api" && status = error && traceDuration >= 100ms && traceDuration <= 2s }"#
        );
        compile(&q).expect("compiles");
        let empty = legacy_query(&BTreeMap::new(), None, None).expect("builds");
        assert_eq!(empty, "{  }");
        compile(&empty).expect("compiles");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("300ms"), Some(300_000_000));
        assert_eq!(go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(go_duration("1h2m"), Some(3_720_000_000_000));
        assert_eq!(go_duration("0"), Some(0));
        assert_eq!(go_duration("5"), None);
        assert_eq!(go_duration("5x"), None);
    }
}
