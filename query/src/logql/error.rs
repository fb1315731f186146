//! LogQL parse errors, worded and positioned as Loki words them
//! (`parse error at line 1, col 11: ...`), so users can compare them with
//! what Grafana shows for Loki.

/// A query that does not lex, parse or pass the parser's checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at line {line}, col {col}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub col: usize,
    /// What is wrong, without the position prefix.
    pub message: String,
}

impl ParseError {
    /// An error at byte `offset` of `input`.
    pub(crate) fn at(input: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(input, offset);
        Self {
            line,
            col,
            message: message.into(),
        }
    }
}

/// 1-based line and character column of a byte offset; offsets past the
/// end (or inside a character) land on the next character boundary.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc", 3), (1, 4));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("é{", 2), (1, 2));
    }
}
