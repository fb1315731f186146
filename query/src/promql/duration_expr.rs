//! Duration expressions (Prometheus 3): arithmetic where a duration goes,
//! in range and subquery brackets (`[5m+1m]`, `[1h:step()*2]`) and after
//! `offset` (`offset (1h/2)`, `offset -min_of(step(), 1s)`). The parser
//! crate reads only literal durations, so such expressions are evaluated
//! here and replaced by their value in milliseconds before parsing.
//!
//! In brackets the whole content is an expression; after `offset` only a
//! signed primary is (a number, duration, parenthesised expression or
//! function call), so `x offset 100 + 2` adds 2 to `x offset 100`, as in
//! Prometheus. Numbers are seconds. `step()` and `range()` are the query's
//! step and `end - start` (both 0 for instant queries); `min_of`/`max_of`
//! take two arguments.

use super::parse::ParseError;

/// Query parameters duration expressions can refer to.
#[derive(Debug, Clone, Copy, Default)]
pub struct DurationContext {
    /// The query step (ms); 0 for instant queries.
    pub step_ms: i64,
    /// `end - start` (ms); 0 for instant queries.
    pub range_ms: i64,
}

fn err(input: &str, at: usize, message: impl std::fmt::Display) -> ParseError {
    let before = &input[..at.min(input.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ParseError {
        message: format!("{line}:{col}: parse error: {message}"),
    }
}

/// A duration literal such as `1h30m` or `500ms`, in milliseconds.
pub fn literal_ms(text: &str) -> Option<i64> {
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let unit_len = rest[digits..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .count();
        let n: i64 = rest[..digits].parse().ok()?;
        let unit: i64 = match &rest[digits..digits + unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[digits + unit_len..];
    }
    Some(total)
}

/// True for text the parser reads as a duration on its own: a duration
/// literal (`1h30m`) or a plain number of seconds.
fn is_literal(text: &str) -> bool {
    let t = text.trim();
    // Huge numbers go through the evaluator, which refuses them cleanly;
    // the parser crate would panic converting them to a Duration.
    let plain_number = t.parse::<f64>().is_ok_and(|v| v.abs() < 1e12)
        && !t.contains(['e', 'E', 'x', 'X', 'n', 'N', 'i', 'I']);
    plain_number || literal_ms(t).is_some()
}

/// A recursive-descent evaluator over one duration expression, in seconds.
struct Eval<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    ctx: DurationContext,
}

impl Eval<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.end && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        (self.pos < self.end).then(|| self.bytes[self.pos])
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err(
                self.input,
                self.pos,
                format!("expected '{}' in duration expression", c as char),
            ))
        }
    }

    /// sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Result<f64, ParseError> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let r = self.product()?;
            v = if op == b'+' { v + r } else { v - r };
        }
        Ok(v)
    }

    /// product := power (('*' | '/' | '%') power)*
    fn product(&mut self) -> Result<f64, ParseError> {
        let mut v = self.power()?;
        while let Some(op @ (b'*' | b'/' | b'%')) = self.peek() {
            self.pos += 1;
            let r = self.power()?;
            v = match op {
                b'*' => v * r,
                b'/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    /// power := unary ('^' power)?   (right-associative)
    fn power(&mut self) -> Result<f64, ParseError> {
        let base = self.unary()?;
        if self.peek() == Some(b'^') {
            self.pos += 1;
            let exp = self.power()?;
            return Ok(base.powf(exp));
        }
        Ok(base)
    }

    /// unary := ('-' | '+') unary | primary; `-2 ^ 2` is `-(2 ^ 2)`.
    fn unary(&mut self) -> Result<f64, ParseError> {
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                Ok(-self.power()?)
            }
            Some(b'+') => {
                self.pos += 1;
                self.power()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<f64, ParseError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let v = self.sum()?;
                self.expect(b')')?;
                Ok(v)
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.call(),
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            _ => Err(err(
                self.input,
                self.pos,
                "unexpected character in duration expression",
            )),
        }
    }

    fn call(&mut self) -> Result<f64, ParseError> {
        let start = self.pos;
        while self.pos < self.end
            && (self.bytes[self.pos].is_ascii_alphanumeric() || self.bytes[self.pos] == b'_')
        {
            self.pos += 1;
        }
        let name = self.input[start..self.pos].to_ascii_lowercase();
        self.expect(b'(')?;
        let secs = |ms: i64| ms as f64 / 1000.0;
        let v = match name.as_str() {
            "step" => secs(self.ctx.step_ms),
            "range" => secs(self.ctx.range_ms),
            "min_of" | "max_of" => {
                let a = self.sum()?;
                self.expect(b',')?;
                let b = self.sum()?;
                if name == "min_of" { a.min(b) } else { a.max(b) }
            }
            _ => {
                return Err(err(
                    self.input,
                    start,
                    format!("unknown function {name:?} in duration expression"),
                ));
            }
        };
        self.expect(b')')?;
        Ok(v)
    }

    /// A number of seconds or a duration literal such as `1h30m`.
    fn number(&mut self) -> Result<f64, ParseError> {
        let start = self.pos;
        let mut end = self.pos;
        while end < self.end && (self.bytes[end].is_ascii_alphanumeric() || self.bytes[end] == b'.')
        {
            end += 1;
        }
        let text = &self.input[start..end];
        self.pos = end;
        if let Ok(v) = text.parse::<f64>() {
            return Ok(v);
        }
        literal_ms(text)
            .map(|ms| ms as f64 / 1000.0)
            .ok_or_else(|| err(self.input, start, format!("bad duration {text:?}")))
    }
}

fn to_ms(input: &str, at: usize, secs: f64) -> Result<i64, ParseError> {
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() || ms.abs() >= 9.2e18 {
        return Err(err(input, at, "duration expression out of range"));
    }
    Ok(ms as i64)
}

/// Evaluates `input[start..end]` as a whole duration expression (ms).
fn evaluate(
    input: &str,
    start: usize,
    end: usize,
    ctx: DurationContext,
) -> Result<i64, ParseError> {
    let mut e = Eval {
        input,
        bytes: input.as_bytes(),
        pos: start,
        end,
        ctx,
    };
    let v = e.sum()?;
    if e.peek().is_some() {
        return Err(err(
            input,
            e.pos,
            "unexpected character in duration expression",
        ));
    }
    to_ms(input, start, v)
}

fn ms_literal(ms: i64) -> String {
    if ms < 0 {
        format!("-{}ms", ms.unsigned_abs())
    } else {
        format!("{ms}ms")
    }
}

/// Rewrites duration expressions into literal milliseconds; `None` when the
/// query has none (the common case, left untouched).
pub fn rewrite(input: &str, ctx: DurationContext) -> Result<Option<String>, ParseError> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    let mut copied = 0;
    let mut braces = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' | b'`' => {
                // Skip the string literal.
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    if bytes[i] == b'\\' && c != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            b'[' if braces == 0 => {
                let Some(close) = input[i..].find(']').map(|p| i + p) else {
                    break;
                };
                let inner = &input[i + 1..close];
                let (range, step) = match inner.find(':') {
                    Some(p) => (&inner[..p], Some(&inner[p + 1..])),
                    None => (inner, None),
                };
                let needs = !is_literal(range)
                    || step.is_some_and(|s| !s.trim().is_empty() && !is_literal(s));
                if needs {
                    let range_ms = evaluate(input, i + 1, i + 1 + range.len(), ctx)?;
                    if range_ms <= 0 {
                        return Err(err(input, i + 1, "duration must be greater than 0"));
                    }
                    out.push_str(&input[copied..=i]);
                    out.push_str(&ms_literal(range_ms));
                    if let Some(step) = step {
                        out.push(':');
                        if !step.trim().is_empty() {
                            let from = i + 2 + range.len();
                            let step_ms = evaluate(input, from, from + step.len(), ctx)?;
                            if step_ms <= 0 {
                                return Err(err(input, from, "duration must be greater than 0"));
                            }
                            out.push_str(&ms_literal(step_ms));
                        }
                    }
                    copied = close;
                    changed = true;
                }
                i = close + 1;
                continue;
            }
            b'o' | b'O' if braces == 0 && is_keyword(input, i, "offset") => {
                let after = i + "offset".len();
                if let Some((start, end)) = offset_operand(bytes, after) {
                    let text = &input[start..end];
                    let plain = text.trim_start_matches(['-', '+']).trim();
                    if !is_literal(plain) {
                        let ms = evaluate(input, start, end, ctx)?;
                        if ms == 0 {
                            // The parser refuses a zero duration; no offset
                            // means the same.
                            out.push_str(&input[copied..i]);
                        } else {
                            out.push_str(&input[copied..start]);
                            out.push_str(&ms_literal(ms));
                        }
                        copied = end;
                        changed = true;
                    }
                    i = end;
                    continue;
                }
                i = after;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if !changed {
        return Ok(None);
    }
    out.push_str(&input[copied..]);
    Ok(Some(out))
}

fn is_keyword(input: &str, at: usize, word: &str) -> bool {
    let bytes = input.as_bytes();
    let end = at + word.len();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    end <= bytes.len()
        && bytes[at..end].eq_ignore_ascii_case(word.as_bytes())
        && (at == 0 || !ident(bytes[at - 1]))
        && (end == bytes.len() || !ident(bytes[end]))
}

/// The extent of `offset`'s operand: an optional sign and one primary.
fn offset_operand(bytes: &[u8], mut i: usize) -> Option<(usize, usize)> {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    while i < bytes.len()
        && (bytes[i] == b'-' || bytes[i] == b'+' || bytes[i].is_ascii_whitespace())
    {
        i += 1;
    }
    let c = *bytes.get(i)?;
    if c == b'(' {
        return Some((start, matching_paren(bytes, i)? + 1));
    }
    if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
        return None;
    }
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
    {
        i += 1;
    }
    let mut j = i;
    while j < bytes.len() && bytes[j].is_ascii_whitespace() {
        j += 1;
    }
    if bytes.get(j) == Some(&b'(') {
        return Some((start, matching_paren(bytes, j)? + 1));
    }
    Some((start, i))
}

fn matching_paren(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(q: &str, step: i64, range: i64) -> String {
        rewrite(
            q,
            DurationContext {
                step_ms: step,
                range_ms: range,
            },
        )
        .unwrap()
        .unwrap_or_else(|| q.to_owned())
    }

    #[test]
    fn literals_are_left_alone() {
        let ctx = DurationContext::default();
        assert_eq!(rewrite("rate(x[5m]) offset 1h", ctx).unwrap(), None);
        assert_eq!(rewrite("x[1h30m:1m]", ctx).unwrap(), None);
        assert_eq!(rewrite("x[30s:]", ctx).unwrap(), None);
        assert_eq!(rewrite("x{a=\"[1+1]\"} offset -5m", ctx).unwrap(), None);
    }

    #[test]
    fn brackets_take_whole_expressions() {
        assert_eq!(rw("changes(x[26m+4m])", 0, 0), "changes(x[1800000ms])");
        assert_eq!(rw("x[2m*(10+5)]", 0, 0), "x[1800000ms]");
        assert_eq!(rw("x[1h30m % 1h]", 0, 0), "x[1800000ms]");
        assert_eq!(rw("x[29s+1s:5s+5s]", 0, 0), "x[30000ms:10000ms]");
        assert_eq!(rw("x[step()+1ms]", 10_000, 0), "x[10001ms]");
        assert_eq!(rw("x[1+(STep()-5)*2]", 10_000, 0), "x[11000ms]");
        assert_eq!(rw("x[range()]", 0, 10_000), "x[10000ms]");
    }

    #[test]
    fn offset_takes_a_signed_primary() {
        assert_eq!(rw("x offset (100 + 2)", 0, 0), "x offset 102000ms");
        assert_eq!(rw("x offset 100 + 2", 0, 0), "x offset 100 + 2");
        assert_eq!(
            rw("x offset -min_of(step(), 1s)+8000", 5_000, 0),
            "x offset -1000ms+8000"
        );
        assert_eq!(
            rw("x offset -(min_of(step(), 2s)-5)+8000", 5_000, 0),
            "x offset 3000ms+8000"
        );
        assert_eq!(rw("x offset (-2 ^ 2)", 0, 0), "x offset -4000ms");
        assert_eq!(rw("x offset STEP()", 5_000, 0), "x offset 5000ms");
        assert_eq!(
            rw("my_offset_total offset 5m", 0, 0),
            "my_offset_total offset 5m"
        );
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        let ctx = DurationContext::default();
        assert!(rewrite("x[67777777777777777777777777777777777777772:0]", ctx).is_err());
        assert!(rewrite("x offset 1e400", ctx).is_err());
    }

    #[test]
    fn non_positive_ranges_are_errors() {
        let e = rewrite("x[1m-1m]", DurationContext::default()).unwrap_err();
        assert!(e.message.contains("greater than 0"), "{}", e.message);
    }
}
