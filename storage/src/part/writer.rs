//! Writes parts: samples streamed series by series, then the series table.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, MapBuilder, StringArray, StringBuilder, UInt64Array,
};
use arrow::record_batch::RecordBatch;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::schema::{exemplars_schema, samples_schema, series_schema};
use super::{PartMeta, day_of};
use crate::error::{Error, Result};
use crate::model::{Exemplar, SeriesId};
use crate::object_store::DataStore;

/// Rows buffered before a record batch is handed to the Parquet writer.
const BATCH_ROWS: usize = 64 * 1024;

/// DESIGN §2 encodings: `ts` delta-encoded and `value` byte-stream-split,
/// without dictionaries (which only bloat such columns), ZSTD and a page
/// index. `series_id` keeps its dictionary: sorted rows make its indices
/// long runs that RLE shrinks to almost nothing.
fn writer_properties() -> WriterProperties {
    let zstd = ZstdLevel::try_new(3).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(1 << 20))
        .set_column_dictionary_enabled(ColumnPath::from("ts"), false)
        .set_column_encoding(ColumnPath::from("ts"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from("value"), false)
        .set_column_encoding(ColumnPath::from("value"), Encoding::BYTE_STREAM_SPLIT)
        .build()
}

pub(crate) fn parquet_err(
    path: &ObjectPath,
) -> impl FnOnce(parquet::errors::ParquetError) -> Error + '_ {
    move |source| Error::Parquet {
        path: path.to_string(),
        source,
    }
}

pub(crate) struct SeriesRow {
    pub(crate) id: SeriesId,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) samples: u64,
}

/// Streams one part to the object store. Series must be pushed in
/// ascending id order, each with its samples sorted by time.
pub struct PartWriter {
    store: DataStore,
    signal: &'static str,
    meta: PartMeta,
    samples: AsyncArrowWriter<BufWriter>,
    ids: Vec<u64>,
    ts: Vec<i64>,
    values: Vec<f64>,
    series: Vec<SeriesRow>,
}

impl PartWriter {
    /// Starts part `id` of `day` at compaction `level`.
    pub fn new(
        store: DataStore,
        signal: &'static str,
        id: u64,
        day: i64,
        level: u32,
    ) -> Result<Self> {
        let meta = PartMeta {
            id,
            day,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            rows: 0,
            series: 0,
            bytes: 0,
            level,
            has_exemplars: false,
            raw_bytes: 0,
        };
        let path = meta.samples_path(signal);
        let sink = BufWriter::new(store.object_store(), path.clone());
        let samples = AsyncArrowWriter::try_new(sink, samples_schema(), Some(writer_properties()))
            .map_err(parquet_err(&path))?;
        Ok(Self {
            store,
            signal,
            meta,
            samples,
            ids: Vec::with_capacity(BATCH_ROWS),
            ts: Vec::with_capacity(BATCH_ROWS),
            values: Vec::with_capacity(BATCH_ROWS),
            series: Vec::new(),
        })
    }

