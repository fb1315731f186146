//! Field and pipeline-condition expressions, by precedence climbing.
//! Each node's static type is computed as it is built, so a type error
//! is reported at the operator (or operand) that caused it.

use super::super::ast::*;
use super::super::error::ParseError;
use super::super::lex::Tok;
use super::super::validate::{self, Ty};
use super::Parser;

impl Parser<'_> {
    pub(super) fn binop(&self) -> Option<BinOp> {
        Some(match self.tok() {
            Tok::Or => BinOp::Or,
            Tok::And => BinOp::And,
            Tok::Eq => BinOp::Eq,
            Tok::NotEq => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::Re => BinOp::Re,
            Tok::NotRe => BinOp::NotRe,
            _ => return self.arith_op(),
        })
    }

    pub(super) fn expr(&mut self, min: u8) -> Result<(Expr, Ty), ParseError> {
        let (mut lhs, mut lt) = self.unary()?;
        while let Some(op) = self.binop() {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            let op_at = self.start();
            self.advance();
            let rhs_at = self.start();
            let next = if op.right_assoc() { prec } else { prec + 1 };
            let (rhs, rt) = self.expr(next)?;
            if matches!(op, BinOp::Re | BinOp::NotRe) {
                let Expr::Lit(Literal::Str(pattern)) = &rhs else {
                    return Err(
                        self.invalid(rhs_at, "a regular expression must be a string literal")
                    );
                };
                validate::anchored_regex(pattern).map_err(|m| self.invalid(rhs_at, m))?;
            }
            lt = validate::check_binary(op, lt, rt).map_err(|m| self.invalid(op_at, m))?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok((lhs, lt))
    }

    pub(super) fn unary(&mut self) -> Result<(Expr, Ty), ParseError> {
        let at = self.start();
        let op = match self.tok() {
            Tok::Not => UnaryOp::Not,
            Tok::Minus => UnaryOp::Neg,
            _ => return self.primary(),
        };
        self.enter()?;
        self.advance();
        let folded = match (op, self.tok()) {
            (UnaryOp::Neg, Tok::Int(i)) => Some(Literal::Int(-*i)),
            (UnaryOp::Neg, Tok::Float(f)) => Some(Literal::Float(-*f)),
            (UnaryOp::Neg, Tok::Duration(d)) => Some(Literal::Duration(-*d)),
            _ => None,
        };
        let out = if let Some(lit) = folded {
            self.advance();
            let ty = validate::literal_ty(&lit);
            (Expr::Lit(lit), ty)
        } else {
            let (e, t) = self.unary()?;
            let ty = validate::check_unary(op, t).map_err(|m| self.invalid(at, m))?;
            (
                Expr::Unary {
                    op,
                    expr: Box::new(e),
                },
                ty,
            )
        };
        self.depth -= 1;
        Ok(out)
    }

    pub(super) fn primary(&mut self) -> Result<(Expr, Ty), ParseError> {
        let at = self.start();
        let lit = |l: Literal| {
            let t = validate::literal_ty(&l);
            (Expr::Lit(l), t)
        };
        let out = match self.tok().clone() {
            Tok::LParen => {
                self.enter()?;
                self.advance();
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "an operator or `)`")?;
                self.depth -= 1;
                return Ok(inner);
            }
            Tok::Str(s) => lit(Literal::Str(s)),
            Tok::Int(i) => lit(Literal::Int(i)),
            Tok::Float(f) => lit(Literal::Float(f)),
            Tok::Duration(d) => lit(Literal::Duration(d)),
            Tok::Attr {
                parent,
                scope,
                name,
            } => {
                self.field_allowed(at)?;
                (
                    Expr::Attr(Attribute {
                        parent,
                        scope,
                        name,
                    }),
                    Ty::Any,
                )
            }
            Tok::ScopedIntrinsic(scope, name) => {
                let text = format!("{scope}:{name}");
                let Some(field) = IntrinsicField::from_scoped(&text) else {
                    let known: Vec<&str> = INTRINSICS
                        .iter()
                        .map(|(_, _, s)| *s)
                        .filter(|s| s.starts_with(&format!("{scope}:")))
                        .collect();
                    return Err(self.syntax(
                        at,
                        format!(
                            "unknown intrinsic `{text}`; expected one of {}",
                            known.join(", ")
                        ),
                    ));
                };
                self.field_allowed(at)?;
                (
                    Expr::Intrinsic(Intrinsic {
                        field,
                        scoped: true,
                    }),
                    validate::intrinsic_ty(field),
                )
            }
            Tok::Ident(w) => return self.word(at, &w),
            Tok::Eq => {
                return Err(self.syntax(
                    at,
                    "expected a value, found `=` (TraceQL compares with a single `=`)",
                ));
            }
            _ => return Err(self.unexpected("a field or value")),
        };
        self.advance();
        Ok(out)
    }

    pub(super) fn field_allowed(&self, at: usize) -> Result<(), ParseError> {
        if self.scalar && !self.in_agg {
            return Err(self.invalid(
                at,
                "a field in a pipeline condition must be inside an aggregate such as avg(duration)",
            ));
        }
        Ok(())
    }

    /// A bare word in expression position.
    pub(super) fn word(&mut self, at: usize, w: &str) -> Result<(Expr, Ty), ParseError> {
        let l = match w {
            "true" => Some(Literal::Bool(true)),
            "false" => Some(Literal::Bool(false)),
            "nil" => Some(Literal::Nil),
            "ok" => Some(Literal::Status(StatusCode::Ok)),
            "error" => Some(Literal::Status(StatusCode::Error)),
            "unset" => Some(Literal::Status(StatusCode::Unset)),
            "server" => Some(Literal::Kind(SpanKind::Server)),
            "client" => Some(Literal::Kind(SpanKind::Client)),
            "producer" => Some(Literal::Kind(SpanKind::Producer)),
            "consumer" => Some(Literal::Kind(SpanKind::Consumer)),
            "internal" => Some(Literal::Kind(SpanKind::Internal)),
            "unspecified" => Some(Literal::Kind(SpanKind::Unspecified)),
            _ => None,
        };
        if let Some(l) = l {
            self.advance();
            let t = validate::literal_ty(&l);
            return Ok((Expr::Lit(l), t));
        }
        if let Some(field) = IntrinsicField::from_bare(w) {
            self.field_allowed(at)?;
            self.advance();
            return Ok((
                Expr::Intrinsic(Intrinsic {
                    field,
                    scoped: false,
                }),
                validate::intrinsic_ty(field),
            ));
        }
        let agg = match w {
            "count" => Some(AggFunc::Count),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "sum" => Some(AggFunc::Sum),
            _ => None,
        };
        if let Some(func) = agg
            && *self.tok_at(1) == Tok::LParen
        {
            if !self.scalar || self.in_agg {
                return Err(self.invalid(
                    at,
                    format!("{w}() is only allowed in a pipeline stage such as `| {w}(...) > 1`"),
                ));
            }
            return self.aggregate(func);
        }
        Err(self.syntax(
            at,
            format!(
                "unknown identifier `{w}`: attributes need a scope or a leading dot (`span.{w}`, `resource.{w}`, `.{w}`)"
            ),
        ))
    }

    /// `count()` / `avg(f)` ..., at the name.
    pub(super) fn aggregate(&mut self, func: AggFunc) -> Result<(Expr, Ty), ParseError> {
        self.advance();
        self.advance();
        if func == AggFunc::Count {
            self.expect(Tok::RParen, "`)`: count() takes no argument")?;
            return Ok((Expr::Agg { func, arg: None }, Ty::Int));
        }
        let at = self.start();
        self.in_agg = true;
        let r = self.expr(0);
        self.in_agg = false;
        let (arg, t) = r?;
        validate::check_numeric_field(t, func.name()).map_err(|m| self.invalid(at, m))?;
        self.expect(Tok::RParen, "`)`")?;
        let ty = if t == Ty::Any { Ty::Number } else { t };
        Ok((
            Expr::Agg {
                func,
                arg: Some(Box::new(arg)),
            },
            ty,
        ))
    }
}
