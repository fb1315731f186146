//! Retention: which whole day partitions to drop, by age and by total size.
//! A pure planner; the engine deletes.

use std::collections::BTreeMap;

use crate::part::{DAY_MS, PartMeta};

/// Limits on what is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Drop days that ended more than this long ago (ms).
    pub max_age_ms: Option<i64>,
    /// Drop the oldest days while parts take more than this many bytes.
    pub max_bytes: Option<u64>,
}

/// Days to drop, oldest first. The newest day is never dropped for size,
/// since that would throw away what is being written now.
pub fn plan(parts: &[PartMeta], policy: &RetentionPolicy, now_ms: i64) -> Vec<i64> {
    let mut bytes_by_day: BTreeMap<i64, u64> = BTreeMap::new();
    for p in parts {
        *bytes_by_day.entry(p.day).or_default() += p.bytes;
    }
    let mut drop = Vec::new();
    if let Some(age) = policy.max_age_ms {
        let cutoff = now_ms.saturating_sub(age);
        drop.extend(
            bytes_by_day
                .keys()
                .copied()
                .filter(|&d| (d + 1) * DAY_MS <= cutoff),
        );
    }
    if let Some(max) = policy.max_bytes {
        let mut total: u64 = bytes_by_day
            .iter()
            .filter(|(d, _)| !drop.contains(d))
            .map(|(_, b)| b)
            .sum();
        let newest = bytes_by_day.keys().next_back().copied();
        for (&day, &bytes) in &bytes_by_day {
            if total <= max || Some(day) == newest {
                break;
            }
            if !drop.contains(&day) {
                drop.push(day);
                total -= bytes;
            }
        }
    }
    drop.sort_unstable();
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(day: i64, bytes: u64) -> PartMeta {
        PartMeta {
            id: day as u64,
            day,
            min_ts: day * DAY_MS,
            max_ts: day * DAY_MS + 10,
            rows: 1,
            series: 1,
            bytes,
            level: 0,
            has_exemplars: false,
            raw_bytes: 0,
        }
    }

    #[test]
    fn by_age_drops_only_ended_days() {
        let parts = vec![part(1, 10), part(2, 10), part(3, 10)];
        let policy = RetentionPolicy {
            max_age_ms: Some(DAY_MS),
            max_bytes: None,
        };
        assert_eq!(plan(&parts, &policy, 3 * DAY_MS + 5), vec![1]);
    }

    #[test]
    fn by_size_drops_oldest_but_never_newest() {
        let parts = vec![part(1, 10), part(2, 10), part(3, 10), part(3, 100)];
        let policy = RetentionPolicy {
            max_age_ms: None,
            max_bytes: Some(50),
        };
        assert_eq!(plan(&parts, &policy, 4 * DAY_MS), vec![1, 2]);
    }

    #[test]
    fn nothing_to_do() {
        let parts = vec![part(1, 10)];
        assert!(plan(&parts, &RetentionPolicy::default(), 100 * DAY_MS).is_empty());
    }
}
