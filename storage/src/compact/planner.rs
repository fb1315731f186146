//! Decides which parts to merge. No I/O, so it is tested on plain data.

use std::collections::BTreeMap;

use crate::part::{DAY_MS, PartMeta};

/// When to merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// A day still receiving data is merged once it has this many parts.
    pub max_parts_open_day: usize,
    /// A day counts as closed this long after its end (the out-of-order
    /// window): then all its parts are merged into one.
    pub closed_after_ms: i64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            max_parts_open_day: 4,
            closed_after_ms: 3_600_000,
        }
    }
}

/// One merge: these parts of `day` become one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionJob {
    /// The day partition.
    pub day: i64,
    /// Ids of the parts to merge, oldest first.
    pub part_ids: Vec<u64>,
}

/// Plans merges for `parts` at wall-clock time `now_ms`.
pub fn plan(parts: &[PartMeta], policy: &CompactionPolicy, now_ms: i64) -> Vec<CompactionJob> {
    let mut by_day: BTreeMap<i64, Vec<&PartMeta>> = BTreeMap::new();
    for p in parts {
        by_day.entry(p.day).or_default().push(p);
    }
    let mut jobs = Vec::new();
    for (day, mut ps) in by_day {
        ps.sort_by_key(|p| p.id);
        let closed = (day + 1) * DAY_MS + policy.closed_after_ms <= now_ms;
        if closed {
            if ps.len() >= 2 {
                jobs.push(CompactionJob {
                    day,
                    part_ids: ps.iter().map(|p| p.id).collect(),
                });
            }
            continue;
        }
        // A day still being written merges level by level, so each sample is
        // rewritten about log(parts) times rather than at every flush.
        let mut by_level: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for p in &ps {
            by_level.entry(p.level).or_default().push(p.id);
        }
        for (_, ids) in by_level {
            if ids.len() >= policy.max_parts_open_day.max(2) {
                jobs.push(CompactionJob { day, part_ids: ids });
            }
        }
    }
    jobs
}

/// Like [`plan`], but merges every day with two or more parts, whatever its
/// age: what an operator's "compact now" asks for.
pub fn plan_all(parts: &[PartMeta]) -> Vec<CompactionJob> {
    let policy = CompactionPolicy {
        max_parts_open_day: 2,
        closed_after_ms: 0,
    };
    plan(parts, &policy, i64::MAX - DAY_MS * 2)
}

/// Splits parts (oldest first) into runs whose `raw_bytes` stay within
/// `max`: for engines that merge parts in memory and so must bound a merge.
pub fn chunk_by_size(parts: Vec<PartMeta>, max: u64) -> Vec<Vec<PartMeta>> {
    let mut out: Vec<Vec<PartMeta>> = Vec::new();
    let mut size = 0u64;
    for p in parts {
        match out.last_mut() {
            Some(chunk) if size + p.raw_bytes <= max => {
                size += p.raw_bytes;
                chunk.push(p);
            }
            _ => {
                size = p.raw_bytes;
                out.push(vec![p]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: u64, day: i64) -> PartMeta {
        PartMeta {
            id,
            day,
            min_ts: day * DAY_MS,
            max_ts: day * DAY_MS + 1,
            rows: 1,
            series: 1,
            bytes: 10,
            level: 0,
            has_exemplars: false,
            raw_bytes: 0,
        }
    }

    #[test]
    fn open_day_waits_for_enough_parts() {
        let parts: Vec<_> = (1..=3).map(|i| part(i, 10)).collect();
        let now = 10 * DAY_MS + 1000;
        assert!(plan(&parts, &CompactionPolicy::default(), now).is_empty());
        let mut more = parts.clone();
        more.push(part(4, 10));
        let jobs = plan(&more, &CompactionPolicy::default(), now);
        assert_eq!(
            jobs,
            vec![CompactionJob {
                day: 10,
                part_ids: vec![1, 2, 3, 4]
            }]
        );
    }

    #[test]
    fn closed_day_merges_any_pair() {
        let parts = vec![part(7, 3), part(2, 3), part(9, 5)];
        let now = 20 * DAY_MS;
        let jobs = plan(&parts, &CompactionPolicy::default(), now);
        assert_eq!(
            jobs,
            vec![CompactionJob {
                day: 3,
                part_ids: vec![2, 7]
            }]
        );
    }

    #[test]
    fn open_day_merges_within_a_level() {
        let mut parts: Vec<_> = (1..=4).map(|i| part(i, 10)).collect();
        parts[0].level = 1;
        let now = 10 * DAY_MS + 1000;
        assert!(plan(&parts, &CompactionPolicy::default(), now).is_empty());
        parts.push(part(5, 10));
        let jobs = plan(&parts, &CompactionPolicy::default(), now);
        assert_eq!(
            jobs,
            vec![CompactionJob {
                day: 10,
                part_ids: vec![2, 3, 4, 5]
            }]
        );
    }

    #[test]
    fn single_parts_are_left_alone() {
        let parts = vec![part(1, 1), part(2, 2)];
        assert!(plan_all(&parts).is_empty());
    }
}
