//! Logs parts: `entries.parquet` (one row per entry, sorted by stream id then
//! time), `series.parquet` (the stream table, same schema as metrics'
//! series table) and `index.tantivy` (the text index over lines, doc id =
//! row). Format: `storage/docs/format/logs.md`.

use std::sync::{Arc, LazyLock};

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Int64Array, MapArray, MapBuilder, RecordBatch,
    StringBuilder, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema, SchemaRef, UInt64Type};
use bytes::Bytes;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection, RowSelector};
use parquet::arrow::{AsyncArrowWriter, ParquetRecordBatchStreamBuilder};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use roaring::RoaringBitmap;

use super::head::HeadEntry;
use super::text_index::TextIndexBuilder;
use crate::error::{Error, Result};
use crate::model::{Label, SeriesId};
use crate::object_store::DataStore;
use crate::part::select::{any_in, page_selection};
use crate::part::writer::{SeriesRow, encode_small_file, series_batch};
pub use crate::part::{DAY_NS, day_of_ns};
use crate::part::{ObjectFileReader, PartMeta};

/// The signal name used in paths.
pub const SIGNAL: &str = "logs";
const BATCH_ROWS: usize = 16 * 1024;
/// Uncompressed size of a line page. zstd compresses each page on its own,
/// so larger pages find more repeats (the benchmark's logs: 256 KiB pages
/// 7.4×, 1 MiB 8.9×, 4 MiB 9.5× at level 9), while a needle search
/// decompresses every page holding a candidate row; 1 MiB keeps that to
/// about a millisecond per hit.
const LINE_PAGE_BYTES: usize = 1 << 20;

/// Path of a part's entries file.
pub fn entries_path(meta: &PartMeta) -> ObjectPath {
    meta.dir(SIGNAL).clone().join("entries.parquet")
}

/// Path of a part's text index.
pub fn index_path(meta: &PartMeta) -> ObjectPath {
    meta.dir(SIGNAL).clone().join("index.tantivy")
}

fn metadata_type() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("keys", DataType::Utf8, false),
                Field::new("values", DataType::Utf8, true),
            ])),
            false,
        )),
        false,
    )
}

