//! Go's `fmt` rules: `%v` for everything a template prints, `print`/`println`
//! spacing, and the `printf` verb engine with Go's flags and its error forms
//! such as `%!d(string=abc)`, `%!s(MISSING)` and `%!(EXTRA int=1)`.

use crate::ftoa::format_float;
use crate::strconv::{can_backquote, is_print, quote_rune, quote_with};
use crate::value::Value;

const NIL_ANGLE: &str = "<nil>";
const LOWER_DIGITS: &[u8; 17] = b"0123456789abcdefx";
const UPPER_DIGITS: &[u8; 17] = b"0123456789ABCDEFX";
/// Go refuses widths and precisions beyond this, treating the verb as malformed.
const MAX_NUM: usize = 1_000_000;

#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
}

/// `%v` of a value, i.e. Go's `fmt.Sprint(v)`.
pub fn format_value(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.buf
}

/// Go's `fmt.Sprint`: a space goes between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: always spaces between operands, newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// Go's `parsenum`: digits from `start`, giving up on absurd sizes.
fn parse_num(b: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let (mut num, mut isnum, mut i) = (0usize, false, start);
    while i < end && b[i].is_ascii_digit() {
        if num > MAX_NUM {
            return (0, false, end);
        }
        num = num * 10 + usize::from(b[i] - b'0');
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

/// State of one `printf` call that outlives a single verb.
struct Scan<'a> {
    b: &'a [u8],
    nargs: usize,
    reordered: bool,
    good_arg_num: bool,
}

impl Scan<'_> {
    /// Go's `argNumber`: an explicit `[n]` argument index at `i`, if any.
    fn arg_number(&mut self, arg_num: usize, i: usize) -> (usize, usize, bool) {
        if self.b.get(i) != Some(&b'[') {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let rest = &self.b[i..];
        let (index, wid, ok) = match rest.iter().position(|&c| c == b']') {
            Some(close) if rest.len() >= 3 => {
                let (n, ok, newi) = parse_num(rest, 1, close);
                if !ok || newi != close {
                    (None, close + 1, false)
                } else {
                    (n.checked_sub(1), close + 1, true)
                }
            }
            _ => (None, 1, false),
        };
        match index {
            Some(index) if ok && index < self.nargs => (index, i + wid, true),
            _ => {
                self.good_arg_num = false;
                (arg_num, i + wid, ok)
            }
        }
    }
}

/// Go's `intFromArg` for `*` widths and precisions.
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    match args.get(arg_num) {
        Some(Value::Int(n)) if n.unsigned_abs() <= MAX_NUM as u64 => (*n, true, arg_num + 1),
        Some(_) => (0, false, arg_num + 1),
        None => (0, false, arg_num),
    }
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    let b = format.as_bytes();
    let end = b.len();
    let mut scan = Scan {
        b,
        nargs: args.len(),
        reordered: false,
        good_arg_num: true,
    };
    let mut arg_num = 0usize;
    let mut i = 0;
    while i < end {
        scan.good_arg_num = true;
        let lasti = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        p.buf.push_str(&format[lasti..i]);
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut after_index;
        (arg_num, i, after_index) = scan.arg_number(arg_num, i);
        if i < end && b[i] == b'*' {
            i += 1;
            let (w, ok, next) = int_from_arg(args, arg_num);
            arg_num = next;
            if !ok {
                p.buf.push_str("%!(BADWIDTH)");
            } else {
                if w < 0 {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                p.f.wid = Some(w.unsigned_abs() as usize);
            }
            after_index = false;
        } else {
            let (w, present, next) = parse_num(b, i, end);
            i = next;
            if present {
                p.f.wid = Some(w);
                if after_index {
                    scan.good_arg_num = false;
                }
            }
        }
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                scan.good_arg_num = false;
            }
            (arg_num, i, after_index) = scan.arg_number(arg_num, i);
            if i < end && b[i] == b'*' {
                i += 1;
                let (pr, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                if ok && pr >= 0 {
                    p.f.prec = Some(pr as usize);
                } else {
                    p.buf.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, present, next) = parse_num(b, i, end);
                i = next;
                p.f.prec = Some(if present { pr } else { 0 });
            }
        }
        if !after_index {
            (arg_num, i, _) = scan.arg_number(arg_num, i);
        }
        let Some(verb) = format.get(i..).and_then(|s| s.chars().next()) else {
            p.buf.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !scan.good_arg_num {
            p.buf.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if let Some(arg) = args.get(arg_num) {
            if verb == 'v' {
                // `%#v` and `%+v` change structure printing, not numbers' signs.
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus = false;
            }
            p.print_arg(arg, verb);
            arg_num += 1;
        } else {
            p.buf.push_str(&format!("%!{verb}(MISSING)"));
        }
    }
    if !scan.reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (k, arg) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.push_str(", ");
            }
            if arg.is_nil() {
                p.buf.push_str(NIL_ANGLE);
            } else {
                p.buf.push_str(arg.go_type());
                p.buf.push('=');
                p.print_arg(arg, 'v');
            }
        }
        p.buf.push(')');
    }
    p.buf
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    /// Pads to the width counted in characters, as Go counts runes.
    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let width = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    fn pad_unzeroed(&mut self, s: &str) {
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = old;
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad(NIL_ANGLE),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            self.pad(v.go_type());
            return;
        }
        self.print_value(v, verb);
    }

    fn print_value(&mut self, v: &Value, verb: char) {
        match v {
            // Inside containers Go prints a nil element as <nil> whatever the verb.
            Value::Nil => self.buf.push_str(NIL_ANGLE),
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) => self.fmt_int(*i, verb),
            Value::Float(x) => self.fmt_float(*x, verb),
            Value::String(s) => self.fmt_string(s, verb),
            // A Stringer: Go prints the result of `String()` for these verbs.
            Value::Time(t) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => {
                self.fmt_string(&t.to_string(), verb);
            }
            Value::Time(_) => self.bad_verb(verb, v),
            Value::List(items) => {
                self.buf.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(item, verb);
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                self.buf.push_str("map[");
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.fmt_string(k, verb);
                    self.buf.push(':');
                    self.print_value(item, verb);
                }
                self.buf.push(']');
            }
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_nil() {
            self.buf.push_str(NIL_ANGLE);
        } else {
            self.buf.push_str(v.go_type());
            self.buf.push('=');
            self.print_arg(v, 'v');
        }
        self.buf.push(')');
    }

    fn fmt_int(&mut self, i: i64, verb: char) {
        match verb {
            'v' | 'd' => self.fmt_integer(i, 10, verb, LOWER_DIGITS),
            'b' => self.fmt_integer(i, 2, verb, LOWER_DIGITS),
            'o' | 'O' => self.fmt_integer(i, 8, verb, LOWER_DIGITS),
            'x' => self.fmt_integer(i, 16, verb, LOWER_DIGITS),
            'X' => self.fmt_integer(i, 16, verb, UPPER_DIGITS),
            'c' => {
                let c = rune_of(i);
                self.pad(c.encode_utf8(&mut [0u8; 4]));
            }
            'q' => {
                let q = quote_rune(rune_of(i), self.f.plus);
                self.pad(&q);
            }
            'U' => self.fmt_unicode(i as u64),
            _ => self.bad_verb(verb, &Value::Int(i)),
        }
    }

    /// Go's `fmtInteger`: precision or zero-padding become leading zeros, then prefixes.
    fn fmt_integer(&mut self, i: i64, base: u64, verb: char, digits: &[u8; 17]) {
        let negative = i < 0;
        let mut u = i.unsigned_abs();
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = old;
                return;
            }
        } else if let (true, false, Some(w)) = (self.f.zero, self.f.minus, self.f.wid) {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        // Digits come out least significant first, so the buffer is built reversed.
        let mut rev: Vec<u8> = Vec::new();
        loop {
            rev.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while rev.len() < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s: String = rev.into_iter().map(char::from).collect();
        self.pad_unzeroed(&s);
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut s = format!("U+{u:04X}");
        if let Some(p) = self.f.prec.filter(|p| *p > 4) {
            s = format!("U+{u:0p$X}");
        }
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            s.push_str(&format!(" '{c}'"));
        }
        self.pad_unzeroed(&s);
    }

    fn fmt_float(&mut self, v: f64, verb: char) {
        let (verb, default_prec) = match verb {
            'v' => ('g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb, -1),
            'f' | 'F' => ('f', 6),
            'e' | 'E' => (verb, 6),
            _ => {
                self.bad_verb(verb, &Value::Float(v));
                return;
            }
        };
        let prec = self
            .f
            .prec
            .map_or(default_prec, |p| i32::try_from(p).unwrap_or(i32::MAX));
        let formatted = format_float(v, verb as u8, prec);
        let mut num = if formatted.starts_with(['-', '+']) {
            formatted
        } else {
            format!("+{formatted}")
        };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharpen(num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            if let (true, Some(w)) = (self.f.zero, self.f.wid)
                && w > num.len()
            {
                let (sign, rest) = num.split_at(1);
                self.buf.push_str(sign);
                self.write_padding(w - num.len());
                self.buf.push_str(rest);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn fmt_string(&mut self, s: &str, verb: char) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => {
                let t = self.truncate(s);
                self.pad(&t);
            }
            'x' => self.fmt_sx(s, LOWER_DIGITS),
            'X' => self.fmt_sx(s, UPPER_DIGITS),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, &Value::String(s.to_string())),
        }
    }

    fn truncate(&self, s: &str) -> String {
        match self.f.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
        } else {
            let q = quote_with(&s, self.f.plus);
            self.pad(&q);
        }
    }

    /// Go's `fmtSbx`: hex of the bytes, optionally spaced and `0x`-prefixed.
    fn fmt_sx(&mut self, s: &str, digits: &[u8; 17]) {
        let bytes = s.as_bytes();
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        if length == 0 {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let mut width = 2 * length;
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(char::from(digits[16]));
        }
        for (i, &c) in bytes[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(char::from(digits[16]));
                }
            }
            self.buf.push(char::from(digits[usize::from(c >> 4)]));
            self.buf.push(char::from(digits[usize::from(c & 0xf)]));
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }
}

fn rune_of(i: i64) -> char {
    u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}')
}

/// The `#` flag: keep a decimal point and, for %g, the trailing zeros.
fn sharpen(num: String, verb: char, prec: i32) -> String {
    let mut digits: i32 = if matches!(verb, 'g' | 'G' | 'x') {
        if prec == -1 { 6 } else { prec }
    } else {
        0
    };
    let mut body = String::new();
    let mut tail = String::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    let mut chars = num.char_indices();
    let sign = chars.next().map_or('+', |(_, c)| c);
    for (i, c) in chars {
        match c {
            '.' => has_point = true,
            'p' | 'P' => {
                tail = num[i..].to_string();
                break;
            }
            'e' | 'E' if verb != 'x' && verb != 'X' => {
                tail = num[i..].to_string();
                break;
            }
            _ => {
                if c != '0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        body.push(c);
    }
    if !has_point {
        if body == "0" {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    format!("{sign}{body}{tail}")
}

#[cfg(test)]
#[path = "printf_tests.rs"]
mod tests;
