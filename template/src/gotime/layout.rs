//! Go's layout language: the reference time `Mon Jan 2 15:04:05 MST 2006`
//! split into elements (`Jan`, `02`, `.000`, `Z07:00`, …), and formatting
//! with them. Text that is not an element is copied as is.

use super::Civil;

/// One element of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm {
        upper: bool,
    },
    /// `MST`: the zone's abbreviation.
    Tz,
    /// `-0700` and friends; `iso` (`Z0700`) prints `Z` for UTC.
    NumTz {
        iso: bool,
        colons: bool,
        minutes: bool,
        seconds: bool,
    },
    /// `.000` (`zeros`, fixed width) or `.999` (trailing zeros trimmed).
    Frac {
        zeros: bool,
        digits: usize,
        sep: u8,
    },
}

pub(super) const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

fn num_tz(iso: bool, colons: bool, minutes: bool, seconds: bool) -> Chunk {
    Chunk::NumTz {
        iso,
        colons,
        minutes,
        seconds,
    }
}

/// The zone forms after `-` or `Z`, longest first, with their lengths.
fn tz_form(rest: &[u8], iso: bool) -> Option<(usize, Chunk)> {
    let forms: [(&[u8], bool, bool, bool); 5] = [
        (b"070000", false, true, true),
        (b"07:00:00", true, true, true),
        (b"0700", false, true, false),
        (b"07:00", true, true, false),
        (b"07", false, false, false),
    ];
    forms.iter().find_map(|(text, colons, minutes, seconds)| {
        rest.starts_with(text)
            .then(|| (text.len() + 1, num_tz(iso, *colons, *minutes, *seconds)))
    })
}

