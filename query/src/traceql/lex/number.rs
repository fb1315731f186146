//! Numeric literals: integers, floats and durations. Durations are
//! computed in exact decimal arithmetic (`1.1s` is exactly 1_100_000_000ns)
//! unless an exponent forces floating point.

use super::super::error::ParseError;
use super::{Lexer, Tok};

impl Lexer<'_> {
    pub(super) fn digits(&mut self) -> &str {
        let from = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.bump();
        }
        &self.src[from..self.pos]
    }

    /// Integer, float or duration (`1.5s`, `1h30m`).
    pub(super) fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        let int_part = self.digits().to_string();
        let mut frac = String::new();
        if self.peek() == Some('.') && matches!(self.peek_at(1), Some(c) if c.is_ascii_digit()) {
            self.bump();
            frac = self.digits().to_string();
        }
        let mut exp = String::new();
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            let mut sign = String::new();
            if let Some(c @ ('+' | '-')) = self.peek() {
                self.bump();
                sign.push(c);
            }
            let d = self.digits().to_string();
            if d.is_empty() {
                self.pos = save;
            } else {
                exp = format!("e{sign}{d}");
            }
        }
        if let Some(unit) = self.unit() {
            let mut total = self.component(start, &int_part, &frac, &exp, unit)?;
            // Go-style compound durations: `1h30m`.
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                let i = self.digits().to_string();
                let mut f = String::new();
                if self.peek() == Some('.') {
                    self.bump();
                    f = self.digits().to_string();
                }
                let Some(unit) = self.unit() else {
                    return Err(
                        self.err(start, "invalid duration: expected a unit after the number")
                    );
                };
                let more = self.component(start, &i, &f, "", unit)?;
                total = total
                    .checked_add(more)
                    .ok_or_else(|| self.err(start, "duration out of range"))?;
            }
            self.check_end(start)?;
            return Ok(Tok::Duration(total));
        }
        self.check_end(start)?;
        if frac.is_empty() && exp.is_empty() {
            return int_part
                .parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| self.err(start, "integer literal out of range"));
        }
        let text = format!(
            "{int_part}{}{frac}{exp}",
            if frac.is_empty() { "" } else { "." }
        );
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Tok::Float)
            .ok_or_else(|| self.err(start, "invalid number"))
    }

    pub(super) fn check_end(&self, start: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(c) if c.is_alphanumeric() || c == '_' || c == '.' => {
                Err(self.err(start, "invalid number or duration literal"))
            }
            _ => Ok(()),
        }
    }

    /// A duration unit at the cursor, as nanoseconds per unit.
    pub(super) fn unit(&mut self) -> Option<i64> {
        const UNITS: &[(&str, i64)] = &[
            ("ns", 1),
            ("us", 1_000),
            ("µs", 1_000),
            ("μs", 1_000),
            ("ms", 1_000_000),
            ("s", 1_000_000_000),
            ("m", 60_000_000_000),
            ("h", 3_600_000_000_000),
        ];
        for (u, ns) in UNITS {
            if self.rest().starts_with(u) {
                // `1m` must not swallow the `m` of an identifier like `1max`.
                let after = self.rest()[u.len()..].chars().next();
                if matches!(after, Some(c) if c.is_alphabetic() || c == '_') {
                    continue;
                }
                self.pos += u.len();
                return Some(*ns);
            }
        }
        None
    }

    /// `int.frac[exp]` units of `unit` nanoseconds, exactly when possible.
    pub(super) fn component(
        &self,
        start: usize,
        int_part: &str,
        frac: &str,
        exp: &str,
        unit: i64,
    ) -> Result<i64, ParseError> {
        let range = || self.err(start, "duration out of range");
        if !exp.is_empty() {
            let v: f64 = format!(
                "{int_part}.{}{exp}",
                if frac.is_empty() { "0" } else { frac }
            )
            .parse()
            .map_err(|_| self.err(start, "invalid duration"))?;
            let ns = (v * unit as f64).round();
            if !ns.is_finite() || ns.abs() >= 9.2e18 {
                return Err(range());
            }
            return Ok(ns as i64);
        }
        let whole: i128 = int_part.parse().map_err(|_| range())?;
        let mut ns = whole.checked_mul(unit as i128).ok_or_else(range)?;
        if !frac.is_empty() {
            let digits = &frac[..frac.len().min(18)];
            let num: i128 = digits.parse().map_err(|_| range())?;
            let den = 10i128.pow(digits.len() as u32);
            ns += num * unit as i128 / den;
        }
        i64::try_from(ns).map_err(|_| range())
    }
}
