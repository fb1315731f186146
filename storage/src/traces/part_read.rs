//! Reading traces parts. A trace lookup checks, before touching span data,
//! the row groups' trace-id bounds and bloom filters, then the page index,
//! so only pages that can hold the trace are fetched; footers and bloom
//! filters are parsed once and cached. A scan evaluates its filter on the
//! typed columns (a Parquet row filter) so that span and resource blobs are
//! decoded only for the rows it keeps.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type};
use arrow::error::ArrowError;
use bytes::Bytes;
use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicate, ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter,
    RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use super::part::{BATCH_ROWS, spans_path};
use super::read::SpanFilter;
use crate::error::{Error, Result};
use crate::object_store::DataStore;
use crate::part::select::{page_selection, page_selection_bytes};
use crate::part::writer::parquet_err;
use crate::part::{ObjectFileReader, PartMeta};
use crate::part_cache::Weighed;
use crate::traces_model::{SpanRow, TraceId};

/// Bytes and requests a read sent to the object store.
#[derive(Debug, Default)]
pub struct ReadCounter {
    /// Bytes fetched.
    pub bytes: AtomicU64,
    /// Range requests made.
    pub requests: AtomicU64,
}

/// An object reader that counts what it fetches, for query statistics.
#[derive(Clone, Debug)]
struct CountingReader {
    inner: ObjectFileReader,
    size: u64,
    counter: Arc<ReadCounter>,
}

impl CountingReader {
    fn count(&self, ranges: &[Range<u64>]) {
        let bytes: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        self.counter.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.counter
            .requests
            .fetch_add(ranges.len() as u64, Ordering::Relaxed);
    }
}

impl AsyncFileReader for CountingReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.count(std::slice::from_ref(&range));
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.count(&ranges);
        self.inner.get_byte_ranges(ranges)
    }

    /// Through this reader rather than the inner one, so footer reads are
    /// counted too.
    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Leaf positions of the columns reads look at.
#[derive(Clone, Copy, Debug)]
struct Columns {
    trace_id: usize,
    start_ns: usize,
    duration_ns: usize,
    service_name: usize,
    name: usize,
}

/// A part's parsed footer and page index.
pub(crate) struct PartFooter {
    path: ObjectPath,
    size: u64,
    meta: ArrowReaderMetadata,
    cols: Columns,
}

impl Weighed for PartFooter {
    fn weight(&self) -> usize {
        self.meta.metadata().memory_size()
    }
}

impl PartFooter {
    /// Reads and parses the footer of a part's spans file.
    pub(crate) async fn load(
        store: &DataStore,
        part: &PartMeta,
        counter: &Arc<ReadCounter>,
    ) -> Result<Self> {
        let path = spans_path(part);
        let size = store.size(&path).await?;
        let mut reader = CountingReader {
            inner: ObjectFileReader::new(store.object_store(), path.clone(), size),
            size,
            counter: Arc::clone(counter),
        };
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load_async(&mut reader, options)
            .await
            .map_err(parquet_err(&path))?;
        let schema = meta.parquet_schema();
        let column = |name: &str| {
            schema
                .columns()
                .iter()
                .position(|c| c.name() == name)
                .ok_or_else(|| Error::CorruptPart {
                    path: path.to_string(),
                    message: format!("missing column {name}"),
                })
        };
        let cols = Columns {
            trace_id: column("trace_id")?,
            start_ns: column("start_ns")?,
            duration_ns: column("duration_ns")?,
            service_name: column("service_name")?,
            name: column("name")?,
        };
        Ok(Self {
            path,
            size,
            meta,
            cols,
        })
    }

    fn builder(&self, store: &DataStore, counter: &Arc<ReadCounter>) -> Builder {
        let reader = CountingReader {
            inner: ObjectFileReader::new(store.object_store(), self.path.clone(), self.size),
            size: self.size,
            counter: Arc::clone(counter),
        };
        ParquetRecordBatchStreamBuilder::new_with_metadata(reader, self.meta.clone())
    }

    fn parquet(&self) -> &ParquetMetaData {
        self.meta.metadata()
    }

    /// Rows of the row groups and pages whose `start_ns` bounds meet
    /// `[start, end]`.
    fn time_selection(&self, start: i64, end: i64) -> RowSelection {
        let pm = self.parquet();
        let selectors: Vec<RowSelector> = (0..pm.num_row_groups())
            .flat_map(|rg| {
                page_selection(pm, rg, self.cols.start_ns, |b| {
                    b.is_none_or(|(min, max)| min <= end && max >= start)
                })
            })
            .collect();
        RowSelection::from(selectors)
    }
}

