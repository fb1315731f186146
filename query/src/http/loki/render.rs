//! JSON bodies in Loki's shapes.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::logql::eval::labels::LabelPairs;
use crate::logql::eval::metric::MetricResult;
use crate::logql::exec::{ExecStats, LogLine};
use crate::promql::value::format_float;

fn label_object(labels: &[(String, String)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

/// Seconds with up to nine decimals, as a JSON number.
fn seconds(ts_ns: i64) -> Value {
    let abs = ts_ns.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    let sign = if ts_ns < 0 { "-" } else { "" };
    let text = if frac == 0 {
        format!("{sign}{secs}")
    } else {
        let digits = format!("{frac:09}");
        format!("{sign}{secs}.{}", digits.trim_end_matches('0'))
    };
    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
}

fn point(ts_ns: i64, v: f64) -> Value {
    json!([seconds(ts_ns), format_float(v)])
}

/// The `stats` object: Grafana only copies it, so the summary carries
/// what Hearth measures.
pub fn stats(s: &ExecStats, returned: usize, exec_secs: f64) -> Value {
    let per_sec = |n: u64| {
        if exec_secs > 0.0 {
            (n as f64 / exec_secs) as u64
        } else {
            0
        }
    };
    json!({
        "summary": {
            "bytesProcessedPerSecond": per_sec(s.bytes_processed),
            "linesProcessedPerSecond": per_sec(s.lines_processed),
            "totalBytesProcessed": s.bytes_processed,
            "totalLinesProcessed": s.lines_processed,
            "totalEntriesReturned": returned,
            "totalPostFilterLines": returned,
            "execTime": exec_secs,
            "queueTime": 0,
            "subqueries": 0,
            "shards": 0,
            "splits": 0,
        }
    })
}

/// A `streams` result. Without `categorize`, each entry's metadata and
/// parsed labels join its stream's labels (streams split accordingly);
/// with it, streams carry their own labels and each value a third element.
pub fn streams(lines: &[LogLine], categorize: bool) -> Value {
    let mut order: Vec<Value> = Vec::new();
    let mut index: HashMap<LabelPairs, usize> = HashMap::new();
    let mut values: Vec<Vec<Value>> = Vec::new();
    for line in lines {
        let key: &LabelPairs = if categorize {
            &line.stream
        } else {
            &line.labels
        };
        let slot = match index.get(key) {
            Some(&i) => i,
            None => {
                index.insert(key.clone(), order.len());
                order.push(label_object(key));
                values.push(Vec::new());
                order.len() - 1
            }
        };
        let text = String::from_utf8_lossy(&line.line).into_owned();
        let mut tuple = vec![Value::String(line.ts_ns.to_string()), Value::String(text)];
        if categorize {
            let mut extra = Map::new();
            if !line.structured_metadata.is_empty() {
                extra.insert(
                    "structuredMetadata".into(),
                    label_object(&line.structured_metadata),
                );
            }
            if !line.parsed.is_empty() {
                extra.insert("parsed".into(), label_object(&line.parsed));
            }
            tuple.push(Value::Object(extra));
        }
        values[slot].push(Value::Array(tuple));
    }
    Value::Array(
        order
            .into_iter()
            .zip(values)
            .map(|(stream, values)| json!({"stream": stream, "values": values}))
            .collect(),
    )
}

/// A metric result as `(resultType, result)`.
pub fn metric(result: &MetricResult) -> (&'static str, Value) {
    match result {
        MetricResult::Scalar(ts, v) => ("scalar", point(*ts, *v)),
        MetricResult::Vector(samples) => (
            "vector",
            Value::Array(
                samples
                    .iter()
                    .map(|s| json!({"metric": label_object(&s.labels), "value": point(s.ts_ns, s.value)}))
                    .collect(),
            ),
        ),
        MetricResult::Matrix(series) => (
            "matrix",
            Value::Array(
                series
                    .iter()
                    .map(|s| {
                        json!({
                            "metric": label_object(&s.labels),
                            "values": s.points.iter().map(|(t, v)| point(*t, *v)).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_sub_second_precision() {
        assert_eq!(seconds(1_700_000_000_000_000_000), json!(1_700_000_000));
        assert_eq!(
            seconds(1_700_000_000_500_000_000).to_string(),
            "1700000000.5"
        );
    }
}
