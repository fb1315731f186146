//! The in-memory series index: every known series with its labels and time
//! bounds, and postings (label name=value -> series) as roaring bitmaps over
//! dense in-memory refs. Rebuilt on start from part series tables and the WAL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;
use roaring::RoaringBitmap;

use crate::matcher::{MatchOp, Matcher};
use crate::model::{Labels, METRIC_NAME_LABEL, SeriesId};

/// A label string shared by every series that uses it.
pub type Sym = Arc<str>;

/// One series as the index knows it.
#[derive(Debug)]
pub struct SeriesEntry {
    /// The series id (hash of the labels).
    pub id: SeriesId,
    /// Labels, sorted by name, strings interned.
    pub labels: Vec<(Sym, Sym)>,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl SeriesEntry {
    /// Earliest sample time known (may be lower than the truth after
    /// retention drops old data).
    pub fn min_ts(&self) -> i64 {
        self.min_ts.load(Ordering::Relaxed)
    }

    /// Latest sample time known.
    pub fn max_ts(&self) -> i64 {
        self.max_ts.load(Ordering::Relaxed)
    }

    /// Widens the time bounds to include `[min, max]`.
    pub fn observe(&self, min: i64, max: i64) {
        self.min_ts.fetch_min(min, Ordering::Relaxed);
        self.max_ts.fetch_max(max, Ordering::Relaxed);
    }

    /// Value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }

    /// The metric name, or "".
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME_LABEL).unwrap_or("")
    }

    /// True when the entry's time bounds overlap `[start, end]`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.min_ts() <= end && self.max_ts() >= start
    }

    fn same_labels(&self, labels: &Labels) -> bool {
        self.labels.len() == labels.len()
            && self
                .labels
                .iter()
                .zip(labels.as_slice())
                .all(|((n, v), l)| **n == *l.name && **v == *l.value)
    }
}

/// A series id already belongs to a different label set.
#[derive(Debug, thiserror::Error)]
#[error("series id {id:016x} of {new} collides with existing series {existing}")]
pub struct CollisionError {
    /// The shared id.
    pub id: SeriesId,
    /// The label set being added.
    pub new: String,
    /// The label set that has the id.
    pub existing: String,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<SeriesId, u32>,
    entries: Vec<Option<Arc<SeriesEntry>>>,
    free: Vec<u32>,
    postings: HashMap<Sym, HashMap<Sym, RoaringBitmap>>,
    all: RoaringBitmap,
    strings: HashSet<Sym>,
}

impl Inner {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.strings.get(s) {
            return Arc::clone(sym);
        }
        let sym: Sym = Arc::from(s);
        self.strings.insert(Arc::clone(&sym));
        sym
    }
}

/// The series index. Cheap to read concurrently; writes take a short lock.
#[derive(Default)]
pub struct SeriesIndex {
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for SeriesIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesIndex")
            .field("series", &self.len())
            .finish()
    }
}

