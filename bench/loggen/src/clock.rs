//! The wall-clock texts real logs embed (nginx `$time_local`, RFC 3339,
//! syslog's `Mmm dd hh:mm:ss`), computed from the entry's own timestamp so
//! the raw file and the pushed entries carry the same bytes.

use std::io::{self, Write};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC instant split into calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

impl Civil {
    /// Splits nanoseconds since the Unix epoch (proleptic Gregorian, UTC),
    /// using the era/day-of-era decomposition so no table or loop is needed.
    pub fn from_ns(ts_ns: i64) -> Self {
        let secs = ts_ns.div_euclid(1_000_000_000);
        let nanos = ts_ns.rem_euclid(1_000_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        // Shift the epoch to 0000-03-01 so leap days fall at the end of a
        // year, then count 400-year eras of 146 097 days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos,
        }
    }

    fn month_name(&self) -> &'static str {
        MONTHS[(self.month.clamp(1, 12) - 1) as usize]
    }

    /// nginx `$time_local` with a UTC server: `26/Nov/2026:17:51:13 +0000`.
    pub fn write_nginx(&self, out: &mut Vec<u8>) -> io::Result<()> {
        write!(
            out,
            "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
            self.day,
            self.month_name(),
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// RFC 3339 in UTC with `frac` fractional digits (0, 3, 6 or 9).
    pub fn write_rfc3339(&self, out: &mut Vec<u8>, frac: u32) -> io::Result<()> {
        write!(
            out,
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        match frac {
            3 => write!(out, ".{:03}", self.nanos / 1_000_000)?,
            6 => write!(out, ".{:06}", self.nanos / 1_000)?,
            9 => write!(out, ".{:09}", self.nanos)?,
            _ => {}
        }
        out.push(b'Z');
        Ok(())
    }

    /// BSD syslog's `Nov  6 07:05:01` (day space-padded, no year).
    pub fn write_syslog(&self, out: &mut Vec<u8>) -> io::Result<()> {
        write!(
            out,
            "{} {:>2} {:02}:{:02}:{:02}",
            self.month_name(),
            self.day,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// klog's `I1126 17:51:13.123456` prefix body (without the severity).
    pub fn write_klog(&self, out: &mut Vec<u8>) -> io::Result<()> {
        write!(
            out,
            "{:02}{:02} {:02}:{:02}:{:02}.{:06}",
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos / 1_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl Fn(&Civil, &mut Vec<u8>) -> io::Result<()>, ts_ns: i64) -> String {
        let mut out = Vec::new();
        f(&Civil::from_ns(ts_ns), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn known_instants() {
        const S: i64 = 1_000_000_000;
        assert_eq!(
            text(|c, o| c.write_rfc3339(o, 3), 0),
            "1970-01-01T00:00:00.000Z"
        );
        // 2023-11-14T22:13:20Z
        assert_eq!(
            text(|c, o| c.write_rfc3339(o, 6), 1_700_000_000 * S + 5_000),
            "2023-11-14T22:13:20.000005Z"
        );
        // 2024-02-29 (leap day) 01:02:03
        let leap = 1_709_168_523 * S;
        assert_eq!(text(Civil::write_nginx, leap), "29/Feb/2024:01:02:03 +0000");
        assert_eq!(text(Civil::write_syslog, leap), "Feb 29 01:02:03");
        // 2000-03-05: a one-digit day is space-padded in syslog.
        assert_eq!(
            text(Civil::write_syslog, 952_214_400 * S),
            "Mar  5 00:00:00"
        );
        assert_eq!(
            text(Civil::write_klog, 952_214_400 * S + 1_500),
            "0305 00:00:00.000001"
        );
    }
}
