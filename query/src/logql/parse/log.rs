//! Log queries: stream selectors and pipelines (line filters, parsers,
//! label filters, formatters, `unwrap`).

use hearth_storage::{MatchOp, Matcher};

use super::super::ast::{
    CmpOp, Conversion, Extraction, LabelFilter, LabelFormat, LabelMatcher, LabelSelector,
    LineFilter, LineFilterOp, LineFilterValue, LogQuery, Stage, Unwrap,
};
use super::super::lex::Tok;
use super::{Parser, Result, check};

const EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// What a pipeline ended with.
pub(super) struct Pipeline {
    pub stages: Vec<Stage>,
    pub unwrap: Option<Unwrap>,
}

fn match_op(tok: &Tok) -> Option<MatchOp> {
    Some(match tok {
        Tok::Eq => MatchOp::Equal,
        Tok::NotEq => MatchOp::NotEqual,
        Tok::Match => MatchOp::Regex,
        Tok::NotMatch => MatchOp::NotRegex,
        _ => return None,
    })
}

fn is_comparison(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Eq
            | Tok::EqEq
            | Tok::NotEq
            | Tok::Match
            | Tok::NotMatch
            | Tok::Gt
            | Tok::Ge
            | Tok::Lt
            | Tok::Le
    )
}

impl Parser<'_> {
    /// `{...}` followed by a pipeline without `unwrap`.
    pub(super) fn log_query(&mut self) -> Result<LogQuery> {
        let matchers = self.selector()?;
        let pipeline = self.pipeline(false)?;
        Ok(LogQuery {
            matchers,
            pipeline: pipeline.stages,
        })
    }

    /// `{name op "value", ...}` with at least one matcher that rejects "".
    pub(super) fn selector(&mut self) -> Result<Vec<LabelMatcher>> {
        let open = self.expect(Tok::LBrace)?.start;
        let mut matchers = Vec::new();
        if *self.peek() != Tok::RBrace {
            loop {
                matchers.push(self.matcher()?);
                match self.peek() {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RBrace => break,
                    _ => return Err(self.unexpected(", or }")),
                }
            }
        }
        self.expect(Tok::RBrace)?;
        let mut rejects_empty = false;
        for m in &matchers {
            // Built again from the text so the check uses exactly the
            // matching that storage will do.
            if let Ok(built) = Matcher::new(m.op, m.name.as_str(), m.value.as_str())
                && !built.matches("")
            {
                rejects_empty = true;
            }
        }
        if !rejects_empty {
            return Err(self.err_at(open, EMPTY_COMPATIBLE));
        }
        Ok(matchers)
    }

    /// `name op "value"`, with regexes checked.
    fn matcher(&mut self) -> Result<LabelMatcher> {
        let (name, _) = self.expect_ident("IDENTIFIER")?;
        let op = match_op(self.peek()).ok_or_else(|| self.unexpected("=, !=, =~ or !~"))?;
        self.bump();
        let (value, at) = self.expect_string()?;
        self.check_label_regex(&name, op, &value, at)?;
        Ok(LabelMatcher { name, op, value })
    }

    fn check_label_regex(&self, name: &str, op: MatchOp, value: &str, at: usize) -> Result<()> {
        if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
            check::anchored(value).map_err(|problem| {
                self.err_at(at, format!("invalid regexp for matcher {name}: {problem}"))
            })?;
        }
        Ok(())
    }

    /// Pipeline stages up to the first token that cannot continue one.
    pub(super) fn pipeline(&mut self, allow_unwrap: bool) -> Result<Pipeline> {
        let mut stages = Vec::new();
        loop {
            match self.peek() {
                Tok::PipeEq
                | Tok::PipeMatch
                | Tok::PipePattern
                | Tok::NotEq
                | Tok::NotMatch
                | Tok::NotPattern => stages.push(Stage::LineFilter(self.line_filter()?)),
                Tok::Pipe if matches!(self.peek_next(), Tok::Ident(w) if w == "unwrap") => {
                    self.bump();
                    if !allow_unwrap {
                        return Err(self.err_here(
                            "unwrap is only allowed inside a range aggregation, e.g. sum_over_time({app=\"x\"} | unwrap v [5m])",
                        ));
                    }
                    let unwrap = self.unwrap()?;
                    return Ok(Pipeline {
                        stages,
                        unwrap: Some(unwrap),
                    });
                }
                Tok::Pipe => {
                    self.bump();
                    stages.push(self.stage()?);
                }
                _ => break,
            }
        }
        Ok(Pipeline {
            stages,
            unwrap: None,
        })
    }

    fn line_filter(&mut self) -> Result<LineFilter> {
        let op = match self.bump().kind {
            Tok::PipeEq => LineFilterOp::Contains,
            Tok::NotEq => LineFilterOp::NotContains,
            Tok::PipeMatch => LineFilterOp::Regex,
            Tok::NotMatch => LineFilterOp::NotRegex,
            Tok::PipePattern => LineFilterOp::Pattern,
            _ => LineFilterOp::NotPattern,
        };
        let mut operands = Vec::new();
        loop {
            operands.push(self.line_filter_operand(op)?);
            let continues = self.is_ident("or")
                && match self.peek_next() {
                    Tok::Str(_) => true,
                    Tok::Ident(w) => w == "ip",
                    _ => false,
                };
            if !continues {
                break;
            }
            self.bump();
        }
        Ok(LineFilter { op, operands })
    }

    fn line_filter_operand(&mut self, op: LineFilterOp) -> Result<LineFilterValue> {
        if self.is_ident("ip") {
            let at = self.offset();
            if !matches!(op, LineFilterOp::Contains | LineFilterOp::NotContains) {
                return Err(self.err_at(at, "ip() line filters only work with |= and !="));
            }
            return Ok(LineFilterValue::Ip(self.ip_call()?));
        }
        let (text, at) = match self.peek() {
            Tok::Str(_) => self.expect_string()?,
            _ => return Err(self.unexpected("STRING or ip(...)")),
        };
        let problem = match op {
            LineFilterOp::Regex | LineFilterOp::NotRegex => check::unanchored(&text)
                .err()
                .map(|p| format!("invalid regexp for line filter: {p}")),
            LineFilterOp::Pattern | LineFilterOp::NotPattern => check::pattern(&text, false).err(),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(self.err_at(at, problem));
        }
        Ok(LineFilterValue::Text(text))
    }

    /// `ip("pattern")`, current token `ip`.
    fn ip_call(&mut self) -> Result<String> {
        self.bump();
        self.expect(Tok::LParen)?;
        let (pattern, at) = self.expect_string()?;
        check::ip_pattern(&pattern).map_err(|p| self.err_at(at, p))?;
        self.expect(Tok::RParen)?;
        Ok(pattern)
    }

    /// One stage after `|`.
    fn stage(&mut self) -> Result<Stage> {
        // `| json != "x"` is the parser and then a line filter, as in Loki,
        // not a filter on a label called `json`.
        let bare_stage = matches!(self.peek(), Tok::Ident(w) if matches!(w.as_str(), "json" | "logfmt" | "unpack" | "decolorize"))
            && matches!(self.peek_next(), Tok::NotEq | Tok::NotMatch);
        if !bare_stage && self.starts_label_filter(self.pos) {
            return Ok(Stage::LabelFilter(self.label_filter()?));
        }
        let (name, at) = self.expect_ident("a pipeline stage or label filter")?;
        Ok(match name.as_str() {
            "json" => Stage::Json(self.extractions()?),
            "logfmt" => {
                let (mut strict, mut keep_empty) = (false, false);
                while *self.peek() == Tok::Sub {
                    match self.flag()? {
                        Flag::Strict => strict = true,
                        Flag::KeepEmpty => keep_empty = true,
                    }
                }
                Stage::Logfmt {
                    strict,
                    keep_empty,
                    extractions: self.extractions()?,
                }
            }
            "regexp" => {
                let (re, at) = self.expect_string()?;
                let compiled = check::unanchored(&re).map_err(|p| {
                    self.err_at(at, format!("invalid regexp for regexp parser: {p}"))
                })?;
                if !compiled.capture_names().any(|n| n.is_some()) {
                    return Err(self.err_at(at, "at least one named capture must be supplied"));
                }
                Stage::Regexp(re)
            }
            "pattern" => {
                let (pattern, at) = self.expect_string()?;
                check::pattern(&pattern, true).map_err(|p| self.err_at(at, p))?;
                Stage::Pattern(pattern)
            }
            "unpack" => Stage::Unpack,
            "decolorize" => Stage::Decolorize,
            "line_format" => Stage::LineFormat(self.expect_string()?.0),
            "label_format" => Stage::LabelFormat(self.label_formats()?),
            "drop" => Stage::Drop(self.label_selectors()?),
            "keep" => Stage::Keep(self.label_selectors()?),
            _ => return Err(self.err_at(at, format!("unknown pipeline stage {name:?}"))),
        })
    }

    /// `--strict` or `--keep-empty`, read from the text because the
    /// lexer sees `-` `-` `keep` `-` `empty`.
    fn flag(&mut self) -> Result<Flag> {
        let at = self.offset();
        let rest = self.input.get(at..).unwrap_or("");
        let (flag, len) = if rest.starts_with("--strict") {
            (Flag::Strict, "--strict".len())
        } else if rest.starts_with("--keep-empty") {
            (Flag::KeepEmpty, "--keep-empty".len())
        } else {
            return Err(self.err_at(
                at,
                "unknown logfmt flag, expecting --strict or --keep-empty",
            ));
        };
        if rest[len..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(self.err_at(
                at,
                "unknown logfmt flag, expecting --strict or --keep-empty",
            ));
        }
        while self.offset() < at + len && *self.peek() != Tok::Eof {
            self.bump();
        }
        Ok(flag)
    }

    /// `a, b="expr", ...` after `json` or `logfmt`; may be empty.
    fn extractions(&mut self) -> Result<Vec<Extraction>> {
        let mut out = Vec::new();
        if !matches!(self.peek(), Tok::Ident(_)) {
            return Ok(out);
        }
        loop {
            let (label, _) = self.expect_ident("IDENTIFIER")?;
            let expression = if *self.peek() == Tok::Eq {
                self.bump();
                Some(self.expect_string()?.0)
            } else {
                None
            };
            out.push(Extraction { label, expression });
            if *self.peek() != Tok::Comma {
                return Ok(out);
            }
            self.bump();
        }
    }

    fn label_formats(&mut self) -> Result<Vec<LabelFormat>> {
        let mut out: Vec<LabelFormat> = Vec::new();
        loop {
            let (dst, at) = self.expect_ident("IDENTIFIER")?;
            self.expect(Tok::Eq)?;
            let item = match self.peek().clone() {
                Tok::Str(template) => {
                    self.bump();
                    LabelFormat::Template {
                        dst: dst.clone(),
                        template,
                    }
                }
                Tok::Ident(src) => {
                    self.bump();
                    LabelFormat::Rename {
                        dst: dst.clone(),
                        src,
                    }
                }
                _ => return Err(self.unexpected("STRING or IDENTIFIER")),
            };
            let taken = out.iter().any(|f| match f {
                LabelFormat::Rename { dst: d, .. } | LabelFormat::Template { dst: d, .. } => {
                    *d == dst
                }
            });
            if taken {
                return Err(self.err_at(
                    at,
                    format!("multiple label name '{dst}' not allowed in a single format operation"),
                ));
            }
            out.push(item);
            if *self.peek() != Tok::Comma {
                return Ok(out);
            }
            self.bump();
        }
    }

    /// `a, b="v", c=~"re"` after `drop` or `keep`.
    fn label_selectors(&mut self) -> Result<Vec<LabelSelector>> {
        let mut out = Vec::new();
        loop {
            let (name, _) = self.expect_ident("IDENTIFIER")?;
            let matcher = match match_op(self.peek()) {
                Some(op) => {
                    self.bump();
                    let (value, at) = self.expect_string()?;
                    self.check_label_regex(&name, op, &value, at)?;
                    Some((op, value))
                }
                None => None,
            };
            out.push(LabelSelector { name, matcher });
            if *self.peek() != Tok::Comma {
                return Ok(out);
            }
            self.bump();
        }
    }

    /// `unwrap label` or `unwrap conversion(label)`, then label filters;
    /// current token `unwrap`.
    fn unwrap(&mut self) -> Result<Unwrap> {
        self.bump();
        let conversion = match self.peek() {
            Tok::Ident(w) if *self.peek_next() == Tok::LParen => match w.as_str() {
                "duration" => Some(Conversion::Duration),
                "duration_seconds" => Some(Conversion::DurationSeconds),
                "bytes" => Some(Conversion::Bytes),
                other => {
                    return Err(self.err_here(format!(
                        "unknown unwrap conversion {other:?}, expecting duration, duration_seconds or bytes"
                    )));
                }
            },
            Tok::Ident(_) => None,
            _ => return Err(self.err_here("unwrap requires a label name")),
        };
        let label = match conversion {
            Some(_) => {
                self.bump();
                self.bump();
                let label = match self.peek() {
                    Tok::Ident(_) => self.expect_ident("IDENTIFIER")?.0,
                    _ => return Err(self.err_here("unwrap requires a label name")),
                };
                self.expect(Tok::RParen)?;
                label
            }
            None => self.expect_ident("IDENTIFIER")?.0,
        };
        let mut post_filters = Vec::new();
        while *self.peek() == Tok::Pipe {
            self.bump();
            if !self.starts_label_filter(self.pos) {
                return Err(self.err_here("only label filters are allowed after unwrap"));
            }
            post_filters.push(self.label_filter()?);
        }
        if matches!(
            self.peek(),
            Tok::PipeEq | Tok::PipeMatch | Tok::PipePattern | Tok::NotMatch | Tok::NotPattern
        ) {
            return Err(self.err_here("only label filters are allowed after unwrap"));
        }
        Ok(Unwrap {
            label,
            conversion: conversion.unwrap_or(Conversion::Float),
            post_filters,
        })
    }

    /// Whether token `i` starts a label filter: `(` or `name op`.
    fn starts_label_filter(&self, i: usize) -> bool {
        match &self.token_at(i).kind {
            Tok::LParen => true,
            Tok::Ident(_) => is_comparison(&self.token_at(i + 1).kind),
            _ => false,
        }
    }

    /// A label filter expression: `or` binds looser than `and`, which may
    /// be written `and`, `,` or nothing at all.
    pub(super) fn label_filter(&mut self) -> Result<LabelFilter> {
        self.enter()?;
        let mut lhs = self.label_filter_and()?;
        while self.is_ident("or") && self.starts_label_filter(self.pos + 1) {
            let at = self.bump().start;
            self.count_operator(at)?;
            let rhs = self.label_filter_and()?;
            lhs = LabelFilter::Or(Box::new(lhs), Box::new(rhs));
        }
        self.leave();
        Ok(lhs)
    }

    fn label_filter_and(&mut self) -> Result<LabelFilter> {
        let mut lhs = self.label_filter_primary()?;
        loop {
            let at = self.offset();
            let explicit = (self.is_ident("and") || *self.peek() == Tok::Comma)
                && self.starts_label_filter(self.pos + 1);
            if explicit {
                self.bump();
            } else if self.is_ident("or") || !self.starts_label_filter(self.pos) {
                break;
            }
            self.count_operator(at)?;
            let rhs = self.label_filter_primary()?;
            lhs = LabelFilter::And(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn label_filter_primary(&mut self) -> Result<LabelFilter> {
        if *self.peek() == Tok::LParen {
            self.bump();
            let inner = self.label_filter()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        let (label, _) = self.expect_ident("IDENTIFIER")?;
        let op_tok = self.peek().clone();
        if !is_comparison(&op_tok) {
            return Err(self.unexpected("comparison operator"));
        }
        self.bump();
        if let Some(op) = match_op(&op_tok)
            && let Tok::Str(value) = self.peek().clone()
        {
            let at = self.bump().start;
            self.check_label_regex(&label, op, &value, at)?;
            return Ok(LabelFilter::String(LabelMatcher {
                name: label,
                op,
                value,
            }));
        }
        let cmp = match op_tok {
            Tok::Eq | Tok::EqEq => CmpOp::Eq,
            Tok::NotEq => CmpOp::Ne,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            _ => return Err(self.unexpected("STRING")),
        };
        if op_tok == Tok::EqEq
            && let Tok::Str(value) = self.peek().clone()
        {
            self.bump();
            return Ok(LabelFilter::String(LabelMatcher {
                name: label,
                op: MatchOp::Equal,
                value,
            }));
        }
        if self.is_ident("ip") && matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
            let pattern = self.ip_call()?;
            return Ok(LabelFilter::Ip {
                label,
                negated: cmp == CmpOp::Ne,
                pattern,
            });
        }
        let sign = if *self.peek() == Tok::Sub && matches!(self.peek_next(), Tok::Number(_)) {
            self.bump();
            -1.0
        } else {
            1.0
        };
        Ok(match self.peek().clone() {
            Tok::Number(v) => {
                self.bump();
                LabelFilter::Number {
                    label,
                    op: cmp,
                    value: sign * v,
                }
            }
            Tok::Duration(nanos) => {
                self.bump();
                LabelFilter::Duration {
                    label,
                    op: cmp,
                    nanos,
                }
            }
            Tok::Bytes(bytes) => {
                self.bump();
                LabelFilter::Bytes {
                    label,
                    op: cmp,
                    bytes,
                }
            }
            _ => return Err(self.unexpected("NUMBER, DURATION or BYTES")),
        })
    }
}

enum Flag {
    Strict,
    KeepEmpty,
}
