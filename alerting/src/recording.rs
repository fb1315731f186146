//! Recording rules: a query's result written back under a new name.

use std::collections::BTreeMap;

use crate::backend::{OutputSample, RuleSample};

/// Turns a recording rule's query result into the series to store.
/// `labels` are the group's labels followed by the rule's (later wins).
pub fn record(
    name: &str,
    labels: &[(String, String)],
    limit: usize,
    result: Vec<RuleSample>,
) -> Result<Vec<OutputSample>, String> {
    let mut out: Vec<OutputSample> = Vec::with_capacity(result.len());
    for sample in result {
        let mut series: BTreeMap<String, String> = sample.labels;
        series.insert("__name__".into(), name.into());
        for (k, v) in labels {
            if v.is_empty() {
                series.remove(k);
            } else {
                series.insert(k.clone(), v.clone());
            }
        }
        out.push(OutputSample {
            labels: series,
            value: sample.value,
        });
    }
    let mut seen: Vec<&BTreeMap<String, String>> = out.iter().map(|s| &s.labels).collect();
    seen.sort();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(
            "vector contains metrics with the same labelset after applying rule labels".into(),
        );
    }
    if limit > 0 && out.len() > limit {
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pairs: &[(&str, &str)], value: f64) -> RuleSample {
        RuleSample {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    #[test]
    fn names_and_labels_the_result() -> Result<(), String> {
        let out = record(
            "job:up:sum",
            &[("team".into(), "web".into()), ("job".into(), String::new())],
            0,
            vec![sample(&[("job", "api"), ("instance", "a")], 2.0)],
        )?;
        assert_eq!(
            out[0].labels,
            BTreeMap::from([
                ("__name__".to_string(), "job:up:sum".to_string()),
                ("instance".to_string(), "a".to_string()),
                ("team".to_string(), "web".to_string()),
            ])
        );
        Ok(())
    }

    #[test]
    fn collisions_and_limits_fail() {
        let both = vec![sample(&[("job", "a")], 1.0), sample(&[("job", "b")], 1.0)];
        let collide = record("x", &[("job".into(), "same".into())], 0, both.clone());
        assert!(collide.is_err());
        let limited = record("x", &[], 1, both);
        assert_eq!(
            limited.err().as_deref(),
            Some("exceeded limit of 1 with 2 series")
        );
    }
}
