//! Structural operators. Each relation is answered for every span of the
//! trace in one pass over the pre-order walk [`Trace::new`] computed
//! (ancestors before descendants, so "has an ancestor in L" propagates
//! downwards and "has a descendant in L" upwards), so `A >> B` costs O(n)
//! however deep or wide the trace is, instead of comparing every pair.

use super::super::ast::Relation;
use super::super::model::Trace;

/// For every span `s`: does `s` stand in `rel` to some span of `set`?
/// (`Child`: `s` is a child of a set span; `Parent`: `s` is the parent of
/// one; `Descendant`/`Ancestor` likewise; `Sibling`: same parent, not
/// itself.)
fn qualifies(trace: &Trace, rel: Relation, set: &[bool]) -> Vec<bool> {
    let n = set.len();
    let mut out = vec![false; n];
    let parent = |i: usize| trace.parent(i);
    match rel {
        Relation::Child => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = parent(i).is_some_and(|p| set[p]);
            }
        }
        Relation::Parent => {
            for i in (0..n).filter(|&i| set[i]) {
                if let Some(p) = parent(i) {
                    out[p] = true;
                }
            }
        }
        Relation::Descendant => {
            for &i in trace.preorder() {
                if let Some(p) = parent(i) {
                    out[i] = set[p] || out[p];
                }
            }
        }
        Relation::Ancestor => {
            for &i in trace.preorder().iter().rev() {
                if let Some(p) = parent(i)
                    && (set[i] || out[i])
                {
                    out[p] = true;
                }
            }
        }
        Relation::Sibling => {
            let mut per_parent = vec![0usize; n];
            for i in (0..n).filter(|&i| set[i]) {
                if let Some(p) = parent(i) {
                    per_parent[p] += 1;
                }
            }
            for (i, o) in out.iter_mut().enumerate() {
                if let Some(p) = parent(i) {
                    *o = per_parent[p] > usize::from(set[i]);
                }
            }
        }
    }
    out
}

fn inverse(rel: Relation) -> Relation {
    match rel {
        Relation::Child => Relation::Parent,
        Relation::Parent => Relation::Child,
        Relation::Descendant => Relation::Ancestor,
        Relation::Ancestor => Relation::Descendant,
        Relation::Sibling => Relation::Sibling,
    }
}

fn mask(n: usize, spans: &[usize]) -> Vec<bool> {
    let mut m = vec![false; n];
    for &i in spans {
        if let Some(x) = m.get_mut(i) {
            *x = true;
        }
    }
    m
}

/// The spans `lhs op rhs` returns, ascending.
///
/// Plain: right spans related to some left span. Negated: right spans
/// related to none. Union: right spans related to some left span plus the
/// left spans related (inversely) to some right span.
pub(crate) fn relate(
    trace: &Trace,
    rel: Relation,
    negated: bool,
    union: bool,
    lhs: &[usize],
    rhs: &[usize],
) -> Vec<usize> {
    let n = trace.spans().len();
    let in_l = mask(n, lhs);
    let r_ok = qualifies(trace, rel, &in_l);
    let mut keep = vec![false; n];
    for &b in rhs.iter().filter(|&&b| b < n) {
        keep[b] = r_ok[b] != negated;
    }
    if union {
        let in_r = mask(n, rhs);
        let l_ok = qualifies(trace, inverse(rel), &in_r);
        for &a in lhs.iter().filter(|&&a| a < n) {
            keep[a] |= l_ok[a];
        }
    }
    (0..n).filter(|&i| keep[i]).collect()
}
