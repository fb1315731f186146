//! Go's `time.ParseInLocation`: the value is read element by element as
//! the layout describes it, with Go's leniencies (one- or two-digit
//! numbers where padding is optional, a fractional second after the
//! seconds even when the layout has none, runs of spaces matching runs).

use thiserror::Error;

use super::layout::{Chunk, LONG_DAYS, LONG_MONTHS, next_chunk};
use super::{GoTime, Location};

/// A value that does not fit its layout, worded as Go words it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("parsing time {value:?} as {layout:?}: {reason}")]
pub struct ParseError {
    layout: String,
    value: String,
    reason: String,
}

/// Fields read so far; `None` where the layout had no such element.
#[derive(Default)]
struct Fields {
    year: i64,
    month: Option<u32>,
    day: Option<u32>,
    yday: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    pm: Option<bool>,
    utc: bool,
    offset: Option<i32>,
    zone_name: String,
}

fn digit(s: &str, i: usize) -> Option<u32> {
    s.as_bytes()
        .get(i)
        .filter(|b| b.is_ascii_digit())
        .map(|b| u32::from(b - b'0'))
}

/// Go's `getnum`: one or two digits, exactly two when `fixed`.
fn getnum(s: &str, fixed: bool) -> Option<(u32, &str)> {
    let first = digit(s, 0)?;
    match digit(s, 1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None if fixed => None,
        None => Some((first, &s[1..])),
    }
}

/// Go's `getnum3`: up to three digits, exactly three when `fixed`.
fn getnum3(s: &str, fixed: bool) -> Option<(u32, &str)> {
    let n = s.bytes().take(3).take_while(u8::is_ascii_digit).count();
    if n == 0 || (fixed && n != 3) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Case-insensitive lookup of a name at the start of `s`.
fn lookup<'a>(names: &[&str], short: bool, s: &'a str) -> Option<(u32, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short { &name[..3] } else { name };
        let head = s.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (u32::try_from(i).unwrap_or(0), &s[name.len()..]))
    })
}

/// Go's `skip`: the literal text must be there; a run of spaces in the
/// layout matches a run of spaces in the value.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(c) = prefix.chars().next() {
        if c == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(c)?;
        prefix = &prefix[c.len_utf8()..];
    }
    Some(value)
}

/// Go's `parseNanoseconds` over `value[..n]`, which starts with the separator.
fn nanos(value: &str, n: usize) -> Option<u32> {
    let digits = value.get(1..n.min(10))?;
    let mut ns: u32 = digits.parse().ok()?;
    for _ in digits.len()..9 {
        ns *= 10;
    }
    Some(ns)
}

