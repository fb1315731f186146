//! The notifications configuration: a subset of Alertmanager's YAML with
//! the same field names, plus Hearth's `resend_delay`. Unknown fields are
//! rejected so a typo never silently disables paging.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::NotifyError;
use super::inhibit::InhibitRule;
use super::receiver::Receiver;
use super::route::RouteTree;
use crate::duration::PromDuration;

/// Default for `resend_delay`.
const DEFAULT_RESEND_DELAY_MS: i64 = 60_000;

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A credential. It deserializes from a plain string but never prints:
/// `Debug` and serialization (used by `/api/v2/status`) show `<secret>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// The whole notifications section. The default has no receivers, so
/// alerts are accepted and shown but nothing is sent.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// How often alerts are re-sent to `alertmanager_configs` targets
    /// (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_delay: Option<PromDuration>,
    /// The routing tree.
    #[serde(default)]
    pub route: RouteConfig,
    /// Named receivers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<ReceiverConfig>,
    /// Inhibition rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
}

/// A node of the routing tree. Unset options are inherited from the
/// parent; the root falls back to 30s / 5m / 4h and no grouping.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Labels to group by; `['...']` groups by every label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Wait before a new group's first notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<PromDuration>,
    /// Wait between notifications about changes to a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<PromDuration>,
    /// Wait before repeating an unchanged notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<PromDuration>,
    /// Matchers in Alertmanager syntax; one item may hold several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Legacy equality matchers.
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_eq: BTreeMap<String, String>,
    /// Legacy regex matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_re: BTreeMap<String, String>,
    /// Keep looking at later siblings after this route matched.
    #[serde(default, rename = "continue", skip_serializing_if = "is_false")]
    pub continue_matching: bool,
    /// Child routes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
}

/// A named set of integrations.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Unique, non-empty name.
    pub name: String,
    /// Generic JSON webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// ntfy topics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ntfy_configs: Vec<NtfyConfig>,
    /// External Alertmanagers that alerts are forwarded to ungrouped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertmanager_configs: Vec<AlertmanagerConfig>,
}

/// Alertmanager's webhook integration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Target URL (shown as `<secret>`, as Alertmanager does).
    pub url: Secret,
    /// Whether resolved alerts are sent (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub send_resolved: bool,
    /// At most this many alerts per payload; 0 means no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_alerts: usize,
    /// Authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
}

/// The authentication part of Prometheus' HTTP client config.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header of the given type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// Shorthand for a Bearer `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
}

/// Basic authentication credentials.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: Secret,
}

/// An `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme, `Bearer` when unset.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// The credentials.
    pub credentials: Secret,
}

/// Publishing to an ntfy topic.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// Topic URL, e.g. `https://ntfy.sh/mytopic` (a topic name is a
    /// password of sorts, so it is shown as `<secret>`).
    pub url: Secret,
    /// Whether resolved alerts are sent (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub send_resolved: bool,
    /// Fixed priority 1–5; derived from `severity` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Extra tags appended after the status tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Click-through URL; the first alert's generator URL when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click: Option<String>,
    /// Access token, sent as Bearer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// User for basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// Forwarding to an external Alertmanager.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Base URL, e.g. `http://127.0.0.1:9093`.
    pub url: String,
    /// Whether resolutions are forwarded (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub send_resolved: bool,
    /// Authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
}

/// Mutes target alerts while a matching source alert fires.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Matchers a source alert must satisfy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_matchers: Vec<String>,
    /// Matchers a target alert must satisfy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_matchers: Vec<String>,
    /// Labels whose values must agree between source and target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
    /// Legacy source equality matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    /// Legacy source regex matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match_re: BTreeMap<String, String>,
    /// Legacy target equality matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    /// Legacy target regex matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match_re: BTreeMap<String, String>,
}

impl NotificationsConfig {
    /// Checks everything `Notifier::open`/`reload` would reject; errors
    /// name the offending route, receiver or rule.
    pub fn validate(&self) -> Result<(), NotifyError> {
        Compiled::build(self).map(|_| ())
    }
}

/// The configuration turned into the structures the notifier runs on.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub routes: RouteTree,
    pub receivers: BTreeMap<String, Receiver>,
    pub inhibit: Vec<InhibitRule>,
    pub resend_delay_ms: i64,
    /// The configuration as YAML with secrets masked, for `/api/v2/status`.
    pub original: String,
}

