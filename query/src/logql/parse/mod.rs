//! Recursive descent over the token stream. This file holds the parser's
//! state and the expression layer (binary operators, unary minus,
//! parentheses); log queries are in `log.rs`, aggregations and calls in
//! `metric.rs`, checks on regexes, patterns and addresses in `check.rs`.

mod check;
mod log;
mod metric;

use super::ast::{BinOp, BinaryExpr, Expr, MetricExpr, VectorMatching};
use super::error::ParseError;
use super::lex::{Tok, Token, lex};

/// How deeply parentheses, calls and unary operators may nest: a query
/// deeper than this is not written by hand, and the limit keeps the
/// recursive parser (and the recursive `Drop` of the tree) off the end of
/// the stack.
pub const MAX_DEPTH: usize = 128;

/// How many binary and label-filter operators one query may hold. Chains
/// build trees as deep as they are long, which every recursive walk of the
/// tree (printing, comparing, dropping) then has to descend.
pub const MAX_OPERATORS: usize = 500;

/// Parses a LogQL query.
pub fn parse(input: &str) -> std::result::Result<Expr, ParseError> {
    let tokens = lex(input)?;
    let mut parser = Parser {
        input,
        tokens,
        pos: 0,
        depth: 0,
        operators: 0,
    };
    let expr = parser.expr()?;
    if *parser.peek() != Tok::Eof {
        let found = parser.peek().describe();
        return Err(match &expr {
            Expr::Log(_) if *parser.peek() == Tok::LBracket => parser.range_outside_aggregation(),
            Expr::Log(_) => parser.err_here(format!(
                "syntax error: unexpected {found}, expecting a line filter, | or end of query"
            )),
            Expr::Metric(_) => parser.err_here(format!(
                "syntax error: unexpected {found}, expecting a binary operator or end of query"
            )),
        });
    }
    Ok(expr)
}

pub(super) struct Parser<'a> {
    input: &'a str,
    /// Always ends with `Tok::Eof`.
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    operators: usize,
}

type Result<T> = std::result::Result<T, ParseError>;

static EOF: Token = Token {
    kind: Tok::Eof,
    start: 0,
    end: 0,
};

