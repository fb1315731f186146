//! SQL over the stored metrics: one DataFusion session per statement with the
//! tables `samples` (head + parts), `series` and the view `labeled_samples`.

pub mod handler;

use std::sync::Arc;

use arrow::array::{ArrayRef, MapBuilder, RecordBatch, StringArray, StringBuilder, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use hearth_storage::MetricsEngine;
use hearth_storage::part::labels_field;
use hearth_storage::postings::SeriesEntry;

use crate::error::ApiError;
use crate::table::SamplesTable;

/// Schema of the `series` table.
pub fn series_table_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("metric_name", DataType::Utf8, false),
        labels_field(),
    ]))
}

fn series_batch(entries: &[Arc<SeriesEntry>]) -> Result<RecordBatch, ApiError> {
    let mut labels = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for e in entries {
        for (n, v) in &e.labels {
            labels.keys().append_value(n);
            labels.values().append_value(v);
        }
        labels
            .append(true)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(entries.iter().map(|e| e.id).collect::<UInt64Array>()),
        Arc::new(
            entries
                .iter()
                .map(|e| Some(e.metric_name()))
                .collect::<StringArray>(),
        ),
        Arc::new(labels.finish()),
    ];
    RecordBatch::try_new(series_table_schema(), columns)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn df_err(e: datafusion::error::DataFusionError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Builds a session over a consistent snapshot of the engine.
pub async fn session(
    engine: &Arc<MetricsEngine>,
    memory_limit: usize,
) -> Result<SessionContext, ApiError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(memory_limit)))
        .build_arc()
        .map_err(df_err)?;
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    // Heads and parts through the same scan PromQL selectors use, so both
    // languages see the same samples (newest write wins an equal timestamp).
    ctx.register_table("samples", Arc::new(SamplesTable::new(Arc::clone(engine))))
        .map_err(df_err)?;

    let series = series_batch(&engine.index().all())?;
    ctx.register_table(
        "series",
        Arc::new(MemTable::try_new(series_table_schema(), vec![vec![series]]).map_err(df_err)?),
    )
    .map_err(df_err)?;
    ctx.sql(
        "CREATE VIEW labeled_samples AS \
         SELECT s.series_id, r.metric_name, r.labels, s.ts, s.value \
         FROM samples s JOIN series r ON s.series_id = r.series_id",
    )
    .await
    .map_err(df_err)?;
    Ok(ctx)
}
