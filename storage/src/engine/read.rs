//! Consistent read views over heads and parts.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::MetricsEngine;
use crate::head::Head;
use crate::model::MetricMetadata;
use crate::part::PartMeta;

/// What a reader sees at one instant: parts plus the heads not yet in them.
/// Every sample appears in exactly one of the two.
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    /// Live parts.
    pub parts: Arc<Vec<PartMeta>>,
    /// Heads, newest last: frozen ones in the order they were frozen, then
    /// the active one. Later heads win an equal (series, timestamp).
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
        let mut heads: Vec<Arc<Head>> = frozen.iter().cloned().collect();
        heads.push(Arc::clone(&active));
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
