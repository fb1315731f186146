//! The `samples` table: every metric sample in heads and parts, as
//! DataFusion sees it. Filters on `series_id` and `ts` are pushed into the
//! scan, which reads only the chosen series (pages pruned by the parts'
//! page index) in the time range (parts pruned by the manifest), so SQL and
//! PromQL selectors read through the same code and see the same samples.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt64Array};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;
use hearth_storage::part::samples_schema;
use hearth_storage::postings::SeriesEntry;
use hearth_storage::{MetricsEngine, MetricsSnapshot};

/// Series read per batch of the scan.
const SERIES_PER_BATCH: usize = 1024;

/// What the pushed-down filters ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleFilter {
    /// Only these series (sorted, unique), or all.
    pub ids: Option<Vec<u64>>,
    /// Earliest timestamp (inclusive).
    pub mint: i64,
    /// Latest timestamp (inclusive).
    pub maxt: i64,
}

impl Default for SampleFilter {
    fn default() -> Self {
        Self {
            ids: None,
            mint: i64::MIN,
            maxt: i64::MAX,
        }
    }
}

fn literal_i128(e: &Expr) -> Option<i128> {
    let Expr::Literal(v, _) = e else { return None };
    match v {
        ScalarValue::Int64(Some(x)) => Some(i128::from(*x)),
        ScalarValue::UInt64(Some(x)) => Some(i128::from(*x)),
        ScalarValue::Int32(Some(x)) => Some(i128::from(*x)),
        ScalarValue::UInt32(Some(x)) => Some(i128::from(*x)),
        _ => None,
    }
}

fn column_name(e: &Expr) -> Option<&str> {
    match e {
        // Casts are not looked through: a narrowing cast changes which
        // rows a comparison keeps.
        Expr::Column(c) => Some(c.name.as_str()),
        _ => None,
    }
}

fn flip(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::Eq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        _ => return None,
    })
}

impl SampleFilter {
    /// Narrows the filter by one conjunct; `false` when the conjunct is not
    /// one the scan applies exactly.
    fn apply(&mut self, e: &Expr) -> bool {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (col, op, value) = match (column_name(left), column_name(right)) {
                    (Some(c), None) => (c, *op, literal_i128(right)),
                    (None, Some(c)) => match flip(*op) {
                        Some(op) => (c, op, literal_i128(left)),
                        None => return false,
                    },
                    _ => return false,
                };
                let Some(v) = value else { return false };
                match (col, op) {
                    ("series_id", Operator::Eq) => {
                        let ids = u64::try_from(v).map(|id| vec![id]).unwrap_or_default();
                        self.restrict_ids(ids);
                        true
                    }
                    ("ts", Operator::Gt) => self.after(v.saturating_add(1)),
                    ("ts", Operator::GtEq) => self.after(v),
                    ("ts", Operator::Lt) => self.before(v.saturating_sub(1)),
                    ("ts", Operator::LtEq) => self.before(v),
                    ("ts", Operator::Eq) => self.after(v) && self.before(v),
                    _ => false,
                }
            }
            Expr::InList(list) if !list.negated && column_name(&list.expr) == Some("series_id") => {
                let mut ids = Vec::with_capacity(list.list.len());
                for item in &list.list {
                    match literal_i128(item) {
                        Some(v) => {
                            if let Ok(id) = u64::try_from(v) {
                                ids.push(id);
                            }
                        }
                        None => return false,
                    }
                }
                self.restrict_ids(ids);
                true
            }
            Expr::Between(b) if !b.negated && column_name(&b.expr) == Some("ts") => {
                match (literal_i128(&b.low), literal_i128(&b.high)) {
                    (Some(lo), Some(hi)) => self.after(lo) && self.before(hi),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Whether `e` is a filter the scan applies exactly.
    fn supports(e: &Expr) -> bool {
        SampleFilter::default().apply(e)
    }

    fn restrict_ids(&mut self, mut ids: Vec<u64>) {
        ids.sort_unstable();
        ids.dedup();
        self.ids = Some(match self.ids.take() {
            None => ids,
            Some(prev) => prev
                .into_iter()
                .filter(|id| ids.binary_search(id).is_ok())
                .collect(),
        });
    }

    fn after(&mut self, t: i128) -> bool {
        let t = t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        self.mint = self.mint.max(t);
        true
    }

    fn before(&mut self, t: i128) -> bool {
        let t = t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        self.maxt = self.maxt.min(t);
        true
    }
}

/// The `samples` table over one consistent snapshot of the engine.
#[derive(Debug, Clone)]
pub struct SamplesTable {
    engine: Arc<MetricsEngine>,
    snapshot: MetricsSnapshot,
}

impl SamplesTable {
    /// The table as the engine holds it now.
    pub fn new(engine: Arc<MetricsEngine>) -> Self {
        let snapshot = engine.snapshot();
        Self { engine, snapshot }
    }
}

#[async_trait]
impl TableProvider for SamplesTable {
    fn schema(&self) -> SchemaRef {
        samples_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if SampleFilter::supports(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut filter = SampleFilter::default();
        for f in filters {
            filter.apply(f);
        }
        Ok(Arc::new(SampleScanExec::new(
            Arc::clone(&self.engine),
            self.snapshot.clone(),
            filter,
            projection.cloned(),
        )?))
    }
}

/// Reads samples of chosen series in a time range from heads and parts,
/// a batch per [`SERIES_PER_BATCH`] series, sorted by series then time.
#[derive(Debug)]
pub struct SampleScanExec {
    /// The engine (index and store).
    engine: Arc<MetricsEngine>,
    /// Parts and heads to read.
    snapshot: MetricsSnapshot,
    /// Series and time bounds to read.
    filter: SampleFilter,
    /// Output columns, by index into the samples schema.
    projection: Option<Vec<usize>>,
    /// Output schema after projection.
    schema: SchemaRef,
    /// Cached plan properties.
    cache: Arc<PlanProperties>,
}

impl SampleScanExec {
    /// A scan of `filter` over `snapshot`.
    pub fn new(
        engine: Arc<MetricsEngine>,
        snapshot: MetricsSnapshot,
        filter: SampleFilter,
        projection: Option<Vec<usize>>,
    ) -> DfResult<Self> {
        let full = samples_schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        let cache = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Self {
            engine,
            snapshot,
            filter,
            projection,
            schema,
            cache,
        })
    }

    /// The series the scan reads, sorted by id.
    fn entries(&self) -> Vec<Arc<SeriesEntry>> {
        let index = self.engine.index();
        let (mint, maxt) = (self.filter.mint, self.filter.maxt);
        let mut entries: Vec<Arc<SeriesEntry>> = match &self.filter.ids {
            Some(ids) => ids.iter().filter_map(|&id| index.get(id)).collect(),
            None => index.all(),
        };
        entries.retain(|e| e.overlaps(mint, maxt));
        entries.sort_unstable_by_key(|e| e.id);
        entries
    }
}

impl DisplayAs for SampleScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let series = self
            .filter
            .ids
            .as_ref()
            .map_or("all".to_owned(), |ids| ids.len().to_string());
        write!(
            f,
            "SampleScanExec: series={series}, ts=[{}, {}], parts={}",
            self.filter.mint,
            self.filter.maxt,
            self.snapshot.parts.len()
        )
    }
}

