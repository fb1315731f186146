//! TraceQL query errors. Tempo answers a bad query with HTTP 400 and a
//! plain-text message; ours carry the byte offset as well as a
//! line/column so the HTTP layer can point at the offending token, and a
//! kind so callers can tell "this is not TraceQL" from "this is TraceQL
//! that Tempo would refuse to run".

use std::fmt;

/// Whether the query failed to parse or parsed but failed the checks
/// Tempo applies before running a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not valid TraceQL syntax.
    Syntax,
    /// The syntax is fine but the query is ill-typed or out of range
    /// (`{ 1 = "foo" }`, `{ status > ok }`, a bad regex, `topk(0)`).
    Validation,
}

/// A query that does not lex, parse or validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the query text of the offending token.
    pub pos: usize,
    /// 1-based line of `pos`.
    pub line: usize,
    /// 1-based column (in characters) of `pos`.
    pub col: usize,
    /// What is wrong, without the position prefix.
    pub message: String,
    /// Syntax or validation.
    pub kind: ErrorKind,
}

impl ParseError {
    /// A syntax error at byte `pos` of `input`.
    pub(crate) fn syntax(input: &str, pos: usize, message: impl Into<String>) -> Self {
        Self::new(input, pos, message.into(), ErrorKind::Syntax)
    }

    /// A validation error at byte `pos` of `input`.
    pub(crate) fn validation(input: &str, pos: usize, message: impl Into<String>) -> Self {
        Self::new(input, pos, message.into(), ErrorKind::Validation)
    }

    fn new(input: &str, pos: usize, message: String, kind: ErrorKind) -> Self {
        let (line, col) = line_col(input, pos);
        Self {
            pos,
            line,
            col,
            message,
            kind,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parse error at line {}, col {}: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// 1-based line and character column of a byte offset.
fn line_col(input: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in input.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Why a compiled query could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The query uses a feature Hearth parses but does not evaluate.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The time range or step is unusable.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// The query is of the wrong kind for the call (e.g. a spanset query
    /// given to the metrics evaluator).
    #[error("wrong query kind: {0}")]
    WrongKind(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc", 3), (1, 4));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("é{", 2), (1, 2));
        let e = ParseError::syntax("{ .a == 1 }", 6, "boom");
        assert_eq!(e.to_string(), "parse error at line 1, col 7: boom");
    }
}