    /// Adds one series. Empty series are skipped.
    pub async fn push_series<S: AsRef<str>>(
        &mut self,
        id: SeriesId,
        labels: &[(S, S)],
        ts: &[i64],
        values: &[f64],
    ) -> Result<()> {
        let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
            return Ok(());
        };
        debug_assert!(self.series.last().is_none_or(|s| s.id < id));
        debug_assert_eq!(day_of(first), self.meta.day);
        self.series.push(SeriesRow {
            id,
            labels: labels
                .iter()
                .map(|(n, v)| (n.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
            min_ts: first,
            max_ts: last,
            samples: ts.len() as u64,
        });
        self.meta.min_ts = self.meta.min_ts.min(first);
        self.meta.max_ts = self.meta.max_ts.max(last);
        self.meta.rows += ts.len() as u64;
        let mut offset = 0;
        while offset < ts.len() {
            let room = BATCH_ROWS - self.ts.len();
            let take = room.min(ts.len() - offset);
            self.ids.extend(std::iter::repeat_n(id, take));
            self.ts.extend_from_slice(&ts[offset..offset + take]);
            self.values
                .extend_from_slice(&values[offset..offset + take]);
            offset += take;
            if self.ts.len() == BATCH_ROWS {
                self.write_batch().await?;
            }
        }
        Ok(())
    }

    async fn write_batch(&mut self) -> Result<()> {
        if self.ts.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.ids))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.ts))),
            Arc::new(Float64Array::from(std::mem::take(&mut self.values))),
        ];
        let batch = RecordBatch::try_new(samples_schema(), columns)?;
        let path = self.meta.samples_path(self.signal);
        self.samples.write(&batch).await.map_err(parquet_err(&path))
    }

    /// True when no sample has been pushed.
    pub fn is_empty(&self) -> bool {
        self.meta.rows == 0
    }

    /// Finishes both files, makes them durable and returns the part's
    /// metadata (exemplars, if any, are added by [`write_exemplars`]).
    pub async fn finish(mut self) -> Result<PartMeta> {
        self.write_batch().await?;
        let samples_path = self.meta.samples_path(self.signal);
        self.samples
            .close()
            .await
            .map_err(parquet_err(&samples_path))?;
        self.store.sync(&samples_path)?;

        let series_path = self.meta.series_path(self.signal);
        let buf = encode_small_file(&series_batch(&self.series)?, &series_path)?;
        let series_bytes = buf.len() as u64;
        self.store.put_durable(&series_path, buf.into()).await?;

        self.meta.series = self.series.len() as u64;
        self.meta.bytes = self.store.size(&samples_path).await? + series_bytes;
        Ok(self.meta)
    }
}

/// Encodes one batch as a whole Parquet file in memory: for the series and
/// exemplar tables, which are small next to the samples.
pub(crate) fn encode_small_file(batch: &RecordBatch, path: &ObjectPath) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), Some(writer_properties()))
            .map_err(parquet_err(path))?;
    writer.write(batch).map_err(parquet_err(path))?;
    writer.close().map_err(parquet_err(path))?;
    Ok(buf)
}

pub(crate) fn labels_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::new(None, StringBuilder::new(), StringBuilder::new())
}

pub(crate) fn series_batch(rows: &[SeriesRow]) -> Result<RecordBatch> {
    let mut labels = labels_builder();
    for row in rows {
        for (n, v) in &row.labels {
            labels.keys().append_value(n);
            labels.values().append_value(v);
        }
        labels.append(true)?;
    }
    let names: StringArray = rows
        .iter()
        .map(|r| {
            Some(
                r.labels
                    .iter()
                    .find(|(n, _)| n == crate::model::METRIC_NAME_LABEL)
                    .map_or("", |(_, v)| v.as_str()),
            )
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.id).collect::<UInt64Array>()),
        Arc::new(names),
        Arc::new(labels.finish()),
        Arc::new(rows.iter().map(|r| r.min_ts).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.max_ts).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.samples).collect::<UInt64Array>()),
    ];
    Ok(RecordBatch::try_new(series_schema(), columns)?)
}

/// Writes `exemplars.parquet` for a finished part and records it in `meta`.
pub async fn write_exemplars(
    store: &DataStore,
    signal: &str,
    meta: &mut PartMeta,
    rows: &[(SeriesId, Exemplar)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let path = meta.exemplars_path(signal);
    let mut labels = labels_builder();
    for (_, e) in rows {
        for l in &e.labels {
            labels.keys().append_value(&l.name);
            labels.values().append_value(&l.value);
        }
        labels.append(true)?;
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0).collect::<UInt64Array>()),
        Arc::new(rows.iter().map(|r| r.1.ts).collect::<Int64Array>()),
        Arc::new(rows.iter().map(|r| r.1.value).collect::<Float64Array>()),
        Arc::new(labels.finish()),
    ];
    let batch = RecordBatch::try_new(exemplars_schema(), columns)?;
    let buf = encode_small_file(&batch, &path)?;
    meta.bytes += buf.len() as u64;
    meta.has_exemplars = true;
    store.put_durable(&path, buf.into()).await
}
