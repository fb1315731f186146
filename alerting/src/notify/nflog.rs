//! The notification log: what each integration was last told about each
//! group, and the rule deciding whether a group needs a new notification.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// How long a log entry is remembered after it was written.
pub(crate) const NFLOG_RETENTION_MS: i64 = 5 * 24 * 3_600_000;

/// What one integration was last told about one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub group_key: String,
    pub receiver: String,
    pub integration: String,
    pub index: usize,
    /// When the notification succeeded, Unix ms.
    pub timestamp: i64,
    /// Fingerprints of the alerts that were firing.
    pub firing: BTreeSet<u64>,
    /// Fingerprints of the alerts that were resolved.
    pub resolved: BTreeSet<u64>,
}

type Key = (String, String, String, usize);

/// All entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct NfLog {
    entries: BTreeMap<Key, Entry>,
}

impl NfLog {
    pub fn from_entries(list: Vec<Entry>) -> Self {
        let entries = list
            .into_iter()
            .map(|e| {
                let key = (
                    e.group_key.clone(),
                    e.receiver.clone(),
                    e.integration.clone(),
                    e.index,
                );
                (key, e)
            })
            .collect();
        Self { entries }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.values().cloned().collect()
    }

    pub fn get(
        &self,
        group_key: &str,
        receiver: &str,
        integration: &str,
        index: usize,
    ) -> Option<&Entry> {
        self.entries.get(&(
            group_key.to_string(),
            receiver.to_string(),
            integration.to_string(),
            index,
        ))
    }

    pub fn log(&mut self, entry: Entry) {
        let key = (
            entry.group_key.clone(),
            entry.receiver.clone(),
            entry.integration.clone(),
            entry.index,
        );
        self.entries.insert(key, entry);
    }

    /// Forgets entries past retention; returns whether any were dropped.
    pub fn gc(&mut self, now: i64) -> bool {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| e.timestamp.saturating_add(NFLOG_RETENTION_MS) > now);
        before != self.entries.len()
    }
}

/// Whether an integration must be notified about a group whose unmuted
/// alerts are `firing` and `resolved`, given what it was last told.
pub(crate) fn needs_update(
    last: Option<&Entry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat_ms: i64,
    now: i64,
) -> bool {
    let Some(last) = last else {
        // Never told: only worth it if something fires.
        return !firing.is_empty();
    };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        // Regardless of send_resolved, so the log forgets the firing set;
        // but alerts that fired and resolved unseen need no message.
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    now.saturating_sub(last.timestamp) >= repeat_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> BTreeSet<u64> {
        v.iter().copied().collect()
    }

    fn entry(ts: i64, firing: &[u64], resolved: &[u64]) -> Entry {
        Entry {
            group_key: "g".into(),
            receiver: "r".into(),
            integration: "webhook".into(),
            index: 0,
            timestamp: ts,
            firing: set(firing),
            resolved: set(resolved),
        }
    }

    const REPEAT: i64 = 4 * 3_600_000;

    #[test]
    fn dedup_decisions() {
        let nu = |last: Option<&Entry>, f: &[u64], r: &[u64], sr: bool, now: i64| {
            needs_update(last, &set(f), &set(r), sr, REPEAT, now)
        };
        // First notification only when something fires.
        assert!(nu(None, &[1], &[], true, 0));
        assert!(!nu(None, &[], &[1], true, 0));
        let last = entry(1000, &[1, 2], &[]);
        // Same or fewer firing alerts: nothing new.
        assert!(!nu(Some(&last), &[1, 2], &[], true, 2000));
        assert!(!nu(Some(&last), &[1], &[], false, 2000));
        // A new firing alert.
        assert!(nu(Some(&last), &[1, 3], &[], false, 2000));
        // A newly resolved alert matters only with send_resolved.
        assert!(nu(Some(&last), &[1], &[2], true, 2000));
        assert!(!nu(Some(&last), &[1], &[2], false, 2000));
        // Everything resolved: always told, to clear the firing set.
        assert!(nu(Some(&last), &[], &[1, 2], false, 2000));
        // Nothing firing before or now.
        let quiet = entry(1000, &[], &[1]);
        assert!(!nu(Some(&quiet), &[], &[1, 4], true, 2000));
        // Repeat interval.
        assert!(!nu(Some(&last), &[1, 2], &[], true, 1000 + REPEAT - 1));
        assert!(nu(Some(&last), &[1, 2], &[], true, 1000 + REPEAT));
        assert!(!nu(Some(&quiet), &[], &[], true, 1000 + REPEAT));
    }

    #[test]
    fn log_and_gc() {
        let mut log = NfLog::default();
        log.log(entry(1000, &[1], &[]));
        assert!(log.get("g", "r", "webhook", 0).is_some());
        assert!(log.get("g", "r", "webhook", 1).is_none());
        let again = NfLog::from_entries(log.entries());
        assert_eq!(again.entries(), log.entries());
        assert!(!log.gc(1000 + NFLOG_RETENTION_MS - 1));
        assert!(log.gc(1000 + NFLOG_RETENTION_MS));
        assert!(log.entries().is_empty());
    }
}
