//! Go's `time.Time` as templates see it: an instant shown in a location,
//! printed with Go's reference-time layouts (`2006-01-02 15:04:05`) and
//! parsed with them. Template functions such as `date`, `toDate` and
//! `now` produce and consume these values.
//!
//! Go's `Local` is taken to be UTC: a server's own zone would make the same
//! query print differently on different machines.

mod layout;
mod parse;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::{OffsetName, Tz};

pub use parse::ParseError;

/// Unix seconds of Go's zero time, January 1 of year 1, UTC.
const ZERO_UNIX: i64 = -62_135_596_800;

/// Where a time is shown: the offset and zone name its fields are read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Coordinated Universal Time, named `UTC`.
    Utc,
    /// A fixed offset east of UTC in seconds, under a name (possibly empty).
    Fixed {
        /// Zone abbreviation; when empty, Go prints the offset instead.
        name: String,
        /// Seconds east of UTC.
        offset: i32,
    },
    /// A zone from the IANA database, such as `Europe/Paris`.
    Zone(Tz),
}

impl Location {
    /// Go's `time.LoadLocation`: `""` and `UTC` are UTC, `Local` is UTC
    /// here (see the module notes), anything else an IANA zone name.
    pub fn load(name: &str) -> Option<Location> {
        match name {
            "" | "UTC" | "Local" => Some(Location::Utc),
            _ => Tz::from_str(name).ok().map(Location::Zone),
        }
    }

    /// Offset east of UTC and zone name in effect at Unix second `secs`.
    fn lookup(&self, secs: i64) -> (i32, String) {
        match self {
            Location::Utc => (0, "UTC".to_string()),
            Location::Fixed { name, offset } => (*offset, name.clone()),
            Location::Zone(tz) => match DateTime::from_timestamp(secs, 0) {
                Some(utc) => {
                    let off = tz.offset_from_utc_datetime(&utc.naive_utc());
                    let name = off.abbreviation().unwrap_or("").to_string();
                    (off.fix().local_minus_utc(), name)
                }
                None => (0, String::new()),
            },
        }
    }
}

/// A Go `time.Time`: an instant (Unix seconds and nanoseconds) and the
/// location its calendar fields are read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoTime {
    secs: i64,
    nanos: u32,
    loc: Location,
}

/// Calendar fields of a time in its location.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    yday: u32,
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    offset: i32,
    zone: String,
}

impl GoTime {
    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix
    /// epoch, shown in UTC; `nanos` beyond a second carry into `secs`.
    pub fn from_unix(secs: i64, nanos: i64) -> GoTime {
        let secs = secs.saturating_add(nanos.div_euclid(1_000_000_000));
        let nanos = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
        GoTime {
            secs,
            nanos,
            loc: Location::Utc,
        }
    }

    /// Go's `time.Unix(0, ns)`.
    pub fn from_unix_nanos(ns: i64) -> GoTime {
        GoTime::from_unix(0, ns)
    }

    /// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
    pub fn zero() -> GoTime {
        GoTime::from_unix(ZERO_UNIX, 0)
    }

    /// The current time.
    pub fn now() -> GoTime {
        let now = chrono::Utc::now();
        GoTime::from_unix(now.timestamp(), i64::from(now.timestamp_subsec_nanos()))
    }

    /// The same instant shown in `loc`.
    pub fn in_location(mut self, loc: Location) -> GoTime {
        self.loc = loc;
        self
    }

    /// The location the time is shown in.
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Go's `Unix`: whole seconds since the epoch.
    pub fn unix(&self) -> i64 {
        self.secs
    }

    /// Go's `UnixMilli`.
    pub fn unix_milli(&self) -> i64 {
        self.secs
            .saturating_mul(1_000)
            .saturating_add(i64::from(self.nanos / 1_000_000))
    }

    /// Go's `UnixNano`; times beyond int64 nanoseconds saturate rather
    /// than wrap as Go's do.
    pub fn unix_nano(&self) -> i64 {
        self.secs
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(self.nanos))
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    fn civil(&self) -> Civil {
        let (offset, zone) = self.loc.lookup(self.secs);
        let local = self
            .secs
            .checked_add(i64::from(offset))
            .and_then(|s| DateTime::from_timestamp(s, self.nanos))
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        Civil {
            year: i64::from(local.year()),
            month: local.month(),
            day: local.day(),
            yday: local.ordinal(),
            weekday: local.weekday().num_days_from_sunday(),
            hour: local.hour(),
            minute: local.minute(),
            second: local.second(),
            nanos: self.nanos,
            offset,
            zone,
        }
    }

    /// Go's `Format` with a reference-time layout such as `2006-01-02T15:04:05Z07:00`.
    pub fn format(&self, layout: &str) -> String {
        layout::format(&self.civil(), layout)
    }

    /// Go's `time.ParseInLocation`: `value` read with `layout`, in `loc`
    /// unless the value names its own offset.
    pub fn parse_in(layout: &str, value: &str, loc: &Location) -> Result<GoTime, ParseError> {
        parse::parse(layout, value, loc)
    }

    /// The instant of calendar fields read in `loc`, as Go's `time.Date`.
    fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hms: (u32, u32, u32),
        nanos: u32,
        loc: Location,
    ) -> Option<GoTime> {
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        let naive: NaiveDateTime = date.and_hms_opt(hms.0, hms.1, hms.2)?;
        let as_utc = naive.and_utc().timestamp();
        let secs = match &loc {
            Location::Utc => as_utc,
            Location::Fixed { offset, .. } => as_utc - i64::from(*offset),
            // In a gap or an overlap Go's choice is unspecified; take the earlier.
            Location::Zone(tz) => match tz.from_local_datetime(&naive).earliest() {
                Some(t) => t.timestamp(),
                None => {
                    as_utc - i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc())
                }
            },
        };
        Some(GoTime { secs, nanos, loc })
    }
}

/// Go's `Time.String`: `2006-01-02 15:04:05.999999999 -0700 MST`.
impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

#[cfg(test)]
mod tests;
