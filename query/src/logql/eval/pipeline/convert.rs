//! Reading numbers out of label values the way Loki's Go code does:
//! `strconv.ParseFloat`, `time.ParseDuration` and humanize's `ParseBytes`.
//! The error texts imitate Go's, because they end up in
//! `__error_details__` where users read them.

/// A float as Go's `strconv.ParseFloat` reads it (decimal forms, `Inf`,
/// `NaN`); an out-of-range literal is an error rather than infinity.
pub(crate) fn parse_float(text: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {text:?}: invalid syntax");
    // Rust accepts a few spellings Go does not ("infinity" with a sign is
    // fine in both; a lone "." or whitespace in neither), so only the
    // overflow case needs extra care.
    let v: f64 = text.parse().map_err(|_| syntax())?;
    if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return Err(format!(
            "strconv.ParseFloat: parsing {text:?}: value out of range"
        ));
    }
    Ok(v)
}

/// Nanoseconds per Go duration unit.
fn unit_nanos(unit: &str) -> Option<i128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// A duration as Go's `time.ParseDuration` reads it (`1.5s`, `-20ms`,
/// `1h30m`, a bare `0`), in nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(f) => f.split_at(f.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {text:?}"));
        }
        let scale = unit_nanos(unit)
            .ok_or_else(|| format!("time: unknown unit {unit:?} in duration {text:?}"))?;
        let whole: i128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac.is_empty() {
            // Past 18 digits the fraction cannot move a nanosecond count.
            let frac = &frac[..frac.len().min(18)];
            let digits: i128 = frac.parse().map_err(|_| invalid())?;
            let denom = 10i128.pow(frac.len() as u32);
            part += digits * scale / denom;
        }
        total = total.checked_add(part).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) + 1 {
            return Err(invalid());
        }
        rest = next;
    }
    let signed = if negative { -total } else { total };
    i64::try_from(signed).map_err(|_| invalid())
}

/// A byte size as humanize's `ParseBytes` reads it: a number (commas
/// allowed), optional space, then an SI (`KB` = 1000) or IEC (`KiB` =
/// 1024) unit in any case; no unit means bytes.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let num_len = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b',')
        .count();
    let (num, unit) = text.split_at(num_len);
    let num = num.replace(',', "");
    let value: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1_000_000_000_000_000,
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1_000_000_000_000_000_000,
        "ei" | "eib" => 1 << 60,
        _ => return Err(format!("unhandled size name: {unit}")),
    };
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("too large: {text}"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_follow_go() {
        assert_eq!(parse_float("1e3"), Ok(1000.0));
        assert_eq!(parse_float("-2.5"), Ok(-2.5));
        assert_eq!(parse_float("Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert!(parse_float("1e400").is_err());
        assert_eq!(
            parse_float("db down"),
            Err("strconv.ParseFloat: parsing \"db down\": invalid syntax".into())
        );
        assert!(parse_float("").is_err());
        assert!(parse_float(" 1").is_err());
    }

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("20ms"), Ok(20_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("-1m"), Ok(-60_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration(".5us"), Ok(500));
        assert_eq!(parse_duration("10\u{b5}s"), Ok(10_000));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-").is_err());
        assert!(parse_duration(".s").is_err());
        assert!(parse_duration("9999999999999h").is_err());
    }

    #[test]
    fn bytes_follow_humanize() {
        assert_eq!(parse_bytes("2KB"), Ok(2_000));
        assert_eq!(parse_bytes("2KiB"), Ok(2_048));
        assert_eq!(parse_bytes("512B"), Ok(512));
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("1.5 mb"), Ok(1_500_000));
        assert_eq!(parse_bytes("1,000k"), Ok(1_000_000));
        assert_eq!(parse_bytes("2XB"), Err("unhandled size name: xb".into()));
        assert!(parse_bytes("KB").is_err());
        assert!(parse_bytes("99999999EB").is_err());
    }
}