impl Parser<'_> {
    fn token_at(&self, i: usize) -> &Token {
        self.tokens
            .get(i)
            .or_else(|| self.tokens.last())
            .unwrap_or(&EOF)
    }

    fn token(&self) -> &Token {
        self.token_at(self.pos)
    }

    fn peek(&self) -> &Tok {
        &self.token().kind
    }

    fn peek_next(&self) -> &Tok {
        &self.token_at(self.pos + 1).kind
    }

    fn offset(&self) -> usize {
        self.token().start
    }

    fn bump(&mut self) -> Token {
        let token = self.token().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn text(&self, token: &Token) -> &str {
        self.input.get(token.start..token.end).unwrap_or("")
    }

    fn err_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.input, offset, message)
    }

    fn err_here(&self, message: impl Into<String>) -> ParseError {
        self.err_at(self.offset(), message)
    }

    /// `syntax error: unexpected X, expecting Y` at the current token.
    fn unexpected(&self, expecting: &str) -> ParseError {
        self.err_here(format!(
            "syntax error: unexpected {}, expecting {expecting}",
            self.peek().describe()
        ))
    }

    fn expect(&mut self, tok: Tok) -> Result<Token> {
        if *self.peek() == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(tok.describe()))
        }
    }

    fn expect_ident(&mut self, expecting: &str) -> Result<(String, usize)> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                let at = self.bump().start;
                Ok((name, at))
            }
            _ => Err(self.unexpected(expecting)),
        }
    }

    fn expect_string(&mut self) -> Result<(String, usize)> {
        match self.peek().clone() {
            Tok::Str(s) => {
                let at = self.bump().start;
                Ok((s, at))
            }
            _ => Err(self.unexpected("STRING")),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here(format!(
                "query is nested too deeply (more than {MAX_DEPTH} levels)"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn count_operator(&mut self, at: usize) -> Result<()> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(self.err_at(
                at,
                format!("query has too many operators (more than {MAX_OPERATORS})"),
            ));
        }
        Ok(())
    }

    fn range_outside_aggregation(&self) -> ParseError {
        self.err_here(
            "a range like [5m] is only allowed inside a range aggregation, e.g. count_over_time({app=\"x\"}[5m])",
        )
    }

    /// A whole expression: log query or metric query.
    fn expr(&mut self) -> Result<Expr> {
        self.binary(0)
    }

    /// Precedence climbing; chains are built in a loop, so only the right
    /// operand of each operator recurses.
    fn binary(&mut self, min_prec: u8) -> Result<Expr> {
        self.enter()?;
        let lhs_at = self.offset();
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_binop() {
            if op.precedence() < min_prec {
                break;
            }
            let op_at = self.bump().start;
            self.count_operator(op_at)?;
            let (return_bool, matching) = self.bin_modifiers(op, op_at)?;
            let next = if op.right_assoc() {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let rhs_at = self.offset();
            let rhs = self.binary(next)?;
            let binary = self.make_binary(
                op,
                op_at,
                return_bool,
                matching,
                (lhs, lhs_at),
                (rhs, rhs_at),
            )?;
            lhs = Expr::Metric(MetricExpr::Binary(Box::new(binary)));
        }
        self.leave();
        Ok(lhs)
    }

    fn peek_binop(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::EqEq => BinOp::Eq,
            Tok::NotEq => BinOp::Ne,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Ident(w) if w == "and" => BinOp::And,
            Tok::Ident(w) if w == "or" => BinOp::Or,
            Tok::Ident(w) if w == "unless" => BinOp::Unless,
            _ => return None,
        })
    }

    fn make_binary(
        &self,
        op: BinOp,
        op_at: usize,
        return_bool: bool,
        matching: Option<VectorMatching>,
        (lhs, lhs_at): (Expr, usize),
        (rhs, rhs_at): (Expr, usize),
    ) -> Result<BinaryExpr> {
        let metric = |e: Expr, at: usize| {
            match e {
            Expr::Metric(m) => Ok(m),
            Expr::Log(_) => Err(self.err_at(
                at,
                format!(
                    "binary operation {:?} requires metric queries on both sides, found a log query",
                    op.symbol()
                ),
            )),
        }
        };
        let lhs = metric(lhs, lhs_at)?;
        let rhs = metric(rhs, rhs_at)?;
        if op.is_set() {
            for (side, e, at) in [("left", &lhs, lhs_at), ("right", &rhs, rhs_at)] {
                if let MetricExpr::Literal(v) = e {
                    return Err(self.err_at(
                        at,
                        format!(
                            "unexpected literal for {side} leg of logical/set binary operation ({}): {v}",
                            op.symbol()
                        ),
                    ));
                }
            }
        }
        if matching.is_some() && (is_scalar(&lhs) || is_scalar(&rhs)) {
            return Err(self.err_at(
                op_at,
                "vector matching only allowed between vectors, not numbers",
            ));
        }
        Ok(BinaryExpr {
            op,
            return_bool,
            matching,
            lhs,
            rhs,
        })
    }

    fn unary(&mut self) -> Result<Expr> {
        let negate = match self.peek() {
            Tok::Sub => true,
            Tok::Add => false,
            _ => return self.primary(),
        };
        let at = self.bump().start;
        self.enter()?;
        // Unary minus binds tighter than everything but `^`: `-2^2` is -4.
        let operand = self.binary(BinOp::Pow.precedence())?;
        self.leave();
        let operand = match operand {
            Expr::Metric(m) => m,
            Expr::Log(_) => {
                return Err(self.err_at(
                    at,
                    "unary operators require a metric query, found a log query",
                ));
            }
        };
        if !negate {
            return Ok(Expr::Metric(operand));
        }
        Ok(Expr::Metric(match operand {
            MetricExpr::Literal(v) => MetricExpr::Literal(-v),
            other => {
                self.count_operator(at)?;
                MetricExpr::Negate(Box::new(other))
            }
        }))
    }

    fn primary(&mut self) -> Result<Expr> {
        match self.peek().clone() {
            Tok::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.expr()?;
                self.expect(Tok::RParen)?;
                self.leave();
                if matches!(inner, Expr::Log(_)) && *self.peek() == Tok::LBracket {
                    return Err(self.range_outside_aggregation());
                }
                Ok(inner)
            }
            Tok::LBrace => {
                let query = self.log_query()?;
                if *self.peek() == Tok::LBracket {
                    return Err(self.range_outside_aggregation());
                }
                Ok(Expr::Log(query))
            }
            Tok::Number(v) => {
                self.bump();
                Ok(Expr::Metric(MetricExpr::Literal(v)))
            }
            Tok::Ident(name) => self.call(&name).map(Expr::Metric),
            _ => Err(self.unexpected("a stream selector or metric expression")),
        }
    }
}

/// A number-valued expression (no vector anywhere in it).
fn is_scalar(e: &MetricExpr) -> bool {
    match e {
        MetricExpr::Literal(_) => true,
        MetricExpr::Negate(inner) => is_scalar(inner),
        MetricExpr::Binary(b) => is_scalar(&b.lhs) && is_scalar(&b.rhs),
        _ => false,
    }
}
