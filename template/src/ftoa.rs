//! Go's `strconv.FormatFloat` for float64: the `%e %f %g %b %x` layouts and
//! their rounding. Fixed precisions are rounded from the exact decimal
//! expansion (half-to-even on exact ties, as Go does); shortest forms use the
//! shortest round-tripping digits, which Rust and Go compute identically.

/// A decimal digit string `0.d1d2d3… × 10^dp` with no trailing zeros;
/// zero has no digits.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

impl Digits {
    fn nd(&self) -> i32 {
        self.d.len() as i32
    }

    fn trim(&mut self) {
        while self.d.last() == Some(&b'0') {
            self.d.pop();
        }
        if self.d.is_empty() {
            self.dp = 0;
        }
    }

    fn should_round_up(&self, nd: usize) -> bool {
        if self.d[nd] == b'5' && nd + 1 == self.d.len() {
            return nd > 0 && (self.d[nd - 1] - b'0') % 2 == 1;
        }
        self.d[nd] >= b'5'
    }

    /// Go's `decimal.Round`: keep `nd` significant digits.
    fn round(&mut self, nd: i32) {
        if nd < 0 || nd >= self.nd() {
            return;
        }
        let nd = nd as usize;
        if self.should_round_up(nd) {
            let mut i = nd;
            while i > 0 {
                if self.d[i - 1] < b'9' {
                    self.d[i - 1] += 1;
                    self.d.truncate(i);
                    return;
                }
                i -= 1;
            }
            self.d.clear();
            self.d.push(b'1');
            self.dp += 1;
        } else {
            self.d.truncate(nd);
            self.trim();
        }
    }
}

/// Multiplies a little-endian base-1e9 big number by a small factor.
fn big_mul(limbs: &mut Vec<u32>, factor: u32) {
    let mut carry: u64 = 0;
    for limb in limbs.iter_mut() {
        let v = u64::from(*limb) * u64::from(factor) + carry;
        *limb = (v % 1_000_000_000) as u32;
        carry = v / 1_000_000_000;
    }
    while carry > 0 {
        limbs.push((carry % 1_000_000_000) as u32);
        carry /= 1_000_000_000;
    }
}

fn big_to_string(limbs: &[u32]) -> String {
    let mut out = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&limb.to_string());
        } else {
            out.push_str(&format!("{limb:09}"));
        }
    }
    out
}

/// Mantissa and binary exponent with `v = mant × 2^exp` (the value is non-negative).
fn decompose(v: f64) -> (u64, i32) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    }
}

/// The exact decimal expansion of a finite non-negative float.
fn exact(v: f64) -> Digits {
    let (mant, exp) = decompose(v);
    if mant == 0 {
        return Digits {
            d: Vec::new(),
            dp: 0,
        };
    }
    let mut limbs = vec![(mant % 1_000_000_000) as u32];
    let mut rest = mant / 1_000_000_000;
    while rest > 0 {
        limbs.push((rest % 1_000_000_000) as u32);
        rest /= 1_000_000_000;
    }
    // A negative binary exponent becomes m·5^k / 10^k, so only the point moves.
    let (base, mut count) = if exp >= 0 { (2u32, exp) } else { (5u32, -exp) };
    let (chunk, chunk_len) = if base == 2 {
        (1u32 << 29, 29)
    } else {
        (1_220_703_125u32, 13)
    };
    while count >= chunk_len {
        big_mul(&mut limbs, chunk);
        count -= chunk_len;
    }
    if count > 0 {
        big_mul(&mut limbs, base.pow(count as u32));
    }
    let s = big_to_string(&limbs);
    let dp = if exp >= 0 {
        s.len() as i32
    } else {
        s.len() as i32 + exp
    };
    let mut digits = Digits {
        d: s.into_bytes(),
        dp,
    };
    digits.trim();
    digits
}

/// The shortest digits that read back as `v` (finite, non-negative).
fn shortest(v: f64) -> Digits {
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let d: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut digits = Digits { d, dp: exp + 1 };
    digits.trim();
    digits
}

