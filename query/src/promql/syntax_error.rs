//! Words PromQL syntax errors as Prometheus does (`line:col: parse error:
//! ...`), because users compare them with promtool's and Prometheus'. The
//! parser crate reports most syntax errors without a position, so the
//! common mistakes are located here from a coarse token scan.

/// Words a parse failure: located mistakes first, then the parser crate's
/// message with Prometheus' wording.
pub(super) fn word_error(input: &str, message: &str) -> String {
    if let Some((line, col, what)) = locate_error(input).or_else(|| locate_token_error(input)) {
        return format!("{line}:{col}: parse error: {what}");
    }
    let message = message.trim();
    if message.starts_with(|c: char| c.is_ascii_digit()) && message.contains(": parse error") {
        return message.to_owned();
    }
    let (col, message) = reword(input, message);
    format!("1:{col}: parse error: {message}")
}

/// Prometheus' wording of the parser crate's semantic errors: type names
/// as Prometheus prints them, double-quoted names, and the position of the
/// offending argument where one can be found.
fn reword(input: &str, message: &str) -> (usize, String) {
    let mut text = String::with_capacity(message.len());
    let mut rest = message;
    // 'name' → "name" for identifiers (function and operator names).
    while let Some(open) = rest.find('\'') {
        let after = &rest[open + 1..];
        let close = after.find('\'');
        match close {
            Some(close)
                if !after[..close].is_empty()
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') =>
            {
                text.push_str(&rest[..open]);
                text.push('"');
                text.push_str(&after[..close]);
                text.push('"');
                rest = &after[close + 1..];
            }
            _ => {
                text.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    text.push_str(rest);
    let mut col = 1;
    if text.starts_with("comparisons between scalars") {
        col = tokens(input)
            .iter()
            .find(|t| matches!(t.text.as_str(), "==" | "!=" | "<" | ">" | "<=" | ">="))
            .filter(|t| t.line == 1)
            .map_or(1, |t| t.col);
    }
    if let Some(got) = text.strip_prefix(
        "unary expression only allowed on expressions of type scalar or vector, got: ",
    ) {
        text = format!(
            "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
            got
        );
    }
    if let Some(typed) = text.strip_prefix("expected type ") {
        text = format!("expected type {}", type_names(typed));
        if let Some(function) = quoted_after(&text, "call to function \"") {
            col = first_argument_column(input, &function).unwrap_or(1);
        }
    }
    (col, text)
}

/// `matrix in call to function "f", got vector` with Prometheus' type names.
fn type_names(text: &str) -> String {
    let name = |t: &str| match t {
        "matrix" => "range vector".to_string(),
        "vector" => "instant vector".to_string(),
        other => other.to_string(),
    };
    let Some((expected, rest)) = text.split_once(" in call") else {
        return text.to_string();
    };
    match rest.rsplit_once(", got ") {
        Some((middle, got)) => format!("{} in call{middle}, got {}", name(expected), name(got)),
        None => format!("{} in call{rest}", name(expected)),
    }
}

fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_string())
}

/// Column (1-based) of the first argument of the first call to `function`.
fn first_argument_column(input: &str, function: &str) -> Option<usize> {
    let chars: Vec<char> = input.chars().collect();
    let name: Vec<char> = function.chars().collect();
    let mut i = 0;
    while i + name.len() <= chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if boundary && chars[i..i + name.len()] == name[..] {
            let mut j = i + name.len();
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if chars.get(j) == Some(&'(') {
                j += 1;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                return Some(j + 1);
            }
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Keyword,
    Number,
    Str,
    Op,
    Open,
    Close,
    Other,
}

/// Words that join or modify expressions rather than being operands.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
];

/// Aggregation operators: the only calls `by` and `without` may follow.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
];

struct Token {
    kind: Tok,
    text: String,
    line: usize,
    col: usize,
}

/// Splits a query into coarse tokens with their 1-based positions.
fn tokens(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    while i < chars.len() {
        let c = chars[i];
        let (start_line, start_col) = (line, col);
        let mut j = i + 1;
        let kind = if c.is_whitespace() {
            if c == '\n' {
                line += 1;
                col = 0;
            }
            None
        } else if c == '#' {
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            None
        } else if c.is_alphabetic() || c == '_' || c == ':' {
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect::<String>().to_ascii_lowercase();
            Some(if KEYWORDS.contains(&word.as_str()) {
                Tok::Keyword
            } else {
                Tok::Ident
            })
        } else if c.is_ascii_digit() || c == '.' {
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '.') {
                j += 1;
            }
            Some(Tok::Number)
        } else if c == '"' || c == '\'' || c == '`' {
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && c != '`' {
                    j += 1;
                }
                j += 1;
            }
            j = (j + 1).min(chars.len());
            Some(Tok::Str)
        } else if "+-*/%^=!<>~".contains(c) {
            while j < chars.len() && "=~".contains(chars[j]) && j - i < 2 {
                j += 1;
            }
            Some(Tok::Op)
        } else if "([{".contains(c) {
            Some(Tok::Open)
        } else if ")]}".contains(c) {
            Some(Tok::Close)
        } else {
            Some(Tok::Other)
        };
        if let Some(kind) = kind {
            out.push(Token {
                kind,
                text: chars[i..j].iter().collect(),
                line: start_line,
                col: start_col,
            });
        }
        col += j - i;
        i = j;
    }
    out
}

