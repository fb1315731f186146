//! OTLP metrics → Prometheus series, shaped exactly as Prometheus 3.x' own OTLP
//! receiver (`/api/v1/otlp/v1/metrics`, translation strategy
//! `UnderscoreEscapingWithSuffixes`) shapes them.
//!
//! Why mimic Prometheus rather than design our own mapping: users bring
//! dashboards, alerts and habits written against Prometheus' series names.
//! Getting `http_server_duration_milliseconds_bucket{le="5"}` and
//! `target_info{job="ns/svc"}` byte for byte the same is what makes Hearth a
//! drop-in replacement, so every naming rule here follows Prometheus, quirks
//! included (see `naming`).
//!
//! Where Hearth departs, it is deliberate:
//! - Exponential histograms become classic `_bucket` series (Prometheus makes
//!   native histograms, which Hearth cannot store yet); see `exphist`.
//! - Malformed data points (no value, no timestamp, inconsistent buckets) are
//!   rejected one by one with a reason instead of being written as zeros or
//!   aborting the rest of their metric, so the caller can report an OTLP
//!   partial success and the valid rest is kept.
//!
//! Temporality follows Prometheus' default: only cumulative sums and
//! histograms are accepted; delta and unspecified temporality are rejected
//! (Prometheus needs a feature flag to take delta at all).

mod exphist;
#[cfg(test)]
mod exphist_tests;
pub mod naming;
#[cfg(test)]
mod naming_tests;
mod points;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};

use hearth_storage::{
    Label, Labels, METRIC_NAME_LABEL, MetricMetadata, MetricType, MetricsWrite, Sample, SeriesWrite,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics, metric};

use super::value::attribute_string;
use naming::label_name;

/// How many rejection reasons are kept for the partial-success message; the
/// count in [`Translated::rejected_points`] is always complete.
pub const MAX_ERRORS: usize = 8;

/// At most this many `target_info` samples are written per resource and
/// request. Prometheus spaces them half a lookback delta apart from the
/// earliest to the latest point, which is unbounded for a request whose
/// timestamps are far apart; the newest samples are the ones kept.
pub const MAX_TARGET_INFO_SAMPLES: u64 = 1000;

/// The knobs Prometheus' `otlp:` configuration block has that matter for this
/// translation. `Default` is Prometheus' default configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslateOptions {
    /// Resource attributes copied onto every series of their resource
    /// (`promote_resource_attributes`). Data point attributes win on conflict.
    pub promote_resource_attributes: Vec<String>,
    /// Copy every resource attribute except `ignore_resource_attributes`
    /// (`promote_all_resource_attributes`).
    pub promote_all_resource_attributes: bool,
    /// Attributes not promoted when `promote_all_resource_attributes` is on.
    pub ignore_resource_attributes: Vec<String>,
    /// Keep `service.name`, `service.namespace` and `service.instance.id` on
    /// `target_info` as labels too (`keep_identifying_resource_attributes`).
    pub keep_identifying_resource_attributes: bool,
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels (`promote_scope_metadata`, off by
    /// default in Prometheus).
    pub promote_scope_metadata: bool,
    /// Prefix `key` to label names that start with a single `_`
    /// (`label_name_underscore_sanitization`, on by default).
    pub label_name_underscore_sanitization: bool,
    /// The PromQL lookback delta in milliseconds; `target_info` samples are
    /// written every half of it so joins find one for every point.
    pub lookback_delta_ms: i64,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            promote_resource_attributes: Vec::new(),
            promote_all_resource_attributes: false,
            ignore_resource_attributes: Vec::new(),
            keep_identifying_resource_attributes: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            lookback_delta_ms: 5 * 60 * 1000,
        }
    }
}

/// The outcome of translating one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Translated {
    /// Series (one entry per label set, samples in time order) and metadata.
    pub write: MetricsWrite,
    /// OTLP data points that produced nothing, for the partial-success count.
    pub rejected_points: u64,
    /// The first [`MAX_ERRORS`] reasons, for the partial-success message.
    pub errors: Vec<String>,
}

