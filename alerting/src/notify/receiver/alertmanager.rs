//! Forwarding to an external Alertmanager through its v2 API, the way
//! Prometheus itself sends alerts.

use std::collections::BTreeMap;

use reqwest::header::HeaderValue;
use serde::Serialize;

use super::{SendError, auth_header, parse_http_url, post_payload};
use crate::notify::alert::{StoredAlert, format_time};
use crate::notify::config::AlertmanagerConfig;

/// A compiled forwarding target.
#[derive(Debug)]
pub(crate) struct AlertmanagerTarget {
    endpoint: url::Url,
    auth: Option<HeaderValue>,
}

/// An alert in Alertmanager's postable form.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForwardedAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

impl ForwardedAlert {
    /// The end is passed on as received; an alert that came without one
    /// goes without one, so the external Alertmanager applies its own
    /// resolve timeout while re-sends keep it alive.
    pub fn new(a: &StoredAlert, now: i64) -> Self {
        let ends_at = (!a.timeout || a.resolved_at(now)).then(|| format_time(a.ends_at));
        Self {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: format_time(a.starts_at),
            ends_at,
            generator_url: a.generator_url.clone(),
        }
    }
}

impl AlertmanagerTarget {
    pub fn build(cfg: &AlertmanagerConfig) -> Result<Self, String> {
        let base = parse_http_url(&cfg.url)?;
        let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
        let mut endpoint = base;
        endpoint.set_path(&path);
        Ok(Self {
            endpoint,
            auth: auth_header(cfg.http_config.as_ref())?,
        })
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        alerts: &[ForwardedAlert],
    ) -> Result<(), SendError> {
        post_payload(client, &self.endpoint, self.auth.as_ref(), &alerts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_the_v2_alerts_api() {
        let mk = |u: &str| {
            AlertmanagerTarget::build(&AlertmanagerConfig {
                url: u.into(),
                send_resolved: true,
                http_config: None,
            })
            .unwrap()
            .endpoint
            .to_string()
        };
        assert_eq!(
            mk("http://127.0.0.1:9093"),
            "http://127.0.0.1:9093/api/v2/alerts"
        );
        assert_eq!(mk("http://h/am/"), "http://h/am/api/v2/alerts");
    }
}
