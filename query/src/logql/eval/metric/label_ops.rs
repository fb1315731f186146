//! Label-set work shared by the operators: grouping projections (cached per
//! input series, so a series is projected once per query rather than once
//! per step), `label_replace`, and printing a label set for messages.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use regex::Regex;

use super::{MetricError, Sample, Steps};
use crate::logql::ast::{Grouping, LabelReplace};
use crate::logql::eval::labels::{LabelPairs, get};

/// The label the pipeline sets when a stage fails.
pub(super) const ERROR_LABEL: &str = "__error__";

/// The pipeline error a series carries, if any. An empty value means no
/// error, as `| __error__=""` reads it.
pub(super) fn pipeline_error(labels: &LabelPairs) -> Option<MetricError> {
    match get(labels, ERROR_LABEL) {
        Some(e) if !e.is_empty() => Some(MetricError::Pipeline {
            error: e.to_string(),
            series: format_labels(labels),
        }),
        _ => None,
    }
}

/// `{a="b", c="d"}`, values quoted the way Go's `%q` does for common text.
pub(super) fn format_labels(labels: &LabelPairs) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// The labels a `by`/`without` grouping keeps (`None`: no labels at all,
/// as an aggregation without grouping sums everything into `{}`).
pub(super) fn project(labels: &LabelPairs, grouping: Option<&Grouping>) -> LabelPairs {
    let Some(g) = grouping else {
        return LabelPairs::new();
    };
    labels
        .iter()
        .filter(|(name, _)| g.labels.iter().any(|l| l == name) != g.without)
        .cloned()
        .collect()
}

/// Maps input series to a derived label set, computing each mapping once
/// and interning the results so equal outputs share one `Arc` (whose
/// address then serves as a cheap group key).
pub(super) struct LabelCache<F> {
    derive: F,
    /// Keyed by the input `Arc`'s address; the input is kept alive so the
    /// address cannot be reused by another series.
    by_input: HashMap<usize, (Arc<LabelPairs>, Arc<LabelPairs>)>,
    interned: HashSet<Arc<LabelPairs>>,
}

impl<F: FnMut(&LabelPairs) -> LabelPairs> LabelCache<F> {
    pub(super) fn new(derive: F) -> Self {
        LabelCache {
            derive,
            by_input: HashMap::new(),
            interned: HashSet::new(),
        }
    }

    pub(super) fn get(&mut self, input: &Arc<LabelPairs>) -> Arc<LabelPairs> {
        let key = Arc::as_ptr(input) as usize;
        if let Some((_, out)) = self.by_input.get(&key) {
            return Arc::clone(out);
        }
        let derived = (self.derive)(input);
        let out = match self.interned.get(&derived) {
            Some(existing) => Arc::clone(existing),
            None => {
                let fresh = Arc::new(derived);
                self.interned.insert(Arc::clone(&fresh));
                fresh
            }
        };
        self.by_input
            .insert(key, (Arc::clone(input), Arc::clone(&out)));
        out
    }
}

/// Address of an interned label set, usable as a hash key.
pub(super) fn key(labels: &Arc<LabelPairs>) -> usize {
    Arc::as_ptr(labels) as usize
}

/// Sets `name` (keeping the pairs sorted), or removes it for an empty value.
pub(super) fn set_label(labels: &mut LabelPairs, name: &str, value: &str) {
    match labels.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) if value.is_empty() => {
            labels.remove(i);
        }
        Ok(i) => labels[i].1 = value.to_string(),
        Err(_) if value.is_empty() => {}
        Err(i) => labels.insert(i, (name.to_string(), value.to_string())),
    }
}

/// `label_replace`: where the anchored regex matches the source label (an
/// absent label reads as ""), the expanded replacement becomes `dst`; an
/// empty expansion removes `dst`.
pub(super) fn label_replace(lr: &LabelReplace, input: Steps) -> Result<Steps, MetricError> {
    let re = Regex::new(&format!("^(?s:{})$", lr.regex)).map_err(|e| {
        MetricError::Invalid(format!(
            "invalid regular expression in label_replace(): {e}"
        ))
    })?;
    let mut cache = LabelCache::new(|labels: &LabelPairs| {
        let src = get(labels, &lr.src).unwrap_or("");
        let Some(caps) = re.captures(src) else {
            return labels.clone();
        };
        let mut value = String::new();
        caps.expand(&lr.replacement, &mut value);
        let mut out = labels.clone();
        set_label(&mut out, &lr.dst, &value);
        out
    });
    let mut output = Vec::with_capacity(input.len());
    for vector in input {
        let mut seen = HashSet::with_capacity(vector.len());
        let mut step = Vec::with_capacity(vector.len());
        for s in vector {
            let labels = cache.get(&s.labels);
            if !seen.insert(key(&labels)) {
                return Err(MetricError::Invalid(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
            step.push(Sample {
                labels,
                value: s.value,
            });
        }
        output.push(step);
    }
    Ok(output)
}
