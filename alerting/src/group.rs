//! One rule group's evaluation: every rule in order at one timestamp,
//! results written, stale markers for series that ended, alerts handed on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_query::promql;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Candidate, RuleAlerts, Timing};
use crate::backend::{OutputSample, RuleBackend, RuleSample};
use crate::notify::Alert as OutgoingAlert;
use crate::recording::record;
use crate::rulefmt::{GroupDef, RuleDef, RuleExpr, RuleKind};
use crate::template::{self, Host, Value};

/// Whether a rule's last evaluation worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// The last evaluation worked.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl Health {
    /// Prometheus' name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ok => "ok",
            Self::Err => "err",
        }
    }
}

/// What changes about a rule between evaluations.
#[derive(Debug, Clone, Default)]
pub struct RuleRuntime {
    /// Last evaluation's outcome.
    pub health: Health,
    /// Its error, if any.
    pub last_error: String,
    /// When it was last evaluated (ms).
    pub last_eval: Option<i64>,
    /// How long that took.
    pub eval_duration: Duration,
    /// The rule's alerts (alerting rules only).
    pub alerts: RuleAlerts,
    /// Series written by the previous evaluation, to mark stale when gone.
    pub previous_series: BTreeSet<BTreeMap<String, String>>,
}

/// A group and the state of its rules.
#[derive(Debug, Clone)]
pub struct GroupRuntime {
    /// The group as loaded.
    pub def: Arc<GroupDef>,
    /// Its evaluation interval (ms).
    pub interval_ms: i64,
    /// Per-rule state, in the order of `def.rules`.
    pub rules: Vec<RuleRuntime>,
    /// The next evaluation time (ms).
    pub next_eval: i64,
    /// The last evaluation's timestamp (ms).
    pub last_eval: Option<i64>,
    /// How long the last evaluation took.
    pub eval_duration: Duration,
}

/// Settings every group evaluation shares.
#[derive(Debug, Clone)]
pub struct EvalContext {
    /// Queries and writes.
    pub backend: Arc<dyn RuleBackend>,
    /// Labels identifying this Hearth, for templates and notifications.
    pub external_labels: BTreeMap<String, String>,
    /// The URL Hearth is reached at, for links in notifications.
    pub external_url: String,
    /// How often a firing alert is handed to the notifier again (ms).
    pub resend_delay_ms: i64,
}

impl GroupRuntime {
    /// A group not evaluated yet, first due at `next_eval`.
    pub fn new(def: Arc<GroupDef>, interval_ms: i64, next_eval: i64) -> Self {
        Self {
            rules: vec![RuleRuntime::default(); def.rules.len()],
            def,
            interval_ms,
            next_eval,
            last_eval: None,
            eval_duration: Duration::ZERO,
        }
    }

    /// Evaluates every rule at `ts`; returns the alerts to notify about.
    pub async fn evaluate(&mut self, ts: i64, ctx: &EvalContext) -> Vec<OutgoingAlert> {
        let started = Instant::now();
        let offset = self
            .def
            .query_offset
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
        let query_ts = ts - offset;
        let mut outgoing = Vec::new();
        let def = Arc::clone(&self.def);
        for (rule, runtime) in def.rules.iter().zip(self.rules.iter_mut()) {
            let rule_started = Instant::now();
            let outcome = evaluate_rule(&def, rule, runtime, ts, query_ts, ctx).await;
            let evaluated = outcome.is_ok();
            runtime.last_eval = Some(ts);
            runtime.eval_duration = rule_started.elapsed();
            match outcome {
                Ok(()) => {
                    runtime.health = Health::Ok;
                    runtime.last_error.clear();
                }
                Err(e) => {
                    tracing::warn!(group = %def.name, rule = %rule.name, error = %e, "rule evaluation failed");
                    runtime.health = Health::Err;
                    runtime.last_error = e;
                }
            }
            // As Prometheus: a failed evaluation sends nothing, so the
            // receiver's lease on firing alerts runs out instead of being
            // renewed from state that is no longer checked.
            if rule.is_alerting() && evaluated {
                let due = runtime
                    .alerts
                    .due_for_sending(ts, ctx.resend_delay_ms, self.interval_ms);
                outgoing.extend(due.into_iter().map(|a| outgoing_alert(a, rule, ctx)));
            }
        }
        self.last_eval = Some(ts);
        self.eval_duration = started.elapsed();
        outgoing
    }

    /// Stale markers for everything this group wrote last, for when it is
    /// removed.
    pub fn final_stale_markers(&self) -> Vec<OutputSample> {
        self.rules
            .iter()
            .flat_map(|r| r.previous_series.iter().cloned())
            .map(OutputSample::stale)
            .collect()
    }
}

