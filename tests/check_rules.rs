//! `hearth check rules` against `promtool check rules` (Prometheus 2.42):
//! the same files give the same output and exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(program: &str, files: &[&str]) -> Output {
    Command::new(program)
        .args(["check", "rules"])
        .args(files)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules"))
        .env_remove("HEARTH_CONFIG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Files whose every message Hearth words exactly as promtool.
const SAME_OUTPUT: &[&str] = &[
    "node.rules.yml",
    "kubernetes.rules.yml",
    "homelab.rules.yml",
    "bad/bad-duration.yml",
    "bad/duplicate-rules.yml",
    "bad/unknown-field.yml",
    "bad/labels.yml",
    "bad/many-problems.yml",
];

#[test]
fn output_and_exit_code_match_promtool() {
    let Some(promtool) = common::external("promtool") else {
        return;
    };
    let hearth = env!("CARGO_BIN_EXE_hearth");
    for file in SAME_OUTPUT {
        let (ours, theirs) = (run(hearth, &[file]), run(&promtool, &[file]));
        assert_eq!(
            text(&ours.stdout),
            text(&theirs.stdout),
            "stdout for {file}"
        );
        assert_eq!(
            text(&ours.stderr),
            text(&theirs.stderr),
            "stderr for {file}"
        );
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "exit code for {file}"
        );
    }
    // Several files at once, good and bad mixed.
    let (ours, theirs) = (run(hearth, SAME_OUTPUT), run(&promtool, SAME_OUTPUT));
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert_eq!(text(&ours.stderr), text(&theirs.stderr));
    assert_eq!(ours.status.code(), theirs.status.code());
}

#[test]
fn good_files_pass_and_bad_files_fail() {
    let hearth = env!("CARGO_BIN_EXE_hearth");
    let good = run(hearth, &["node.rules.yml", "kubernetes.rules.yml"]);
    assert!(good.status.success());
    assert_eq!(
        text(&good.stdout),
        "Checking node.rules.yml\n  SUCCESS: 9 rules found\n\nChecking kubernetes.rules.yml\n  SUCCESS: 8 rules found\n\n"
    );
    for file in [
        "bad/bad-duration.yml",
        "bad/unknown-field.yml",
        "bad/labels.yml",
    ] {
        let out = run(hearth, &[file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(text(&out.stderr).starts_with("  FAILED:\n"), "{file}");
    }
    // The YAML parser differs from Go's in the line it blames, so only the
    // shape of a syntax error is checked.
    let out = run(hearth, &["bad/not-yaml.yml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad/not-yaml.yml: yaml: line ")
            && err.contains("did not find expected '-' indicator"),
        "{err}"
    );
    assert!(Path::new(hearth).exists());

    // Paths that are not files stop the check before anything is read.
    let out = run(hearth, &["node.rules.yml", "missing.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "hearth: error: path 'missing.yml' does not exist\n"
    );
}
