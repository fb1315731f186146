//! The notifier's Prometheus metrics.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::receiver::INTEGRATION_NAMES;
use super::silence::SilenceState;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Counters and gauges, registered once per notifier.
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    notifications: Family<Labels, Counter>,
    notifications_failed: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    requests_failed: Family<Labels, Counter>,
    alerts: Family<Labels, Gauge>,
    silences: Family<Labels, Gauge>,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "hearth_notifications",
            "Notifications attempted, by integration type.",
            m.notifications.clone(),
        );
        registry.register(
            "hearth_notifications_failed",
            "Notifications that finally failed, by integration type and reason.",
            m.notifications_failed.clone(),
        );
        registry.register(
            "hearth_notification_requests",
            "HTTP requests made to integrations, retries included.",
            m.requests.clone(),
        );
        registry.register(
            "hearth_notification_requests_failed",
            "HTTP requests to integrations that failed.",
            m.requests_failed.clone(),
        );
        registry.register(
            "hearth_alertmanager_alerts",
            "Alerts held by the notifier, by state.",
            m.alerts.clone(),
        );
        registry.register("hearth_silences", "Silences by state.", m.silences.clone());
        // Present every series from the start so rate() works on the first failure.
        for name in INTEGRATION_NAMES {
            let _ = m
                .notifications
                .get_or_create(&labels(&[("integration", name)]));
            let _ = m.requests.get_or_create(&labels(&[("integration", name)]));
            let _ = m
                .requests_failed
                .get_or_create(&labels(&[("integration", name)]));
        }
        m
    }

    pub fn notification(&self, integration: &str) {
        self.notifications
            .get_or_create(&labels(&[("integration", integration)]))
            .inc();
    }

    pub fn notification_failed(&self, integration: &str, reason: &str) {
        self.notifications_failed
            .get_or_create(&labels(&[("integration", integration), ("reason", reason)]))
            .inc();
    }

    pub fn request(&self, integration: &str, failed: bool) {
        let l = labels(&[("integration", integration)]);
        self.requests.get_or_create(&l).inc();
        if failed {
            self.requests_failed.get_or_create(&l).inc();
        }
    }

    pub fn set_alerts(&self, active: i64, suppressed: i64) {
        self.alerts
            .get_or_create(&labels(&[("state", "active")]))
            .set(active);
        self.alerts
            .get_or_create(&labels(&[("state", "suppressed")]))
            .set(suppressed);
    }

    pub fn set_silences(&self, counts: [(SilenceState, i64); 3]) {
        for (state, n) in counts {
            self.silences
                .get_or_create(&labels(&[("state", state.as_str())]))
                .set(n);
        }
    }
}
