//! Durations as Prometheus writes them in rule files and Alertmanager in its
//! routing tree: `1y2w3d4h5m6s7ms` with units in that order, each at most
//! once, or a bare `0`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Units in the order Prometheus requires them, with their length in ms.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a Prometheus duration; the error text is Prometheus' own.
pub fn parse(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        // "ms" must be tried before "m".
        let unit = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| rest.starts_with(name))
            .max_by_key(|(_, (name, _))| name.len())
            .map(|(i, u)| (i + next_unit, *u));
        let Some((index, (name, ms))) = unit else {
            return Err(invalid());
        };
        rest = &rest[name.len()..];
        next_unit = index + 1;
        total = number
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= i64::MAX as u64)
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats as Prometheus does: largest units first, zero parts left out,
/// `0s` for zero.
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (name, len) in UNITS {
        // Prometheus only uses years and weeks when they divide evenly.
        if (name == "y" || name == "w") && !ms.is_multiple_of(len) {
            continue;
        }
        if ms >= len {
            out.push_str(&(ms / len).to_string());
            out.push_str(name);
            ms %= len;
        }
    }
    out
}

/// A duration field of a rule file or routing tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// Milliseconds.
    pub fn as_millis(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PromDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s, 5m or 1h30m")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PromDuration, E> {
                parse(v).map(PromDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PromDuration, E> {
                parse(&v.to_string()).map(PromDuration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<u64, String> {
        parse(s).map(|d| d.as_millis() as u64)
    }

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("5m"), Ok(300_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("1d"), Ok(86_400_000));
        assert_eq!(ms("1w"), Ok(604_800_000));
        assert_eq!(ms("1y"), Ok(31_536_000_000));
        assert_eq!(ms("1m500ms"), Ok(60_500));
        assert_eq!(ms("250ms"), Ok(250));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        assert_eq!(ms(""), Err("empty duration string".into()));
        for bad in ["5", "m", "1m1h", "1.5h", "5mm", "-1m", "1h 2m", "1s1s"] {
            assert!(ms(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(ms("5x"), Err("not a valid duration string: \"5x\"".into()));
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(3600)), "1h");
        assert_eq!(format(Duration::from_secs(86_400 * 7)), "1w");
        assert_eq!(format(Duration::from_secs(86_400 * 8)), "8d");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
    }
}
