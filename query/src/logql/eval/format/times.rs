//! Date and time functions: Sprig's `date`/`toDate` and Loki's
//! `toDateInZone`, `unixToTime` and `unixEpoch*`. As in Sprig, a value
//! that does not parse as a date gives Go's zero time, not an error.

use hearth_template::gotime::Location;
use hearth_template::{GoTime, Value};

/// Sprig's `date`: `t` formatted with a Go layout in the server's zone. A
/// time value or Unix seconds are formatted; anything else means now, as
/// in Sprig.
pub(super) fn date(layout: &str, t: &Value) -> String {
    let t = match t {
        Value::Time(t) => t.clone(),
        Value::Int(secs) => GoTime::from_unix(*secs, 0),
        _ => GoTime::now(),
    };
    t.in_location(Location::Utc).format(layout)
}

/// Sprig's `toDate` and Loki's `toDateInZone`: `value` parsed with a Go
/// layout in `zone` (an unknown zone is UTC); a mismatch gives the zero time.
pub(super) fn to_date(layout: &str, value: &str, zone: &str) -> GoTime {
    let loc = Location::load(zone).unwrap_or(Location::Utc);
    GoTime::parse_in(layout, value, &loc).unwrap_or_else(|_| GoTime::zero())
}

/// Loki's `unixToTime`: an epoch in days (5 digits), seconds (10),
/// milliseconds (13), microseconds (16) or nanoseconds (19).
pub(super) fn unix_to_time(epoch: &str) -> Result<GoTime, String> {
    let fail = || format!("unable to parse time '{epoch}'");
    let n: i64 = epoch.parse().map_err(|_| fail())?;
    Ok(match epoch.len() {
        5 => GoTime::from_unix(n.checked_mul(86_400).ok_or_else(fail)?, 0),
        10 => GoTime::from_unix(n, 0),
        13 => GoTime::from_unix(0, n.checked_mul(1_000_000).ok_or_else(fail)?),
        16 => GoTime::from_unix(0, n.checked_mul(1_000).ok_or_else(fail)?),
        19 => GoTime::from_unix_nanos(n),
        _ => return Err(fail()),
    })
}

/// `unixEpoch`, `unixEpochMillis`, `unixEpochNanos`: the count as a string.
pub(super) fn epoch(name: &str, t: &GoTime) -> String {
    match name {
        "unixEpochMillis" => t.unix_milli(),
        "unixEpochNanos" => t.unix_nano(),
        _ => t.unix(),
    }
    .to_string()
}