fn to_batch(
    series: Vec<hearth_storage::SelectedSeries>,
    projection: &Option<Vec<usize>>,
) -> DfResult<RecordBatch> {
    let rows: usize = series.iter().map(|s| s.ts.len()).sum();
    let mut ids = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows);
    for s in series {
        ids.extend(std::iter::repeat_n(s.entry.id, s.ts.len()));
        ts.extend(s.ts);
        values.extend(s.values);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(ids)),
        Arc::new(Int64Array::from(ts)),
        Arc::new(Float64Array::from(values)),
    ];
    let batch = RecordBatch::try_new(samples_schema(), columns)?;
    Ok(match projection {
        Some(p) => batch.project(p)?,
        None => batch,
    })
}

impl ExecutionPlan for SampleScanExec {
    fn name(&self) -> &str {
        "SampleScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.cache
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let chunks: Vec<Vec<Arc<SeriesEntry>>> = self
            .entries()
            .chunks(SERIES_PER_BATCH)
            .map(<[_]>::to_vec)
            .collect();
        let engine = Arc::clone(&self.engine);
        let snapshot = self.snapshot.clone();
        let (mint, maxt) = (self.filter.mint, self.filter.maxt);
        let projection = self.projection.clone();
        let stream = futures::stream::iter(chunks).then(move |chunk| {
            let engine = Arc::clone(&engine);
            let snapshot = snapshot.clone();
            let projection = projection.clone();
            async move {
                let series = snapshot
                    .read(engine.store(), chunk, mint, maxt)
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                to_batch(series, &projection)
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    #[test]
    fn filters_narrow_series_and_time() {
        let mut f = SampleFilter::default();
        assert!(f.apply(&col("series_id").in_list(vec![lit(3u64), lit(1u64)], false)));
        assert!(f.apply(&col("ts").gt(lit(10i64))));
        assert!(f.apply(&lit(20i64).gt_eq(col("ts"))));
        assert!(f.apply(&col("series_id").eq(lit(3u64))));
        assert_eq!(
            f,
            SampleFilter {
                ids: Some(vec![3]),
                mint: 11,
                maxt: 20
            }
        );
        assert!(!f.apply(&col("value").gt(lit(1.0))));
        assert!(!f.apply(&col("series_id").in_list(vec![lit(1u64)], true)));
    }
}
