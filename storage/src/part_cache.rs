//! Per-part things that are costly to rebuild (opened text indexes, parsed
//! Parquet footers, bloom filters), kept between queries up to a byte
//! budget: each engine reads the same few parts query after query.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

/// What a cached value costs in memory.
pub(crate) trait Weighed {
    /// Approximate bytes held.
    fn weight(&self) -> usize;
}

struct Inner<T> {
    /// Most recently used last.
    entries: VecDeque<(u64, Arc<T>)>,
    bytes: usize,
}

/// A small LRU keyed by part id. Linear lookups: it holds tens of entries.
pub(crate) struct PartCache<T> {
    budget: usize,
    inner: Mutex<Inner<T>>,
}

impl<T: Weighed> PartCache<T> {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    pub(crate) fn get(&self, part: u64) -> Option<Arc<T>> {
        let mut inner = self.inner.lock();
        let pos = inner.entries.iter().position(|(id, _)| *id == part)?;
        let entry = inner.entries.remove(pos)?;
        let value = Arc::clone(&entry.1);
        inner.entries.push_back(entry);
        Some(value)
    }

    pub(crate) fn insert(&self, part: u64, value: Arc<T>) {
        let mut inner = self.inner.lock();
        if value.weight() > self.budget || inner.entries.iter().any(|(id, _)| *id == part) {
            return;
        }
        inner.bytes += value.weight();
        inner.entries.push_back((part, value));
        while inner.bytes > self.budget {
            let Some((_, old)) = inner.entries.pop_front() else {
                break;
            };
            inner.bytes -= old.weight();
        }
    }

    /// Forgets parts that no longer exist.
    pub(crate) fn retain(&self, live: impl Fn(u64) -> bool) {
        let mut inner = self.inner.lock();
        inner.entries.retain(|(id, _)| live(*id));
        inner.bytes = inner.entries.iter().map(|(_, v)| v.weight()).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weighed for Vec<u8> {
        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn least_recently_used_goes_first_and_oversized_is_not_kept() {
        let cache: PartCache<Vec<u8>> = PartCache::new(10);
        cache.insert(1, Arc::new(vec![0; 4]));
        cache.insert(2, Arc::new(vec![0; 4]));
        assert!(cache.get(1).is_some());
        cache.insert(3, Arc::new(vec![0; 4]));
        assert!(cache.get(2).is_none());
        assert!(cache.get(1).is_some() && cache.get(3).is_some());
        cache.insert(4, Arc::new(vec![0; 11]));
        assert!(cache.get(4).is_none());
        cache.retain(|id| id != 1);
        assert!(cache.get(1).is_none());
    }
}