/// Translates one OTLP export request. Never panics; whatever cannot be
/// translated is counted in `rejected_points` and explained in `errors`.
pub fn translate(req: &ExportMetricsServiceRequest, opts: &TranslateOptions) -> Translated {
    let mut out = Output::new(opts);
    for rm in &req.resource_metrics {
        out.resource(rm);
    }
    out.finish()
}

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
const TARGET_INFO: &str = "target_info";

/// First value of attribute `key`; OTLP forbids repeated keys, and the
/// Collector's map lookup also returns the first.
fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

/// Labels every series of one resource (and scope) shares, computed once.
#[derive(Debug, Default)]
struct Context {
    job: String,
    instance: String,
    promoted: Vec<(String, String)>,
    scope: Vec<(String, String)>,
}

/// The labels of one data point, before `__name__` and `le`/`quantile`.
/// A `BTreeMap` because the rules are "set", "set unless present" and
/// "append with `;`", in Prometheus' order.
type LabelMap = BTreeMap<String, String>;

/// Prometheus' label builder deletes a label that is set to "".
fn set(map: &mut LabelMap, name: String, value: String) {
    if value.is_empty() {
        map.remove(&name);
    } else {
        map.insert(name, value);
    }
}

/// Collects series, metadata and rejections across the whole request.
struct Output<'a> {
    opts: &'a TranslateOptions,
    index: HashMap<Labels, usize>,
    series: Vec<SeriesWrite>,
    metadata: Vec<MetricMetadata>,
    seen_metadata: HashSet<String>,
    target_info_seen: HashSet<(usize, i64)>,
    rejected: u64,
    errors: Vec<String>,
}

impl<'a> Output<'a> {
    fn new(opts: &'a TranslateOptions) -> Self {
        Self {
            opts,
            index: HashMap::new(),
            series: Vec::new(),
            metadata: Vec::new(),
            seen_metadata: HashSet::new(),
            target_info_seen: HashSet::new(),
            rejected: 0,
            errors: Vec::new(),
        }
    }

    /// Counts `points` rejected data points; the reason is only built while
    /// there is room for it.
    fn reject(&mut self, points: u64, reason: impl FnOnce() -> String) {
        self.rejected = self.rejected.saturating_add(points);
        if points > 0 && self.errors.len() < MAX_ERRORS {
            self.errors.push(reason());
        }
    }

