//! Ingest self-metrics: what was accepted and what was refused, by reason.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// `signal` and `reason` labels.
pub type ReasonLabels = Vec<(&'static str, &'static str)>;

/// Counters shared by every ingest route.
#[derive(Clone, Debug, Default)]
pub struct IngestMetrics {
    /// Samples stored, by signal.
    pub samples_ingested: Family<ReasonLabels, Counter>,
    /// Samples refused, by signal and reason.
    pub samples_rejected: Family<ReasonLabels, Counter>,
    /// Exemplars stored.
    pub exemplars_ingested: Counter,
    /// Bytes of log lines stored.
    pub log_bytes_ingested: Counter,
}

impl IngestMetrics {
    /// Creates the counters and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "hearth_samples_ingested",
            "Samples stored",
            m.samples_ingested.clone(),
        );
        registry.register(
            "hearth_samples_rejected",
            "Samples refused, by reason",
            m.samples_rejected.clone(),
        );
        registry.register(
            "hearth_exemplars_ingested",
            "Exemplars stored",
            m.exemplars_ingested.clone(),
        );
        registry.register(
            "hearth_log_bytes_ingested",
            "Bytes of log lines stored",
            m.log_bytes_ingested.clone(),
        );
        m
    }

    /// Counts stored samples.
    pub fn ingested(&self, signal: &'static str, n: usize) {
        if n > 0 {
            self.samples_ingested
                .get_or_create(&vec![("signal", signal)])
                .inc_by(n as u64);
        }
    }

    /// Counts refused samples.
    pub fn rejected(&self, signal: &'static str, reason: &'static str, n: usize) {
        if n > 0 {
            self.samples_rejected
                .get_or_create(&vec![("signal", signal), ("reason", reason)])
                .inc_by(n as u64);
        }
    }
}