/// The next element of `layout`: its start, its end and what it is.
pub(super) fn next_chunk(layout: &str) -> Option<(usize, usize, Chunk)> {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        let rest = &b[i..];
        let found = match b[i] {
            b'J' if rest.starts_with(b"January") => Some((7, Chunk::LongMonth)),
            b'J' if rest.starts_with(b"Jan") && !starts_lower(&rest[3..]) => {
                Some((3, Chunk::Month))
            }
            b'M' if rest.starts_with(b"Monday") => Some((6, Chunk::LongWeekDay)),
            b'M' if rest.starts_with(b"Mon") && !starts_lower(&rest[3..]) => {
                Some((3, Chunk::WeekDay))
            }
            b'M' if rest.starts_with(b"MST") => Some((3, Chunk::Tz)),
            b'0' => match rest.get(1) {
                Some(c @ b'1'..=b'6') => Some((
                    2,
                    [
                        Chunk::ZeroMonth,
                        Chunk::ZeroDay,
                        Chunk::ZeroHour12,
                        Chunk::ZeroMinute,
                        Chunk::ZeroSecond,
                        Chunk::Year,
                    ][usize::from(c - b'1')],
                )),
                Some(b'0') if rest.get(2) == Some(&b'2') => Some((3, Chunk::ZeroYearDay)),
                _ => None,
            },
            b'1' if rest.get(1) == Some(&b'5') => Some((2, Chunk::Hour)),
            b'1' => Some((1, Chunk::NumMonth)),
            b'2' if rest.starts_with(b"2006") => Some((4, Chunk::LongYear)),
            b'2' => Some((1, Chunk::Day)),
            // `_2006` is an underscore followed by the year.
            b'_' if rest.starts_with(b"_2006") => return Some((i + 1, i + 5, Chunk::LongYear)),
            b'_' if rest.starts_with(b"_2") => Some((2, Chunk::UnderDay)),
            b'_' if rest.starts_with(b"__2") => Some((3, Chunk::UnderYearDay)),
            b'3' => Some((1, Chunk::Hour12)),
            b'4' => Some((1, Chunk::Minute)),
            b'5' => Some((1, Chunk::Second)),
            b'P' if rest.starts_with(b"PM") => Some((2, Chunk::Pm { upper: true })),
            b'p' if rest.starts_with(b"pm") => Some((2, Chunk::Pm { upper: false })),
            b'-' => tz_form(&rest[1..], false),
            b'Z' => tz_form(&rest[1..], true),
            sep @ (b'.' | b',') => match rest.get(1) {
                Some(&c @ (b'0' | b'9')) => {
                    let run = rest[1..].iter().take_while(|&&x| x == c).count();
                    let after_digit = rest.get(1 + run).is_some_and(u8::is_ascii_digit);
                    (!after_digit && run <= 9).then_some((
                        1 + run,
                        Chunk::Frac {
                            zeros: c == b'0',
                            digits: run,
                            sep,
                        },
                    ))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some((len, chunk)) = found {
            return Some((i, i + len, chunk));
        }
    }
    None
}

/// Go's `appendInt`: `x` padded with zeros to `width` digits, sign first.
fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

fn push_num_tz(out: &mut String, offset: i32, colons: bool, minutes: bool, seconds: bool) {
    let abs = offset.unsigned_abs();
    out.push(if offset < 0 { '-' } else { '+' });
    push_int(out, i64::from(abs / 3600), 2);
    if minutes {
        if colons {
            out.push(':');
        }
        push_int(out, i64::from(abs / 60 % 60), 2);
    }
    if seconds {
        if colons {
            out.push(':');
        }
        push_int(out, i64::from(abs % 60), 2);
    }
}

fn push_chunk(out: &mut String, t: &Civil, chunk: Chunk) {
    let month = usize::try_from(t.month.saturating_sub(1)).unwrap_or(0) % 12;
    let weekday = usize::try_from(t.weekday).unwrap_or(0) % 7;
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    match chunk {
        Chunk::LongMonth => out.push_str(LONG_MONTHS[month]),
        Chunk::Month => out.push_str(&LONG_MONTHS[month][..3]),
        Chunk::NumMonth => push_int(out, i64::from(t.month), 0),
        Chunk::ZeroMonth => push_int(out, i64::from(t.month), 2),
        Chunk::LongWeekDay => out.push_str(LONG_DAYS[weekday]),
        Chunk::WeekDay => out.push_str(&LONG_DAYS[weekday][..3]),
        Chunk::Day => push_int(out, i64::from(t.day), 0),
        Chunk::UnderDay => {
            if t.day < 10 {
                out.push(' ');
            }
            push_int(out, i64::from(t.day), 0);
        }
        Chunk::ZeroDay => push_int(out, i64::from(t.day), 2),
        Chunk::UnderYearDay => {
            out.push_str(&" ".repeat(3usize.saturating_sub(t.yday.to_string().len())));
            push_int(out, i64::from(t.yday), 0);
        }
        Chunk::ZeroYearDay => push_int(out, i64::from(t.yday), 3),
        Chunk::Hour => push_int(out, i64::from(t.hour), 2),
        Chunk::Hour12 => push_int(out, i64::from(hour12), 0),
        Chunk::ZeroHour12 => push_int(out, i64::from(hour12), 2),
        Chunk::Minute => push_int(out, i64::from(t.minute), 0),
        Chunk::ZeroMinute => push_int(out, i64::from(t.minute), 2),
        Chunk::Second => push_int(out, i64::from(t.second), 0),
        Chunk::ZeroSecond => push_int(out, i64::from(t.second), 2),
        Chunk::LongYear => push_int(out, t.year, 4),
        Chunk::Year => push_int(out, t.year % 100, 2),
        Chunk::Pm { upper } => {
            let pm = if t.hour >= 12 { "PM" } else { "AM" };
            if upper {
                out.push_str(pm);
            } else {
                out.push_str(&pm.to_ascii_lowercase());
            }
        }
        Chunk::Tz => {
            if t.zone.is_empty() {
                push_num_tz(out, t.offset, false, true, false);
            } else {
                out.push_str(&t.zone);
            }
        }
        Chunk::NumTz {
            iso,
            colons,
            minutes,
            seconds,
        } => {
            if iso && t.offset == 0 {
                out.push('Z');
            } else {
                push_num_tz(out, t.offset, colons, minutes, seconds);
            }
        }
        Chunk::Frac { zeros, digits, sep } => {
            if !zeros && (digits == 0 || t.nanos == 0) {
                return;
            }
            let mut frac = format!("{:09}", t.nanos);
            frac.truncate(digits);
            if !zeros {
                let kept = frac.trim_end_matches('0').len();
                frac.truncate(kept);
                if frac.is_empty() {
                    return;
                }
            }
            out.push(char::from(sep));
            out.push_str(&frac);
        }
    }
}

/// Go's `Time.Format`.
pub(super) fn format(t: &Civil, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    while let Some((start, end, chunk)) = next_chunk(rest) {
        out.push_str(&rest[..start]);
        push_chunk(&mut out, t, chunk);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