    /// Notes a problem that loses no data point (e.g. a `target_info` that
    /// could not be labelled).
    fn note(&mut self, reason: impl FnOnce() -> String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(reason());
        }
    }

    fn label(&self, key: &str) -> Result<String, String> {
        label_name(key, self.opts.label_name_underscore_sanitization)
    }

    fn add_metadata(&mut self, name: &str, metric_type: MetricType, help: &str, unit: String) {
        if self.seen_metadata.insert(name.to_owned()) {
            self.metadata.push(MetricMetadata {
                metric_family_name: name.to_owned(),
                metric_type,
                help: help.to_owned(),
                unit,
            });
        }
    }

    /// Finds or creates the series for `map` + `__name__` and returns its
    /// position.
    fn series_for(&mut self, map: &LabelMap, name: &str) -> Result<usize, String> {
        let mut labels: Vec<Label> = map
            .iter()
            .filter(|(k, _)| k.as_str() != METRIC_NAME_LABEL)
            .map(|(k, v)| Label::new(k.clone(), v.clone()))
            .collect();
        labels.push(Label::new(METRIC_NAME_LABEL, name));
        let labels = Labels::new(labels).map_err(|e| format!("invalid label set: {e}"))?;
        if let Some(&i) = self.index.get(&labels) {
            return Ok(i);
        }
        let i = self.series.len();
        self.index.insert(labels.clone(), i);
        self.series.push(SeriesWrite {
            labels,
            samples: Vec::new(),
            exemplars: Vec::new(),
        });
        Ok(i)
    }

    fn push_sample(&mut self, series: usize, sample: Sample) {
        if let Some(s) = self.series.get_mut(series) {
            s.samples.push(sample);
        }
    }

    fn resource(&mut self, rm: &ResourceMetrics) {
        let attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let (earliest, latest) = time_range(rm);
        let mut ctx = match self.resource_context(attrs) {
            Ok(ctx) => ctx,
            Err(reason) => {
                let points: u64 = rm
                    .scope_metrics
                    .iter()
                    .flat_map(|sm| &sm.metrics)
                    .map(point_count)
                    .sum();
                self.reject(points, || format!("resource dropped: {reason}"));
                return;
            }
        };
        for sm in &rm.scope_metrics {
            match self.scope_labels(sm) {
                Ok(scope) => ctx.scope = scope,
                Err(reason) => {
                    let points: u64 = sm.metrics.iter().map(point_count).sum();
                    self.reject(points, || format!("scope dropped: {reason}"));
                    continue;
                }
            }
            for m in &sm.metrics {
                self.metric(&ctx, m);
            }
        }
        if let (Some(earliest), Some(latest)) = (earliest, latest) {
            ctx.scope.clear();
            self.target_info(attrs, &ctx, earliest, latest);
        }
    }

    /// `job`, `instance` and the promoted resource attributes.
    fn resource_context(&self, attrs: &[KeyValue]) -> Result<Context, String> {
        let mut ctx = Context::default();
        if let Some(name) = attr(attrs, SERVICE_NAME) {
            let name = attribute_string(name.value.as_ref());
            ctx.job = match attr(attrs, SERVICE_NAMESPACE) {
                Some(ns) => format!("{}/{name}", attribute_string(ns.value.as_ref())),
                None => name,
            };
        }
        if let Some(id) = attr(attrs, SERVICE_INSTANCE_ID) {
            ctx.instance = attribute_string(id.value.as_ref());
        }
        let opts = self.opts;
        for kv in attrs {
            let promote = if opts.promote_all_resource_attributes {
                !opts.ignore_resource_attributes.contains(&kv.key)
            } else {
                opts.promote_resource_attributes.contains(&kv.key)
            };
            if promote {
                let name = self.label(&kv.key)?;
                ctx.promoted.retain(|(n, _)| *n != name);
                ctx.promoted
                    .push((name, attribute_string(kv.value.as_ref())));
            }
        }
        Ok(ctx)
    }

    /// Scope labels, only with `promote_scope_metadata` and a named scope.
    fn scope_labels(&self, sm: &ScopeMetrics) -> Result<Vec<(String, String)>, String> {
        let Some(scope) = sm.scope.as_ref() else {
            return Ok(Vec::new());
        };
        if !self.opts.promote_scope_metadata || scope.name.is_empty() {
            return Ok(Vec::new());
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for kv in &scope.attributes {
            let name = self.label(&format!("otel_scope_{}", kv.key))?;
            out.retain(|(n, _)| *n != name);
            out.push((name, attribute_string(kv.value.as_ref())));
        }
        // Set after the attributes so an attribute cannot overwrite them.
        let fixed = [
            ("otel_scope_name", scope.name.clone()),
            ("otel_scope_version", scope.version.clone()),
            ("otel_scope_schema_url", sm.schema_url.clone()),
        ];
        for (name, value) in fixed {
            out.retain(|(n, _)| n != name);
            out.push((name.to_owned(), value));
        }
        Ok(out)
    }

    /// The labels of one data point (everything but `__name__`): sanitised
    /// attributes, colliding names joined with `;` in key order, then promoted
    /// resource attributes where absent, then `job`/`instance`, then scope.
    fn point_labels(
        &self,
        ctx: &Context,
        attrs: &[KeyValue],
        ignore: &[&str],
    ) -> Result<LabelMap, String> {
        let mut raw: Vec<(&str, String)> = attrs
            .iter()
            .filter(|kv| kv.key != METRIC_NAME_LABEL && !ignore.contains(&kv.key.as_str()))
            .map(|kv| (kv.key.as_str(), attribute_string(kv.value.as_ref())))
            .collect();
        raw.sort_by(|a, b| a.0.cmp(b.0));
        let mut map = LabelMap::new();
        for (key, value) in raw {
            let name = self.label(key)?;
            match map.get(&name) {
                Some(existing) => {
                    let joined = format!("{existing};{value}");
                    map.insert(name, joined);
                }
                None => set(&mut map, name, value),
            }
        }
        for (name, value) in &ctx.promoted {
            if !map.contains_key(name) {
                set(&mut map, name.clone(), value.clone());
            }
        }
        if !ctx.job.is_empty() {
            map.insert("job".to_owned(), ctx.job.clone());
        }
        if !ctx.instance.is_empty() {
            map.insert("instance".to_owned(), ctx.instance.clone());
        }
        for (name, value) in &ctx.scope {
            set(&mut map, name.clone(), value.clone());
        }
        Ok(map)
    }

    fn metric(&mut self, ctx: &Context, m: &Metric) {
        let points = point_count(m);
        let Some(data) = m.data.as_ref() else {
            return;
        };
        if let Some(reason) = temporality_problem(data) {
            self.reject(points, || format!("metric {:?}: {reason}", m.name));
            return;
        }
        let kind = name_kind(data);
        let name = match naming::metric_name(&m.name, &m.unit, kind) {
            Ok(name) => name,
            Err(reason) => {
                self.reject(points, || reason);
                return;
            }
        };
        let metric_type = match kind {
            naming::NameKind::MonotonicSum => MetricType::Counter,
            naming::NameKind::Gauge | naming::NameKind::NonMonotonicSum => MetricType::Gauge,
            naming::NameKind::Histogram | naming::NameKind::ExponentialHistogram => {
                MetricType::Histogram
            }
            naming::NameKind::Summary => MetricType::Summary,
        };
        self.add_metadata(
            &name,
            metric_type,
            &m.description,
            naming::unit_name(&m.unit),
        );
        match data {
            metric::Data::Gauge(g) => self.number_points(ctx, &name, &g.data_points, false),
            metric::Data::Sum(s) => self.number_points(ctx, &name, &s.data_points, true),
            metric::Data::Histogram(h) => self.histogram_points(ctx, &name, &h.data_points),
            metric::Data::ExponentialHistogram(h) => {
                self.exp_histogram_points(ctx, &name, &h.data_points);
            }
            metric::Data::Summary(s) => self.summary_points(ctx, &name, &s.data_points),
        }
    }

    /// `target_info{job, instance, <other resource attributes>} 1`, written
    /// from the earliest to the latest point of the resource every half
    /// lookback delta (Prometheus ≥ 3.6), so PromQL joins find it for every
    /// point. Skipped when the resource has nothing but identifying
    /// attributes, or neither `job` nor `instance`.
    fn target_info(&mut self, attrs: &[KeyValue], ctx: &Context, earliest: u64, latest: u64) {
        let identifying = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
        let present = identifying
            .iter()
            .filter(|k| attr(attrs, k).is_some())
            .count();
        if attrs.len() <= present {
            return;
        }
        let ignore: &[&str] = if self.opts.keep_identifying_resource_attributes {
            &[]
        } else {
            &identifying
        };
        let bare = Context {
            job: ctx.job.clone(),
            instance: ctx.instance.clone(),
            promoted: Vec::new(),
            scope: Vec::new(),
        };
        let map = match self.point_labels(&bare, attrs, ignore) {
            Ok(map) => map,
            Err(reason) => {
                self.note(|| format!("target_info not written: {reason}"));
                return;
            }
        };
        if !map.contains_key("job") && !map.contains_key("instance") {
            return;
        }
        let series = match self.series_for(&map, TARGET_INFO) {
            Ok(series) => series,
            Err(reason) => {
                self.note(|| format!("target_info not written: {reason}"));
                return;
            }
        };
        self.add_metadata(
            TARGET_INFO,
            MetricType::Gauge,
            "Target metadata",
            String::new(),
        );
        for ts in target_info_times(earliest, latest, self.opts.lookback_delta_ms) {
            if self.target_info_seen.insert((series, ts)) {
                self.push_sample(series, Sample { ts, value: 1.0 });
            }
        }
    }

    fn finish(self) -> Translated {
        let mut series = self.series;
        for s in &mut series {
            s.samples.sort_by_key(|sample| sample.ts);
            s.exemplars.sort_by_key(|e| e.ts);
        }
        series.retain(|s| !s.samples.is_empty());
        Translated {
            write: MetricsWrite {
                series,
                metadata: self.metadata,
            },
            rejected_points: self.rejected,
            errors: self.errors,
        }
    }
}

