//! Label sets of query results: sorted by name, strings shared with the
//! series index so copying a series' labels copies pointers.

use std::fmt;
use std::sync::Arc;

use hearth_storage::postings::Sym;

/// The metric name label.
pub const NAME: &str = "__name__";

/// Labels sorted by name, no empty values.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet(Vec<(Sym, Sym)>);

impl LabelSet {
    /// From pairs sorted by name (as the index keeps them).
    pub fn from_sorted(pairs: Vec<(Sym, Sym)>) -> Self {
        Self(pairs)
    }

    /// From arbitrary pairs; empty values are dropped, later duplicates win.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut out = Self::default();
        for (n, v) in pairs {
            out.set(n.as_ref(), v.as_ref());
        }
        out
    }

    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(Sym, Sym)] {
        &self.0
    }

    /// Value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        match self.0.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => &self.0[i].1,
            Err(_) => "",
        }
    }

    /// Whether the label is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.binary_search_by(|(n, _)| (**n).cmp(name)).is_ok()
    }

    /// Sets (or, with an empty value, removes) a label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = Arc::from(value),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (Arc::from(name), Arc::from(value))),
        }
    }

    /// Removes a label.
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|(n, _)| (**n).cmp(name)) {
            self.0.remove(i);
        }
    }

    /// Without the metric name.
    pub fn without_name(&self) -> Self {
        let mut out = self.clone();
        out.remove(NAME);
        out
    }

    /// Only the labels named in `names`.
    pub fn keep(&self, names: &[String]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(n, _)| names.iter().any(|k| k.as_str() == &**n))
                .cloned()
                .collect(),
        )
    }

    /// All labels except those named in `names`.
    pub fn drop(&self, names: &[String]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(n, _)| !names.iter().any(|k| k.as_str() == &**n))
                .cloned()
                .collect(),
        )
    }
}

impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.get(NAME);
        f.write_str(name)?;
        f.write_str("{")?;
        let mut first = true;
        for (n, v) in &self.0 {
            if &**n == NAME {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_order_and_empty_removes() {
        let mut l = LabelSet::from_pairs([("b", "2"), ("a", "1")]);
        assert_eq!(l.pairs()[0].0.as_ref(), "a");
        l.set("c", "3");
        l.set("a", "");
        assert_eq!(l.to_string(), "{b=\"2\", c=\"3\"}");
        assert_eq!(l.get("zz"), "");
    }
}
