//! The service and operation table (DESIGN §2's "small service and
//! operation tables"): one row per (service, span name) with the span-start
//! bounds and the longest duration seen. The head keeps one, each part
//! stores one as `names.parquet`, and the engine keeps every part's in
//! memory, so Grafana's drop-downs and a scan's first pruning step never
//! touch span data.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, UInt64Type};
use object_store::path::Path as ObjectPath;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::read::SpanFilter;
use crate::error::{Error, Result};
use crate::object_store::DataStore;
use crate::part::writer::{encode_small_file, parquet_err};
use crate::traces_model::SpanRow;

/// One (service, span name) pair and what its spans span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRow {
    /// `service.name` of the spans' resource.
    pub service_name: String,
    /// Span name.
    pub name: String,
    /// Earliest span start (ns).
    pub min_start_ns: i64,
    /// Latest span start (ns).
    pub max_start_ns: i64,
    /// Longest span duration (ns), so a minimum-duration search can skip a
    /// part none of whose spans is long enough.
    pub max_duration_ns: i64,
    /// Spans counted.
    pub spans: u64,
}

impl NameRow {
    fn overlaps(&self, range: Option<(i64, i64)>) -> bool {
        range.is_none_or(|(start, end)| self.max_start_ns >= start && self.min_start_ns <= end)
    }

    fn absorb(&mut self, other: &NameRow) {
        self.min_start_ns = self.min_start_ns.min(other.min_start_ns);
        self.max_start_ns = self.max_start_ns.max(other.max_start_ns);
        self.max_duration_ns = self.max_duration_ns.max(other.max_duration_ns);
        self.spans += other.spans;
    }
}

/// Builds a names table span by span. Keyed service first so that a
/// lookup borrows the span's strings instead of allocating a key.
#[derive(Debug, Default)]
pub struct NamesBuilder {
    by_service: HashMap<String, HashMap<String, NameRow>>,
}

impl NamesBuilder {
    /// Counts one span.
    pub fn add(&mut self, span: &SpanRow) {
        let row = NameRow {
            service_name: String::new(),
            name: String::new(),
            min_start_ns: span.start_ns,
            max_start_ns: span.start_ns,
            max_duration_ns: span.duration_ns,
            spans: 1,
        };
        self.add_row(&span.service_name, &span.name, &row);
    }

    fn add_row(&mut self, service: &str, name: &str, row: &NameRow) {
        let names = match self.by_service.get_mut(service) {
            Some(names) => names,
            None => self.by_service.entry(service.to_owned()).or_default(),
        };
        match names.get_mut(name) {
            Some(existing) => existing.absorb(row),
            None => {
                let mut row = row.clone();
                row.service_name = service.to_owned();
                row.name = name.to_owned();
                names.insert(name.to_owned(), row);
            }
        }
    }

    /// Distinct (service, name) pairs counted.
    pub fn len(&self) -> usize {
        self.by_service.values().map(HashMap::len).sum()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.by_service.is_empty()
    }

    /// The table, sorted by service then name.
    pub fn rows(&self) -> Vec<NameRow> {
        let mut rows: Vec<NameRow> = self
            .by_service
            .values()
            .flat_map(|names| names.values().cloned())
            .collect();
        rows.sort_by(|a, b| (&a.service_name, &a.name).cmp(&(&b.service_name, &b.name)));
        rows
    }
}

/// Services with spans starting in `range` (all when `None`), added to `out`.
pub fn services_into(rows: &[NameRow], range: Option<(i64, i64)>, out: &mut Vec<String>) {
    out.extend(
        rows.iter()
            .filter(|r| r.overlaps(range))
            .map(|r| r.service_name.clone()),
    );
}

/// Span names of `service` (of every service when `None`) with spans
/// starting in `range`, added to `out`.
pub fn span_names_into(
    rows: &[NameRow],
    service: Option<&str>,
    range: Option<(i64, i64)>,
    out: &mut Vec<String>,
) {
    out.extend(
        rows.iter()
            .filter(|r| r.overlaps(range) && service.is_none_or(|s| r.service_name == s))
            .map(|r| r.name.clone()),
    );
}

