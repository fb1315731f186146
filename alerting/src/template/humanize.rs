//! Prometheus' number, duration and time functions (`humanize*`, `toTime`,
//! `toDuration`) with Prometheus' output formats, including how Go prints
//! times and durations. `parseDuration` uses the crate's rule-file duration
//! parser, so templates and rule files accept the same durations.

use chrono::DateTime;

use hearth_template::Value;
use hearth_template::ftoa::format_float;
use hearth_template::strconv::{parse_float, parse_float_message};

/// Go's `%.4g`, which every humanize function uses for its number.
fn g4(v: f64) -> String {
    format_float(v, b'g', 4)
}

/// Prometheus' `convertToFloat`: floats, ints and numeric strings.
pub(super) fn convert_to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::String(s) => parse_float(s).map_err(|e| parse_float_message(s, e)),
        other => Err(format!("can't convert {} to float", other.go_type())),
    }
}

/// Scales by 1000 (or `base`) while the magnitude allows, collecting a prefix.
fn scale_down(mut v: f64, base: f64, prefixes: &[&'static str]) -> (f64, &'static str) {
    let mut prefix = "";
    for p in prefixes {
        if v.abs() < base {
            break;
        }
        prefix = p;
        v /= base;
    }
    (v, prefix)
}

fn scale_up(mut v: f64) -> (f64, &'static str) {
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

/// `humanize`: SI prefixes, e.g. 1234567 → `1.235M`, 0.001234 → `1.234m`.
pub(super) fn humanize(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    if v == 0.0 || !v.is_finite() {
        return Ok(g4(v));
    }
    let (v, prefix) = if v.abs() >= 1.0 {
        scale_down(v, 1000.0, &["k", "M", "G", "T", "P", "E", "Z", "Y"])
    } else {
        scale_up(v)
    };
    Ok(format!("{}{prefix}", g4(v)))
}

/// `humanize1024`: binary prefixes (`ki`, `Mi`, … as Prometheus spells them).
pub(super) fn humanize1024(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    if v.abs() <= 1.0 || !v.is_finite() {
        return Ok(g4(v));
    }
    let (v, prefix) = scale_down(v, 1024.0, &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]);
    Ok(format!("{}{prefix}", g4(v)))
}

/// `humanizeDuration`: seconds as `1d 1h 1m 1s`, `1.5s` or `500ms`.
pub(super) fn humanize_duration(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    if !v.is_finite() {
        return Ok(g4(v));
    }
    if v == 0.0 {
        return Ok(format!("{}s", g4(v)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let whole = v as i64;
        let (seconds, minutes) = (whole % 60, (whole / 60) % 60);
        let (hours, days) = ((whole / 3600) % 24, whole / 86400);
        // From minutes up, seconds are shown as whole numbers.
        return Ok(if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", g4(v))
        });
    }
    let (v, prefix) = scale_up(v);
    Ok(format!("{}{prefix}s", g4(v)))
}

/// `humanizePercentage`: a ratio as a percentage, 0.1234567 → `12.35%`.
pub(super) fn humanize_percentage(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    Ok(format!("{}%", g4(v * 100.0)))
}

/// Why a float is not a timestamp.
enum TimeError {
    NotFinite,
    Overflow(f64),
}

/// Prometheus' `floatToTime`, truncated to milliseconds as its `model.Time` is.
fn float_to_millis(v: f64) -> Result<i64, TimeError> {
    if !v.is_finite() {
        return Err(TimeError::NotFinite);
    }
    let nanos = v * 1e9;
    if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
        return Err(TimeError::Overflow(v));
    }
    Ok((nanos as i64) / 1_000_000)
}

/// Go's `Time.String()` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn format_time(millis: i64) -> Result<String, String> {
    let t = DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| format!("timestamp {millis}ms is out of range"))?;
    let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let frac = millis.rem_euclid(1000);
    if frac != 0 {
        let digits = format!("{frac:03}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    Ok(out)
}

fn time_error(e: TimeError) -> String {
    match e {
        TimeError::NotFinite => "value is NaN or Inf".to_string(),
        TimeError::Overflow(v) => format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_float(v, b'g', -1)
        ),
    }
}

/// `humanizeTimestamp`: Unix seconds as a UTC time; NaN and Inf print as numbers.
pub(super) fn humanize_timestamp(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    match float_to_millis(v) {
        Ok(ms) => format_time(ms),
        Err(TimeError::NotFinite) => Ok(g4(v)),
        Err(e) => Err(time_error(e)),
    }
}

