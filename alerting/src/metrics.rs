//! The rule manager's metrics: the `hearth_rule_*` counterparts of
//! Prometheus' `prometheus_rule_*`, with the same `rule_group` label
//! (`<file>;<group>`), so dashboards translate by renaming.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type GroupLabel = Vec<(String, String)>;

/// Evaluation counters and timings per rule group.
#[derive(Clone, Debug, Default)]
pub struct RuleMetrics {
    evaluations: Family<GroupLabel, Counter>,
    failures: Family<GroupLabel, Counter>,
    last_evaluation: Family<GroupLabel, Gauge<f64, AtomicU64>>,
    last_duration: Family<GroupLabel, Gauge<f64, AtomicU64>>,
    rules: Family<GroupLabel, Gauge>,
}

fn group(file: &str, name: &str) -> GroupLabel {
    vec![("rule_group".to_string(), format!("{file};{name}"))]
}

impl RuleMetrics {
    /// Registers the metrics.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "hearth_rule_evaluations",
            "Rule evaluations, by group.",
            m.evaluations.clone(),
        );
        registry.register(
            "hearth_rule_evaluation_failures",
            "Rule evaluations that failed, by group.",
            m.failures.clone(),
        );
        registry.register(
            "hearth_rule_group_last_evaluation_timestamp_seconds",
            "When each group was last evaluated.",
            m.last_evaluation.clone(),
        );
        registry.register(
            "hearth_rule_group_last_duration_seconds",
            "How long each group's last evaluation took.",
            m.last_duration.clone(),
        );
        registry.register(
            "hearth_rule_group_rules",
            "Rules per group.",
            m.rules.clone(),
        );
        m
    }

    /// Records one group evaluation.
    pub fn evaluated(
        &self,
        file: &str,
        name: &str,
        ts_ms: i64,
        seconds: f64,
        rules: usize,
        failed: usize,
    ) {
        let g = group(file, name);
        self.evaluations.get_or_create(&g).inc_by(rules as u64);
        self.failures.get_or_create(&g).inc_by(failed as u64);
        self.last_evaluation
            .get_or_create(&g)
            .set(ts_ms as f64 / 1000.0);
        self.last_duration.get_or_create(&g).set(seconds);
    }

    /// Sets the groups loaded, forgetting the ones that went away.
    pub fn loaded(&self, groups: &[(String, String, usize)]) {
        self.rules.clear();
        self.last_evaluation.clear();
        self.last_duration.clear();
        for (file, name, count) in groups {
            let _ = self
                .rules
                .get_or_create(&group(file, name))
                .set(*count as i64);
        }
    }
}
