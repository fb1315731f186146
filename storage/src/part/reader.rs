//! Reads parts back: the series table (for the index and compaction),
//! samples as per-series runs in id order, and exemplars.

use arrow::array::{Array, AsArray, MapArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type, UInt64Type};
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::async_reader::ParquetRecordBatchStream;

use super::object_reader::ObjectFileReader;

use super::PartMeta;
use crate::error::{Error, Result};
use crate::model::{Exemplar, Label, SeriesId};
use crate::object_store::DataStore;

/// One row of a part's series table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSeries {
    /// Series id.
    pub id: SeriesId,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Earliest sample in this part.
    pub min_ts: i64,
    /// Latest sample in this part.
    pub max_ts: i64,
    /// Samples in this part.
    pub samples: u64,
}

fn corrupt(path: &ObjectPath, message: impl Into<String>) -> Error {
    Error::CorruptPart {
        path: path.to_string(),
        message: message.into(),
    }
}

async fn open_stream(
    store: &DataStore,
    path: &ObjectPath,
) -> Result<ParquetRecordBatchStream<ObjectFileReader>> {
    let size = store.size(path).await?;
    let reader = ObjectFileReader::new(store.object_store(), path.clone(), size);
    let parquet_err = |source| Error::Parquet {
        path: path.to_string(),
        source,
    };
    ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(parquet_err)?
        .with_batch_size(64 * 1024)
        .build()
        .map_err(parquet_err)
}

async fn read_all(store: &DataStore, path: &ObjectPath) -> Result<Vec<RecordBatch>> {
    let mut stream = open_stream(store, path).await?;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        out.push(batch.map_err(|source| Error::Parquet {
            path: path.to_string(),
            source,
        })?);
    }
    Ok(out)
}

fn column<'a>(batch: &'a RecordBatch, name: &str, path: &ObjectPath) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| corrupt(path, format!("missing column {name}")))
}

fn map_rows(map: &MapArray, row: usize) -> Vec<(String, String)> {
    let entries = map.value(row);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    (0..entries.len())
        .map(|i| (keys.value(i).to_owned(), values.value(i).to_owned()))
        .collect()
}

/// The series table of a part.
pub async fn read_series(
    store: &DataStore,
    signal: &str,
    meta: &PartMeta,
) -> Result<Vec<PartSeries>> {
    let path = meta.series_path(signal);
    let mut out = Vec::with_capacity(meta.series as usize);
    for batch in read_all(store, &path).await? {
        let ids = column(&batch, "series_id", &path)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt(&path, "series_id is not u64"))?;
        let labels = column(&batch, "labels", &path)?
            .as_map_opt()
            .ok_or_else(|| corrupt(&path, "labels is not a map"))?;
        let min = column(&batch, "min_ts", &path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt(&path, "min_ts is not i64"))?;
        let max = column(&batch, "max_ts", &path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt(&path, "max_ts is not i64"))?;
        let samples = column(&batch, "samples", &path)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt(&path, "samples is not u64"))?;
        for row in 0..batch.num_rows() {
            out.push(PartSeries {
                id: ids.value(row),
                labels: map_rows(labels, row),
                min_ts: min.value(row),
                max_ts: max.value(row),
                samples: samples.value(row),
            });
        }
    }
    Ok(out)
}

/// The exemplars of a part (empty when it has none).
pub async fn read_exemplars(
    store: &DataStore,
    signal: &str,
    meta: &PartMeta,
) -> Result<Vec<(SeriesId, Exemplar)>> {
    if !meta.has_exemplars {
        return Ok(Vec::new());
    }
    let path = meta.exemplars_path(signal);
    let mut out = Vec::new();
    for batch in read_all(store, &path).await? {
        let ids = column(&batch, "series_id", &path)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt(&path, "series_id is not u64"))?;
        let ts = column(&batch, "ts", &path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt(&path, "ts is not i64"))?;
        let values = column(&batch, "value", &path)?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| corrupt(&path, "value is not f64"))?;
        let labels = column(&batch, "labels", &path)?
            .as_map_opt()
            .ok_or_else(|| corrupt(&path, "labels is not a map"))?;
        for row in 0..batch.num_rows() {
            out.push((
                ids.value(row),
                Exemplar {
                    labels: map_rows(labels, row)
                        .into_iter()
                        .map(|(n, v)| Label::new(n, v))
                        .collect(),
                    ts: ts.value(row),
                    value: values.value(row),
                },
            ));
        }
    }
    Ok(out)
}

