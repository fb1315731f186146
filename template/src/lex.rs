//! Splits template text into items. It mirrors Go's `text/template/parse`
//! lexer state by state, because Go's parse errors (and the line they name)
//! depend on exactly where the lexer stops and what it emits first.

use std::fmt;

use crate::strconv::{is_print, quote};

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;
const SPACE_CHARS: [char; 4] = [' ', '\t', '\r', '\n'];

/// The kind of a lexed item; keywords come last, as in Go, so that they print as `<word>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }

    fn keyword(word: &str) -> Option<Kind> {
        Some(match word {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "nil" => Kind::Nil,
            "range" => Kind::Range,
            "template" => Kind::Template,
            "with" => Kind::With,
            _ => return None,
        })
    }
}

/// One lexed item: its kind, byte offset, text (or error message) and 1-based line.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) kind: Kind,
    pub(crate) pos: usize,
    pub(crate) val: String,
    pub(crate) line: usize,
}

/// Go's `item.String()`, which parse errors embed (`unexpected "}" in operand`).
impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Eof => f.write_str("EOF"),
            Kind::Error => f.write_str(&self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.len() > 10 => {
                let short: String = self.val.chars().take(10).collect();
                write!(f, "{}...", quote(&short))
            }
            _ => f.write_str(&quote(&self.val)),
        }
    }
}

fn is_space(c: char) -> bool {
    SPACE_CHARS.contains(&c)
}

/// Go's `isAlphaNumeric` (letters and digits in the Unicode sense, plus `_`).
pub(crate) fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Go's `%#U`, used in "bad character" messages.
fn describe_rune(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    paren_depth: i64,
    line_pos: usize,
    line: usize,
}

