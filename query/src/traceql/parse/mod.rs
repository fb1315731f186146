//! The TraceQL parser: recursive descent for the query structure and
//! precedence climbing for the two operator families (field operators
//! inside `{}` and spanset operators between them). Type rules from
//! `validate.rs` run as each node is built so validation errors point at
//! the operator that caused them.
//!
//! Precedence, loosest first:
//! * query level: `|` (pipelines), then arithmetic between parenthesised
//!   metrics queries;
//! * spansets: `||` < `&&` < structural (`> >> < << ~` and their `!`/`&`
//!   forms), all left-associative, so `{a} && {b} > {c}` is
//!   `{a} && ({b} > {c})`;
//! * fields: `||` < `&&` < comparisons < `+ -` < `* / %` < `^` (right) <
//!   unary `! -`.

mod expr;
mod metrics;

use super::ast::*;
use super::error::ParseError;
use super::lex::{Tok, Token, tokenize};
use super::validate::{self, Ty};

/// Deepest nesting of parentheses, braces and unary operators accepted,
/// so hostile input cannot exhaust the stack of the parse or of the
/// evaluation that walks the tree afterwards; real queries nest a handful
/// of levels.
pub const MAX_DEPTH: usize = 24;

const METRICS_FUNCS: &[&str] = &[
    "rate",
    "count_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
];

/// Parse and validate a TraceQL query. Never panics, and within
/// [`MAX_DEPTH`] fits a 2 MiB thread stack (tokio's workers) even in an
/// unoptimised build; `tests/parser.rs` checks that at the limit.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let tokens = tokenize(input)?;
    let mut p = Parser {
        input,
        tokens,
        pos: 0,
        depth: 0,
        scalar: false,
        in_agg: false,
    };
    p.query()
}

enum Body {
    Spans(SpansetExpr),
    Metrics(MetricsExpr),
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Parsing a pipeline condition (aggregates allowed, bare fields not).
    scalar: bool,
    /// Inside an aggregate's argument.
    in_agg: bool,
}

