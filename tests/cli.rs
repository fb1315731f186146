//! The command line: version, `check config`, and bad flags failing fast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn hearth() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hearth"));
    c.env_remove("HEARTH_CONFIG");
    c
}

#[test]
fn version_prints() {
    let out = hearth().arg("version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("hearth "));
}

#[test]
fn check_config_accepts_the_example_and_names_bad_lines() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/hearth.example.yaml");
    let out = hearth()
        .args(["check", "config", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "http_addr: 127.0.0.1:9700\nretention: forever\n").unwrap();
    let out = hearth()
        .args(["check", "config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:2:"), "{err}");

    std::fs::write(&bad, "memory_limt: 1GiB\n").unwrap();
    let out = hearth()
        .args(["check", "config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:1:1") && err.contains("memory_limt"),
        "{err}"
    );
}

#[test]
fn bad_flag_values_fail_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--http-addr", "127.0.0.1:0", "--memory-limit", "lots"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("memory_limit"), "{err}");

    let out = hearth()
        .env("HEARTH_RETENTION", "soon")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention"));
}
