//! Prometheus' own promqltest scripts (../shared/conformance/promql, or
//! `HEARTH_CONFORMANCE_DIR`) and Hearth's (tests/promql/*.test), each run
//! three times: data in the head, data flushed to Parquet parts and
//! compacted, and every series split between a part and the head.
//!
//! Evals that still fail upstream scripts are listed in
//! tests/promql/known_failures.txt; any other failure fails the test, and so
//! does a listed eval that now passes (so the list only shrinks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod promqltest;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use promqltest::{Storage, run_script};

fn conformance_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("HEARTH_CONFORMANCE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        manifest.join("../../shared/conformance"),
        PathBuf::from("/work/shared/conformance"),
    ]
    .into_iter()
    .find(|p| p.join("promql").is_dir())
}

/// Upstream scripts that need only features Hearth has. Left out: the
/// native-histogram suite, and scripts for experimental Prometheus features
/// that promql-parser 0.11 cannot parse or Hearth does not enable
/// (`anchored`/`smoothed`, `info()`, type-and-unit labels, start
/// timestamps); limit.test loads native histograms into every metric.
const UPSTREAM: &[&str] = &[
    "aggregators.test",
    "at_modifier.test",
    "collision.test",
    "duration_expression.test",
    "fill-modifier.test",
    "functions.test",
    "histograms.test",
    "literals.test",
    "name_label_dropping.test",
    "operators.test",
    "range_queries.test",
    "selectors.test",
    "staleness.test",
    "subquery.test",
    "trig_functions.test",
];

fn known_failures() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql/known_failures.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

async fn run_all(files: &[(String, String)]) -> (Vec<String>, BTreeSet<String>, usize, usize) {
    let mut lines = Vec::new();
    let mut failing = BTreeSet::new();
    let (mut passed, mut skipped) = (0, 0);
    for (name, text) in files {
        for storage in [Storage::Head, Storage::Parts, Storage::Split] {
            let report = run_script(text, storage)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            lines.push(format!(
                "{name} ({storage:?}): {} passed, {} failed, {} skipped",
                report.passed,
                report.failed.len(),
                report.skipped
            ));
            passed += report.passed;
            skipped += report.skipped;
            for (line, expr, why) in report.failed {
                let key = format!("{name}:{line}");
                if failing.insert(key.clone())
                    && std::env::var_os("HEARTH_PROMQL_VERBOSE").is_some()
                {
                    eprintln!("FAIL {key} [{storage:?}] {expr}\n     {why}");
                }
            }
        }
    }
    (lines, failing, passed, skipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "test") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    let (lines, failing, _, _) = run_all(&files).await;
    println!("{}", lines.join("\n"));
    assert!(failing.is_empty(), "failing evals: {failing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scripts() {
    let Some(dir) = conformance_dir() else {
        assert!(
            std::env::var_os("HEARTH_REQUIRE_EXTERNAL").is_none(),
            "conformance scripts not found; set HEARTH_CONFORMANCE_DIR"
        );
        eprintln!("skipping: conformance scripts not found (set HEARTH_CONFORMANCE_DIR)");
        return;
    };
    let files: Vec<(String, String)> = UPSTREAM
        .iter()
        .map(|name| {
            let path = dir.join("promql").join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ((*name).to_owned(), text)
        })
        .collect();
    let (lines, failing, passed, skipped) = run_all(&files).await;
    println!("{}", lines.join("\n"));
    println!(
        "total: {passed} passed (head, parts and split runs), {} distinct evals failing, {skipped} skipped",
        failing.len()
    );
    let known = known_failures();
    let new: Vec<&String> = failing.difference(&known).collect();
    let fixed: Vec<&String> = known.difference(&failing).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "new failures: {new:?}\nnow passing (remove from known_failures.txt): {fixed:?}\n\
         (HEARTH_PROMQL_VERBOSE=1 prints each failure)"
    );
}
