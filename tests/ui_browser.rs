//! The embedded web UI in a real browser: Debian's Chromium driven by
//! `playwright-core` (tests/ui/browser.mjs) against this binary with seeded
//! metrics, logs, traces and alerts. Every page must load without console
//! errors, and each page's main job must work end to end. Screenshots go
//! to `target/ui-screenshots/` (or `HEARTH_UI_ARTIFACTS`).
//!
//! Needs `node`, `chromium` and `npm ci` in tests/ui; without them the test
//! is skipped unless `HEARTH_REQUIRE_EXTERNAL` is set (as `.ci/run` does).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Hearth, external};

fn playwright_installed(ui_dir: &Path) -> bool {
    let found = ui_dir
        .join("node_modules/playwright-core/package.json")
        .is_file();
    if !found {
        assert!(
            std::env::var("HEARTH_REQUIRE_EXTERNAL").is_err(),
            "playwright-core is required (HEARTH_REQUIRE_EXTERNAL is set): run `npm ci` in tests/ui"
        );
        eprintln!("SKIPPED: playwright-core not installed (run `npm ci` in tests/ui)");
    }
    found
}

#[test]
fn every_page_works_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ui_dir = root.join("tests/ui");
    let (Some(node), Some(chromium)) = (external("node"), external("chromium")) else {
        return;
    };
    if !playwright_installed(&ui_dir) {
        return;
    }
    let artifacts = std::env::var_os("HEARTH_UI_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("ui-screenshots")
        });
    std::fs::create_dir_all(&artifacts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rules = ui_dir.join("rules.yml");
    let hearth = Hearth::start(dir.path(), &["--rules", rules.to_str().unwrap()]);
    let out = Command::new(node)
        .arg(ui_dir.join("browser.mjs"))
        .env("HEARTH_URL", &hearth.base)
        .env("HEARTH_OTLP_HTTP", &hearth.otlp_http)
        .env("HEARTH_CHROMIUM", chromium)
        .env("HEARTH_UI_ARTIFACTS", &artifacts)
        .output()
        .expect("run node");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(
        out.status.success(),
        "browser checks failed (screenshots in {}):\n{report}\nHearth's log:\n{}",
        artifacts.display(),
        hearth.log_text()
    );
    assert!(
        report.contains("all browser checks passed"),
        "the driver did not finish: {report}"
    );
}
