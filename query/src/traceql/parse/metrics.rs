//! Metrics syntax: the function stage after `|`, its `by()`, threshold
//! and `topk`/`bottomk`, and arithmetic between parenthesised metrics
//! queries (which binds looser than everything inside the parentheses).

use super::super::ast::*;
use super::super::error::ParseError;
use super::super::lex::Tok;
use super::super::validate;
use super::{Body, Parser};

impl Parser<'_> {
    pub(super) fn arith_op(&self) -> Option<BinOp> {
        Some(match self.tok() {
            Tok::Plus => BinOp::Add,
            Tok::Minus => BinOp::Sub,
            Tok::Star => BinOp::Mul,
            Tok::Slash => BinOp::Div,
            Tok::Percent => BinOp::Mod,
            Tok::Caret => BinOp::Pow,
            _ => return None,
        })
    }

    pub(super) fn metrics_arith(
        &mut self,
        mut lhs: MetricsExpr,
        min: u8,
    ) -> Result<MetricsExpr, ParseError> {
        while let Some(op) = self.arith_op() {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            self.advance();
            let mut rhs = self.metrics_operand()?;
            while let Some(next) = self.arith_op() {
                let np = next.precedence();
                if np > prec || (np == prec && next.right_assoc()) {
                    rhs = self.metrics_arith(rhs, np)?;
                } else {
                    break;
                }
            }
            lhs = MetricsExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    pub(super) fn metrics_operand(&mut self) -> Result<MetricsExpr, ParseError> {
        let at = self.start();
        if *self.tok() != Tok::LParen {
            return Err(self.syntax(
                at,
                format!(
                    "expected a parenthesised metrics query, found {}; arithmetic joins two metrics queries, e.g. `({{a}} | rate()) / ({{}} | rate())`",
                    self.tok().describe()
                ),
            ));
        }
        self.enter()?;
        self.advance();
        let inner = self.body()?;
        self.expect(Tok::RParen, "`)`")?;
        self.depth -= 1;
        match inner {
            Body::Metrics(m) => Ok(m),
            Body::Spans(_) => {
                Err(self.syntax(at, "expected a metrics query, found a spanset query"))
            }
        }
    }

    /// After `|`, at the function name.
    pub(super) fn metrics_pipeline(
        &mut self,
        source: SpansetExpr,
    ) -> Result<MetricsPipeline, ParseError> {
        let Tok::Ident(name) = self.tok().clone() else {
            return Err(self.unexpected("a metrics function"));
        };
        self.advance();
        self.expect(Tok::LParen, "`(`")?;
        let func = match name.as_str() {
            "rate" => MetricsFunc::Rate,
            "count_over_time" => MetricsFunc::CountOverTime,
            "compare" => self.compare()?,
            _ => {
                let at = self.start();
                let (field, ty) = self.field_expr(false)?;
                validate::check_numeric_field(ty, &name).map_err(|m| self.invalid(at, m))?;
                match name.as_str() {
                    "sum_over_time" => MetricsFunc::SumOverTime(field),
                    "min_over_time" => MetricsFunc::MinOverTime(field),
                    "max_over_time" => MetricsFunc::MaxOverTime(field),
                    "avg_over_time" => MetricsFunc::AvgOverTime(field),
                    "histogram_over_time" => MetricsFunc::HistogramOverTime(field),
                    _ => {
                        let mut qs = Vec::new();
                        while *self.tok() == Tok::Comma {
                            self.advance();
                            let at = self.start();
                            let q = match self.number_literal("a quantile such as 0.9")? {
                                Literal::Int(i) => i as f64,
                                Literal::Float(f) => f,
                                _ => return Err(self.syntax(at, "a quantile is a number")),
                            };
                            validate::check_quantile(q).map_err(|m| self.invalid(at, m))?;
                            qs.push(q);
                        }
                        if qs.is_empty() {
                            return Err(self.unexpected("`,` and at least one quantile"));
                        }
                        MetricsFunc::QuantileOverTime(field, qs)
                    }
                }
            }
        };
        self.expect(Tok::RParen, "`)`")?;
        let mut by = Vec::new();
        if self.is_ident("by") {
            if matches!(func, MetricsFunc::Compare { .. }) {
                return Err(self.invalid(self.start(), validate::COMPARE_BY));
            }
            self.advance();
            by = self.field_list(false)?;
        }
        let filter = self.metrics_filter()?;
        let mut second = None;
        if *self.tok() == Tok::Pipe {
            self.advance();
            let at = self.start();
            let topk = match self.tok() {
                Tok::Ident(w) if w == "topk" => true,
                Tok::Ident(w) if w == "bottomk" => false,
                _ => return Err(self.unexpected("`topk` or `bottomk` after a metrics function")),
            };
            self.advance();
            self.expect(Tok::LParen, "`(`")?;
            let n = match self.tok() {
                Tok::Int(n) => *n,
                _ => return Err(self.unexpected("an integer")),
            };
            self.advance();
            self.expect(Tok::RParen, "`)`")?;
            let what = if topk { "topk() n" } else { "bottomk() n" };
            validate::check_positive(n, what).map_err(|m| self.invalid(at, m))?;
            second = Some(if topk {
                SecondStage::TopK(n)
            } else {
                SecondStage::BottomK(n)
            });
        }
        Ok(MetricsPipeline {
            source,
            func,
            by,
            filter,
            second,
        })
    }

    pub(super) fn metrics_filter(&mut self) -> Result<Option<(BinOp, Literal)>, ParseError> {
        let op = match self.tok() {
            Tok::Eq => BinOp::Eq,
            Tok::NotEq => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            _ => return Ok(None),
        };
        self.advance();
        Ok(Some((op, self.number_literal("a number to compare with")?)))
    }

    /// `compare({sel}, topN[, start, end])` after the `(`.
    pub(super) fn compare(&mut self) -> Result<MetricsFunc, ParseError> {
        if *self.tok() != Tok::LBrace {
            return Err(self.unexpected("a spanset filter `{ ... }` as compare()'s selection"));
        }
        let selection = Box::new(SpansetExpr::Filter(self.filter()?));
        let mut ints = Vec::new();
        while *self.tok() == Tok::Comma {
            self.advance();
            match self.tok() {
                Tok::Int(i) => ints.push((*i, self.start())),
                _ => return Err(self.unexpected("an integer")),
            }
            self.advance();
        }
        let (top_n, start, end) = match ints.as_slice() {
            [] => (10, None, None),
            [(n, _)] => (*n, None, None),
            [(n, _), (s, _), (e, _)] => (*n, Some(*s), Some(*e)),
            _ => {
                return Err(self.syntax(
                    self.start(),
                    "compare() takes a selection, topN, and optionally start and end",
                ));
            }
        };
        if let Some((_, at)) = ints.first() {
            validate::check_positive(top_n, "compare() topN").map_err(|m| self.invalid(*at, m))?;
        }
        if let Some((_, at)) = ints.get(1) {
            validate::check_compare_window(start, end).map_err(|m| self.invalid(*at, m))?;
        }
        Ok(MetricsFunc::Compare {
            selection,
            top_n,
            start,
            end,
        })
    }
}