/// Nanoseconds to milliseconds. Unsigned division first, so no timestamp can
/// turn negative.
fn ns_to_ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

/// The sample times of one `target_info`, in milliseconds: from `earliest`
/// every half lookback delta while before `latest`, then `latest` itself.
fn target_info_times(earliest: u64, latest: u64, lookback_delta_ms: i64) -> Vec<i64> {
    let half_ms = u64::try_from(lookback_delta_ms / 2).unwrap_or(0).max(1);
    let interval = half_ms.saturating_mul(1_000_000);
    let cap_span = interval.saturating_mul(MAX_TARGET_INFO_SAMPLES - 1);
    let mut t = earliest.max(latest.saturating_sub(cap_span));
    let mut out = Vec::new();
    while t < latest {
        out.push(ns_to_ms(t));
        t = t.saturating_add(interval);
    }
    let last = ns_to_ms(latest);
    if out.last().is_none_or(|&ts| ts < last) {
        out.push(last);
    }
    out
}

/// Earliest and latest point time of a resource, rejected metrics included
/// as Prometheus does, zero (unset) times excluded.
fn time_range(rm: &ResourceMetrics) -> (Option<u64>, Option<u64>) {
    let mut earliest: Option<u64> = None;
    let mut latest: Option<u64> = None;
    for m in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
        for t in point_times(m).filter(|&t| t != 0) {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
            latest = Some(latest.map_or(t, |l| l.max(t)));
        }
    }
    (earliest, latest)
}