type Builder = ParquetRecordBatchStreamBuilder<CountingReader>;

/// The trace-id bloom filter of each row group of a part (`None` where a
/// row group has none).
pub(crate) struct PartBlooms(Vec<Option<Sbbf>>);

impl Weighed for PartBlooms {
    fn weight(&self) -> usize {
        64 + self
            .0
            .iter()
            .flatten()
            .map(|b| b.num_blocks() * 32)
            .sum::<usize>()
    }
}

impl PartBlooms {
    /// Reads every row group's trace-id bloom filter.
    pub(crate) async fn load(
        store: &DataStore,
        footer: &PartFooter,
        counter: &Arc<ReadCounter>,
    ) -> Result<Self> {
        let mut builder = footer.builder(store, counter);
        let mut blooms = Vec::with_capacity(footer.parquet().num_row_groups());
        for rg in 0..footer.parquet().num_row_groups() {
            blooms.push(
                builder
                    .get_row_group_column_bloom_filter(rg, footer.cols.trace_id)
                    .await
                    .map_err(parquet_err(&footer.path))?,
            );
        }
        Ok(Self(blooms))
    }
}

/// What reading one part found.
#[derive(Debug, Default)]
pub(crate) struct PartRead {
    /// Spans kept.
    pub(crate) spans: Vec<SpanRow>,
    /// False when pruning left nothing to read: no data page was fetched.
    pub(crate) opened: bool,
    /// Rows decoded (for a scan: rows its filter looked at).
    pub(crate) rows_read: u64,
}

/// The spans of `trace_id` (starting in `range` when given) in one part.
pub(crate) async fn read_trace(
    store: &DataStore,
    footer: &PartFooter,
    blooms: &PartBlooms,
    trace_id: &TraceId,
    range: Option<(i64, i64)>,
    counter: &Arc<ReadCounter>,
) -> Result<PartRead> {
    let pm = footer.parquet();
    let id = &trace_id[..];
    let mut selectors = Vec::new();
    for rg in 0..pm.num_row_groups() {
        let bloom = blooms.0.get(rg).and_then(Option::as_ref);
        if bloom.is_some_and(|b| !b.check(id)) {
            selectors.push(RowSelector::skip(pm.row_group(rg).num_rows() as usize));
            continue;
        }
        selectors.extend(page_selection_bytes(pm, rg, footer.cols.trace_id, |b| {
            b.is_none_or(|(min, max)| min <= id && id <= max)
        }));
    }
    let mut selection = RowSelection::from(selectors);
    if let Some((start, end)) = range {
        selection = selection.intersection(&footer.time_selection(start, end));
    }
    if !selection.selects_any() {
        return Ok(PartRead::default());
    }
    let stream = footer
        .builder(store, counter)
        .with_row_selection(selection)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err(&footer.path))?;
    let keep = |t: &TraceId, start: i64| {
        t == trace_id && range.is_none_or(|(a, b)| start >= a && start <= b)
    };
    decode_stream(stream, &footer.path, keep).await
}

/// Up to `limit` spans of one part starting in `[start, end]` that pass
/// `filter`. The filter runs on the typed columns first; blobs are decoded
/// only for rows it keeps.
pub(crate) async fn scan_part(
    store: &DataStore,
    footer: &PartFooter,
    start: i64,
    end: i64,
    filter: &SpanFilter,
    limit: usize,
    counter: &Arc<ReadCounter>,
) -> Result<PartRead> {
    let selection = footer.time_selection(start, end);
    if !selection.selects_any() || limit == 0 {
        return Ok(PartRead::default());
    }
    let c = footer.cols;
    let mask = ProjectionMask::leaves(
        footer.parquet().file_metadata().schema_descr(),
        [c.start_ns, c.duration_ns, c.service_name, c.name],
    );
    let examined = Arc::new(AtomicU64::new(0));
    let predicate = {
        let filter = filter.clone();
        let examined = Arc::clone(&examined);
        ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            examined.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            let missing = |name: &str| ArrowError::SchemaError(format!("missing column {name}"));
            let int = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| missing(name))
            };
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| missing(name))
            };
            let (starts, durations) = (int("start_ns")?, int("duration_ns")?);
            let (services, names) = (text("service_name")?, text("name")?);
            Ok((0..batch.num_rows())
                .map(|i| {
                    let t = starts.value(i);
                    Some(
                        t >= start
                            && t <= end
                            && filter.matches_fields(
                                services.value(i),
                                names.value(i),
                                durations.value(i),
                            ),
                    )
                })
                .collect::<BooleanArray>())
        })
    };
    let predicates: Vec<Box<dyn ArrowPredicate>> = vec![Box::new(predicate)];
    let stream = footer
        .builder(store, counter)
        .with_row_selection(selection)
        .with_row_filter(RowFilter::new(predicates))
        .with_limit(limit)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err(&footer.path))?;
    let mut read = decode_stream(stream, &footer.path, |_, _| true).await?;
    read.rows_read = examined.load(Ordering::Relaxed);
    Ok(read)
}