fn fmt_e(out: &mut String, d: &Digits, prec: i32, fmt: u8) {
    out.push(d.d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        out.push('.');
        let avail = d.d.len().min(prec as usize + 1);
        for &c in d.d.iter().take(avail).skip(1) {
            out.push(c as char);
        }
        for _ in avail.max(1)..=prec as usize {
            out.push('0');
        }
    }
    out.push(fmt as char);
    let exp = if d.d.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, d: &Digits, prec: i32) {
    if d.dp > 0 {
        let m = d.d.len().min(d.dp as usize);
        for &c in &d.d[..m] {
            out.push(c as char);
        }
        for _ in m..d.dp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && j < d.nd() {
                d.d[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
}

/// `%b`: decimal mantissa, `p`, binary exponent.
fn fmt_b(out: &mut String, v: f64) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    let exp = if biased == 0 {
        1 - 1023 - 52
    } else {
        mant |= 1 << 52;
        biased - 1023 - 52
    };
    out.push_str(&mant.to_string());
    out.push('p');
    if exp >= 0 {
        out.push('+');
    }
    out.push_str(&exp.to_string());
}

/// `%x`: hexadecimal mantissa and binary exponent, `-0x1.8p+01`.
fn fmt_x(out: &mut String, v: f64, prec: i32, fmt: u8) {
    let (mut mant, exp) = decompose(v);
    let mut exp = if mant == 0 { 0 } else { exp + 52 };
    mant <<= 8;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if fmt == b'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(fmt as char);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    if (prec < 0 && mant != 0) || prec > 0 {
        out.push('.');
        let mut i = 0;
        while (prec < 0 && mant != 0) || (prec >= 0 && i < prec) {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
            i += 1;
        }
    }
    out.push(if fmt == b'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)`; a negative `prec` asks for
/// the shortest representation.
pub fn format_float(v: f64, fmt: u8, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let a = v.abs();
    match fmt {
        b'b' => {
            fmt_b(&mut out, a);
            return out;
        }
        b'x' | b'X' => {
            fmt_x(&mut out, a, prec, fmt);
            return out;
        }
        _ => {}
    }
    let is_shortest = prec < 0;
    let mut prec = prec;
    let digits = if is_shortest {
        let d = shortest(a);
        prec = match fmt {
            b'e' | b'E' => (d.nd() - 1).max(0),
            b'f' => (d.nd() - d.dp).max(0),
            _ => d.nd(),
        };
        d
    } else {
        let mut d = exact(a);
        match fmt {
            b'e' | b'E' => d.round(prec.saturating_add(1)),
            b'f' => d.round(d.dp.saturating_add(prec)),
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                d.round(prec);
            }
        }
        d
    };
    match fmt {
        b'e' | b'E' => fmt_e(&mut out, &digits, prec, fmt),
        b'f' => fmt_f(&mut out, &digits, prec),
        b'g' | b'G' => {
            let mut eprec = prec;
            if eprec > digits.nd() && digits.nd() >= digits.dp {
                eprec = digits.nd();
            }
            // Shortest output switches to exponent form at the same point as %g's default precision.
            if is_shortest {
                eprec = 6;
            }
            let exp = digits.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > digits.nd() {
                    prec = digits.nd();
                }
                fmt_e(&mut out, &digits, prec - 1, fmt + b'e' - b'g');
            } else {
                if prec > digits.dp {
                    prec = digits.nd();
                }
                fmt_f(&mut out, &digits, (prec - digits.dp).max(0));
            }
        }
        _ => {
            out.push('%');
            out.push(fmt as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_float as ff;

    fn v(x: f64) -> String {
        ff(x, b'g', -1)
    }

    #[test]
    fn shortest_g_matches_go_sprint() {
        assert_eq!(v(123456789.0), "1.23456789e+08");
        assert_eq!(v(100.0), "100");
        assert_eq!(v(0.5), "0.5");
        assert_eq!(v(1e21), "1e+21");
        assert_eq!(v(1e20), "1e+20");
        assert_eq!(v(123456.0), "123456");
        assert_eq!(v(1234567.0), "1.234567e+06");
        assert_eq!(v(1e6), "1e+06");
        assert_eq!(v(0.0001), "0.0001");
        assert_eq!(v(0.00001), "1e-05");
        assert_eq!(v(0.0), "0");
        assert_eq!(v(-0.0), "-0");
        assert_eq!(v(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(v(f64::NAN), "NaN");
        assert_eq!(v(f64::INFINITY), "+Inf");
        assert_eq!(v(f64::NEG_INFINITY), "-Inf");
        assert_eq!(v(5e-324), "5e-324");
        assert_eq!(v(f64::MAX), "1.7976931348623157e+308");
    }

    #[test]
    fn fixed_precision_rounds_like_go() {
        assert_eq!(ff(1234567.0, b'g', 4), "1.235e+06");
        assert_eq!(ff(12345.0, b'g', 4), "1.234e+04");
        assert_eq!(ff(100.0, b'g', 4), "100");
        assert_eq!(ff(1.5, b'g', 4), "1.5");
        assert_eq!(ff(1e5, b'g', 4), "1e+05");
        assert_eq!(ff(0.001234, b'g', 4), "0.001234");
        assert_eq!(ff(0.91234, b'f', 2), "0.91");
        assert_eq!(ff(2.5, b'f', 0), "2");
        assert_eq!(ff(3.5, b'f', 0), "4");
        assert_eq!(ff(0.125, b'f', 2), "0.12");
        assert_eq!(ff(0.005, b'f', 2), "0.01");
        assert_eq!(ff(0.0001, b'f', 2), "0.00");
        assert_eq!(ff(0.009, b'f', 2), "0.01");
        assert_eq!(ff(999.9999, b'f', 2), "1000.00");
        assert_eq!(ff(1.0, b'e', 6), "1.000000e+00");
        assert_eq!(ff(0.0, b'e', 2), "0.00e+00");
        assert_eq!(ff(1e100, b'e', 3), "1.000e+100");
        assert_eq!(ff(123.456, b'E', 2), "1.23E+02");
        assert_eq!(ff(1.0, b'g', 0), "1");
        assert_eq!(ff(1e-7, b'G', 3), "1E-07");
        assert_eq!(ff(0.1, b'f', 20), "0.10000000000000000555");
    }

    #[test]
    fn binary_and_hex_forms() {
        assert_eq!(ff(1.0, b'b', -1), "4503599627370496p-52");
        assert_eq!(ff(0.0, b'b', -1), "0p-1074");
        assert_eq!(ff(1.0, b'x', -1), "0x1p+00");
        assert_eq!(ff(3.0, b'x', -1), "0x1.8p+01");
        assert_eq!(ff(-0.5, b'X', -1), "-0X1P-01");
        assert_eq!(ff(1.0, b'x', 2), "0x1.00p+00");
        assert_eq!(ff(0.0, b'x', -1), "0x0p+00");
    }
}
