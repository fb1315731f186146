//! Metric queries: range aggregations over log ranges, vector
//! aggregations, `label_replace`, `vector`, and binary-operator modifiers.
//! The rules on which range aggregations take `unwrap`, grouping or a
//! parameter follow Loki's documentation
//! (<https://grafana.com/docs/loki/latest/query/metric_queries/>).

use super::super::ast::{
    BinOp, Expr, GroupSide, Grouping, LabelReplace, LogQuery, LogRange, MetricExpr,
    RangeAggregation, RangeOp, Unwrap, VectorAggregation, VectorMatching, VectorOp,
};
use super::super::lex::Tok;
use super::{Parser, Result, check};

/// A log range as it is being assembled: the range may come right after
/// the selector or after the pipeline.
struct RangeParts {
    query: LogQuery,
    range: Option<(i64, i64)>,
    unwrap: Option<Unwrap>,
}

/// Range aggregations that read an unwrapped value (and may group).
fn takes_unwrap(op: RangeOp) -> bool {
    !matches!(
        op,
        RangeOp::CountOverTime | RangeOp::BytesRate | RangeOp::BytesOverTime
    )
}

/// Range aggregations that count lines or bytes, needing no unwrap.
fn works_without_unwrap(op: RangeOp) -> bool {
    matches!(
        op,
        RangeOp::Rate
            | RangeOp::CountOverTime
            | RangeOp::BytesRate
            | RangeOp::BytesOverTime
            | RangeOp::AbsentOverTime
    )
}

