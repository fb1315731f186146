//! Opened text indexes, kept between queries up to a byte budget: opening
//! one means reading and unpacking the whole blob.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use super::text_index::TextIndex;

#[derive(Default)]
struct Inner {
    /// Most recently used last.
    entries: VecDeque<(u64, Arc<TextIndex>)>,
    bytes: usize,
}

/// A small LRU of opened indexes keyed by part id.
pub(crate) struct TextIndexCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl TextIndexCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn get(&self, part: u64) -> Option<Arc<TextIndex>> {
        let mut inner = self.inner.lock();
        let pos = inner.entries.iter().position(|(id, _)| *id == part)?;
        let entry = inner.entries.remove(pos)?;
        let index = Arc::clone(&entry.1);
        inner.entries.push_back(entry);
        Some(index)
    }

    pub(crate) fn insert(&self, part: u64, index: Arc<TextIndex>) {
        let mut inner = self.inner.lock();
        if index.bytes() > self.budget || inner.entries.iter().any(|(id, _)| *id == part) {
            return;
        }
        inner.bytes += index.bytes();
        inner.entries.push_back((part, index));
        while inner.bytes > self.budget {
            let Some((_, old)) = inner.entries.pop_front() else {
                break;
            };
            inner.bytes -= old.bytes();
        }
    }

    /// Forgets parts that no longer exist.
    pub(crate) fn retain(&self, live: impl Fn(u64) -> bool) {
        let mut inner = self.inner.lock();
        inner.entries.retain(|(id, _)| live(*id));
        inner.bytes = inner.entries.iter().map(|(_, i)| i.bytes()).sum();
    }
}
