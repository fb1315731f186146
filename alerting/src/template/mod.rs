//! Prometheus alert templates: Go's `text/template` language (the
//! `hearth-template` engine) with Prometheus' template functions
//! (`humanize*`, `query`, `label`, `reReplaceAll`, `graphLink`, …).
//!
//! Behaviour follows Prometheus closely, down to the wording of error
//! messages, because users bring templates written against Prometheus and
//! compare the results.
//!
//! ```ignore
//! // The same example runs as the unit test `tests::module_doc_example`;
//! // it is not a doctest because it needs a `Host`.
//! use hearth_alerting::template::{alert_data, parse_alert_template};
//! let labels = BTreeMap::from([("instance".to_string(), "h1:9100".to_string())]);
//! let data = alert_data(&labels, &BTreeMap::new(), "http://hearth:9090", 0.5);
//! let t = parse_alert_template("__alert_Down", "{{ $labels.instance }} at {{ $value | humanizePercentage }}")?;
//! assert_eq!(t.execute(&data, &host)?, "h1:9100 at 50%");
//! ```
#![deny(missing_docs)]

mod funcs;
mod humanize;
mod netutil;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;

use std::collections::BTreeMap;

pub use hearth_template::{ErrorKind, TemplateError, Value};

use funcs::PromFuncs;

/// What a template needs from the surrounding system.
pub trait Host {
    /// Runs a PromQL instant query at the evaluation time; each result sample
    /// becomes a Map `{"Labels": Map<String, String>, "Value": Float}`.
    fn query(&self, query: &str) -> Result<Vec<Value>, String>;
    /// The external URL (for `externalURL`, `pathPrefix`; `graphLink` and
    /// `tableLink` return paths relative to it, as in Prometheus).
    fn external_url(&self) -> &str;
    /// Evaluation time in Unix milliseconds; no current function needs it.
    fn now_ms(&self) -> i64;
}

/// A parsed template: the main text plus every `define`d or `block` template,
/// with Prometheus' functions available.
#[derive(Debug, Clone)]
pub struct Template {
    inner: hearth_template::Template,
}

impl Template {
    /// Parses `text` under template name `name`. Errors print exactly as
    /// Go's, e.g. `template: __alert_Dup:1: unclosed action`.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let inner = hearth_template::Template::parse(name, text, &PromFuncs { host: None })?;
        Ok(Template { inner })
    }

    /// Executes with `.` = `data`; `host` answers `query` and the URL functions.
    pub fn execute(&self, data: &Value, host: &dyn Host) -> Result<String, TemplateError> {
        self.inner.execute(data, &PromFuncs { host: Some(host) })
    }

    /// The name the template was parsed under.
    pub fn name(&self) -> &str {
        self.inner.name()
    }
}

/// Prometheus' convenience variables, prepended without a newline so line
/// numbers in errors still match the user's text.
const ALERT_PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Parses an alert annotation or label template the way Prometheus does:
/// `$labels`, `$externalLabels`, `$externalURL` and `$value` are predeclared.
pub fn parse_alert_template(name: &str, text: &str) -> Result<Template, TemplateError> {
    Template::parse(name, &format!("{ALERT_PREAMBLE}{text}"))
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Builds the data an alert template runs against:
/// `{Labels, ExternalLabels, ExternalURL, Value}`.
pub fn alert_data(
    labels: &BTreeMap<String, String>,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
    value: f64,
) -> Value {
    let mut data = BTreeMap::new();
    data.insert("Labels".to_string(), string_map(labels));
    data.insert("ExternalLabels".to_string(), string_map(external_labels));
    data.insert(
        "ExternalURL".to_string(),
        Value::String(external_url.to_string()),
    );
    data.insert("Value".to_string(), Value::Float(value));
    Value::Map(data)
}
