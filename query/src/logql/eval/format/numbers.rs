//! Sprig's arithmetic as Loki exposes it, with Sprig's lenient conversions
//! (a label that is not a number counts as 0), integer functions that
//! return Go `int64`, float functions computed in decimal where Sprig
//! uses a decimal library (so `addf 0.1 0.2` is `0.3`), and the
//! `bytes`/`duration` conversions.

use hearth_template::Value;
use hearth_template::strconv::{parse_float, parse_int};

use crate::logql::eval::pipeline::convert;

/// Sprig's `toInt64` (spf13/cast): numbers convert, a string is read as a
/// Go integer literal (`"3.0"` allowed), anything else is 0.
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: `"12.00"` reads as `"12"`.
fn trim_zero_decimal(s: &str) -> &str {
    let body = s.trim_end_matches('0');
    match body.strip_suffix('.') {
        Some(int) if body.len() < s.len() => int,
        _ => s,
    }
}

/// Sprig's `toFloat64`: numbers convert, a string is parsed, anything else is 0.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A float as the shortest decimal that reads back to it: digits × 10^exp.
fn decimal(f: f64) -> Option<(i128, i32)> {
    if !f.is_finite() {
        return None;
    }
    let shown = format!("{f:e}");
    let (mantissa, exp) = shown.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((digits, exp - i32::try_from(frac.len()).ok()?))
}

fn from_decimal((digits, exp): (i128, i32)) -> f64 {
    format!("{digits}e{exp}").parse().unwrap_or(f64::NAN)
}

fn align(a: (i128, i32), b: (i128, i32)) -> Option<(i128, i128, i32)> {
    let exp = a.1.min(b.1);
    let scale =
        |(d, e): (i128, i32)| d.checked_mul(10i128.checked_pow(u32::try_from(e - exp).ok()?)?);
    Some((scale(a)?, scale(b)?, exp))
}

/// Exact decimal `a + b` (or `a - b`), rounded once to a float; falls
/// back to float arithmetic where the digits outgrow 128 bits.
fn decimal_add(a: f64, b: f64, negate_b: bool) -> f64 {
    let exact = || {
        let (x, y, exp) = align(decimal(a)?, decimal(b)?)?;
        let y = if negate_b { y.checked_neg()? } else { y };
        Some(from_decimal((x.checked_add(y)?, exp)))
    };
    exact().unwrap_or(if negate_b { a - b } else { a + b })
}

fn decimal_mul(a: f64, b: f64) -> f64 {
    let exact = || {
        let (x, ex) = decimal(a)?;
        let (y, ey) = decimal(b)?;
        Some(from_decimal((x.checked_mul(y)?, ex.checked_add(ey)?)))
    };
    exact().unwrap_or(a * b)
}

/// Go's `math.Max`/`math.Min`: NaN wins, and +0 beats -0 for max.
fn go_max(a: f64, b: f64, max: bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        let (na, nb) = (a.is_sign_negative(), b.is_sign_negative());
        let negative = if max { na && nb } else { na || nb };
        return if negative { -0.0 } else { 0.0 };
    }
    if max { a.max(b) } else { a.min(b) }
}

/// Sprig's `round`: `places` decimals, rounding up from `round_on` (0.5).
fn round(v: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * v;
    let frac = digit.fract();
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

/// The arithmetic and conversion functions.
pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    let ints = || args.iter().map(to_int64);
    let floats = || args.iter().map(to_float64);
    let first_int = args.first().map_or(0, to_int64);
    let first_float = args.first().map_or(0.0, to_float64);
    let int = |i: i64| Ok(Value::Int(i));
    let float = |f: f64| Ok(Value::Float(f));
    match name {
        "int" => int(first_int),
        "float64" => float(first_float),
        "add" => int(ints().fold(0, i64::wrapping_add)),
        "sub" => int(first_int.wrapping_sub(ints().nth(1).unwrap_or(0))),
        "mul" => int(ints().skip(1).fold(first_int, i64::wrapping_mul)),
        "div" | "mod" => {
            let b = ints().nth(1).unwrap_or(0);
            if b == 0 {
                return Err(DIVIDE_BY_ZERO.to_string());
            }
            int(if name == "div" {
                first_int.wrapping_div(b)
            } else {
                first_int.wrapping_rem(b)
            })
        }
        "max" => int(ints().fold(first_int, i64::max)),
        "min" => int(ints().fold(first_int, i64::min)),
        "addf" => float(floats().fold(0.0, |a, b| decimal_add(a, b, false))),
        "subf" => float(
            floats()
                .skip(1)
                .fold(first_float, |a, b| decimal_add(a, b, true)),
        ),
        "mulf" => float(floats().skip(1).fold(first_float, decimal_mul)),
        "divf" => {
            let mut acc = first_float;
            for b in floats().skip(1) {
                if b == 0.0 {
                    return Err("decimal division by 0".to_string());
                }
                acc /= b;
            }
            float(acc)
        }
        "maxf" => float(floats().fold(first_float, |a, b| go_max(a, b, true))),
        "minf" => float(floats().fold(first_float, |a, b| go_max(a, b, false))),
        "ceil" => float(first_float.ceil()),
        "floor" => float(first_float.floor()),
        "round" => {
            let places = match args.get(1) {
                Some(Value::Int(p)) => *p,
                _ => 0,
            };
            let round_on = match args.get(2) {
                Some(Value::Float(r)) => *r,
                _ => 0.5,
            };
            float(round(first_float, places, round_on))
        }
        _ => Err(format!("function {name} is not implemented")),
    }
}

/// go-humanize's `ParseBytes`, as Loki's `bytes` uses it.
pub(super) fn parse_bytes(s: &str) -> Result<f64, String> {
    convert::parse_bytes(s).map(|b| b as f64)
}

/// Go's `time.ParseDuration(s).Seconds()`, for Loki's `duration`.
pub(super) fn parse_duration_seconds(s: &str) -> Result<f64, String> {
    const NS_PER_SEC: i64 = 1_000_000_000;
    let ns = convert::parse_duration(s)?;
    // Whole seconds and the rest apart, as Go computes it, so large values
    // round the same way.
    Ok((ns / NS_PER_SEC) as f64 + (ns % NS_PER_SEC) as f64 / 1e9)
}
