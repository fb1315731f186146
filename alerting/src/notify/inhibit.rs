//! Inhibition: a firing source alert mutes target alerts that agree with
//! it on the `equal` labels.

use std::collections::BTreeMap;

use super::alert::StoredAlert;
use super::config::InhibitRuleConfig;
use super::matcher::{MatchType, Matcher, is_valid_label_name, matches_all, parse_matchers};

/// A compiled inhibition rule.
#[derive(Clone, Debug)]
pub(crate) struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

fn collect(
    what: &str,
    modern: &[String],
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for (i, s) in modern.iter().enumerate() {
        out.extend(parse_matchers(s).map_err(|e| format!("{what}_matchers[{i}] {s:?}: {e}"))?);
    }
    for (map, op, field) in [
        (eq, MatchType::Equal, "match"),
        (re, MatchType::Regex, "match_re"),
    ] {
        for (k, v) in map {
            if !is_valid_label_name(k) {
                return Err(format!("{what}_{field}: invalid label name {k:?}"));
            }
            out.push(Matcher::new(k, op, v).map_err(|e| format!("{what}_{field}: {e}"))?);
        }
    }
    Ok(out)
}

impl InhibitRule {
    pub fn build(cfg: &InhibitRuleConfig) -> Result<Self, String> {
        let source = collect(
            "source",
            &cfg.source_matchers,
            &cfg.source_match,
            &cfg.source_match_re,
        )?;
        let target = collect(
            "target",
            &cfg.target_matchers,
            &cfg.target_match,
            &cfg.target_match_re,
        )?;
        for l in &cfg.equal {
            if !is_valid_label_name(l) {
                return Err(format!("equal: invalid label name {l:?}"));
            }
        }
        Ok(Self {
            source,
            target,
            equal: cfg.equal.clone(),
        })
    }

    fn agrees(&self, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
        // An absent label equals an absent (or empty) one, as in Alertmanager.
        self.equal
            .iter()
            .all(|l| a.get(l).map_or("", String::as_str) == b.get(l).map_or("", String::as_str))
    }
}

/// Evaluates all rules against the alerts firing at one instant.
pub(crate) struct Inhibitor<'a> {
    /// Per rule, the firing alerts that match its source side.
    sources: Vec<(&'a InhibitRule, Vec<&'a StoredAlert>)>,
}

impl<'a> Inhibitor<'a> {
    pub fn new(
        rules: &'a [InhibitRule],
        alerts: impl Iterator<Item = &'a StoredAlert> + Clone,
        now: i64,
    ) -> Self {
        let sources = rules
            .iter()
            .map(|r| {
                let srcs = alerts
                    .clone()
                    .filter(|a| !a.resolved_at(now) && matches_all(&r.source, &a.labels))
                    .collect();
                (r, srcs)
            })
            .collect();
        Self { sources }
    }

    /// Fingerprints of the alerts that inhibit `target`, if any.
    pub fn inhibited_by(&self, target: &StoredAlert) -> Vec<u64> {
        let mut out = Vec::new();
        for (rule, sources) in &self.sources {
            if !matches_all(&rule.target, &target.labels) {
                continue;
            }
            // An alert that is both source and target must not be muted by
            // itself or by another alert that is also both.
            let two_sided = matches_all(&rule.source, &target.labels);
            for s in sources {
                if two_sided && matches_all(&rule.target, &s.labels) {
                    continue;
                }
                if rule.agrees(&s.labels, &target.labels) && !out.contains(&s.fingerprint) {
                    out.push(s.fingerprint);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::alert::Alert;

    fn alert(pairs: &[(&str, &str)], ends_at: Option<i64>) -> StoredAlert {
        StoredAlert::from_alert(
            Alert {
                labels: pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                starts_at: 1,
                ends_at,
                ..Alert::default()
            },
            100,
        )
    }

    fn rule(yaml: &str) -> InhibitRule {
        InhibitRule::build(&serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn firing_source_with_equal_labels_inhibits() {
        let rules = [rule(
            "{source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: [instance, zone]}",
        )];
        let crit = alert(&[("severity", "critical"), ("instance", "a")], None);
        let warn_a = alert(&[("severity", "warning"), ("instance", "a")], None);
        let warn_b = alert(&[("severity", "warning"), ("instance", "b")], None);
        let all = [crit.clone(), warn_a.clone(), warn_b.clone()];
        let inh = Inhibitor::new(&rules, all.iter(), 100);
        assert_eq!(inh.inhibited_by(&warn_a), [crit.fingerprint]);
        assert!(inh.inhibited_by(&warn_b).is_empty());
        assert!(inh.inhibited_by(&crit).is_empty());
        // A resolved source no longer inhibits.
        let resolved = alert(&[("severity", "critical"), ("instance", "a")], Some(50));
        let all = [resolved, warn_a.clone()];
        assert!(
            Inhibitor::new(&rules, all.iter(), 100)
                .inhibited_by(&warn_a)
                .is_empty()
        );
    }

    #[test]
    fn an_alert_does_not_inhibit_itself() {
        let rules = [rule(
            "{source_match: {team: db}, target_match_re: {team: 'd.*'}}",
        )];
        let a = alert(&[("team", "db"), ("x", "1")], None);
        let b = alert(&[("team", "db"), ("x", "2")], None);
        let c = alert(&[("team", "dev")], None);
        let all = [a.clone(), b.clone(), c.clone()];
        let inh = Inhibitor::new(&rules, all.iter(), 100);
        assert!(inh.inhibited_by(&a).is_empty());
        assert!(inh.inhibited_by(&b).is_empty());
        assert_eq!(inh.inhibited_by(&c).len(), 2);
    }
}
