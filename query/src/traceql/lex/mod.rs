//! The TraceQL lexer. It resolves attribute references (`span.http.url`,
//! `."a b"`, `parent.resource.x`) and colon intrinsics (`span:name`) into
//! single tokens here, because TraceQL attribute names may contain dots
//! and dashes that would otherwise read as operators; the parser never has
//! to glue names back together. Operators that mean different things in
//! field and spanset position (`>` is greater-than or child-of, `!~` is
//! not-regex or not-sibling) are lexed once and interpreted by the parser.

mod number;

use super::ast::AttributeScope;
use super::error::ParseError;

/// One token and the byte range it covers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare word: intrinsic, keyword, enum value or function name.
    Ident(String),
    /// `span:name` and friends, as (scope word, name).
    ScopedIntrinsic(String, String),
    /// An attribute reference.
    Attr {
        parent: bool,
        scope: AttributeScope,
        name: String,
    },
    /// A string literal with escapes resolved.
    Str(String),
    /// A non-negative integer literal.
    Int(i64),
    /// A non-negative float literal.
    Float(f64),
    /// A non-negative duration literal in nanoseconds.
    Duration(i64),
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    And,
    Or,
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Re,
    /// `!~`: not-regex in fields, not-sibling between spansets.
    NotRe,
    Not,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    /// `>>`
    Desc,
    /// `<<`
    Anc,
    /// `~`
    Tilde,
    /// `!>`
    NotChild,
    /// `!<`
    NotParent,
    /// `!>>`
    NotDesc,
    /// `!<<`
    NotAnc,
    /// `&>`
    UnionChild,
    /// `&<`
    UnionParent,
    /// `&>>`
    UnionDesc,
    /// `&<<`
    UnionAnc,
    /// `&~`
    UnionSibling,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::ScopedIntrinsic(a, b) => format!("`{a}:{b}`"),
            Tok::Attr { .. } => "attribute".to_string(),
            Tok::Str(_) => "string".to_string(),
            Tok::Int(_) | Tok::Float(_) => "number".to_string(),
            Tok::Duration(_) => "duration".to_string(),
            Tok::Eof => "end of query".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Pipe => "|",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Eq => "=",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Re => "=~",
            Tok::NotRe => "!~",
            Tok::Not => "!",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Caret => "^",
            Tok::Desc => ">>",
            Tok::Anc => "<<",
            Tok::Tilde => "~",
            Tok::NotChild => "!>",
            Tok::NotParent => "!<",
            Tok::NotDesc => "!>>",
            Tok::NotAnc => "!<<",
            Tok::UnionChild => "&>",
            Tok::UnionParent => "&<",
            Tok::UnionDesc => "&>>",
            Tok::UnionAnc => "&<<",
            Tok::UnionSibling => "&~",
            _ => "?",
        }
    }
}

/// Characters that end an unquoted attribute name.
pub(crate) fn ends_attribute_name(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '{' | '}'
                | '('
                | ')'
                | '='
                | '!'
                | '<'
                | '>'
                | '&'
                | '|'
                | '~'
                | ','
                | '"'
                | '`'
                | '^'
                | '+'
                | '*'
                | '/'
                | '%'
        )
}

/// Scope words that may prefix `.name`.
fn attribute_scope(word: &str) -> Option<AttributeScope> {
    Some(match word {
        "span" => AttributeScope::Span,
        "resource" => AttributeScope::Resource,
        "event" => AttributeScope::Event,
        "link" => AttributeScope::Link,
        "instrumentation" => AttributeScope::Instrumentation,
        _ => return None,
    })
}