/// Every span of a part, in part order: the input of a merge.
pub(crate) async fn read_all(store: &DataStore, part: &PartMeta) -> Result<Vec<SpanRow>> {
    let counter = Arc::new(ReadCounter::default());
    let footer = PartFooter::load(store, part, &counter).await?;
    let stream = footer
        .builder(store, &counter)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err(&footer.path))?;
    Ok(decode_stream(stream, &footer.path, |_, _| true)
        .await?
        .spans)
}

async fn decode_stream(
    mut stream: parquet::arrow::async_reader::ParquetRecordBatchStream<CountingReader>,
    path: &ObjectPath,
    keep: impl Fn(&TraceId, i64) -> bool,
) -> Result<PartRead> {
    let mut read = PartRead {
        opened: true,
        ..PartRead::default()
    };
    // Resource blobs repeat across rows; keep one allocation of each.
    let mut resources: HashSet<Bytes> = HashSet::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(parquet_err(path))?;
        read.rows_read += batch.num_rows() as u64;
        decode_batch(&batch, path, &keep, &mut resources, &mut read.spans)?;
    }
    Ok(read)
}

fn decode_batch(
    batch: &RecordBatch,
    path: &ObjectPath,
    keep: &impl Fn(&TraceId, i64) -> bool,
    resources: &mut HashSet<Bytes>,
    out: &mut Vec<SpanRow>,
) -> Result<()> {
    let corrupt = |name: &str| Error::CorruptPart {
        path: path.to_string(),
        message: format!("column {name} is missing or of the wrong type"),
    };
    let col = |name: &str| batch.column_by_name(name).ok_or_else(|| corrupt(name));
    let fixed = |name: &str| {
        col(name)?
            .as_fixed_size_binary_opt()
            .ok_or_else(|| corrupt(name))
    };
    let int64 = |name: &str| {
        col(name)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt(name))
    };
    let int32 = |name: &str| {
        col(name)?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| corrupt(name))
    };
    let text = |name: &str| {
        col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| corrupt(name))
    };
    let blob = |name: &str| {
        col(name)?
            .as_binary_opt::<i32>()
            .ok_or_else(|| corrupt(name))
    };
    let (trace_ids, span_ids, parents) = (
        fixed("trace_id")?,
        fixed("span_id")?,
        fixed("parent_span_id")?,
    );
    let (starts, durations) = (int64("start_ns")?, int64("duration_ns")?);
    let (services, names) = (text("service_name")?, text("name")?);
    let (kinds, statuses) = (int32("kind")?, int32("status_code")?);
    let (spans, resource_col) = (blob("span")?, blob("resource")?);
    for i in 0..batch.num_rows() {
        let (Ok(trace_id), Ok(span_id), Ok(parent_span_id)) = (
            TraceId::try_from(trace_ids.value(i)),
            <[u8; 8]>::try_from(span_ids.value(i)),
            <[u8; 8]>::try_from(parents.value(i)),
        ) else {
            return Err(corrupt("trace_id"));
        };
        let start_ns = starts.value(i);
        if !keep(&trace_id, start_ns) {
            continue;
        }
        let raw = resource_col.value(i);
        let resource = match resources.get(raw) {
            Some(r) => r.clone(),
            None => {
                let r = Bytes::copy_from_slice(raw);
                resources.insert(r.clone());
                r
            }
        };
        out.push(SpanRow {
            trace_id,
            span_id,
            parent_span_id,
            start_ns,
            duration_ns: durations.value(i),
            service_name: services.value(i).to_owned(),
            name: names.value(i).to_owned(),
            kind: kinds.value(i),
            status_code: statuses.value(i),
            span: Bytes::copy_from_slice(spans.value(i)),
            resource,
        });
    }
    debug_assert!(trace_ids.len() == batch.num_rows());
    Ok(())
}
