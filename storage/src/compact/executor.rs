//! Merges parts: a streaming k-way merge by series id, so memory holds one
//! series from each input at a time. On an equal (series, timestamp) the
//! newer part (higher id) wins, matching "last write wins".

use std::collections::HashMap;

use crate::error::Result;
use crate::model::SeriesId;
use crate::object_store::DataStore;
use crate::part::{
    PartMeta, PartWriter, SampleRun, SampleRunReader, merge_runs, read_exemplars, read_series,
    write_exemplars,
};

/// Merges `inputs` (all of one day, sorted by id) into part `new_id`.
pub async fn merge_parts(
    store: &DataStore,
    signal: &'static str,
    inputs: &[PartMeta],
    new_id: u64,
) -> Result<PartMeta> {
    let day = inputs.first().map_or(0, |p| p.day);
    let level = inputs.iter().map(|p| p.level).max().unwrap_or(0) + 1;

    let mut labels: HashMap<SeriesId, Vec<(String, String)>> = HashMap::new();
    for part in inputs {
        for s in read_series(store, signal, part).await? {
            labels.entry(s.id).or_insert(s.labels);
        }
    }
    let mut readers = Vec::with_capacity(inputs.len());
    for part in inputs {
        readers.push(SampleRunReader::open(store, signal, part).await?);
    }

    let mut writer = PartWriter::new(store.clone(), signal, new_id, day, level)?;
    let mut runs: Vec<SampleRun> = Vec::with_capacity(inputs.len());
    loop {
        let mut next: Option<SeriesId> = None;
        for r in &mut readers {
            if let Some(id) = r.peek_id().await? {
                next = Some(next.map_or(id, |n: SeriesId| n.min(id)));
            }
        }
        let Some(id) = next else { break };
        runs.clear();
        for r in &mut readers {
            if r.peek_id().await? == Some(id)
                && let Some(run) = r.next_run().await?
            {
                runs.push(run);
            }
        }
        let (ts, values) = merge_runs(std::mem::take(&mut runs));
        let series_labels = labels.get(&id).map(Vec::as_slice).unwrap_or_default();
        writer.push_series(id, series_labels, &ts, &values).await?;
    }
    let mut meta = writer.finish().await?;

    let mut exemplars = Vec::new();
    for part in inputs {
        exemplars.extend(read_exemplars(store, signal, part).await?);
    }
    exemplars.sort_by_key(|(id, e)| (*id, e.ts));
    write_exemplars(store, signal, &mut meta, &exemplars).await?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_runs_win_ties() {
        let runs = vec![
            SampleRun {
                id: 1,
                ts: vec![1, 2, 3],
                values: vec![1.0, 2.0, 3.0],
            },
            SampleRun {
                id: 1,
                ts: vec![2, 4],
                values: vec![20.0, 40.0],
            },
        ];
        assert_eq!(
            merge_runs(runs),
            (vec![1, 2, 3, 4], vec![1.0, 20.0, 3.0, 40.0])
        );
    }
}