impl Parser<'_> {
    /// A call-like metric expression starting with identifier `name`.
    pub(super) fn call(&mut self, name: &str) -> Result<MetricExpr> {
        let at = self.offset();
        if let Some(op) = RangeOp::from_name(name)
            && *self.peek_next() == Tok::LParen
        {
            return self.range_aggregation(op, at);
        }
        if let Some(op) = VectorOp::from_name(name) {
            return self.vector_aggregation(op, at);
        }
        match name {
            "label_replace" if *self.peek_next() == Tok::LParen => self.label_replace(),
            "vector" if *self.peek_next() == Tok::LParen => {
                self.bump();
                self.bump();
                let sign = match self.peek() {
                    Tok::Sub => -1.0,
                    _ => 1.0,
                };
                if matches!(self.peek(), Tok::Sub | Tok::Add) {
                    self.bump();
                }
                let v = match self.peek() {
                    Tok::Number(v) => sign * *v,
                    _ => return Err(self.unexpected("NUMBER")),
                };
                self.bump();
                self.expect(Tok::RParen)?;
                Ok(MetricExpr::Vector(v))
            }
            _ if *self.peek_next() == Tok::LParen => {
                Err(self.err_here(format!("unknown function {name:?}")))
            }
            _ => Err(self.unexpected("a stream selector or metric expression")),
        }
    }

    fn range_aggregation(&mut self, op: RangeOp, at: usize) -> Result<MetricExpr> {
        let name = op.name();
        self.bump();
        self.expect(Tok::LParen)?;
        self.enter()?;
        let param = match self.peek().clone() {
            Tok::Number(v) => {
                if op != RangeOp::QuantileOverTime {
                    return Err(
                        self.err_here(format!("parameter not supported for operation {name}"))
                    );
                }
                self.bump();
                self.expect(Tok::Comma)?;
                Some(v)
            }
            _ => None,
        };
        if op == RangeOp::QuantileOverTime && param.is_none() {
            return Err(self.err_here(format!(
                "parameter required for operation {name}, e.g. {name}(0.99, ...)"
            )));
        }
        let parts = self.range_parts()?;
        let Some((range_ns, offset_ns)) = parts.range else {
            return Err(self.err_here(format!(
                "range aggregation {name} requires a range, e.g. {name}({{app=\"x\"}}[5m])"
            )));
        };
        self.expect(Tok::RParen)?;
        self.leave();
        let grouping = self.grouping()?;
        if grouping.is_some() && !takes_unwrap(op) {
            return Err(self.err_at(at, format!("grouping not allowed for {name} aggregation")));
        }
        if parts.unwrap.is_some() && !takes_unwrap(op) {
            return Err(self.err_at(at, format!("invalid aggregation {name} with unwrap")));
        }
        if parts.unwrap.is_none() && !works_without_unwrap(op) {
            return Err(self.err_at(at, format!("invalid aggregation {name} without unwrap")));
        }
        Ok(MetricExpr::RangeAggregation(Box::new(RangeAggregation {
            op,
            param,
            range: LogRange {
                query: parts.query,
                range_ns,
                offset_ns,
                unwrap: parts.unwrap,
            },
            grouping,
        })))
    }

    /// The argument of a range aggregation: `{...}[5m] | ...`,
    /// `{...} | ... [5m]`, or either in parentheses, with `offset` after
    /// the range.
    fn range_parts(&mut self) -> Result<RangeParts> {
        if *self.peek() == Tok::LParen {
            self.bump();
            self.enter()?;
            let mut parts = self.range_parts()?;
            self.expect(Tok::RParen)?;
            self.leave();
            if parts.range.is_none() && *self.peek() == Tok::LBracket {
                parts.range = Some(self.range()?);
            }
            return Ok(parts);
        }
        if *self.peek() != Tok::LBrace {
            return Err(self.unexpected("a stream selector"));
        }
        let matchers = self.selector()?;
        let mut range = None;
        if *self.peek() == Tok::LBracket {
            range = Some(self.range()?);
        }
        let pipeline = self.pipeline(true)?;
        if range.is_none() && *self.peek() == Tok::LBracket {
            range = Some(self.range()?);
        }
        Ok(RangeParts {
            query: LogQuery {
                matchers,
                pipeline: pipeline.stages,
            },
            range,
            unwrap: pipeline.unwrap,
        })
    }

    /// `[duration]` and an optional `offset duration`, in nanoseconds.
    fn range(&mut self) -> Result<(i64, i64)> {
        self.expect(Tok::LBracket)?;
        let range = self.duration()?;
        self.expect(Tok::RBracket)?;
        let offset = if self.is_ident("offset") {
            self.bump();
            self.duration()?
        } else {
            0
        };
        Ok((range, offset))
    }

    fn duration(&mut self) -> Result<i64> {
        match self.peek() {
            Tok::Duration(ns) => {
                let ns = *ns;
                self.bump();
                Ok(ns)
            }
            Tok::Number(_) | Tok::Bytes(_) => {
                let text = self.text(self.token());
                Err(self.err_here(format!(
                    "invalid duration {text:?}: expecting a number with a unit, e.g. 5m"
                )))
            }
            _ => Err(self.unexpected("DURATION")),
        }
    }

    /// `by (...)` or `without (...)`, if present.
    fn grouping(&mut self) -> Result<Option<Grouping>> {
        let without = match self.peek() {
            Tok::Ident(w) if w == "by" => false,
            Tok::Ident(w) if w == "without" => true,
            _ => return Ok(None),
        };
        self.bump();
        let labels = self.label_list()?;
        Ok(Some(Grouping { without, labels }))
    }

    /// `(a, b, ...)`; may be empty and may end with a comma.
    fn label_list(&mut self) -> Result<Vec<String>> {
        self.expect(Tok::LParen)?;
        let mut labels = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::RParen => break,
                Tok::Ident(name) => {
                    self.bump();
                    labels.push(name);
                }
                _ => return Err(self.unexpected("IDENTIFIER or )")),
            }
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => break,
                _ => return Err(self.unexpected(", or )")),
            }
        }
        self.expect(Tok::RParen)?;
        Ok(labels)
    }

    fn vector_aggregation(&mut self, op: VectorOp, at: usize) -> Result<MetricExpr> {
        let name = op.name();
        self.bump();
        let before = self.grouping()?;
        self.expect(Tok::LParen)?;
        self.enter()?;
        let param = if let Tok::Number(_) = self.peek() {
            if *self.peek_next() == Tok::Comma {
                let token = self.bump();
                let text = self.text(&token).to_owned();
                if !op.takes_param() {
                    return Err(self.err_at(
                        token.start,
                        format!("unsupported parameter for operation {name}({text},"),
                    ));
                }
                self.bump();
                match text.parse::<i64>() {
                    Ok(k) if k > 0 => Some(k),
                    _ => {
                        return Err(self.err_at(
                            token.start,
                            format!("invalid parameter {name}({text},: must be a positive integer"),
                        ));
                    }
                }
            } else {
                None
            }
        } else {
            None
        };
        if op.takes_param() && param.is_none() {
            return Err(self.err_here(format!(
                "parameter required for operation {name}, e.g. {name}(5, ...)"
            )));
        }
        let inner_at = self.offset();
        let expr = match self.expr()? {
            Expr::Metric(m) => m,
            Expr::Log(_) => {
                return Err(self.err_at(
                    inner_at,
                    format!(
                        "vector aggregation {name} requires a metric query, found a log query; wrap it in a range aggregation such as count_over_time({{...}}[5m])"
                    ),
                ));
            }
        };
        self.expect(Tok::RParen)?;
        self.leave();
        let after_at = self.offset();
        let after = self.grouping()?;
        if before.is_some() && after.is_some() {
            return Err(self.err_at(
                after_at,
                "grouping may be given before or after the aggregation, not both",
            ));
        }
        let grouping = before.or(after);
        if op == VectorOp::ApproxTopk && grouping.is_some() {
            return Err(self.err_at(at, "grouping not allowed for approx_topk aggregation"));
        }
        Ok(MetricExpr::VectorAggregation(Box::new(VectorAggregation {
            op,
            param,
            grouping,
            expr,
        })))
    }

    fn label_replace(&mut self) -> Result<MetricExpr> {
        self.bump();
        self.expect(Tok::LParen)?;
        self.enter()?;
        let inner_at = self.offset();
        let expr = match self.expr()? {
            Expr::Metric(m) => m,
            Expr::Log(_) => {
                return Err(self.err_at(
                    inner_at,
                    "label_replace requires a metric query, found a log query",
                ));
            }
        };
        let mut strings = Vec::with_capacity(4);
        for _ in 0..4 {
            self.expect(Tok::Comma)?;
            strings.push(self.expect_string()?);
        }
        self.expect(Tok::RParen)?;
        self.leave();
        let [(dst, dst_at), (replacement, _), (src, _), (regex, regex_at)]: [(String, usize); 4] =
            strings
                .try_into()
                .map_err(|_| self.err_here("label_replace takes 5 arguments"))?;
        if !check::is_label_name(&dst) {
            return Err(self.err_at(
                dst_at,
                format!("invalid destination label name in label_replace(): {dst}"),
            ));
        }
        check::anchored(&regex).map_err(|p| {
            self.err_at(
                regex_at,
                format!("invalid regular expression in label_replace(): {p}"),
            )
        })?;
        Ok(MetricExpr::LabelReplace(Box::new(LabelReplace {
            expr,
            dst,
            replacement,
            src,
            regex,
        })))
    }

    /// `bool`, `on`/`ignoring` and `group_left`/`group_right` after a
    /// binary operator.
    pub(super) fn bin_modifiers(
        &mut self,
        op: BinOp,
        op_at: usize,
    ) -> Result<(bool, Option<VectorMatching>)> {
        let mut return_bool = false;
        if self.is_ident("bool") {
            if !op.is_comparison() {
                return Err(self.err_here("bool modifier can only be used on comparison operators"));
            }
            self.bump();
            return_bool = true;
        }
        let on = match self.peek() {
            Tok::Ident(w) if w == "on" => true,
            Tok::Ident(w) if w == "ignoring" => false,
            _ => return Ok((return_bool, None)),
        };
        self.bump();
        let labels = self.label_list()?;
        let left = match self.peek() {
            Tok::Ident(w) if w == "group_left" => Some(true),
            Tok::Ident(w) if w == "group_right" => Some(false),
            _ => None,
        };
        let group = match left {
            Some(left) => {
                if op.is_set() {
                    return Err(self.err_at(
                        op_at,
                        format!("no grouping allowed for \"{}\" operation", op.symbol()),
                    ));
                }
                self.bump();
                let extra = if *self.peek() == Tok::LParen {
                    self.label_list()?
                } else {
                    Vec::new()
                };
                Some(if left {
                    GroupSide::Left(extra)
                } else {
                    GroupSide::Right(extra)
                })
            }
            None => None,
        };
        Ok((return_bool, Some(VectorMatching { on, labels, group })))
    }
}