/// `toTime`: Unix seconds as a time, printed as Go prints a `time.Time`.
pub(super) fn to_time(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    float_to_millis(v).map_err(time_error).and_then(format_time)
}

/// Go's `time.Duration.String()`, e.g. `1h1m1s`, `1.5s`, `500ms`, `0s`.
pub(super) fn go_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, scale) = match u {
            0 => return "0s".to_string(),
            1..=999 => ("ns", 1),
            1_000..=999_999 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if secs >= 60 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fraction(
            s * 1_000_000_000 + u % 1_000_000_000,
            1_000_000_000,
        ));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `value / scale` with the fraction's trailing zeros (and point) dropped.
fn fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// `toDuration`: seconds as a Go duration string.
pub(super) fn to_duration(v: &Value) -> Result<String, String> {
    let v = convert_to_float(v)?;
    // Go converts out-of-range floats arbitrarily; saturating is the sane reading.
    Ok(go_duration((v * 1e9) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(f: fn(&Value) -> Result<String, String>, v: f64) -> String {
        f(&Value::Float(v)).unwrap()
    }

    #[test]
    fn humanize_matches_prometheus() {
        assert_eq!(h(humanize, 1234567.0), "1.235M");
        assert_eq!(h(humanize, 0.0), "0");
        assert_eq!(h(humanize, 0.001234), "1.234m");
        assert_eq!(h(humanize, 1.0), "1");
        assert_eq!(h(humanize, 999.0), "999");
        assert_eq!(h(humanize, 1000.0), "1k");
        assert_eq!(h(humanize, -1234.0), "-1.234k");
        assert_eq!(h(humanize, f64::NAN), "NaN");
        assert_eq!(h(humanize, f64::INFINITY), "+Inf");
        assert_eq!(h(humanize, 1e30), "1e+06Y");
        assert_eq!(humanize(&Value::from("2048")), Ok("2.048k".to_string()));
        assert_eq!(humanize(&Value::Int(5)), Ok("5".to_string()));
        assert_eq!(
            humanize(&Value::from("x")),
            Err("strconv.ParseFloat: parsing \"x\": invalid syntax".to_string())
        );
        assert_eq!(
            humanize(&Value::Bool(true)),
            Err("can't convert bool to float".to_string())
        );
        assert_eq!(h(humanize1024, 1048576.0), "1Mi");
        assert_eq!(h(humanize1024, 1.0), "1");
        assert_eq!(h(humanize1024, 0.12), "0.12");
        assert_eq!(h(humanize1024, 2048.0), "2ki");
        assert_eq!(h(humanize_percentage, 0.1234567), "12.35%");
        assert_eq!(h(humanize_percentage, 0.91234), "91.23%");
    }

    #[test]
    fn durations_match_prometheus() {
        assert_eq!(h(humanize_duration, 3661.0), "1h 1m 1s");
        assert_eq!(h(humanize_duration, 90061.0), "1d 1h 1m 1s");
        assert_eq!(h(humanize_duration, 0.5), "500ms");
        assert_eq!(h(humanize_duration, 0.000123), "123us");
        assert_eq!(h(humanize_duration, 1.5), "1.5s");
        assert_eq!(h(humanize_duration, -3661.0), "-1h 1m 1s");
        assert_eq!(h(humanize_duration, 0.0), "0s");
        assert_eq!(h(humanize_duration, 60.0), "1m 0s");
        assert_eq!(h(humanize_duration, f64::NAN), "NaN");
        assert_eq!(go_duration(3_661_000_000_000), "1h1m1s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(7), "7ns");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(-60_000_000_000), "-1m0s");
        assert_eq!(go_duration(7_200_000_000_000), "2h0m0s");
        assert_eq!(h(to_duration, 3661.0), "1h1m1s");
    }

    #[test]
    fn times_print_like_go() {
        assert_eq!(
            h(humanize_timestamp, 1435065584.128),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(h(humanize_timestamp, 0.0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            h(humanize_timestamp, 1.5),
            "1970-01-01 00:00:01.5 +0000 UTC"
        );
        assert_eq!(
            h(humanize_timestamp, -1.5),
            "1969-12-31 23:59:58.5 +0000 UTC"
        );
        assert_eq!(h(humanize_timestamp, f64::INFINITY), "+Inf");
        assert_eq!(
            h(to_time, 1435065584.128),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(
            to_time(&Value::Float(f64::NAN)),
            Err("value is NaN or Inf".to_string())
        );
        assert!(
            to_time(&Value::Float(1e20))
                .unwrap_err()
                .contains("overflows int64")
        );
    }
}
