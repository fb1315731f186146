//! `hearth check rules`: validates rule files and reports exactly as
//! `promtool check rules` does, so scripts and CI written for one work with
//! the other. Groups marked `language: logql` (Loki ruler rules) are
//! checked the same way, their expressions as LogQL metric queries.

use std::io::Write;
use std::path::PathBuf;

use crate::rulefmt::{self, GroupDef};

/// Checks every file; returns the process exit code (1 when any file has
/// errors; duplicate rules alone are reported but, as promtool's default
/// lint, do not fail).
pub fn check_rules(files: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    // As promtool, arguments that are not files stop everything up front.
    for file in files {
        let problem = if !file.exists() {
            "does not exist"
        } else if file.is_dir() {
            "is a directory"
        } else {
            continue;
        };
        let _ = writeln!(err, "hearth: error: path '{}' {problem}", file.display());
        return 1;
    }
    let mut failed = false;
    for file in files {
        // Writing to the terminal cannot usefully fail; ignore it as
        // println! would panic instead.
        let _ = writeln!(out, "Checking {}", file.display());
        match rulefmt::load_file(file) {
            Ok(groups) => match duplicates_report(&groups) {
                Some(lint) => {
                    let _ = writeln!(err, "  FAILED:");
                    let _ = writeln!(err, "{lint}");
                }
                None => {
                    let count: usize = groups.iter().map(|g| g.rules.len()).sum();
                    let _ = writeln!(out, "  SUCCESS: {count} rules found");
                }
            },
            Err(e) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for problem in &e.problems {
                    let _ = writeln!(err, "{problem}");
                }
                // Go decodes the file twice (into groups and into nodes),
                // so a syntax error is reported twice.
                if e.problems.len() == 1 && e.problems[0].contains(": yaml: line ") {
                    let _ = writeln!(err, "{}", e.problems[0]);
                }
            }
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

/// promtool's duplicate-rules lint: rules with the same name and labels.
fn duplicates_report(groups: &[GroupDef]) -> Option<String> {
    let mut rules: Vec<(&str, &[(String, String)])> = groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .map(|r| (r.name.as_str(), r.labels.as_slice()))
        .collect();
    rules.sort();
    let mut duplicates: Vec<(&str, &[(String, String)])> = Vec::new();
    for pair in rules.windows(2) {
        if pair[0] == pair[1] && duplicates.last() != Some(&pair[1]) {
            duplicates.push(pair[1]);
        }
    }
    if duplicates.is_empty() {
        return None;
    }
    let mut text = format!("lint error {} duplicate rule(s) found.\n", duplicates.len());
    for (metric, labels) in duplicates {
        text.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
        for (name, value) in labels {
            text.push_str(&format!("\t{name}: {value}\n"));
        }
    }
    text.push_str("Might cause inconsistency while recording expressions");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (i32, String, String) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let file = dir.path().join("logs.yml");
        if let Err(e) = std::fs::write(&file, text) {
            panic!("{e}");
        }
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check_rules(std::slice::from_ref(&file), &mut out, &mut err);
        let shown = file.display().to_string();
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).replace(&shown, "F");
        (code, text(out), text(err))
    }

    #[test]
    fn logql_groups_are_checked() {
        let good = "groups:\n- name: logs\n  language: logql\n  rules:\n  - alert: Errors\n    expr: sum(count_over_time({app=\"a\"} |= \"error\" [5m])) > 2\n    for: 1m\n  - record: app:lines:rate5m\n    expr: sum by (app) (rate({app=\"a\"}[5m]))\n";
        assert_eq!(
            run(good),
            (
                0,
                "Checking F\n  SUCCESS: 2 rules found\n\n".into(),
                String::new()
            )
        );
        let log_query = "groups:\n- name: logs\n  language: logql\n  rules:\n  - alert: Lines\n    expr: '{app=\"a\"}'\n";
        assert_eq!(
            run(log_query),
            (
                1,
                "Checking F\n\n".into(),
                "  FAILED:\nF: 6:11: group \"logs\", rule 1, \"Lines\": could not parse expression: a LogQL rule must be a metric query, not a log query\n".into()
            )
        );
        let unknown = "groups:\n- name: logs\n  language: sql\n  rules: []\n";
        assert_eq!(
            run(unknown).2,
            "  FAILED:\nF: 3:13: group \"logs\": unknown language \"sql\"; use promql or logql\n"
        );
    }
}