/// Go's `parseTimeZone`, reduced to the abbreviations it accepts.
fn zone_len(value: &str) -> Option<usize> {
    if value.starts_with("ChST") || value.starts_with("MeST") {
        return Some(4);
    }
    let upper = value.bytes().take_while(u8::is_ascii_uppercase).count();
    match upper {
        3 => Some(3),
        4 if value.as_bytes()[3] == b'T' || value.starts_with("WITA") => Some(4),
        5 if value.as_bytes()[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Two digits of an offset, after a colon when `colon`.
fn two_digits(rest: &str, colon: bool) -> Option<(i32, &str)> {
    let rest = if colon { rest.strip_prefix(':')? } else { rest };
    let (n, after) = getnum(rest, true)?;
    Some((i32::try_from(n).ok()?, after))
}

fn parse_offset(value: &str, chunk: Chunk) -> Option<(i32, &str)> {
    let Chunk::NumTz {
        colons,
        minutes,
        seconds,
        ..
    } = chunk
    else {
        return None;
    };
    let sign = match value.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &value[1..];
    let (h, rest) = two_digits(rest, false)?;
    let (m, rest) = if minutes {
        two_digits(rest, colons)?
    } else {
        (0, rest)
    };
    let (s, rest) = if seconds {
        two_digits(rest, colons)?
    } else {
        (0, rest)
    };
    // Go allows 24 hours and 60 minutes or seconds in offsets.
    if h > 24 || m > 60 || s > 60 {
        return None;
    }
    Some((sign * ((h * 60 + m) * 60 + s), rest))
}

/// Reads one element; `None` when the value does not fit it.
fn element<'a>(f: &mut Fields, chunk: Chunk, value: &'a str, layout_rest: &str) -> Option<&'a str> {
    Some(match chunk {
        Chunk::Year => {
            let (y, rest) = getnum(value, true)?;
            f.year = i64::from(y) + if y >= 69 { 1900 } else { 2000 };
            rest
        }
        Chunk::LongYear => {
            let head = value
                .get(..4)
                .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))?;
            f.year = head.parse().ok()?;
            &value[4..]
        }
        Chunk::Month | Chunk::LongMonth => {
            let (m, rest) = lookup(&LONG_MONTHS, chunk == Chunk::Month, value)?;
            f.month = Some(m + 1);
            rest
        }
        Chunk::NumMonth | Chunk::ZeroMonth => {
            let (m, rest) = getnum(value, chunk == Chunk::ZeroMonth)?;
            if !(1..=12).contains(&m) {
                return None;
            }
            f.month = Some(m);
            rest
        }
        Chunk::WeekDay | Chunk::LongWeekDay => {
            lookup(&LONG_DAYS, chunk == Chunk::WeekDay, value)?.1
        }
        Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
            let v = match chunk {
                Chunk::UnderDay => value.strip_prefix(' ').unwrap_or(value),
                _ => value,
            };
            let (d, rest) = getnum(v, chunk == Chunk::ZeroDay)?;
            f.day = Some(d);
            rest
        }
        Chunk::UnderYearDay | Chunk::ZeroYearDay => {
            let mut v = value;
            if chunk == Chunk::UnderYearDay {
                for _ in 0..2 {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
            }
            let (d, rest) = getnum3(v, chunk == Chunk::ZeroYearDay)?;
            f.yday = Some(d);
            rest
        }
        Chunk::Hour | Chunk::Hour12 | Chunk::ZeroHour12 => {
            let (h, rest) = getnum(value, chunk == Chunk::ZeroHour12)?;
            let max = if chunk == Chunk::Hour { 23 } else { 12 };
            if h > max {
                return None;
            }
            f.hour = h;
            rest
        }
        Chunk::Minute | Chunk::ZeroMinute => {
            let (m, rest) = getnum(value, chunk == Chunk::ZeroMinute)?;
            if m > 59 {
                return None;
            }
            f.minute = m;
            rest
        }
        Chunk::Second | Chunk::ZeroSecond => {
            let (s, mut rest) = getnum(value, chunk == Chunk::ZeroSecond)?;
            if s > 59 {
                return None;
            }
            f.second = s;
            // A fractional second the layout does not mention is still read.
            let next_is_frac = matches!(next_chunk(layout_rest), Some((0, _, Chunk::Frac { .. })));
            if rest.starts_with(['.', ',']) && digit(rest, 1).is_some() && !next_is_frac {
                let n = 1 + rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                f.nanos = nanos(rest, n)?;
                rest = &rest[n..];
            }
            rest
        }
        Chunk::Pm { upper } => {
            let head = value.get(..2)?;
            let (am, pm) = if upper { ("AM", "PM") } else { ("am", "pm") };
            f.pm = Some(match head {
                h if h == pm => true,
                h if h == am => false,
                _ => return None,
            });
            &value[2..]
        }
        Chunk::NumTz { iso, .. } => {
            if iso && let Some(rest) = value.strip_prefix('Z') {
                f.utc = true;
                return Some(rest);
            }
            let (offset, rest) = parse_offset(value, chunk)?;
            f.offset = Some(offset);
            rest
        }
        Chunk::Tz => {
            if let Some(rest) = value.strip_prefix("UTC") {
                f.utc = true;
                return Some(rest);
            }
            let n = zone_len(value)?;
            f.zone_name = value[..n].to_string();
            &value[n..]
        }
        Chunk::Frac {
            zeros: true,
            digits,
            ..
        } => {
            if value.len() < digits + 1 || !value.starts_with(['.', ',']) {
                return None;
            }
            f.nanos = nanos(value, digits + 1)?;
            &value[digits + 1..]
        }
        Chunk::Frac { zeros: false, .. } => {
            if !value.starts_with(['.', ',']) || digit(value, 1).is_none() {
                return Some(value);
            }
            let n = 1 + value[1..].bytes().take_while(u8::is_ascii_digit).count();
            f.nanos = nanos(value, n)?;
            &value[n..]
        }
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(super) fn parse(layout: &str, value: &str, loc: &Location) -> Result<GoTime, ParseError> {
    let fail = |reason: &str| ParseError {
        layout: layout.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let mut f = Fields::default();
    let mut lay = layout;
    let mut val = value;
    while let Some((start, end, chunk)) = next_chunk(lay) {
        val = skip(val, &lay[..start]).ok_or_else(|| fail("literal text does not match"))?;
        let element_text = &lay[start..end];
        lay = &lay[end..];
        val = element(&mut f, chunk, val, lay)
            .ok_or_else(|| fail(&format!("cannot parse {val:?} as {element_text:?}")))?;
    }
    val = skip(val, lay).ok_or_else(|| fail("literal text does not match"))?;
    if !val.is_empty() {
        return Err(fail(&format!("extra text: {val:?}")));
    }
    match f.pm {
        Some(true) if f.hour < 12 => f.hour += 12,
        Some(false) if f.hour == 12 => f.hour = 0,
        _ => {}
    }
    if let Some(yday) = f.yday {
        let total = if is_leap(f.year) { 366 } else { 365 };
        if yday < 1 || yday > total {
            return Err(fail("day-of-year out of range"));
        }
        let (mut m, mut d) = (1, yday);
        while d > days_in(m, f.year) {
            d -= days_in(m, f.year);
            m += 1;
        }
        if f.month.is_some_and(|x| x != m) || f.day.is_some_and(|x| x != d) {
            return Err(fail("day-of-year does not match month or day"));
        }
        f.month = Some(m);
        f.day = Some(d);
    }
    let month = f.month.unwrap_or(1);
    let day = f.day.unwrap_or(1);
    if day < 1 || day > days_in(month, f.year) {
        return Err(fail("day out of range"));
    }
    let in_loc = |loc: Location| {
        GoTime::from_civil(
            f.year,
            month,
            day,
            (f.hour, f.minute, f.second),
            f.nanos,
            loc,
        )
        .ok_or_else(|| fail("time out of range"))
    };
    if f.utc {
        return in_loc(Location::Utc);
    }
    if let Some(offset) = f.offset {
        let t = in_loc(Location::Utc)?;
        let secs = t.secs - i64::from(offset);
        // The caller's location, when it has this offset then; else a nameless fixed zone.
        let (loc_offset, loc_name) = loc.lookup(secs);
        let shown = if loc_offset == offset && (f.zone_name.is_empty() || f.zone_name == loc_name) {
            loc.clone()
        } else {
            Location::Fixed {
                name: f.zone_name.clone(),
                offset,
            }
        };
        return Ok(GoTime {
            secs,
            nanos: f.nanos,
            loc: shown,
        });
    }
    if !f.zone_name.is_empty() {
        let t = in_loc(Location::Utc)?;
        let (loc_offset, loc_name) = loc.lookup(t.secs);
        if loc_name == f.zone_name {
            return Ok(GoTime {
                secs: t.secs - i64::from(loc_offset),
                nanos: f.nanos,
                loc: loc.clone(),
            });
        }
        // An unknown abbreviation records the name with offset zero, as Go does.
        return Ok(t.in_location(Location::Fixed {
            name: f.zone_name,
            offset: 0,
        }));
    }
    in_loc(loc.clone())
}