/// `stream_id, ts (ns), line, structured_metadata`.
pub fn entries_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("stream_id", DataType::UInt64, false),
            Field::new("ts", DataType::Int64, false),
            Field::new("line", DataType::Binary, false),
            Field::new("structured_metadata", metadata_type(), false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// zstd level of a flushed part: flushes run while ingest waits on the
/// head's memory, so they favour speed.
const FLUSH_ZSTD_LEVEL: i32 = 3;
/// zstd level of a merged part: merges run in the background and their
/// output is what stays on disk, so they favour size.
const MERGED_ZSTD_LEVEL: i32 = 9;

fn writer_properties(compaction_level: u32) -> WriterProperties {
    let zstd_level = if compaction_level == 0 {
        FLUSH_ZSTD_LEVEL
    } else {
        MERGED_ZSTD_LEVEL
    };
    let zstd = ZstdLevel::try_new(zstd_level).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_column_dictionary_enabled(ColumnPath::from("ts"), false)
        .set_column_encoding(ColumnPath::from("ts"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(ColumnPath::from("line"), false)
        .set_column_data_page_size_limit(ColumnPath::from("line"), LINE_PAGE_BYTES)
        // Page statistics on the line column would copy line prefixes into
        // the page index for no use.
        .set_column_statistics_enabled(ColumnPath::from("line"), EnabledStatistics::None)
        .build()
}

fn parquet_err(path: &ObjectPath) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |source| Error::Parquet {
        path: path.to_string(),
        source,
    }
}

/// Streams one logs part to the object store. Streams must be pushed in
/// ascending id order, each with its entries sorted by time.
pub struct LogPartWriter {
    store: DataStore,
    meta: PartMeta,
    entries: AsyncArrowWriter<BufWriter>,
    index: TextIndexBuilder,
    ids: Vec<u64>,
    ts: Vec<i64>,
    lines: BinaryBuilder,
    metadata: MapBuilder<StringBuilder, StringBuilder>,
    streams: Vec<SeriesRow>,
}

impl LogPartWriter {
    /// Starts part `id` of `day` at compaction `level`.
    pub fn new(store: DataStore, id: u64, day: i64, level: u32) -> Result<Self> {
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
        let path = entries_path(&meta);
        let sink = BufWriter::new(store.object_store(), path.clone());
        let entries =
            AsyncArrowWriter::try_new(sink, entries_schema(), Some(writer_properties(level)))
                .map_err(parquet_err(&path))?;
        Ok(Self {
            store,
            meta,
            entries,
            index: TextIndexBuilder::new()?,
            ids: Vec::with_capacity(BATCH_ROWS),
            ts: Vec::with_capacity(BATCH_ROWS),
            lines: BinaryBuilder::new(),
            metadata: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            streams: Vec::new(),
        })
    }

    /// Adds one stream's entries (sorted by time). Empty streams are skipped.
    pub async fn push_stream(
        &mut self,
        id: SeriesId,
        labels: Vec<(String, String)>,
        rows: &[HeadEntry],
    ) -> Result<()> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(());
        };
        debug_assert!(self.streams.last().is_none_or(|s| s.id < id));
        self.streams.push(SeriesRow {
            id,
            labels,
            min_ts: first.ts_ns,
            max_ts: last.ts_ns,
            samples: rows.len() as u64,
        });
        self.meta.min_ts = self.meta.min_ts.min(first.ts_ns);
        self.meta.max_ts = self.meta.max_ts.max(last.ts_ns);
        for row in rows {
            self.ids.push(id);
            self.ts.push(row.ts_ns);
            self.lines.append_value(&row.line);
            for l in &row.metadata {
                self.metadata.keys().append_value(&l.name);
                self.metadata.values().append_value(&l.value);
            }
            self.metadata.append(true)?;
            self.index.add(&row.line)?;
            self.meta.rows += 1;
            self.meta.raw_bytes += row.line.len() as u64;
            if self.ids.len() == BATCH_ROWS {
                self.write_batch().await?;
            }
        }
        Ok(())
    }

    async fn write_batch(&mut self) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.ids))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.ts))),
            Arc::new(self.lines.finish()),
            Arc::new(self.metadata.finish()),
        ];
        let batch = RecordBatch::try_new(entries_schema(), columns)?;
        let path = entries_path(&self.meta);
        self.entries.write(&batch).await.map_err(parquet_err(&path))
    }

    /// True when no entry has been pushed.
    pub fn is_empty(&self) -> bool {
        self.meta.rows == 0
    }

    /// Finishes every file of the part, makes them durable and returns the
    /// part's metadata.
    pub async fn finish(mut self) -> Result<PartMeta> {
        self.write_batch().await?;
        let path = entries_path(&self.meta);
        self.entries.close().await.map_err(parquet_err(&path))?;
        self.store.sync(&path)?;
        let mut bytes = self.store.size(&path).await?;

        let index = self.index.finish()?;
        bytes += index.len() as u64;
        self.store
            .put_durable(&index_path(&self.meta), Bytes::from(index))
            .await?;

        let series_path = self.meta.series_path(SIGNAL);
        let buf = encode_small_file(&series_batch(&self.streams)?, &series_path)?;
        bytes += buf.len() as u64;
        self.store.put_durable(&series_path, buf.into()).await?;

        self.meta.series = self.streams.len() as u64;
        self.meta.bytes = bytes;
        Ok(self.meta)
    }
}

/// What to read from one part.
#[derive(Clone, Copy, Debug)]
pub struct PartQuery<'a> {
    /// Wanted stream ids, sorted and unique.
    pub ids: &'a [SeriesId],
    /// Inclusive start (ns).
    pub start: i64,
    /// Exclusive end (ns).
    pub end: i64,
    /// Rows the text index allows, when a needle narrowed the search.
    pub candidates: Option<&'a RoaringBitmap>,
}

/// What reading a part cost, for query statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Rows decoded.
    pub rows_read: u64,
    /// Bytes of lines decoded.
    pub line_bytes_read: u64,
}

/// Exact rows of `candidates` as a row selection over `rows` rows.
fn selection_of_rows(candidates: &RoaringBitmap, rows: usize) -> RowSelection {
    let mut selectors = Vec::new();
    let mut pos = 0usize;
    for r in candidates.iter() {
        let r = r as usize;
        if r >= rows {
            break;
        }
        if r > pos {
            selectors.push(RowSelector::skip(r - pos));
        }
        selectors.push(RowSelector::select(1));
        pos = r + 1;
    }
    if pos < rows {
        selectors.push(RowSelector::skip(rows - pos));
    }
    RowSelection::from(selectors)
}