fn is_grouping_keyword(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
    )
}

/// How Prometheus' parser names an unexpected token.
fn describe(token: &Token) -> String {
    match token.kind {
        Tok::Ident => format!("identifier {:?}", token.text),
        Tok::Number => format!("number {:?}", token.text),
        Tok::Str => format!("string {:?}", token.text),
        Tok::Op => format!("<op:{}>", token.text),
        Tok::Keyword => format!("<{}>", token.text.to_ascii_lowercase()),
        _ => format!("{:?}", token.text),
    }
}

/// Locates the common syntax mistakes the upstream parser reports without
/// a position: a dangling operator or keyword, two operators in a row, two
/// operands with nothing between them, and grouping clauses in the wrong
/// place.
fn locate_token_error(input: &str) -> Option<(usize, usize, String)> {
    let toks = tokens(input);
    let ends_operand = |t: Tok| matches!(t, Tok::Ident | Tok::Number | Tok::Str | Tok::Close);
    // For each open parenthesis: whether it opened a grouping label list,
    // and the identifier before it (a function or aggregation name).
    let mut parens: Vec<(bool, Option<String>)> = Vec::new();
    let mut closed: Option<(bool, Option<String>)> = None;
    for (i, b) in toks.iter().enumerate() {
        let a = i.checked_sub(1).map(|p| &toks[p]);
        // A closed label list (`by (a)`, `on (b)`) does not end an operand.
        let after_grouping =
            closed.as_ref().is_some_and(|(g, _)| *g) && a.is_some_and(|a| a.text == ")");
        let in_grouping = parens.last().is_some_and(|(g, _)| *g);
        if let Some(a) = a {
            if a.kind == Tok::Keyword
                && is_grouping_keyword(&a.text)
                && !matches!(
                    a.text.to_ascii_lowercase().as_str(),
                    "group_left" | "group_right"
                )
                && b.text != "("
            {
                return Some((
                    b.line,
                    b.col,
                    format!(
                        "unexpected {} in grouping opts, expected \"(\"",
                        describe(b)
                    ),
                ));
            }
            if in_grouping && a.kind == Tok::Ident && b.kind == Tok::Ident {
                return Some((
                    b.line,
                    b.col,
                    format!(
                        "unexpected {} in grouping opts, expected \",\" or \")\"",
                        describe(b)
                    ),
                ));
            }
            if ends_operand(a.kind)
                && !after_grouping
                && matches!(b.kind, Tok::Ident | Tok::Number | Tok::Str)
            {
                return Some((b.line, b.col, format!("unexpected {}", describe(b))));
            }
            if a.text == "@"
                && !matches!(b.kind, Tok::Number)
                && !matches!(
                    b.text.to_ascii_lowercase().as_str(),
                    "start" | "end" | "-" | "+"
                )
            {
                return Some((
                    b.line,
                    b.col,
                    format!("unexpected {} in @, expected timestamp", describe(b)),
                ));
            }
            let unary = b.text == "-" || b.text == "+";
            if a.kind == Tok::Op && b.kind == Tok::Op && !unary && !a.text.ends_with('~') {
                return Some((b.line, b.col, format!("unexpected {}", describe(b))));
            }
            // `by`/`without` after a call that is not an aggregation.
            let lower = b.text.to_ascii_lowercase();
            if (lower == "by" || lower == "without")
                && a.text == ")"
                && let Some((false, name)) = &closed
                && !name
                    .as_deref()
                    .is_some_and(|n| AGGREGATIONS.contains(&n.to_ascii_lowercase().as_str()))
            {
                return Some((b.line, b.col, format!("unexpected {}", describe(b))));
            }
        }
        match b.text.as_str() {
            "(" => {
                let grouping =
                    a.is_some_and(|a| a.kind == Tok::Keyword && is_grouping_keyword(&a.text));
                let name = a.filter(|a| a.kind == Tok::Ident).map(|a| a.text.clone());
                parens.push((grouping, name));
            }
            ")" => closed = parens.pop(),
            _ => {}
        }
    }
    let last = toks.last()?;
    if matches!(last.kind, Tok::Op | Tok::Keyword) || last.text == "," || last.text == "@" {
        let end_col = last.col + last.text.chars().count();
        let lower = last.text.to_ascii_lowercase();
        let context =
            if is_grouping_keyword(&lower) && lower != "group_left" && lower != "group_right" {
                " in grouping opts, expected \"(\""
            } else if lower == "offset" {
                " in offset, expected duration"
            } else {
                ""
            };
        return Some((
            last.line,
            end_col,
            format!("unexpected end of input{context}"),
        ));
    }
    None
}