/// False when no span of a part with this table can pass `filter` with a
/// start in `[start, end]`: the part need not be opened.
pub fn may_match(rows: &[NameRow], start: i64, end: i64, filter: &SpanFilter) -> bool {
    rows.iter().any(|r| {
        r.overlaps(Some((start, end)))
            && filter.matches_names(&r.service_name, &r.name)
            && filter
                .min_duration_ns
                .is_none_or(|d| r.max_duration_ns >= d)
    })
}

fn names_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("service_name", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("min_start_ns", DataType::Int64, false),
            Field::new("max_start_ns", DataType::Int64, false),
            Field::new("max_duration_ns", DataType::Int64, false),
            Field::new("spans", DataType::UInt64, false),
        ]))
    });
    Arc::clone(&SCHEMA)
}

/// Encodes a names table as a whole Parquet file.
pub fn encode_names(rows: &[NameRow], path: &ObjectPath) -> Result<Vec<u8>> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.service_name),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.name))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.min_start_ns),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.max_start_ns),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.max_duration_ns),
        )),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.spans))),
    ];
    let batch = RecordBatch::try_new(names_schema(), columns)?;
    encode_small_file(&batch, path)
}

/// Reads a part's names table.
pub async fn read_names(store: &DataStore, path: &ObjectPath) -> Result<Vec<NameRow>> {
    let corrupt = |message: &str| Error::CorruptPart {
        path: path.to_string(),
        message: message.to_owned(),
    };
    let bytes = store
        .get_opt(path)
        .await?
        .ok_or_else(|| corrupt("missing"))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(parquet_err(path))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| corrupt(&format!("{name} is not a string column")))
        };
        let int = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| corrupt(&format!("{name} is not an i64 column")))
        };
        let (services, names) = (text("service_name")?, text("name")?);
        let (min, max, dur) = (
            int("min_start_ns")?,
            int("max_start_ns")?,
            int("max_duration_ns")?,
        );
        let spans = batch
            .column_by_name("spans")
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| corrupt("spans is not a u64 column"))?;
        for i in 0..batch.num_rows() {
            rows.push(NameRow {
                service_name: services.value(i).to_owned(),
                name: names.value(i).to_owned(),
                min_start_ns: min.value(i),
                max_start_ns: max.value(i),
                max_duration_ns: dur.value(i),
                spans: spans.value(i),
            });
        }
        debug_assert_eq!(services.len(), batch.num_rows());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(service: &str, name: &str, start: i64, duration: i64) -> SpanRow {
        SpanRow {
            trace_id: [1; 16],
            span_id: [1; 8],
            parent_span_id: [0; 8],
            start_ns: start,
            duration_ns: duration,
            service_name: service.into(),
            name: name.into(),
            kind: 0,
            status_code: 0,
            span: bytes::Bytes::new(),
            resource: bytes::Bytes::new(),
        }
    }

    #[tokio::test]
    async fn table_counts_bounds_and_survives_a_round_trip() {
        let mut b = NamesBuilder::default();
        b.add(&span("api", "GET", 10, 5));
        b.add(&span("api", "GET", 30, 50));
        b.add(&span("db", "query", 20, 1));
        let rows = b.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].min_start_ns,
                rows[0].max_start_ns,
                rows[0].max_duration_ns
            ),
            (10, 30, 50)
        );
        let store = DataStore::in_memory();
        let path = ObjectPath::from("t/names.parquet");
        let buf = encode_names(&rows, &path).unwrap();
        store.put_durable(&path, buf.into()).await.unwrap();
        assert_eq!(read_names(&store, &path).await.unwrap(), rows);

        let mut out = Vec::new();
        services_into(&rows, Some((25, 40)), &mut out);
        assert_eq!(out, vec!["api".to_string()]);
        out.clear();
        span_names_into(&rows, Some("db"), None, &mut out);
        assert_eq!(out, vec!["query".to_string()]);
        let mut f = SpanFilter::new(10);
        f.min_duration_ns = Some(51);
        assert!(!may_match(&rows, 0, 100, &f));
        f.min_duration_ns = Some(50);
        assert!(may_match(&rows, 0, 100, &f));
        f.service_names = Some(vec!["db".into()]);
        assert!(!may_match(&rows, 0, 100, &f));
    }
}