fn point_times(m: &Metric) -> Box<dyn Iterator<Item = u64> + '_> {
    match m.data.as_ref() {
        Some(metric::Data::Gauge(g)) => Box::new(g.data_points.iter().map(|p| p.time_unix_nano)),
        Some(metric::Data::Sum(s)) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        Some(metric::Data::Histogram(h)) => {
            Box::new(h.data_points.iter().map(|p| p.time_unix_nano))
        }
        Some(metric::Data::ExponentialHistogram(h)) => {
            Box::new(h.data_points.iter().map(|p| p.time_unix_nano))
        }
        Some(metric::Data::Summary(s)) => Box::new(s.data_points.iter().map(|p| p.time_unix_nano)),
        None => Box::new(std::iter::empty()),
    }
}

fn point_count(m: &Metric) -> u64 {
    let n = match m.data.as_ref() {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    };
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn name_kind(data: &metric::Data) -> naming::NameKind {
    match data {
        metric::Data::Gauge(_) => naming::NameKind::Gauge,
        metric::Data::Sum(s) if s.is_monotonic => naming::NameKind::MonotonicSum,
        metric::Data::Sum(_) => naming::NameKind::NonMonotonicSum,
        metric::Data::Histogram(_) => naming::NameKind::Histogram,
        metric::Data::ExponentialHistogram(_) => naming::NameKind::ExponentialHistogram,
        metric::Data::Summary(_) => naming::NameKind::Summary,
    }
}

/// Why a metric's temporality keeps it out, if it does. Prometheus takes only
/// cumulative sums and histograms by default: a delta point is an increment,
/// and storing it as a counter value would make `rate()` meaningless.
fn temporality_problem(data: &metric::Data) -> Option<&'static str> {
    use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality as T;
    let raw = match data {
        metric::Data::Sum(s) => s.aggregation_temporality,
        metric::Data::Histogram(h) => h.aggregation_temporality,
        metric::Data::ExponentialHistogram(h) => h.aggregation_temporality,
        metric::Data::Gauge(_) | metric::Data::Summary(_) => return None,
    };
    match T::try_from(raw) {
        Ok(T::Cumulative) => None,
        Ok(T::Delta) => Some("delta temporality is not supported (Prometheus drops it by default)"),
        Ok(T::Unspecified) => Some("aggregation temporality is unspecified"),
        Err(_) => Some("unknown aggregation temporality"),
    }
}