impl SeriesIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.inner.read().by_id.len()
    }

    /// True when the index holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks a series up by id.
    pub fn get(&self, id: SeriesId) -> Option<Arc<SeriesEntry>> {
        let inner = self.inner.read();
        let slot = *inner.by_id.get(&id)?;
        inner.entries[slot as usize].clone()
    }

    /// Returns the entry for `labels`, adding it if new. Fails when the id is
    /// taken by a different label set (a 64-bit hash collision).
    pub fn get_or_insert(&self, labels: &Labels) -> Result<Arc<SeriesEntry>, CollisionError> {
        let id = labels.series_id();
        if let Some(entry) = self.get(id) {
            return check_same(entry, labels);
        }
        let mut inner = self.inner.write();
        if let Some(&slot) = inner.by_id.get(&id)
            && let Some(entry) = inner.entries[slot as usize].clone()
        {
            return check_same(entry, labels);
        }
        let syms: Vec<(Sym, Sym)> = labels
            .as_slice()
            .iter()
            .map(|l| (inner.intern(&l.name), inner.intern(&l.value)))
            .collect();
        let entry = Arc::new(SeriesEntry {
            id,
            labels: syms,
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        });
        let slot = match inner.free.pop() {
            Some(slot) => {
                inner.entries[slot as usize] = Some(Arc::clone(&entry));
                slot
            }
            None => {
                inner.entries.push(Some(Arc::clone(&entry)));
                (inner.entries.len() - 1) as u32
            }
        };
        inner.by_id.insert(id, slot);
        inner.all.insert(slot);
        for (name, value) in &entry.labels {
            inner
                .postings
                .entry(Arc::clone(name))
                .or_default()
                .entry(Arc::clone(value))
                .or_default()
                .insert(slot);
        }
        Ok(entry)
    }

    /// Series matching every matcher whose time bounds overlap
    /// `[start, end]`, in no particular order.
    pub fn select(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Arc<SeriesEntry>> {
        let inner = self.inner.read();
        let mut result: Option<RoaringBitmap> = None;
        for m in matchers {
            let values = inner.postings.get(m.name.as_str());
            if let Some(literals) = m.literal_values() {
                // Exact values: look them up instead of testing every value.
                let mut hits = RoaringBitmap::new();
                for v in literals {
                    if let Some(ids) = values.and_then(|vals| vals.get(v)) {
                        hits |= ids;
                    }
                }
                result = Some(match (m.op, result.take()) {
                    (MatchOp::Equal | MatchOp::Regex, Some(r)) => r & hits,
                    (MatchOp::Equal | MatchOp::Regex, None) => hits,
                    (_, Some(r)) => r - hits,
                    (_, None) => inner.all.clone() - hits,
                });
                continue;
            }
            if m.matches("") {
                // Series without the label qualify, so subtract the ones whose
                // value fails rather than intersecting with the ones that pass.
                let mut failing = RoaringBitmap::new();
                for (value, ids) in values.into_iter().flatten() {
                    if !m.matches(value) {
                        failing |= ids;
                    }
                }
                let base = result.take().unwrap_or_else(|| inner.all.clone());
                result = Some(base - failing);
            } else {
                let mut passing = RoaringBitmap::new();
                for (value, ids) in values.into_iter().flatten() {
                    if m.matches(value) {
                        passing |= ids;
                    }
                }
                result = Some(match result.take() {
                    Some(r) => r & passing,
                    None => passing,
                });
            }
        }
        let ids = result.unwrap_or_else(|| inner.all.clone());
        ids.iter()
            .filter_map(|slot| inner.entries[slot as usize].clone())
            .filter(|e| e.overlaps(start, end))
            .collect()
    }

    /// Every label name with each of its values and how many series carry
    /// that pair: what status pages and unfiltered label APIs read.
    pub fn label_stats(&self) -> Vec<(Sym, Vec<(Sym, u64)>)> {
        let inner = self.inner.read();
        let mut out: Vec<(Sym, Vec<(Sym, u64)>)> = inner
            .postings
            .iter()
            .map(|(name, values)| {
                let mut vs: Vec<(Sym, u64)> = values
                    .iter()
                    .map(|(v, ids)| (Arc::clone(v), ids.len()))
                    .collect();
                vs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                (Arc::clone(name), vs)
            })
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every series; the snapshot used by SQL and status pages.
    pub fn all(&self) -> Vec<Arc<SeriesEntry>> {
        self.inner
            .read()
            .entries
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Forgets series whose newest sample is older than `cutoff`; retention
    /// calls this after dropping the data. Returns how many were removed.
    pub fn remove_older_than(&self, cutoff: i64) -> usize {
        let mut inner = self.inner.write();
        let stale: Vec<u32> = inner
            .entries
            .iter()
            .enumerate()
            .filter_map(|(slot, e)| {
                e.as_ref()
                    .filter(|e| e.max_ts() < cutoff)
                    .map(|_| slot as u32)
            })
            .collect();
        for &slot in &stale {
            let Some(entry) = inner.entries[slot as usize].take() else {
                continue;
            };
            inner.by_id.remove(&entry.id);
            inner.all.remove(slot);
            for (name, value) in &entry.labels {
                let mut drop_name = false;
                if let Some(values) = inner.postings.get_mut(name) {
                    if let Some(ids) = values.get_mut(value) {
                        ids.remove(slot);
                        if ids.is_empty() {
                            values.remove(value);
                        }
                    }
                    drop_name = values.is_empty();
                }
                if drop_name {
                    inner.postings.remove(name);
                }
            }
            inner.free.push(slot);
        }
        let used: HashSet<Sym> = inner
            .postings
            .iter()
            .flat_map(|(n, vs)| std::iter::once(Arc::clone(n)).chain(vs.keys().cloned()))
            .collect();
        inner.strings.retain(|s| used.contains(s));
        stale.len()
    }
}

fn check_same(
    entry: Arc<SeriesEntry>,
    labels: &Labels,
) -> Result<Arc<SeriesEntry>, CollisionError> {
    if entry.same_labels(labels) {
        Ok(entry)
    } else {
        Err(CollisionError {
            id: entry.id,
            new: labels.to_string(),
            existing: render(&entry.labels),
        })
    }
}

/// Renders interned labels the way [`Labels`] displays.
pub fn render(labels: &[(Sym, Sym)]) -> String {
    let pairs = labels
        .iter()
        .map(|(n, v)| crate::model::Label::new(&**n, &**v))
        .collect();
    Labels::new(pairs)
        .map(|l| l.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::MatchOp;

    fn index() -> SeriesIndex {
        let idx = SeriesIndex::new();
        for (name, job, inst) in [("up", "a", "1"), ("up", "b", "2"), ("cpu", "a", "1")] {
            let labels =
                Labels::from_pairs([("__name__", name), ("job", job), ("instance", inst)]).unwrap();
            idx.get_or_insert(&labels).unwrap().observe(10, 20);
        }
        let lone = Labels::from_pairs([("__name__", "lone")]).unwrap();
        idx.get_or_insert(&lone).unwrap().observe(100, 200);
        idx
    }

    fn names(idx: &SeriesIndex, ms: &[Matcher]) -> Vec<String> {
        let mut out: Vec<String> = idx
            .select(ms, i64::MIN, i64::MAX)
            .iter()
            .map(|e| render(&e.labels))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn equality_and_regex() {
        let idx = index();
        assert_eq!(names(&idx, &[Matcher::equal("__name__", "up")]).len(), 2);
        let re = Matcher::new(MatchOp::Regex, "job", "a|b").unwrap();
        assert_eq!(names(&idx, &[re]).len(), 3);
    }

    #[test]
    fn negative_matcher_keeps_series_without_the_label() {
        let idx = index();
        let ne = Matcher::new(MatchOp::NotEqual, "job", "a").unwrap();
        assert_eq!(
            names(&idx, &[ne]),
            vec!["lone{}", "up{instance=\"2\", job=\"b\"}"]
        );
    }

    #[test]
    fn time_bounds_filter() {
        let idx = index();
        assert_eq!(idx.select(&[], 150, 160).len(), 1);
        assert_eq!(idx.select(&[], 0, 5).len(), 0);
    }

    #[test]
    fn removal_frees_postings() {
        let idx = index();
        assert_eq!(idx.remove_older_than(50), 3);
        assert_eq!(idx.len(), 1);
        assert!(names(&idx, &[Matcher::equal("__name__", "up")]).is_empty());
        let again = Labels::from_pairs([("__name__", "up"), ("job", "z")]).unwrap();
        idx.get_or_insert(&again).unwrap();
        assert_eq!(idx.len(), 2);
    }

    #[test]
    fn same_labels_same_entry() {
        let idx = index();
        let labels = Labels::from_pairs([("__name__", "lone")]).unwrap();
        let e = idx.get_or_insert(&labels).unwrap();
        assert_eq!(e.max_ts(), 200);
    }
}
