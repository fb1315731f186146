//! Consistent read views over heads and parts.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, UInt64Array};
use arrow::record_batch::RecordBatch;

use super::MetricsEngine;
use crate::error::Result;
use crate::head::Head;
use crate::model::MetricMetadata;
use crate::part::{PartMeta, samples_schema};

/// What a reader sees at one instant: parts plus the heads not yet in them.
/// Every sample appears in exactly one of the two.
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    /// Live parts.
    pub parts: Arc<Vec<PartMeta>>,
    /// Frozen and active heads.
    pub heads: Vec<Arc<Head>>,
}

impl MetricsEngine {
    /// Takes a consistent view for one query.
    pub fn snapshot(&self) -> MetricsSnapshot {
        // Lock order: parts, active, frozen; a flush swaps heads holding
        // active and frozen, and publishes parts holding parts and frozen,
        // so each sample is in exactly one of the places read here.
        let parts = self.parts.read();
        let active = self.active.read();
        let frozen = self.frozen.read();
        let mut heads = vec![Arc::clone(&active)];
        heads.extend(frozen.iter().cloned());
        MetricsSnapshot {
            parts: Arc::clone(&parts),
            heads,
        }
    }

    /// Metadata by metric family name.
    pub fn metadata(&self) -> BTreeMap<String, Vec<MetricMetadata>> {
        self.metadata.read().clone()
    }
}

impl MetricsSnapshot {
    /// Head samples as record batches with the parts' samples schema.
    pub fn head_batches(&self) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for head in &self.heads {
            let mut ids = Vec::new();
            let mut ts = Vec::new();
            let mut values = Vec::new();
            for s in head.snapshot(i64::MIN, i64::MAX) {
                ids.extend(std::iter::repeat_n(s.entry.id, s.ts.len()));
                ts.extend_from_slice(&s.ts);
                values.extend_from_slice(&s.values);
            }
            if ids.is_empty() {
                continue;
            }
            let columns: Vec<ArrayRef> = vec![
                Arc::new(UInt64Array::from(ids)),
                Arc::new(Int64Array::from(ts)),
                Arc::new(Float64Array::from(values)),
            ];
            out.push(RecordBatch::try_new(samples_schema(), columns)?);
        }
        Ok(out)
    }
}