impl Compiled {
    pub fn build(cfg: &NotificationsConfig) -> Result<Arc<Self>, NotifyError> {
        let mut receivers = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (i, r) in cfg.receivers.iter().enumerate() {
            if r.name.is_empty() {
                return Err(NotifyError::Config(format!(
                    "receivers[{i}]: name is empty"
                )));
            }
            if !seen.insert(r.name.clone()) {
                return Err(NotifyError::Config(format!(
                    "receivers[{i}]: duplicate receiver name {:?}",
                    r.name
                )));
            }
            let built = Receiver::build(r)
                .map_err(|e| NotifyError::Config(format!("receiver {:?}: {e}", r.name)))?;
            receivers.insert(r.name.clone(), built);
        }
        // With no receivers at all the notifier only collects alerts.
        let unconfigured = cfg.receivers.is_empty() && cfg.route == RouteConfig::default();
        let routes = RouteTree::build(&cfg.route, &seen, unconfigured)?;
        let inhibit = cfg
            .inhibit_rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                InhibitRule::build(r)
                    .map_err(|e| NotifyError::Config(format!("inhibit_rules[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let resend_delay_ms = cfg
            .resend_delay
            .map_or(DEFAULT_RESEND_DELAY_MS, PromDuration::as_millis);
        if resend_delay_ms <= 0 {
            return Err(NotifyError::Config("resend_delay must be positive".into()));
        }
        let original = serde_norway::to_string(cfg)
            .map_err(|e| NotifyError::Config(format!("cannot render configuration: {e}")))?;
        Ok(Arc::new(Self {
            routes,
            receivers,
            inhibit,
            resend_delay_ms,
            original,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> NotificationsConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    fn err(yaml: &str) -> String {
        parse(yaml).validate().unwrap_err().to_string()
    }

    const FULL: &str = r#"
resend_delay: 2m
route:
  receiver: phone
  group_by: [alertname, job]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 2h
  routes:
    - matchers: ['severity="page"', 'team=~"db|web"']
      receiver: pager
      continue: true
    - match: {env: prod}
      match_re: {job: "node.*"}
      group_by: ['...']
receivers:
  - name: phone
    webhook_configs:
      - url: http://127.0.0.1:1/hook
        max_alerts: 5
        http_config: {basic_auth: {username: u, password: p}}
    ntfy_configs:
      - url: https://ntfy.sh/mytopic
        priority: 4
        tags: [homelab]
        token: tk_abc
  - name: pager
    alertmanager_configs: [{url: "http://127.0.0.1:9093", send_resolved: false}]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, instance]
  - source_match: {severity: critical}
    target_match_re: {severity: "warn.*"}
"#;

    #[test]
    fn full_example_is_valid() {
        let cfg = parse(FULL);
        cfg.validate().unwrap();
        assert_eq!(
            cfg.receivers[0].webhook_configs[0].url.0,
            "http://127.0.0.1:1/hook"
        );
        assert!(!cfg.receivers[1].alertmanager_configs[0].send_resolved);
        let compiled = Compiled::build(&cfg).unwrap();
        assert_eq!(compiled.resend_delay_ms, 120_000);
        // Secrets never reach the status page.
        assert!(!compiled.original.contains("tk_abc"));
        assert!(!compiled.original.contains("ntfy.sh"));
        assert!(compiled.original.contains("<secret>"));
    }

    #[test]
    fn default_config_is_valid_and_sends_nothing() {
        NotificationsConfig::default().validate().unwrap();
        parse("{}").validate().unwrap();
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e =
            serde_norway::from_str::<NotificationsConfig>("route: {receiver: a, group_bye: []}")
                .unwrap_err()
                .to_string();
        assert!(e.contains("group_bye"), "{e}");
        assert!(
            serde_norway::from_str::<NotificationsConfig>(
                "receivers: [{name: a, email_configs: []}]"
            )
            .is_err()
        );
    }

    #[test]
    fn errors_name_the_offending_item() {
        let base = "receivers: [{name: a}]\n";
        assert!(err(&format!("{base}route: {{receiver: b}}")).contains(r#""b""#));
        assert!(err("receivers: [{name: a}]\nroute: {}").contains("root route"));
        assert!(
            err("receivers: [{name: a}, {name: a}]\nroute: {receiver: a}").contains("duplicate")
        );
        assert!(err("receivers: [{name: ''}]\nroute: {receiver: a}").contains("receivers[0]"));
        let e = err(&format!(
            "{base}route: {{receiver: a, routes: [{{receiver: a}}, {{receiver: a, matchers: ['x=~\"(\"']}}]}}"
        ));
        assert!(e.contains("route.routes[1]"), "{e}");
        let e = err(&format!(
            "{base}route: {{receiver: a, routes: [{{receiver: zz, match: {{a: b}}}}]}}"
        ));
        assert!(e.contains("route.routes[0]") && e.contains("zz"), "{e}");
        assert!(err(&format!("{base}route: {{receiver: a, match_re: {{a: b}}}}")).contains("root"));
        let e = err(&format!(
            "{base}route: {{receiver: a}}\ninhibit_rules: [{{source_matchers: ['a=~\"[\"']}}]"
        ));
        assert!(e.contains("inhibit_rules[0]"), "{e}");
        let e = err(
            "receivers: [{name: a, webhook_configs: [{url: 'not a url'}]}]\nroute: {receiver: a}",
        );
        assert!(e.contains(r#"receiver "a""#), "{e}");
        let e = err(
            "receivers: [{name: a, ntfy_configs: [{url: 'https://ntfy.sh/t', priority: 9}]}]\nroute: {receiver: a}",
        );
        assert!(e.contains("priority"), "{e}");
        let e = err(&format!(
            "{base}route: {{receiver: a, group_by: ['...', job]}}"
        ));
        assert!(e.contains("..."), "{e}");
        let e = err(&format!("{base}route: {{receiver: a, group_interval: 0}}"));
        assert!(e.contains("group_interval"), "{e}");
        assert!(
            err(&format!("{base}route: {{receiver: a}}\nresend_delay: 0")).contains("resend_delay")
        );
    }
}