impl Parser<'_> {
    fn tok(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.kind)
    }

    fn tok_at(&self, n: usize) -> &Tok {
        self.tokens.get(self.pos + n).map_or(&Tok::Eof, |t| &t.kind)
    }

    fn start(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(0, |t| t.start)
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    fn syntax(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::syntax(self.input, pos, msg)
    }

    fn invalid(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::validation(self.input, pos, msg)
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        self.syntax(
            self.start(),
            format!("expected {expected}, found {}", self.tok().describe()),
        )
    }

    fn expect(&mut self, t: Tok, expected: &str) -> Result<(), ParseError> {
        if *self.tok() == t {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.tok(), Tok::Ident(w) if w == word)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax(self.start(), "query nests too deeply"));
        }
        Ok(())
    }

    fn query(&mut self) -> Result<Query, ParseError> {
        let body = match self.body()? {
            Body::Spans(s) => QueryBody::Spans(s),
            Body::Metrics(m) => QueryBody::Metrics(m),
        };
        let mut hints = Vec::new();
        if self.is_ident("with") {
            self.advance();
            hints = self.hints()?;
        }
        if *self.tok() != Tok::Eof {
            return Err(self.unexpected(
                "end of query (or `|`, `&&`, `||`, a structural operator, `with(...)`)",
            ));
        }
        Ok(Query { body, hints })
    }

    fn hints(&mut self) -> Result<Vec<Hint>, ParseError> {
        self.expect(Tok::LParen, "`(` after `with`")?;
        let mut hints = Vec::new();
        loop {
            let Tok::Ident(key) = self.tok().clone() else {
                return Err(self.unexpected("a hint name such as `most_recent`"));
            };
            self.advance();
            self.expect(Tok::Eq, "`=` after the hint name")?;
            let value = match self.tok().clone() {
                Tok::Ident(w) if w == "true" || w == "false" => {
                    self.advance();
                    Literal::Bool(w == "true")
                }
                Tok::Str(s) => {
                    self.advance();
                    Literal::Str(s)
                }
                _ => self.number_literal("a hint value")?,
            };
            hints.push(Hint { key, value });
            if *self.tok() == Tok::Comma {
                self.advance();
            } else {
                break;
            }
        }
        self.expect(Tok::RParen, "`,` or `)` in `with(...)`")?;
        Ok(hints)
    }

    /// An int, float or duration literal with an optional leading `-`.
    fn number_literal(&mut self, expected: &str) -> Result<Literal, ParseError> {
        let neg = *self.tok() == Tok::Minus;
        if neg {
            self.advance();
        }
        let lit = match self.tok() {
            Tok::Int(i) => Literal::Int(*i),
            Tok::Float(f) => Literal::Float(*f),
            Tok::Duration(d) => Literal::Duration(*d),
            _ => return Err(self.unexpected(expected)),
        };
        self.advance();
        Ok(if neg { negate(lit) } else { lit })
    }

    fn body(&mut self) -> Result<Body, ParseError> {
        match self.pipeline()? {
            Body::Metrics(m) => Ok(Body::Metrics(self.metrics_arith(m, 0)?)),
            spans => Ok(spans),
        }
    }

    fn pipeline(&mut self) -> Result<Body, ParseError> {
        let mut source = match self.spanset_expr(0)? {
            Body::Spans(s) => s,
            metrics => return Ok(metrics),
        };
        let mut stages = Vec::new();
        while *self.tok() == Tok::Pipe {
            if matches!(self.tok_at(1), Tok::Ident(w) if METRICS_FUNCS.contains(&w.as_str())) {
                if !stages.is_empty() {
                    source = SpansetExpr::Pipeline {
                        source: Box::new(source),
                        stages,
                    };
                }
                self.advance();
                let m = self.metrics_pipeline(source)?;
                return Ok(Body::Metrics(MetricsExpr::Pipeline(Box::new(m))));
            }
            self.advance();
            stages.push(self.stage()?);
        }
        if !stages.is_empty() {
            source = SpansetExpr::Pipeline {
                source: Box::new(source),
                stages,
            };
        }
        Ok(Body::Spans(source))
    }

    fn spanset_op(&self) -> Option<SpansetOp> {
        use Relation::*;
        let s = |rel, negated, union| SpansetOp::Structural {
            rel,
            negated,
            union,
        };
        Some(match self.tok() {
            Tok::And => SpansetOp::And,
            Tok::Or => SpansetOp::Or,
            Tok::Gt => s(Child, false, false),
            Tok::Lt => s(Parent, false, false),
            Tok::Desc => s(Descendant, false, false),
            Tok::Anc => s(Ancestor, false, false),
            Tok::Tilde => s(Sibling, false, false),
            Tok::NotChild => s(Child, true, false),
            Tok::NotParent => s(Parent, true, false),
            Tok::NotDesc => s(Descendant, true, false),
            Tok::NotAnc => s(Ancestor, true, false),
            Tok::NotRe => s(Sibling, true, false),
            Tok::UnionChild => s(Child, false, true),
            Tok::UnionParent => s(Parent, false, true),
            Tok::UnionDesc => s(Descendant, false, true),
            Tok::UnionAnc => s(Ancestor, false, true),
            Tok::UnionSibling => s(Sibling, false, true),
            _ => return None,
        })
    }

    fn spanset_expr(&mut self, min: u8) -> Result<Body, ParseError> {
        let mut lhs = match self.spanset_primary()? {
            Body::Spans(s) => s,
            metrics => return Ok(metrics),
        };
        while let Some(op) = self.spanset_op() {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            self.advance();
            let at = self.start();
            let rhs = match self.spanset_expr(prec + 1)? {
                Body::Spans(s) => s,
                Body::Metrics(_) => {
                    return Err(self.syntax(at, "expected a spanset, found a metrics query"));
                }
            };
            lhs = SpansetExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(Body::Spans(lhs))
    }

    fn spanset_primary(&mut self) -> Result<Body, ParseError> {
        match self.tok() {
            Tok::LBrace => Ok(Body::Spans(SpansetExpr::Filter(self.filter()?))),
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.body()?;
                self.expect(Tok::RParen, "`)`")?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => Err(self.unexpected("a spanset filter `{ ... }` or `(`")),
        }
    }

    /// `{}` or `{ cond }`, at `{`.
    fn filter(&mut self) -> Result<Option<Expr>, ParseError> {
        self.enter()?;
        self.advance();
        if *self.tok() == Tok::RBrace {
            self.advance();
            self.depth -= 1;
            return Ok(None);
        }
        let at = self.start();
        let (e, ty) = self.field_expr(false)?;
        validate::check_condition(ty, "a span filter").map_err(|m| self.invalid(at, m))?;
        self.expect(Tok::RBrace, "an operator or `}`")?;
        self.depth -= 1;
        Ok(Some(e))
    }

    /// A field (`scalar = false`) or pipeline-condition expression.
    fn field_expr(&mut self, scalar: bool) -> Result<(Expr, Ty), ParseError> {
        let saved = (self.scalar, self.in_agg);
        self.scalar = scalar;
        self.in_agg = false;
        let r = self.expr(0);
        (self.scalar, self.in_agg) = saved;
        r
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        let at = self.start();
        let paren_next = *self.tok_at(1) == Tok::LParen;
        match self.tok().clone() {
            Tok::LBrace => Ok(Stage::Filter(self.filter()?)),
            Tok::Ident(w) if w == "by" && paren_next => {
                self.advance();
                Ok(Stage::By(self.field_list(false)?))
            }
            Tok::Ident(w) if w == "select" && paren_next => {
                self.advance();
                Ok(Stage::Select(self.field_list(true)?))
            }
            Tok::Ident(w) if w == "coalesce" && paren_next => {
                self.advance();
                self.advance();
                self.expect(Tok::RParen, "`)`: coalesce() takes no arguments")?;
                Ok(Stage::Coalesce)
            }
            Tok::Ident(w) if w == "topk" || w == "bottomk" => Err(self.syntax(
                at,
                format!("{w}() must follow a metrics function such as rate()"),
            )),
            _ => {
                let (e, ty) = self.field_expr(true)?;
                validate::check_condition(ty, "a pipeline condition such as `count() > 2`")
                    .map_err(|m| self.invalid(at, m))?;
                Ok(Stage::Scalar(e))
            }
        }
    }

    /// `( field, ... )`.
    fn field_list(&mut self, plain: bool) -> Result<Vec<Expr>, ParseError> {
        self.expect(Tok::LParen, "`(`")?;
        let mut out = Vec::new();
        loop {
            let at = self.start();
            let (e, _) = self.field_expr(false)?;
            if plain && !matches!(e, Expr::Attr(_) | Expr::Intrinsic(_)) {
                return Err(self.invalid(at, "select() takes attributes and intrinsics"));
            }
            out.push(e);
            if *self.tok() == Tok::Comma {
                self.advance();
            } else {
                break;
            }
        }
        self.expect(Tok::RParen, "`,` or `)`")?;
        Ok(out)
    }
}

fn negate(l: Literal) -> Literal {
    match l {
        Literal::Int(i) => Literal::Int(-i),
        Literal::Float(f) => Literal::Float(-f),
        Literal::Duration(d) => Literal::Duration(-d),
        other => other,
    }
}