/// Reads a part's samples one series at a time, in id order, so that
/// compaction can merge parts without holding them in memory.
pub struct SampleRunReader {
    path: ObjectPath,
    stream: ParquetRecordBatchStream<ObjectFileReader>,
    batch: Option<RecordBatch>,
    row: usize,
}

/// One series' samples from one part.
#[derive(Debug, Default, Clone)]
pub struct SampleRun {
    /// Series id.
    pub id: SeriesId,
    /// Timestamps, ascending.
    pub ts: Vec<i64>,
    /// Values.
    pub values: Vec<f64>,
}

impl SampleRunReader {
    /// Opens the samples file of `meta`.
    pub async fn open(store: &DataStore, signal: &str, meta: &PartMeta) -> Result<Self> {
        let path = meta.samples_path(signal);
        let stream = open_stream(store, &path).await?;
        Ok(Self {
            path,
            stream,
            batch: None,
            row: 0,
        })
    }

    async fn fill(&mut self) -> Result<bool> {
        while self.batch.as_ref().is_none_or(|b| self.row >= b.num_rows()) {
            match self.stream.next().await {
                Some(batch) => {
                    self.batch = Some(batch.map_err(|source| Error::Parquet {
                        path: self.path.to_string(),
                        source,
                    })?);
                    self.row = 0;
                }
                None => {
                    self.batch = None;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Id of the next series, without consuming it.
    pub async fn peek_id(&mut self) -> Result<Option<SeriesId>> {
        if !self.fill().await? {
            return Ok(None);
        }
        let Some(batch) = &self.batch else {
            return Ok(None);
        };
        let ids = column(batch, "series_id", &self.path)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt(&self.path, "series_id is not u64"))?;
        Ok(Some(ids.value(self.row)))
    }

    /// The next series' samples, or `None` at the end.
    pub async fn next_run(&mut self) -> Result<Option<SampleRun>> {
        let Some(id) = self.peek_id().await? else {
            return Ok(None);
        };
        let mut run = SampleRun {
            id,
            ..SampleRun::default()
        };
        while self.fill().await? {
            let Some(batch) = &self.batch else { break };
            let ids = column(batch, "series_id", &self.path)?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| corrupt(&self.path, "series_id is not u64"))?;
            let ts = column(batch, "ts", &self.path)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| corrupt(&self.path, "ts is not i64"))?;
            let values = column(batch, "value", &self.path)?
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| corrupt(&self.path, "value is not f64"))?;
            let start = self.row;
            let ids = ids.values();
            let end = start + ids[start..].partition_point(|&x| x == id);
            run.ts.extend_from_slice(&ts.values()[start..end]);
            run.values.extend_from_slice(&values.values()[start..end]);
            self.row = end;
            if end < batch.num_rows() {
                break;
            }
        }
        Ok(Some(run))
    }
}

/// Merges one series' runs, given oldest first, into one ascending run;
/// for an equal timestamp the newest run's value is kept (what compaction
/// writes and what a query reads).
pub fn merge_runs(mut runs: Vec<SampleRun>) -> (Vec<i64>, Vec<f64>) {
    if runs.len() <= 1 {
        return runs.pop().map(|r| (r.ts, r.values)).unwrap_or_default();
    }
    let mut all: Vec<(i64, usize, f64)> = runs
        .iter()
        .enumerate()
        .flat_map(|(rank, r)| r.ts.iter().zip(&r.values).map(move |(&t, &v)| (t, rank, v)))
        .collect();
    all.sort_by_key(|&(t, rank, _)| (t, rank));
    let mut ts: Vec<i64> = Vec::with_capacity(all.len());
    let mut values: Vec<f64> = Vec::with_capacity(all.len());
    for (t, _, v) in all {
        if ts.last() == Some(&t) {
            if let Some(last) = values.last_mut() {
                *last = v;
            }
        } else {
            ts.push(t);
            values.push(v);
        }
    }
    (ts, values)
}