/// Lexes the whole input. The result always ends with an `Eof` or an `Error`
/// item; like Go, lexing stops at the first error.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        items: Vec::new(),
        paren_depth: 0,
        line_pos: 0,
        line: 1,
    };
    let mut state = State::Text;
    loop {
        state = match state {
            State::Text => l.lex_text(),
            State::LeftDelim => l.lex_left_delim(),
            State::Comment => l.lex_comment(),
            State::RightDelim => l.lex_right_delim(),
            State::InsideAction => l.lex_inside_action(),
            State::Done => break,
        };
    }
    l.items
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// The 1-based line of byte offset `pos`; offsets arrive in increasing order.
    fn line_at(&mut self, pos: usize) -> usize {
        if pos < self.line_pos {
            self.line_pos = 0;
            self.line = 1;
        }
        let span = self.input.as_bytes().get(self.line_pos..pos).unwrap_or(&[]);
        self.line += span.iter().filter(|&&b| b == b'\n').count();
        self.line_pos = pos;
        self.line
    }

    fn push(&mut self, kind: Kind, pos: usize, val: String) {
        let line = self.line_at(pos);
        self.items.push(Item {
            kind,
            pos,
            val,
            line,
        });
    }

    fn emit(&mut self, kind: Kind) -> State {
        let val = self
            .input
            .get(self.start..self.pos)
            .unwrap_or("")
            .to_string();
        self.push(kind, self.start, val);
        self.start = self.pos;
        State::InsideAction
    }

    fn error(&mut self, message: String) -> State {
        self.push(Kind::Error, self.start, message);
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            // Only the delimiter's first character is checked, as Go does.
            Some(c) => is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(' | '}'),
        }
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.rest().find(LEFT_DELIM) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT_DELIM.len();
                let mut trim = 0;
                if has_left_trim_marker(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches(SPACE_CHARS).len();
                }
                self.pos -= trim;
                if self.pos > self.start {
                    let val = self.input[self.start..self.pos].to_string();
                    self.push(Kind::Text, self.start, val);
                }
                self.pos += trim;
                self.start = self.pos;
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            let val = self.input[self.start..].to_string();
            self.push(Kind::Text, self.start, val);
            self.start = self.pos;
        }
        self.push(Kind::Eof, self.pos, String::new());
        State::Done
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT_DELIM.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.rest()[after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.start = self.pos;
            return State::Comment;
        }
        self.push(Kind::LeftDelim, self.start, LEFT_DELIM.to_string());
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".to_string());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".to_string());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            self.skip_leading_space();
        }
        self.start = self.pos;
        State::Text
    }

    fn skip_leading_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(SPACE_CHARS).len();
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.start = self.pos;
        }
        self.pos += RIGHT_DELIM.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.skip_leading_space();
            self.start = self.pos;
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.error("unclosed left paren".to_string());
        }
        let Some(c) = self.bump() else {
            return self.error("unclosed action".to_string());
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                self.lex_space()
            }
            '=' => self.emit(Kind::Assign),
            ':' => {
                if self.bump() != Some('=') {
                    return self.error("expected :=".to_string());
                }
                self.emit(Kind::Declare)
            }
            '|' => self.emit(Kind::Pipe),
            '"' => self.lex_quote(),
            '`' => self.lex_raw_quote(),
            '$' => self.lex_variable(),
            '\'' => self.lex_char(),
            '.' if !self.peek().is_some_and(|c| c.is_ascii_digit()) && self.peek().is_some() => {
                self.lex_field_or_variable(Kind::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.backup(c);
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.backup(c);
                self.lex_identifier()
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(Kind::LeftParen)
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".to_string());
                }
                self.emit(Kind::RightParen)
            }
            c if c.is_ascii() && is_print(c) => self.emit(Kind::Char),
            c => self.error(format!(
                "unrecognized character in action: {}",
                describe_rune(c)
            )),
        }
    }

    fn lex_space(&mut self) -> State {
        let mut count = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.pos += c.len_utf8();
            count += 1;
        }
        // A space directly before "-}}" belongs to the trim marker.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            self.pos -= 1;
            if count == 1 {
                return State::InsideAction;
            }
        }
        self.emit(Kind::Space)
    }

    fn lex_identifier(&mut self) -> State {
        while self.peek().is_some_and(is_alnum) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", describe_rune(c)));
        }
        let word = &self.input[self.start..self.pos];
        let kind = match Kind::keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => Kind::Bool,
            None => Kind::Identifier,
        };
        self.emit(kind)
    }

    fn lex_variable(&mut self) -> State {
        self.lex_field_or_variable(Kind::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> State {
        if self.at_terminator() {
            return self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
        }
        while self.peek().is_some_and(is_alnum) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", describe_rune(c)));
        }
        self.emit(kind)
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.bump() {
                Some('\\') => {
                    if matches!(self.bump(), None | Some('\n')) {
                        return self.error("unterminated character constant".to_string());
                    }
                }
                None | Some('\n') => {
                    return self.error("unterminated character constant".to_string());
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::CharConstant)
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.bump() {
                Some('\\') => {
                    if matches!(self.bump(), None | Some('\n')) {
                        return self.error("unterminated quoted string".to_string());
                    }
                }
                None | Some('\n') => {
                    return self.error("unterminated quoted string".to_string());
                }
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::String)
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.bump() {
                None => return self.error("unterminated raw quoted string".to_string()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::RawString)
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let text = quote(&self.input[self.start..self.pos]);
            return self.error(format!("bad number syntax: {text}"));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = quote(&self.input[self.start..self.pos]);
                return self.error(format!("bad number syntax: {text}"));
            }
            return self.emit(Kind::Complex);
        }
        self.emit(Kind::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.bump();
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<(Kind, String)> {
        lex(input).into_iter().map(|i| (i.kind, i.val)).collect()
    }

    #[test]
    fn lexes_actions_and_text() {
        use Kind::*;
        let got = kinds("a {{ .X | printf \"%d\" 3 }}b");
        let want = vec![
            (Text, "a ".to_string()),
            (LeftDelim, "{{".to_string()),
            (Space, " ".to_string()),
            (Field, ".X".to_string()),
            (Space, " ".to_string()),
            (Pipe, "|".to_string()),
            (Space, " ".to_string()),
            (Identifier, "printf".to_string()),
            (Space, " ".to_string()),
            (String, "\"%d\"".to_string()),
            (Space, " ".to_string()),
            (Number, "3".to_string()),
            (Space, " ".to_string()),
            (RightDelim, "}}".to_string()),
            (Text, "b".to_string()),
            (Eof, std::string::String::new()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn trim_markers_and_comments() {
        use Kind::*;
        let got = kinds("a  {{- 3 -}}  b {{/* c */}} d {{- /* c */ -}} e");
        let texts: Vec<_> = got
            .iter()
            .filter(|(k, _)| *k == Text)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(texts, vec!["a", "b ", " d", "e"]);
        assert!(got.iter().any(|(k, v)| *k == Number && v == "3"));
    }

    #[test]
    fn errors_stop_lexing() {
        let items = lex("x {{ foo\n");
        let last = items.last().unwrap();
        assert_eq!(last.kind, Kind::Error);
        assert_eq!(last.val, "unclosed action");
        let items = lex("\n{{/* foo");
        let last = items.last().unwrap();
        assert_eq!((last.val.as_str(), last.line), ("unclosed comment", 2));
        assert_eq!(
            lex("{{3x}}").last().unwrap().val,
            "bad number syntax: \"3x\""
        );
        assert_eq!(
            lex("{{a#}}").last().unwrap().val,
            "bad character U+0023 '#'"
        );
        assert_eq!(lex("{{)}}").last().unwrap().val, "unexpected right paren");
        assert_eq!(lex("{{(}}").last().unwrap().val, "unclosed left paren");
    }

    #[test]
    fn item_display_matches_go() {
        let item = |kind, val: &str| Item {
            kind,
            pos: 0,
            val: val.to_string(),
            line: 1,
        };
        assert_eq!(item(Kind::Char, "}").to_string(), "\"}\"");
        assert_eq!(item(Kind::End, "end").to_string(), "<end>");
        assert_eq!(item(Kind::Eof, "").to_string(), "EOF");
        assert_eq!(
            item(Kind::Text, "0123456789abc").to_string(),
            "\"0123456789\"..."
        );
    }
}
