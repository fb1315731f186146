//! Request parameters as Prometheus reads them: form body and query string
//! merged (body first), Unix-seconds or RFC 3339 times, `match[]` selectors.

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use hearth_storage::{MatchOp, Matcher};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::Expr;

use crate::error::ApiError;

/// Parsed parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Merges a form-encoded body (only when the content type says so) with
    /// the query string.
    pub fn new(headers: &HeaderMap, query: Option<&str>, body: &Bytes) -> Self {
        let mut pairs = Vec::new();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form {
            pairs.extend(url::form_urlencoded::parse(body).into_owned());
        }
        if let Some(q) = query {
            pairs.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Self(pairs)
    }

    /// Builds parameters from pairs; handy in tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// First value of `name`, if given and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter in ms, or `default` when absent.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_time(v).map_err(|e| ApiError::bad_param(name, e)),
        }
    }

    /// `limit` (0 or absent = unlimited).
    pub fn limit(&self) -> Result<Option<usize>, ApiError> {
        match self.get("limit") {
            None => Ok(None),
            Some(v) => {
                let n: i64 = v.parse().map_err(|_| {
                    ApiError::bad_param("limit", format!("cannot parse {v:?} to a valid limit"))
                })?;
                if n < 0 {
                    return Err(ApiError::bad_param("limit", "limit must be non-negative"));
                }
                Ok((n > 0).then_some(n as usize))
            }
        }
    }

    /// `start`/`end` for metadata endpoints, defaulting to all time.
    pub fn range(&self) -> Result<(i64, i64), ApiError> {
        let start = self.time_or("start", i64::MIN)?;
        let end = self.time_or("end", i64::MAX)?;
        if end < start {
            return Err(ApiError::bad_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        Ok((start, end))
    }

    /// The `match[]` selectors, each as alternatives of matcher sets.
    pub fn selectors(&self) -> Result<Vec<Vec<Vec<Matcher>>>, ApiError> {
        self.get_all("match[]")
            .into_iter()
            .map(|s| parse_selector(s).map_err(|e| ApiError::bad_param("match[]", e)))
            .collect()
    }
}

/// Parses a time: float Unix seconds (rounded to the millisecond) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() {
            let ms = (secs * 1000.0).round();
            if ms >= i64::MIN as f64 && ms <= i64::MAX as f64 {
                return Ok(ms as i64);
            }
        }
        return Err(format!("cannot parse {s:?} to a valid timestamp"));
    }
    // The bounds Prometheus' clients send for "all time".
    match s {
        "-292273086-05-16T16:47:06Z" => return Ok(i64::MIN),
        "292277025-08-18T07:12:54.999999999Z" => return Ok(i64::MAX),
        _ => {}
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Parses one series selector into alternatives (`or` inside braces) of
/// matcher sets.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    let expr = promql_parser::parser::parse(s)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("{s:?} is not a series selector"));
    };
    let convert = |set: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, String> {
        let mut out = Vec::with_capacity(set.len() + 1);
        if let Some(name) = &vs.name {
            out.push(Matcher::equal("__name__", name.clone()));
        }
        for m in set {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            out.push(Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| e.to_string())?);
        }
        if out.iter().all(|m| m.matches("")) {
            return Err("match[] must contain at least one non-empty matcher".into());
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|set| convert(set))
            .collect()
    }
}

/// Decodes Grafana's `U__` escaping of UTF-8 label names
/// (`U__http_2e_method` -> `http.method`).
pub fn unescape_label_name(name: &str) -> Result<String, String> {
    let Some(rest) = name.strip_prefix("U__") else {
        return Ok(name.to_owned());
    };
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&c| c != '_').collect();
        let code = u32::from_str_radix(&hex, 16)
            .map_err(|_| format!("invalid escaped label name {name:?}"))?;
        out.push(
            char::from_u32(code).ok_or_else(|| format!("invalid escaped label name {name:?}"))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1718000000.5").unwrap(), 1_718_000_000_500);
        assert_eq!(parse_time("4").unwrap(), 4000);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn selectors() {
        let sets = parse_selector(r#"up{job=~"a|b"}"#).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].len(), 2);
        assert!(parse_selector(r#"{job=~".*"}"#).is_err());
        assert!(parse_selector("sum(up)").is_err());
        assert_eq!(parse_selector(r#"{a="1" or b="2"}"#).unwrap().len(), 2);
        assert_eq!(parse_selector(r#"{__name__!=""}"#).unwrap()[0].len(), 1);
    }

    #[test]
    fn unescape() {
        assert_eq!(
            unescape_label_name("U__http_2e_method").unwrap(),
            "http.method"
        );
        assert_eq!(unescape_label_name("U__a__b").unwrap(), "a_b");
        assert_eq!(unescape_label_name("job").unwrap(), "job");
        assert!(unescape_label_name("U__a_zz_").is_err());
    }

    #[test]
    fn body_then_query() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let p = Params::new(
            &h,
            Some("start=2&match[]=b"),
            &Bytes::from_static(b"start=1&match%5B%5D=a"),
        );
        assert_eq!(p.get("start"), Some("1"));
        assert_eq!(p.get_all("match[]"), vec!["a", "b"]);
    }
}
