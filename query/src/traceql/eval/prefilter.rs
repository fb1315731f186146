//! A conservative summary of what a trace must contain to match, so
//! storage can skip traces (or whole blocks, via service and span-name
//! indexes) before assembling them. It only ever under-approximates: a
//! query whose shape it does not understand yields no requirements, which
//! means "read everything".

use super::super::ast::*;

/// Requirements derived from a query.
///
/// **Safe use:** a trace can produce a result (a spanset for search, or a
/// sample for metrics) only if, for *every* entry of `required`, at least
/// one of its spans satisfies that entry. Different entries may be met by
/// different spans. An empty list requires nothing. Storage may drop a
/// trace (or a block whose indexes prove no span can meet some entry)
/// without changing the query's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefilter {
    /// All must be met, each by some span.
    pub required: Vec<SpanRequirement>,
}

/// Conditions that one span must meet together. `None` means no
/// constraint on that field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanRequirement {
    /// The span's resource `service.name` is one of these strings. (When
    /// `service.name` is stored as an array, TraceQL's `=` matches if any
    /// element does; an index that cannot see array elements must not skip
    /// such spans.)
    pub service_names: Option<Vec<String>>,
    /// The span's name is one of these strings.
    pub span_names: Option<Vec<String>>,
    /// The span's duration is at least this many nanoseconds.
    pub min_duration_ns: Option<u64>,
}

impl SpanRequirement {
    fn is_empty(&self) -> bool {
        self.service_names.is_none() && self.span_names.is_none() && self.min_duration_ns.is_none()
    }
}

pub(crate) fn derive(q: &Query) -> Prefilter {
    let required = match &q.body {
        QueryBody::Spans(s) => spanset(s),
        QueryBody::Metrics(MetricsExpr::Pipeline(p)) => spanset(&p.source),
        QueryBody::Metrics(MetricsExpr::Binary { .. }) => Vec::new(),
    };
    Prefilter { required }
}

fn spanset(s: &SpansetExpr) -> Vec<SpanRequirement> {
    match s {
        SpansetExpr::Filter(Some(c)) => {
            let mut r = SpanRequirement::default();
            conjuncts(c, &mut r);
            if r.is_empty() { Vec::new() } else { vec![r] }
        }
        SpansetExpr::Filter(None) => Vec::new(),
        SpansetExpr::Pipeline { source, .. } => spanset(source),
        SpansetExpr::Binary { op, lhs, rhs } => match op {
            SpansetOp::And => [spanset(lhs), spanset(rhs)].concat(),
            SpansetOp::Or => Vec::new(),
            SpansetOp::Structural { negated: true, .. } => spanset(rhs),
            SpansetOp::Structural { .. } => [spanset(lhs), spanset(rhs)].concat(),
        },
    }
}

#[derive(PartialEq)]
enum Key {
    Service,
    Name,
}

fn key_of(e: &Expr) -> Option<Key> {
    match e {
        Expr::Attr(Attribute {
            parent: false,
            scope: AttributeScope::Resource,
            name,
        }) if name == "service.name" => Some(Key::Service),
        Expr::Intrinsic(Intrinsic {
            field: IntrinsicField::Name,
            ..
        }) => Some(Key::Name),
        _ => None,
    }
}

/// `field = "lit"` (either way round), or an `||` of those on one field.
fn equalities(e: &Expr) -> Option<(Key, Vec<String>)> {
    match e {
        Expr::Binary {
            op: BinOp::Eq,
            lhs,
            rhs,
        } => {
            let (k, v) = match (&**lhs, &**rhs) {
                (f, Expr::Lit(Literal::Str(v))) | (Expr::Lit(Literal::Str(v)), f) => {
                    (key_of(f)?, v)
                }
                _ => return None,
            };
            Some((k, vec![v.clone()]))
        }
        Expr::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } => {
            let (k1, mut v1) = equalities(lhs)?;
            let (k2, v2) = equalities(rhs)?;
            if k1 != k2 {
                return None;
            }
            v1.extend(v2);
            Some((k1, v1))
        }
        _ => None,
    }
}

fn min_duration(e: &Expr) -> Option<u64> {
    let Expr::Binary { op, lhs, rhs } = e else {
        return None;
    };
    let is_dur = |e: &Expr| {
        matches!(
            e,
            Expr::Intrinsic(Intrinsic {
                field: IntrinsicField::Duration,
                ..
            })
        )
    };
    let lit = |e: &Expr| match e {
        Expr::Lit(Literal::Duration(d) | Literal::Int(d)) => u64::try_from(*d).ok(),
        _ => None,
    };
    match op {
        BinOp::Gt | BinOp::Ge if is_dur(lhs) => lit(rhs),
        BinOp::Lt | BinOp::Le if is_dur(rhs) => lit(lhs),
        _ => None,
    }
}

fn intersect(slot: &mut Option<Vec<String>>, values: Vec<String>) {
    *slot = Some(match slot.take() {
        None => values,
        Some(old) => old.into_iter().filter(|v| values.contains(v)).collect(),
    });
}

fn conjuncts(e: &Expr, r: &mut SpanRequirement) {
    if let Expr::Binary {
        op: BinOp::And,
        lhs,
        rhs,
    } = e
    {
        conjuncts(lhs, r);
        conjuncts(rhs, r);
        return;
    }
    if let Some((k, v)) = equalities(e) {
        match k {
            Key::Service => intersect(&mut r.service_names, v),
            Key::Name => intersect(&mut r.span_names, v),
        }
    } else if let Some(d) = min_duration(e) {
        r.min_duration_ns = Some(r.min_duration_ns.map_or(d, |m| m.max(d)));
    }
}
