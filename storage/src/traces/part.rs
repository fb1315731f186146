//! Traces parts: `spans.parquet` (one row per span, sorted by trace id then
//! start, with a bloom filter and page index on `trace_id`) and
//! `names.parquet` (the part's service and operation table). Format:
//! `storage/docs/format/traces.md`.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, BinaryArray, FixedSizeBinaryArray, Int32Array, Int64Array};
use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{BloomFilterPosition, EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::names::{NameRow, NamesBuilder, encode_names};
use crate::error::Result;
use crate::object_store::DataStore;
use crate::part::PartMeta;
use crate::part::writer::parquet_err;
use crate::traces_model::{SpanRow, TraceId};

/// The signal name used in paths and metric labels.
pub const SIGNAL: &str = "traces";
/// Rows handed to the Parquet writer at once.
pub(crate) const BATCH_ROWS: usize = 8 * 1024;
/// Row groups stay small enough that a bloom filter sized for one is a
/// few hundred KiB, and that one row group's footer statistics prune well.
const ROW_GROUP_ROWS: usize = 256 * 1024;
/// Pages of few rows let a trace lookup read little beyond its own rows.
const PAGE_ROWS: usize = 4 * 1024;
/// Span pages stay small for the same reason (spans run to kilobytes).
const SPAN_PAGE_BYTES: usize = 256 << 10;
/// False-positive rate of the trace-id bloom filter: one needless part
/// read per hundred parts that do not hold a looked-up trace.
const BLOOM_FPP: f64 = 0.01;
/// zstd level of a flushed part: flushes run while ingest waits on the
/// head's memory, so they favour speed.
const FLUSH_ZSTD_LEVEL: i32 = 3;
/// zstd level of a merged part: merges run in the background and their
/// output is what stays on disk, so they favour size.
const MERGED_ZSTD_LEVEL: i32 = 9;

/// Path of a part's spans file.
pub fn spans_path(meta: &PartMeta) -> ObjectPath {
    meta.dir(SIGNAL).clone().join("spans.parquet")
}

/// Path of a part's names table.
pub fn names_path(meta: &PartMeta) -> ObjectPath {
    meta.dir(SIGNAL).clone().join("names.parquet")
}

/// The spans schema, in file column order.
pub fn spans_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("trace_id", DataType::FixedSizeBinary(16), false),
            Field::new("start_ns", DataType::Int64, false),
            Field::new("span_id", DataType::FixedSizeBinary(8), false),
            Field::new("parent_span_id", DataType::FixedSizeBinary(8), false),
            Field::new("duration_ns", DataType::Int64, false),
            Field::new("service_name", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("kind", DataType::Int32, false),
            Field::new("status_code", DataType::Int32, false),
            Field::new("span", DataType::Binary, false),
            Field::new("resource", DataType::Binary, false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

fn writer_properties(compaction_level: u32) -> WriterProperties {
    let zstd_level = if compaction_level == 0 {
        FLUSH_ZSTD_LEVEL
    } else {
        MERGED_ZSTD_LEVEL
    };
    let zstd = ZstdLevel::try_new(zstd_level).unwrap_or_default();
    let col = |name: &str| ColumnPath::from(name);
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_bloom_filter_position(BloomFilterPosition::End)
        .set_column_bloom_filter_enabled(col("trace_id"), true)
        .set_column_bloom_filter_fpp(col("trace_id"), BLOOM_FPP)
        .set_column_bloom_filter_max_ndv(col("trace_id"), ROW_GROUP_ROWS as u64)
        .set_column_encoding(col("start_ns"), Encoding::DELTA_BINARY_PACKED)
        .set_column_data_page_size_limit(col("span"), SPAN_PAGE_BYTES);
    // Ids and times are (nearly) unique: a dictionary only costs.
    for name in [
        "trace_id",
        "start_ns",
        "span_id",
        "parent_span_id",
        "duration_ns",
        "span",
    ] {
        b = b.set_column_dictionary_enabled(col(name), false);
    }
    // Statistics of ids nobody prunes by, or of blobs, would only copy
    // bytes into the page index.
    for name in ["span_id", "parent_span_id", "span", "resource"] {
        b = b.set_column_statistics_enabled(col(name), EnabledStatistics::None);
    }
    b.build()
}

/// Arrow batch of spans in schema order.
fn spans_batch(spans: &[SpanRow]) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(FixedSizeBinaryArray::try_from_iter(
            spans.iter().map(|s| s.trace_id),
        )?),
        Arc::new(Int64Array::from_iter_values(
            spans.iter().map(|s| s.start_ns),
        )),
        Arc::new(FixedSizeBinaryArray::try_from_iter(
            spans.iter().map(|s| s.span_id),
        )?),
        Arc::new(FixedSizeBinaryArray::try_from_iter(
            spans.iter().map(|s| s.parent_span_id),
        )?),
        Arc::new(Int64Array::from_iter_values(
            spans.iter().map(|s| s.duration_ns),
        )),
        Arc::new(StringArray::from_iter_values(
            spans.iter().map(|s| &s.service_name),
        )),
        Arc::new(StringArray::from_iter_values(spans.iter().map(|s| &s.name))),
        Arc::new(Int32Array::from_iter_values(spans.iter().map(|s| s.kind))),
        Arc::new(Int32Array::from_iter_values(
            spans.iter().map(|s| s.status_code),
        )),
        Arc::new(BinaryArray::from_iter_values(
            spans.iter().map(|s| &s.span[..]),
        )),
        Arc::new(BinaryArray::from_iter_values(
            spans.iter().map(|s| &s.resource[..]),
        )),
    ];
    Ok(RecordBatch::try_new(spans_schema(), columns)?)
}

/// Streams one traces part to the object store. Spans must come in part
/// order (trace id, start, span id) without re-sent copies.
pub struct TracePartWriter {
    store: DataStore,
    meta: PartMeta,
    spans: AsyncArrowWriter<BufWriter>,
    batch: Vec<SpanRow>,
    names: NamesBuilder,
    last_trace: Option<TraceId>,
}

impl TracePartWriter {
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
        let path = spans_path(&meta);
        let sink = BufWriter::new(store.object_store(), path.clone());
        let spans = AsyncArrowWriter::try_new(sink, spans_schema(), Some(writer_properties(level)))
            .map_err(parquet_err(&path))?;
        Ok(Self {
            store,
            meta,
            spans,
            batch: Vec::with_capacity(BATCH_ROWS),
            names: NamesBuilder::default(),
            last_trace: None,
        })
    }

    /// Adds spans (in part order, following those already pushed).
    pub async fn push(&mut self, spans: &[SpanRow]) -> Result<()> {
        for span in spans {
            if self.last_trace != Some(span.trace_id) {
                self.meta.series += 1;
                self.last_trace = Some(span.trace_id);
            }
            self.meta.min_ts = self.meta.min_ts.min(span.start_ns);
            self.meta.max_ts = self.meta.max_ts.max(span.start_ns);
            self.meta.rows += 1;
            self.meta.raw_bytes += (span.span.len() + span.resource.len()) as u64;
            self.names.add(span);
            self.batch.push(span.clone());
            if self.batch.len() == BATCH_ROWS {
                self.write_batch().await?;
            }
        }
        Ok(())
    }

    async fn write_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = spans_batch(&self.batch)?;
        self.batch.clear();
        let path = spans_path(&self.meta);
        self.spans.write(&batch).await.map_err(parquet_err(&path))
    }

    /// True when no span has been pushed.
    pub fn is_empty(&self) -> bool {
        self.meta.rows == 0
    }

    /// Finishes both files of the part, makes them durable and returns the
    /// part's metadata (`series` counts traces) and its names table.
    pub async fn finish(mut self) -> Result<(PartMeta, Vec<NameRow>)> {
        self.write_batch().await?;
        let path = spans_path(&self.meta);
        self.spans.close().await.map_err(parquet_err(&path))?;
        self.store.sync(&path)?;
        let mut bytes = self.store.size(&path).await?;

        let names = self.names.rows();
        let names_path = names_path(&self.meta);
        let buf = encode_names(&names, &names_path)?;
        bytes += buf.len() as u64;
        self.store.put_durable(&names_path, buf.into()).await?;
        self.meta.bytes = bytes;
        Ok((self.meta, names))
    }
}

/// Deletes every file of a traces part.
pub async fn delete_part(store: &DataStore, meta: &PartMeta) -> Result<()> {
    store.delete(&spans_path(meta)).await?;
    store.delete(&names_path(meta)).await
}