/// Reads the wanted entries of one part, calling `visit` with each stream's
/// run of entries (sorted by time) in stream-id order.
pub async fn read_entries(
    store: &DataStore,
    meta: &PartMeta,
    q: PartQuery<'_>,
    mut visit: impl FnMut(SeriesId, Vec<HeadEntry>),
) -> Result<ReadStats> {
    let mut stats = ReadStats::default();
    if q.ids.is_empty() || meta.max_ts < q.start || meta.min_ts >= q.end {
        return Ok(stats);
    }
    if q.candidates.is_some_and(RoaringBitmap::is_empty) {
        return Ok(stats);
    }
    let path = entries_path(meta);
    let corrupt = |message: &str| Error::CorruptPart {
        path: path.to_string(),
        message: message.to_owned(),
    };
    let size = store.size(&path).await?;
    let reader = ObjectFileReader::new(store.object_store(), path.clone(), size);
    let builder = ParquetRecordBatchStreamBuilder::new_with_options(
        reader,
        ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
    )
    .await
    .map_err(parquet_err(&path))?;
    let parquet_meta = Arc::clone(builder.metadata());
    let column = |name: &str| {
        parquet_meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| corrupt(&format!("missing column {name}")))
    };
    let (id_col, ts_col) = (column("stream_id")?, column("ts")?);
    let (mut by_id, mut by_time) = (Vec::new(), Vec::new());
    let mut total_rows = 0usize;
    for rg in 0..parquet_meta.num_row_groups() {
        total_rows += parquet_meta.row_group(rg).num_rows() as usize;
        by_id.extend(page_selection(&parquet_meta, rg, id_col, |b| {
            b.is_none_or(|(min, max)| any_in(q.ids, min as u64, max as u64))
        }));
        by_time.extend(page_selection(&parquet_meta, rg, ts_col, |b| {
            b.is_none_or(|(min, max)| min < q.end && max >= q.start)
        }));
    }
    let mut selection = RowSelection::from(by_id).intersection(&RowSelection::from(by_time));
    if let Some(candidates) = q.candidates {
        selection = selection.intersection(&selection_of_rows(candidates, total_rows));
    }
    if !selection.selects_any() {
        return Ok(stats);
    }
    let mut stream = builder
        .with_row_selection(selection)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err(&path))?;

    let mut current: Option<(SeriesId, Vec<HeadEntry>)> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(parquet_err(&path))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| corrupt(&format!("missing column {name}")))
        };
        let ids = col("stream_id")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt("stream_id is not u64"))?
            .values();
        let ts = col("ts")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt("ts is not i64"))?
            .values();
        let lines = col("line")?
            .as_binary_opt::<i32>()
            .ok_or_else(|| corrupt("line is not binary"))?;
        let metadata = col("structured_metadata")?
            .as_map_opt()
            .ok_or_else(|| corrupt("structured_metadata is not a map"))?;
        stats.rows_read += ids.len() as u64;
        for row in 0..ids.len() {
            let (id, t) = (ids[row], ts[row]);
            if t < q.start || t >= q.end || q.ids.binary_search(&id).is_err() {
                continue;
            }
            let line = lines.value(row);
            stats.line_bytes_read += line.len() as u64;
            let entry = HeadEntry {
                ts_ns: t,
                line: Bytes::copy_from_slice(line),
                metadata: metadata_at(metadata, row)?,
            };
            match &mut current {
                Some((cur, rows)) if *cur == id => rows.push(entry),
                _ => {
                    if let Some((cur, rows)) = current.take() {
                        visit(cur, rows);
                    }
                    current = Some((id, vec![entry]));
                }
            }
        }
    }
    if let Some((cur, rows)) = current {
        visit(cur, rows);
    }
    Ok(stats)
}

fn metadata_at(map: &MapArray, row: usize) -> Result<Vec<Label>> {
    if map.value_length(row) == 0 {
        return Ok(Vec::new());
    }
    let entries = map.value(row);
    let bad = || Error::CorruptPart {
        path: "structured_metadata".into(),
        message: "map entries are not strings".into(),
    };
    let keys = entries.column(0).as_string_opt::<i32>().ok_or_else(bad)?;
    let values = entries.column(1).as_string_opt::<i32>().ok_or_else(bad)?;
    Ok((0..entries.len())
        .map(|i| Label::new(keys.value(i), values.value(i)))
        .collect())
}

/// Reads a part's packed text index.
pub async fn read_index(store: &DataStore, meta: &PartMeta) -> Result<Option<Bytes>> {
    store.get_opt(&index_path(meta)).await
}

/// Deletes every file of a logs part.
pub async fn delete_part(store: &DataStore, meta: &PartMeta) -> Result<()> {
    store.delete(&entries_path(meta)).await?;
    store.delete(&index_path(meta)).await?;
    store.delete(&meta.series_path(SIGNAL)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_selection_from_candidates() {
        let mut c = RoaringBitmap::new();
        c.insert(2);
        c.insert(3);
        c.insert(9);
        let sel = selection_of_rows(&c, 8);
        let runs: Vec<(bool, usize)> = sel.iter().map(|s| (s.skip, s.row_count)).collect();
        assert_eq!(runs, vec![(true, 2), (false, 2), (true, 4)]);
        assert_eq!(sel.row_count(), 2);
    }
}