/// Where the input ends: the position just after its last character.
fn end_position(input: &str) -> (usize, usize) {
    let line = input.matches('\n').count() + 1;
    let last_line = input.rsplit('\n').next().unwrap_or(input);
    (line, last_line.chars().count() + 1)
}

/// Finds unbalanced brackets and unterminated strings: (line, column,
/// message), 1-based. An unclosed bracket is reported where the input
/// ends, as Prometheus' lexer does.
fn locate_error(input: &str) -> Option<(usize, usize, String)> {
    let mut stack: Vec<char> = Vec::new();
    let (mut line, mut col) = (1, 0);
    let mut quote: Option<(char, usize, usize)> = None;
    let mut escaped = false;
    let mut comment = false;
    for c in input.chars() {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            if let Some((q, _, _)) = quote
                && q != '`'
            {
                return quote.map(|(_, l, c)| (l, c, "unterminated quoted string".into()));
            }
            continue;
        }
        if comment {
            continue;
        }
        if let Some((q, _, _)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' | '\'' | '`' => quote = Some((c, line, col)),
            '(' | '{' | '[' => stack.push(c),
            ')' | '}' | ']' => {
                let open = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                if stack.pop() != Some(open) {
                    let name = match c {
                        ')' => "right parenthesis ')'",
                        '}' => "right brace '}'",
                        _ => "right bracket ']'",
                    };
                    return Some((line, col, format!("unexpected {name}")));
                }
            }
            _ => {}
        }
    }
    if let Some((_, l, c)) = quote {
        return Some((l, c, "unterminated quoted string".into()));
    }
    // Prometheus' lexer checks, at the end: still inside braces, then any
    // open parenthesis, then an open bracket.
    let what = match stack.last()? {
        '{' => "unexpected end of input inside braces",
        _ if stack.contains(&'(') => "unclosed left parenthesis",
        _ => "unclosed left bracket",
    };
    let (l, c) = end_position(input);
    Some((l, c, what.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worded(input: &str) -> String {
        word_error(input, "invalid promql query")
    }

    /// Each case is what promtool 2.42 prints for the expression.
    #[test]
    fn matches_prometheus_wording() {
        let cases = [
            ("sum(up", "1:7: parse error: unclosed left parenthesis"),
            (
                "rate(up[5m]",
                "1:12: parse error: unclosed left parenthesis",
            ),
            (
                "foo{",
                "1:5: parse error: unexpected end of input inside braces",
            ),
            (
                "up{job=\"a\"",
                "1:11: parse error: unexpected end of input inside braces",
            ),
            ("up[5m", "1:6: parse error: unclosed left bracket"),
            ("up +* 2", "1:5: parse error: unexpected <op:*>"),
            (
                "sum(up) by",
                "1:11: parse error: unexpected end of input in grouping opts, expected \"(\"",
            ),
            (
                "sum by (job up)",
                "1:13: parse error: unexpected identifier \"up\" in grouping opts, expected \",\" or \")\"",
            ),
            (
                "up offset",
                "1:10: parse error: unexpected end of input in offset, expected duration",
            ),
            (
                "sum(rate(x[5m])) by job",
                "1:21: parse error: unexpected identifier \"job\" in grouping opts, expected \"(\"",
            ),
            (
                "rate(up[5m]) by (job)",
                "1:14: parse error: unexpected <by>",
            ),
            ("up up", "1:4: parse error: unexpected identifier \"up\""),
            (
                "up @ foo",
                "1:6: parse error: unexpected identifier \"foo\" in @, expected timestamp",
            ),
            (
                "rate(up[5m:1m",
                "1:14: parse error: unclosed left parenthesis",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(worded(input), expected, "{input}");
        }
    }

    #[test]
    fn semantic_errors_use_prometheus_names() {
        assert_eq!(
            word_error(
                "rate(up)",
                "expected type matrix in call to function 'rate', got vector"
            ),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            word_error(
                "1 == 1",
                "comparisons between scalars must use BOOL modifier"
            ),
            "1:3: parse error: comparisons between scalars must use BOOL modifier"
        );
        assert_eq!(
            word_error("nosuch(up)", "unknown function with name 'nosuch'"),
            "1:1: parse error: unknown function with name \"nosuch\""
        );
        assert_eq!(
            word_error(
                "up and 1",
                "set operator 'and' not allowed in binary scalar expression"
            ),
            "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"
        );
    }

    #[test]
    fn aggregations_may_take_grouping_after_their_call() {
        assert_eq!(locate_token_error("sum(rate(x[5m])) by (job)"), None);
        assert_eq!(locate_token_error("topk(3, x) without (a)"), None);
        assert_eq!(locate_token_error("a / on (x) group_left (y) b"), None);
    }
}