/// Split `input` into tokens, ending with `Tok::Eof`.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer { src: input, pos: 0 };
    let mut out = Vec::new();
    loop {
        lx.skip_space();
        let start = lx.pos;
        let Some(c) = lx.peek() else {
            out.push(Token {
                kind: Tok::Eof,
                start,
                end: start,
            });
            return Ok(out);
        };
        let kind = lx.token(c)?;
        out.push(Token {
            kind,
            start,
            end: lx.pos,
        });
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn err(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::syntax(self.src, pos, msg)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// Consume `s` if the input continues with it.
    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn token(&mut self, c: char) -> Result<Tok, ParseError> {
        let start = self.pos;
        // Longest operators first.
        const OPS: &[(&str, Tok)] = &[
            ("!>>", Tok::NotDesc),
            ("!<<", Tok::NotAnc),
            ("&>>", Tok::UnionDesc),
            ("&<<", Tok::UnionAnc),
            ("&&", Tok::And),
            ("||", Tok::Or),
            ("!=", Tok::NotEq),
            ("=~", Tok::Re),
            ("!~", Tok::NotRe),
            (">=", Tok::Ge),
            ("<=", Tok::Le),
            (">>", Tok::Desc),
            ("<<", Tok::Anc),
            ("!>", Tok::NotChild),
            ("!<", Tok::NotParent),
            ("&>", Tok::UnionChild),
            ("&<", Tok::UnionParent),
            ("&~", Tok::UnionSibling),
            ("{", Tok::LBrace),
            ("}", Tok::RBrace),
            ("(", Tok::LParen),
            (")", Tok::RParen),
            (",", Tok::Comma),
            ("|", Tok::Pipe),
            ("=", Tok::Eq),
            ("<", Tok::Lt),
            (">", Tok::Gt),
            ("!", Tok::Not),
            ("+", Tok::Plus),
            ("-", Tok::Minus),
            ("*", Tok::Star),
            ("/", Tok::Slash),
            ("%", Tok::Percent),
            ("^", Tok::Caret),
            ("~", Tok::Tilde),
        ];
        match c {
            '"' => {
                self.bump();
                return self.quoted(start).map(Tok::Str);
            }
            '`' => {
                self.bump();
                return self.raw(start).map(Tok::Str);
            }
            '.' => {
                self.bump();
                let name = self.attribute_name(start)?;
                return Ok(Tok::Attr {
                    parent: false,
                    scope: AttributeScope::Unscoped,
                    name,
                });
            }
            c if c.is_ascii_digit() => return self.number(start),
            c if c.is_ascii_alphabetic() || c == '_' => return self.word(start),
            _ => {}
        }
        for (text, tok) in OPS {
            if self.eat(text) {
                return Ok(tok.clone());
            }
        }
        if c == '&' {
            return Err(self.err(start, "unexpected `&`; did you mean `&&`?"));
        }
        Err(self.err(start, format!("unexpected character `{c}`")))
    }

    fn ident(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                self.bump();
            } else {
                break;
            }
        }
        &self.src[start..self.pos]
    }

    fn word(&mut self, start: usize) -> Result<Tok, ParseError> {
        let word = self.ident().to_string();
        if self.peek() == Some('.') {
            if let Some(scope) = attribute_scope(&word) {
                self.bump();
                let name = self.attribute_name(start)?;
                return Ok(Tok::Attr {
                    parent: false,
                    scope,
                    name,
                });
            }
            if word == "parent" {
                self.bump();
                return self.parent_attribute(start);
            }
        }
        if self.peek() == Some(':')
            && matches!(
                word.as_str(),
                "span" | "trace" | "event" | "link" | "instrumentation"
            )
        {
            self.bump();
            let name = self.ident().to_string();
            if name.is_empty() {
                return Err(self.err(
                    self.pos,
                    format!("expected an intrinsic name after `{word}:`"),
                ));
            }
            return Ok(Tok::ScopedIntrinsic(word, name));
        }
        Ok(Tok::Ident(word))
    }

    /// After `parent.`: either `scope.name` or an unscoped name.
    fn parent_attribute(&mut self, start: usize) -> Result<Tok, ParseError> {
        let save = self.pos;
        let word = self.ident().to_string();
        if self.peek() == Some('.')
            && let Some(scope) = attribute_scope(&word)
        {
            self.bump();
            let name = self.attribute_name(start)?;
            return Ok(Tok::Attr {
                parent: true,
                scope,
                name,
            });
        }
        self.pos = save;
        let name = self.attribute_name(start)?;
        Ok(Tok::Attr {
            parent: true,
            scope: AttributeScope::Unscoped,
            name,
        })
    }

    /// An attribute name after its `.`: quoted, or a run of name chars.
    fn attribute_name(&mut self, start: usize) -> Result<String, ParseError> {
        match self.peek() {
            Some('"') => {
                let q = self.pos;
                self.bump();
                let name = self.quoted(q)?;
                if name.is_empty() {
                    return Err(self.err(q, "attribute name must not be empty"));
                }
                Ok(name)
            }
            Some(c) if !ends_attribute_name(c) => {
                let from = self.pos;
                while let Some(c) = self.peek() {
                    if ends_attribute_name(c) {
                        break;
                    }
                    self.bump();
                }
                Ok(self.src[from..self.pos].to_string())
            }
            _ => Err(self.err(
                start,
                "expected an attribute name after `.` (quote names with spaces: `span.\"a b\"`)",
            )),
        }
    }

    /// A `"..."` string; the opening quote is already consumed.
    fn quoted(&mut self, start: usize) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.err(start, "unterminated string"));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let at = self.pos - 1;
                    let Some(e) = self.bump() else {
                        return Err(self.err(start, "unterminated string"));
                    };
                    match e {
                        '"' => out.push('"'),
                        '\'' => out.push('\''),
                        '\\' => out.push('\\'),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        'x' => out.push(self.hex_escape(at, 2)?),
                        'u' => out.push(self.hex_escape(at, 4)?),
                        'U' => out.push(self.hex_escape(at, 8)?),
                        other => {
                            return Err(self.err(
                                at,
                                format!(
                                    "unknown escape `\\{other}` in string (write `\\\\` for a backslash, or use a `backtick` string)"
                                ),
                            ));
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex_escape(&mut self, at: usize, digits: usize) -> Result<char, ParseError> {
        let mut v: u32 = 0;
        for _ in 0..digits {
            let d = self
                .bump()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.err(at, "invalid hex escape in string"))?;
            v = v * 16 + d;
        }
        char::from_u32(v).ok_or_else(|| self.err(at, "escape is not a valid character"))
    }

    /// A backtick string; the opening backtick is already consumed.
    fn raw(&mut self, start: usize) -> Result<String, ParseError> {
        let from = self.pos;
        while let Some(c) = self.bump() {
            if c == '`' {
                return Ok(self.src[from..self.pos - 1].to_string());
            }
        }
        Err(self.err(start, "unterminated raw string"))
    }
}