/// Evaluates one rule at `ts`. The query, its templates and the series
/// written use `query_ts` (`ts` minus the group's `query_offset`); alert
/// state and notifications keep the real evaluation time, as Prometheus.
async fn evaluate_rule(
    group: &GroupDef,
    rule: &RuleDef,
    runtime: &mut RuleRuntime,
    ts: i64,
    query_ts: i64,
    ctx: &EvalContext,
) -> Result<(), String> {
    let result = ctx.backend.query(&rule.expr, query_ts).await?;
    let mut samples = match &rule.kind {
        RuleKind::Recording => {
            let labels: Vec<(String, String)> =
                group.labels.iter().chain(&rule.labels).cloned().collect();
            record(&rule.name, &labels, group.limit, result)?
        }
        RuleKind::Alerting {
            hold,
            keep_firing_for,
            annotations,
        } => {
            let candidates = expand(group, rule, annotations, result, query_ts, ctx).await?;
            let timing = Timing {
                hold_ms: millis(*hold),
                keep_firing_for_ms: millis(*keep_firing_for),
                limit: group.limit,
            };
            runtime.alerts.apply(ts, timing, candidates)?
        }
    };
    let current: BTreeSet<BTreeMap<String, String>> =
        samples.iter().map(|s| s.labels.clone()).collect();
    samples.extend(
        runtime
            .previous_series
            .difference(&current)
            .cloned()
            .map(OutputSample::stale),
    );
    runtime.previous_series = current;
    ctx.backend.write(samples, query_ts).await
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Builds each result series' alert labels and annotations. Templates may
/// run queries, which block, so this runs on a blocking thread.
async fn expand(
    group: &GroupDef,
    rule: &RuleDef,
    annotations: &[(String, String)],
    result: Vec<RuleSample>,
    ts: i64,
    ctx: &EvalContext,
) -> Result<Vec<Candidate>, String> {
    // Most alerting rules match nothing most of the time; no thread hop then.
    if result.is_empty() {
        return Ok(Vec::new());
    }
    let host = QueryHost {
        backend: Arc::clone(&ctx.backend),
        handle: tokio::runtime::Handle::current(),
        ts,
        external_url: ctx.external_url.clone(),
    };
    let name = rule.name.clone();
    let group_labels = group.labels.clone();
    let rule_labels = rule.labels.clone();
    let annotations = annotations.to_vec();
    let external_labels = ctx.external_labels.clone();
    tokio::task::spawn_blocking(move || {
        let template_name = format!("__alert_{name}");
        result
            .into_iter()
            .map(|sample| {
                let data = template::alert_data(
                    &sample.labels,
                    &external_labels,
                    &host.external_url,
                    sample.value,
                );
                let render = |text: &str| render(&template_name, text, &data, &host);
                let mut labels = sample.labels.clone();
                labels.remove("__name__");
                for (k, v) in group_labels.iter() {
                    set_or_remove(&mut labels, k, v.clone());
                }
                for (k, v) in rule_labels.iter() {
                    set_or_remove(&mut labels, k, render(v));
                }
                labels.insert("alertname".into(), name.clone());
                let annotations = annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), render(v)))
                    .collect();
                Candidate {
                    labels,
                    annotations,
                    value: sample.value,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| format!("template task failed: {e}"))
}

fn set_or_remove(labels: &mut BTreeMap<String, String>, name: &str, value: String) {
    if value.is_empty() {
        labels.remove(name);
    } else {
        labels.insert(name.to_string(), value);
    }
}

/// Expands one template; failures become the text Prometheus shows.
fn render(name: &str, text: &str, data: &Value, host: &dyn Host) -> String {
    let expanded = match template::parse_alert_template(name, text) {
        Ok(t) => t
            .execute(data, host)
            .map_err(|e| format!("error executing template {name}: {e}")),
        Err(e) => Err(format!("error parsing template {name}: {e}")),
    };
    expanded.unwrap_or_else(|e| {
        tracing::warn!(template = name, error = %e, "expanding alert template failed");
        format!("<error expanding template: {e}>")
    })
}

/// Gives templates the `query` function at the evaluation time.
struct QueryHost {
    backend: Arc<dyn RuleBackend>,
    handle: tokio::runtime::Handle,
    ts: i64,
    external_url: String,
}

impl Host for QueryHost {
    fn query(&self, query: &str) -> Result<Vec<Value>, String> {
        // Templates query in PromQL whatever the rule's language, as
        // Prometheus' `query` function does.
        let expr = RuleExpr::Promql(Arc::new(promql::parse(query).map_err(|e| e.message)?));
        let samples = self.handle.block_on(self.backend.query(&expr, self.ts))?;
        Ok(samples
            .into_iter()
            .map(|s| {
                let labels = s
                    .labels
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                Value::Map(BTreeMap::from([
                    ("Labels".to_string(), Value::Map(labels)),
                    ("Value".to_string(), Value::Float(s.value)),
                ]))
            })
            .collect())
    }

    fn external_url(&self) -> &str {
        &self.external_url
    }

    fn now_ms(&self) -> i64 {
        self.ts
    }
}

fn outgoing_alert(alert: Alert, rule: &RuleDef, ctx: &EvalContext) -> OutgoingAlert {
    let mut labels = alert.labels;
    for (k, v) in &ctx.external_labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    OutgoingAlert {
        labels,
        annotations: alert.annotations,
        starts_at: alert.fired_at.unwrap_or(alert.active_at),
        ends_at: alert.resolved_at.or(alert.valid_until),
        generator_url: generator_url(&ctx.external_url, &rule.expr_text),
    }
}

/// Prometheus' link to an expression's table view.
pub fn generator_url(external_url: &str, expr: &str) -> String {
    let escaped: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    format!(
        "{}/graph?g0.expr={escaped}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}
