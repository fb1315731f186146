//! Metric, unit and label names as Prometheus' OTLP receiver builds them under
//! its default `UnderscoreEscapingWithSuffixes` strategy, plus the string forms
//! (attribute values, `le`/`quantile` values) that end up in label values.
//!
//! Everything here is pure: it only turns strings into strings, so the rules
//! can be tested one by one against Prometheus' documented results.

/// What an OTLP metric is, as far as its Prometheus name is concerned. Only a
/// monotonic sum earns `_total` and only a true gauge earns `_ratio`: a
/// non-monotonic sum is stored as a gauge but named like Prometheus names a
/// "non-monotonic counter", without `_ratio`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// OTLP Gauge.
    Gauge,
    /// OTLP Sum with `is_monotonic`.
    MonotonicSum,
    /// OTLP Sum without `is_monotonic`.
    NonMonotonicSum,
    /// OTLP explicit-bucket Histogram.
    Histogram,
    /// OTLP ExponentialHistogram.
    ExponentialHistogram,
    /// OTLP Summary.
    Summary,
}

/// UCUM units Prometheus spells out. These are the mappings Prometheus 3.x
/// ships (`TiBy` → `tibibytes` included, a known misspelling it keeps for
/// stable series names); anything else passes through and is then escaped.
const UNIT_MAP: &[(&str, &str)] = &[
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("1", ""),
    ("%", "percent"),
];

/// The unit after a `/`, in the singular because it reads "per second".
const PER_UNIT_MAP: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

fn lookup<'a>(map: &'a [(&str, &'a str)], key: &'a str) -> &'a str {
    map.iter().find(|(k, _)| *k == key).map_or(key, |(_, v)| *v)
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Splits a unit at its first `/` into the main and the "per" suffix, before
/// escaping. Curly annotations (`{packets}`) carry no unit and are dropped.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main_raw = parts.next().unwrap_or("").trim();
    let main = if main_raw.is_empty() || main_raw.contains(['{', '}']) {
        String::new()
    } else {
        lookup(UNIT_MAP, main_raw).to_owned()
    };
    let per = match parts.next() {
        Some(raw) if !raw.is_empty() => {
            let raw = raw.trim();
            if raw.is_empty() || raw.contains(['{', '}']) {
                String::new()
            } else {
                let word = lookup(PER_UNIT_MAP, raw);
                if word.is_empty() {
                    String::new()
                } else {
                    format!("per_{word}")
                }
            }
        }
        _ => String::new(),
    };
    (main, per)
}

/// Escapes a unit suffix: invalid characters become `_`, runs of `_`
/// collapse, and one leading `_` goes so the join adds no double underscore.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// Builds the Prometheus metric family name of an OTLP metric.
///
/// The name is split into tokens of `[a-zA-Z0-9:]`, which also collapses and
/// trims underscores; the unit suffixes are appended unless the name already
/// has them as a token; `total` (monotonic sums) and `ratio` (gauges with unit
/// `1`) are moved to the end; a leading digit gets a `_` prefix. A result that
/// is empty, or only underscores while differing from the input, is an error.
pub fn metric_name(name: &str, unit: &str, kind: NameKind) -> Result<String, String> {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));

    // A suffix counts as present when it is any token of the name, not only
    // the last: Prometheus keeps `seconds_before_x` without `_seconds`.
    let mut main = if tokens.contains(&main) {
        String::new()
    } else {
        main
    };
    let per = if per == "per_" {
        String::new()
    } else {
        let trimmed = per.strip_suffix('_').unwrap_or(&per).to_owned();
        if tokens.contains(&trimmed) {
            String::new()
        } else {
            trimmed
        }
    };
    if !per.is_empty()
        && let Some(stripped) = main.strip_suffix('_')
    {
        main = stripped.to_owned();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }

    if kind == NameKind::MonotonicSum {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_owned());
    }
    // Many receivers use `1` for plain counts, so Prometheus adds `_ratio` to
    // gauges only.
    if unit == "1" && kind == NameKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_owned());
    }

    let mut out = tokens.join("_");
    if out.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        return Err(format!(
            "normalization for metric {name:?} resulted in empty name"
        ));
    }
    if out != name && out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for metric {name:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// The unit as Prometheus stores it in metadata: `s` → `seconds`,
/// `By/s` → `bytes_per_second`, `1` and `{request}` → empty.
pub fn unit_name(unit: &str) -> String {
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    let joined = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    let joined = joined.strip_prefix('_').unwrap_or(&joined);
    joined.strip_suffix('_').unwrap_or(joined).to_owned()
}

/// Builds a label name from an attribute key: characters outside
/// `[a-zA-Z0-9_]` become `_` (one per character, runs kept), a leading digit
/// gets `key_`, and a single leading underscore gets `key` when
/// `underscore_sanitization` is on (Prometheus' default) so user attributes
/// cannot pose as `__reserved__` names; names starting `__` are kept.
pub fn label_name(key: &str, underscore_sanitization: bool) -> Result<String, String> {
    if key.is_empty() {
        return Err("normalization for label name \"\" resulted in empty name".to_owned());
    }
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.insert_str(0, "key_");
    } else if underscore_sanitization && out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out != key && out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for label name {key:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// Formats a float the way Go's `strconv.FormatFloat(v, 'f', -1, 64)` does,
/// which is how Prometheus writes `le` and `quantile`: shortest round-trip
/// digits, never an exponent, `+Inf`/`-Inf`/`NaN` for the specials.
pub fn format_le(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // Rust's `Display` for floats is also shortest round-trip without an
        // exponent, so the digits agree.
        format!("{v}")
    }
}
