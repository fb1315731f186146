//! Reads chosen series within a time range from one part. Rows are sorted by
//! series id, so the series-id bounds in the row-group statistics and the page
//! index say which pages can hold a wanted series; the `ts` bounds say which
//! can hold the time range. Only pages both allow are fetched and decoded,
//! then rows are filtered exactly.

use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, Int64Type, UInt64Type};
use futures::StreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection, RowSelector};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, RowGroupMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::Statistics;

use super::object_reader::ObjectFileReader;
use super::{PartMeta, SampleRun};
use crate::error::{Error, Result};
use crate::model::SeriesId;
use crate::object_store::DataStore;

/// Rows decoded per batch while selecting.
const BATCH_ROWS: usize = 16 * 1024;

/// True when some id of the sorted `ids` lies in `[min, max]`.
pub(crate) fn any_in(ids: &[SeriesId], min: SeriesId, max: SeriesId) -> bool {
    let first = ids.partition_point(|&id| id < min);
    ids.get(first).is_some_and(|&id| id <= max)
}

/// Series ids are u64 stored in Parquet's INT64 with an unsigned logical
/// type; statistics hold the same bits.
fn as_id(v: i64) -> SeriesId {
    v as u64
}

pub(crate) fn row_group_bounds(rg: &RowGroupMetaData, col: usize) -> Option<(i64, i64)> {
    match rg.column(col).statistics()? {
        Statistics::Int64(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

/// Which pages of one column to read, as row selectors covering the row
/// group; `wanted` sees each page's (min, max), `None` when unknown.
pub(crate) fn page_selection(
    meta: &ParquetMetaData,
    rg: usize,
    col: usize,
    wanted: impl Fn(Option<(i64, i64)>) -> bool,
) -> Vec<RowSelector> {
    let rg_wanted = wanted(row_group_bounds(meta.row_group(rg), col));
    select_pages(meta, rg, col, rg_wanted, |index, i| match index {
        ColumnIndexMetaData::INT64(index) => match (index.min_value(i), index.max_value(i)) {
            (Some(&min), Some(&max)) => wanted(Some((min, max))),
            _ => wanted(None),
        },
        _ => true,
    })
}

/// Like [`page_selection`] for a binary or fixed-size binary column, whose
/// bounds compare as bytes.
pub(crate) fn page_selection_bytes(
    meta: &ParquetMetaData,
    rg: usize,
    col: usize,
    wanted: impl Fn(Option<(&[u8], &[u8])>) -> bool,
) -> Vec<RowSelector> {
    let rg_bounds = match meta.row_group(rg).column(col).statistics() {
        Some(Statistics::FixedLenByteArray(s)) => s.min_bytes_opt().zip(s.max_bytes_opt()),
        Some(Statistics::ByteArray(s)) => s.min_bytes_opt().zip(s.max_bytes_opt()),
        _ => None,
    };
    select_pages(meta, rg, col, wanted(rg_bounds), |index, i| match index {
        ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(index)
        | ColumnIndexMetaData::BYTE_ARRAY(index) => {
            wanted(index.min_value(i).zip(index.max_value(i)))
        }
        _ => true,
    })
}

/// Row selectors for one row group: all skipped unless `rg_wanted`, else
/// page by page as `page_wanted` says, or all selected when the file has no
/// page index for the column.
fn select_pages(
    meta: &ParquetMetaData,
    rg: usize,
    col: usize,
    rg_wanted: bool,
    page_wanted: impl Fn(&ColumnIndexMetaData, usize) -> bool,
) -> Vec<RowSelector> {
    let rows = meta.row_group(rg).num_rows() as usize;
    if !rg_wanted {
        return vec![RowSelector::skip(rows)];
    }
    let pages = meta
        .offset_index()
        .and_then(|o| o.get(rg))
        .and_then(|c| c.get(col))
        .map(|o| o.page_locations());
    let index = meta
        .column_index()
        .and_then(|c| c.get(rg))
        .and_then(|c| c.get(col));
    let (Some(pages), Some(index)) = (pages, index) else {
        return vec![RowSelector::select(rows)];
    };
    if matches!(index, ColumnIndexMetaData::NONE) {
        return vec![RowSelector::select(rows)];
    }
    let mut out = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let start = page.first_row_index as usize;
        let end = pages
            .get(i + 1)
            .map_or(rows, |next| next.first_row_index as usize);
        out.push(if page_wanted(index, i) {
            RowSelector::select(end - start)
        } else {
            RowSelector::skip(end - start)
        });
    }
    out
}

/// The samples of `ids` (sorted, unique) with `mint <= ts <= maxt` in the
/// part, one run per series that has any, in id order.
pub async fn read_selected(
    store: &DataStore,
    signal: &str,
    meta: &PartMeta,
    ids: &[SeriesId],
    mint: i64,
    maxt: i64,
) -> Result<Vec<SampleRun>> {
    if ids.is_empty() || meta.max_ts < mint || meta.min_ts > maxt {
        return Ok(Vec::new());
    }
    let path = meta.samples_path(signal);
    let parquet_err = |source| Error::Parquet {
        path: path.to_string(),
        source,
    };
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
    .map_err(parquet_err)?;
    let parquet_meta = std::sync::Arc::clone(builder.metadata());
    let column = |name: &str| {
        parquet_meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| corrupt(&format!("missing column {name}")))
    };
    let (id_col, ts_col) = (column("series_id")?, column("ts")?);
    let (mut by_id, mut by_time) = (Vec::new(), Vec::new());
    for rg in 0..parquet_meta.num_row_groups() {
        by_id.extend(page_selection(&parquet_meta, rg, id_col, |b| {
            b.is_none_or(|(min, max)| any_in(ids, as_id(min), as_id(max)))
        }));
        by_time.extend(page_selection(&parquet_meta, rg, ts_col, |b| {
            b.is_none_or(|(min, max)| min <= maxt && max >= mint)
        }));
    }
    let selection = RowSelection::from(by_id).intersection(&RowSelection::from(by_time));
    if !selection.selects_any() {
        return Ok(Vec::new());
    }
    let mut stream = builder
        .with_row_selection(selection)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err)?;

    let mut runs: Vec<SampleRun> = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(parquet_err)?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| corrupt(&format!("missing column {name}")))
        };
        let row_ids = column("series_id")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| corrupt("series_id is not u64"))?
            .values();
        let ts = column("ts")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| corrupt("ts is not i64"))?
            .values();
        let values = column("value")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| corrupt("value is not f64"))?
            .values();
        let mut row = 0;
        while row < row_ids.len() {
            let id = row_ids[row];
            let end = row + row_ids[row..].partition_point(|&x| x == id);
            if ids.binary_search(&id).is_ok() {
                let from = row + ts[row..end].partition_point(|&t| t < mint);
                let to = row + ts[row..end].partition_point(|&t| t <= maxt);
                if from < to {
                    if runs.last().is_none_or(|r| r.id != id) {
                        runs.push(SampleRun {
                            id,
                            ..SampleRun::default()
                        });
                    }
                    if let Some(run) = runs.last_mut() {
                        run.ts.extend_from_slice(&ts[from..to]);
                        run.values.extend_from_slice(&values[from..to]);
                    }
                }
            }
            row = end;
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_in_checks_sorted_ids_against_bounds() {
        let ids = [3, 10, 20];
        assert!(any_in(&ids, 0, 3));
        assert!(any_in(&ids, 11, 20));
        assert!(!any_in(&ids, 4, 9));
        assert!(!any_in(&ids, 21, u64::MAX));
        assert!(!any_in(&[], 0, u64::MAX));
    }
}
