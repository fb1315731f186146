//! Alertmanager's generic webhook: version 4 JSON payloads.

use std::collections::BTreeMap;

use reqwest::header::HeaderValue;
use serde::Serialize;

use super::{Notification, Outcome, SendError, auth_header, common, parse_http_url, post_payload};
use crate::notify::alert::{StoredAlert, ZERO_TIME, fingerprint_hex, format_time};
use crate::notify::config::WebhookConfig;
use crate::notify::matcher::quote_meta;

/// A compiled webhook target.
#[derive(Debug)]
pub(crate) struct WebhookTarget {
    url: url::Url,
    max_alerts: usize,
    auth: Option<HeaderValue>,
}

/// The payload; field names are Alertmanager's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Message {
    pub receiver: String,
    pub status: &'static str,
    pub alerts: Vec<TemplateAlert>,
    pub group_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: usize,
}

/// One alert in a payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateAlert {
    pub status: &'static str,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

pub(crate) fn status_word(firing: bool) -> &'static str {
    if firing { "firing" } else { "resolved" }
}

pub(crate) fn template_alert(a: &StoredAlert, now: i64) -> TemplateAlert {
    let resolved = a.resolved_at(now);
    TemplateAlert {
        status: status_word(!resolved),
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        starts_at: format_time(a.starts_at),
        // A firing alert's end is only a lease, which Alertmanager hides.
        ends_at: if resolved {
            format_time(a.ends_at)
        } else {
            ZERO_TIME.to_string()
        },
        generator_url: a.generator_url.clone(),
        fingerprint: fingerprint_hex(a.fingerprint),
    }
}

impl WebhookTarget {
    pub fn build(cfg: &WebhookConfig) -> Result<Self, String> {
        Ok(Self {
            url: parse_http_url(&cfg.url.0)?,
            max_alerts: cfg.max_alerts,
            auth: auth_header(cfg.http_config.as_ref())?,
        })
    }

    /// The payload, or `None` when filtering leaves nothing to send.
    pub fn message(&self, send_resolved: bool, n: &Notification) -> Option<Message> {
        let mut alerts = n.visible(send_resolved);
        if alerts.is_empty() {
            return None;
        }
        let total = alerts.len();
        if self.max_alerts > 0 {
            alerts.truncate(self.max_alerts);
        }
        // Status and common labels describe the alerts actually sent, as
        // Alertmanager computes them after truncating.
        let firing = alerts.iter().any(|a| !a.resolved_at(n.now));
        let common_labels = common(&alerts, |a| &a.labels);
        let common_annotations = common(&alerts, |a| &a.annotations);
        Some(Message {
            receiver: quote_meta(&n.receiver),
            status: status_word(firing),
            truncated_alerts: total - alerts.len(),
            alerts: alerts.iter().map(|a| template_alert(a, n.now)).collect(),
            group_labels: n.group_labels.clone(),
            common_labels,
            common_annotations,
            external_url: n.external_url.clone(),
            version: "4",
            group_key: n.group_key.clone(),
        })
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        send_resolved: bool,
        n: &Notification,
    ) -> Result<Outcome, SendError> {
        let Some(msg) = self.message(send_resolved, n) else {
            return Ok(Outcome::Skipped);
        };
        post_payload(client, &self.url, self.auth.as_ref(), &msg).await?;
        Ok(Outcome::Sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::alert::Alert;
    use crate::notify::config::Secret;

    fn alert(name: &str, ends_at: Option<i64>) -> StoredAlert {
        StoredAlert::from_alert(
            Alert {
                labels: [("alertname", "A"), ("instance", name)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                annotations: [("summary".to_string(), format!("{name} down"))].into(),
                starts_at: 1_000,
                ends_at,
                generator_url: "http://prom/graph".into(),
            },
            2_000,
        )
    }

    fn target(max_alerts: usize) -> WebhookTarget {
        WebhookTarget::build(&WebhookConfig {
            url: Secret("http://127.0.0.1:1/".into()),
            send_resolved: true,
            max_alerts,
            http_config: None,
        })
        .unwrap()
    }

    fn notification(alerts: Vec<StoredAlert>) -> Notification {
        Notification {
            receiver: "team.a".into(),
            group_key: "{}:{}".into(),
            group_labels: BTreeMap::new(),
            alerts,
            now: 3_000,
            external_url: "http://hearth".into(),
        }
    }

    #[test]
    fn truncation_and_resolved_filtering() {
        let n = notification(vec![
            alert("a", None),
            alert("b", Some(2_500)),
            alert("c", None),
        ]);
        let m = target(2).message(true, &n).unwrap();
        assert_eq!((m.alerts.len(), m.truncated_alerts), (2, 1));
        assert_eq!(m.receiver, r"team\.a");
        assert_eq!(m.status, "firing");
        assert_eq!(m.common_labels.len(), 1);
        assert!(m.common_annotations.is_empty());
        let m = target(0).message(false, &n).unwrap();
        assert_eq!(m.alerts.len(), 2);
        assert_eq!(m.alerts[0].ends_at, ZERO_TIME);
        let resolved_only = notification(vec![alert("b", Some(2_500))]);
        assert!(target(0).message(false, &resolved_only).is_none());
        let m = target(0).message(true, &resolved_only).unwrap();
        assert_eq!(m.status, "resolved");
        assert_eq!(m.alerts[0].ends_at, "1970-01-01T00:00:02.5Z");
    }

    #[test]
    fn truncated_payloads_describe_only_the_alerts_sent() {
        let n = notification(vec![alert("b", Some(2_500)), alert("a", None)]);
        let m = target(1).message(true, &n).unwrap();
        assert_eq!((m.alerts.len(), m.truncated_alerts), (1, 1));
        assert_eq!(m.status, "resolved");
        assert_eq!(
            m.common_labels.get("instance").map(String::as_str),
            Some("b")
        );
        assert_eq!(
            m.common_annotations.get("summary").map(String::as_str),
            Some("b down")
        );
    }
}
