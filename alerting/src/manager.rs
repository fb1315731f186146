//! The rule manager: loads rule files, schedules each group on its own
//! interval, keeps alert state across reloads and restarts, and hands
//! alerts to whoever notifies.

use std::collections::HashMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use crate::backend::OutputSample;
use crate::clock::Clock;
use crate::group::{EvalContext, GroupRuntime, Health};
use crate::metrics::RuleMetrics;
use crate::notify::{Alert as OutgoingAlert, Notifier};
use crate::persist::{self, SavedGroup};
use crate::rulefmt::{self, GroupDef, RuleFileError};

/// Receives the alerts each evaluation wants sent.
pub trait AlertSink: Send + Sync + Debug {
    /// Takes alerts that fired, are still firing or resolved.
    fn send(&self, alerts: Vec<OutgoingAlert>);
}

impl AlertSink for Notifier {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.receive(alerts);
    }
}

/// Settings of the rule manager.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Interval of groups that set none.
    pub default_interval: Duration,
    /// Where alert state is kept across restarts.
    pub state_file: PathBuf,
    /// Whether groups spread their evaluations over the interval (off for
    /// a manual clock, so tests know when groups run).
    pub spread_evaluations: bool,
}

/// Loads, schedules and evaluates rule groups.
#[derive(Debug)]
pub struct RuleManager {
    opts: ManagerOptions,
    ctx: EvalContext,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn AlertSink>,
    groups: Mutex<Vec<Arc<Mutex<GroupRuntime>>>>,
    /// Serialises evaluation with reloads so that neither loses the other's
    /// state.
    eval_lock: tokio::sync::Mutex<()>,
    /// State read at start-up, waiting for its groups to be loaded.
    saved: Mutex<HashMap<(String, String), SavedGroup>>,
    wake: Notify,
    metrics: RuleMetrics,
}

impl RuleManager {
    /// A manager without rules; reads saved alert state.
    pub fn new(
        opts: ManagerOptions,
        ctx: EvalContext,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn AlertSink>,
        metrics: RuleMetrics,
    ) -> Result<Self, persist::StateError> {
        let saved = persist::load(&opts.state_file)?;
        Ok(Self {
            opts,
            ctx,
            clock,
            sink,
            groups: Mutex::new(Vec::new()),
            eval_lock: tokio::sync::Mutex::new(()),
            saved: Mutex::new(saved),
            wake: Notify::new(),
            metrics,
        })
    }

    /// Expands `patterns` into rule files (sorted, deduplicated) and loads
    /// them. On any error nothing changes and every problem is reported.
    pub async fn load_globs(&self, patterns: &[String]) -> Result<usize, RuleFileError> {
        let files = expand_globs(patterns)?;
        self.load_files(&files).await
    }

    /// Loads exactly these files, replacing the current rules.
    pub async fn load_files(&self, files: &[PathBuf]) -> Result<usize, RuleFileError> {
        let mut defs = Vec::new();
        let mut problems = Vec::new();
        for file in files {
            match rulefmt::load_file(file) {
                Ok(groups) => defs.extend(groups),
                Err(e) => problems.extend(e.problems),
            }
        }
        if !problems.is_empty() {
            return Err(RuleFileError { problems });
        }
        let count = defs.len();
        self.replace(defs).await;
        Ok(count)
    }

    /// Installs `defs`, carrying over the state of groups and rules that
    /// stay (same file and group name; rules by name and position among
    /// rules of that name).
    pub async fn replace(&self, defs: Vec<GroupDef>) {
        let _guard = self.eval_lock.lock().await;
        let now = self.clock.now_ms();
        let mut old: HashMap<(String, String), GroupRuntime> = self
            .groups
            .lock()
            .iter()
            .map(|g| {
                let g = g.lock().clone();
                ((g.def.file.clone(), g.def.name.clone()), g)
            })
            .collect();
        let mut ended: Vec<OutputSample> = Vec::new();
        let kept = {
            let mut saved = self.saved.lock();
            let mut kept = Vec::with_capacity(defs.len());
            for def in defs {
                let key = (def.file.clone(), def.name.clone());
                let interval_ms = def
                    .interval
                    .unwrap_or(self.opts.default_interval)
                    .as_millis()
                    .max(1) as i64;
                let offset = self.offset(&def, interval_ms);
                let first = slot(now, interval_ms, offset) + interval_ms;
                let def = Arc::new(def);
                let mut runtime = GroupRuntime::new(Arc::clone(&def), interval_ms, first);
                if let Some(previous) = old.remove(&key) {
                    if previous.interval_ms == interval_ms {
                        runtime.next_eval = previous.next_eval;
                    }
                    runtime.last_eval = previous.last_eval;
                    ended.extend(copy_rule_state(&previous, &mut runtime));
                } else if let Some(state) = saved.remove(&key) {
                    persist::restore(&state, &mut runtime, now);
                }
                kept.push(Arc::new(Mutex::new(runtime)));
            }
            kept
        };
        let loaded: Vec<_> = kept
            .iter()
            .map(|g| {
                let g = g.lock();
                (g.def.file.clone(), g.def.name.clone(), g.def.rules.len())
            })
            .collect();
        self.metrics.loaded(&loaded);
        *self.groups.lock() = kept;
        drop(_guard);
        // Series of removed groups and rules end now; written at their last
        // evaluation's time, the marker would replace the last real value.
        ended.extend(old.into_values().flat_map(|g| g.final_stale_markers()));
        if !ended.is_empty()
            && let Err(e) = self.ctx.backend.write(ended, now).await
        {
            tracing::warn!(error = %e, "could not end the series of removed rules");
        }
        self.wake.notify_one();
    }

    fn offset(&self, def: &GroupDef, interval_ms: i64) -> i64 {
        if !self.opts.spread_evaluations {
            return 0;
        }
        // FNV-1a over file and name: a stable spread that survives restarts.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in def.file.bytes().chain([0xff]).chain(def.name.bytes()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        (hash % interval_ms as u64) as i64
    }

    /// Evaluates every group that is due by the clock; returns when the
    /// next group is due (ms).
    pub async fn evaluate_due(&self) -> Option<i64> {
        let _guard = self.eval_lock.lock().await;
        let now = self.clock.now_ms();
        let groups: Vec<_> = self.groups.lock().clone();
        let due: Vec<_> = groups
            .iter()
            .filter(|g| g.lock().next_eval <= now)
            .collect();
        // Groups are independent, so they run together: one slow group
        // does not hold back the others' evaluations.
        futures::future::join_all(due.iter().map(|g| self.evaluate_group(g, now))).await;
        if !due.is_empty() {
            let snapshot: Vec<GroupRuntime> = groups.iter().map(|g| g.lock().clone()).collect();
            if let Err(e) = persist::save(&self.opts.state_file, &snapshot).await {
                tracing::error!(error = %e, "could not save alert state");
            }
        }
        groups.iter().map(|g| g.lock().next_eval).min()
    }

    /// Evaluates one due group at its latest slot and hands on its alerts.
    async fn evaluate_group(&self, group: &Mutex<GroupRuntime>, now: i64) {
        let mut runtime = group.lock().clone();
        let offset = self.offset(&runtime.def, runtime.interval_ms);
        let ts = slot(now, runtime.interval_ms, offset);
        let missed = (ts - runtime.next_eval) / runtime.interval_ms;
        if missed > 0 {
            tracing::warn!(group = %runtime.def.name, missed, "rule group missed evaluations");
        }
        let alerts = runtime.evaluate(ts, &self.ctx).await;
        runtime.next_eval = ts + runtime.interval_ms;
        let failed = runtime
            .rules
            .iter()
            .filter(|r| r.health == Health::Err)
            .count();
        self.metrics.evaluated(
            &runtime.def.file,
            &runtime.def.name,
            ts,
            runtime.eval_duration.as_secs_f64(),
            runtime.rules.len(),
            failed,
        );
        *group.lock() = runtime;
        if !alerts.is_empty() {
            self.sink.send(alerts);
        }
    }

    /// The groups as they stand, for the API.
    pub fn snapshot(&self) -> Vec<GroupRuntime> {
        self.groups
            .lock()
            .iter()
            .map(|g| g.lock().clone())
            .collect()
    }

    /// Evaluates groups on the wall clock until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let next = self.evaluate_due().await;
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                Duration::from_millis(u64::try_from(t - self.clock.now_ms()).unwrap_or(0))
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// The latest evaluation slot at or before `now`.
fn slot(now: i64, interval_ms: i64, offset: i64) -> i64 {
    now - (now - offset).rem_euclid(interval_ms)
}

/// Carries rule state over a reload; returns the series of rules that went
/// away, which need stale markers.
fn copy_rule_state(from: &GroupRuntime, to: &mut GroupRuntime) -> Vec<OutputSample> {
    let mut used = vec![false; from.def.rules.len()];
    for (rule, runtime) in to.def.rules.iter().zip(to.rules.iter_mut()) {
        let matching = from.def.rules.iter().enumerate().find(|(i, r)| {
            !used[*i] && r.name == rule.name && r.is_alerting() == rule.is_alerting()
        });
        if let Some((i, _)) = matching {
            used[i] = true;
            *runtime = from.rules[i].clone();
        }
    }
    from.rules
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .flat_map(|(r, _)| r.previous_series.iter().cloned())
        .map(OutputSample::stale)
        .collect()
}

/// Expands glob patterns into existing files, sorted and deduplicated. A
/// pattern without wildcards must name a file.
pub fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>, RuleFileError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for pattern in patterns {
        match glob_files(pattern) {
            Ok(found) => files.extend(found),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(RuleFileError { problems });
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let path = Path::new(pattern);
    let has_wildcard = pattern.contains(['*', '?', '[']);
    if !has_wildcard {
        return if path.is_file() {
            Ok(vec![path.to_path_buf()])
        } else {
            Err(format!("{pattern}: rule file not found"))
        };
    }
    let (dir, file_pattern) = match (path.parent(), path.file_name()) {
        (Some(d), Some(f)) => (d, f.to_string_lossy().to_string()),
        _ => return Err(format!("{pattern}: not a file pattern")),
    };
    let dir_text = dir.to_string_lossy();
    if dir_text.contains(['*', '?', '[']) {
        return Err(format!(
            "{pattern}: wildcards are supported in the file name only"
        ));
    }
    let dir = if dir_text.is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let matcher = wildcard_regex(&file_pattern)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{pattern}: cannot read {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if matcher.is_match(&name) && entry.path().is_file() {
            out.push(dir.join(name));
        }
    }
    Ok(out)
}

/// A shell wildcard (`*`, `?`, `[...]`) as an anchored regex.
fn wildcard_regex(pattern: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' {
                        re.push('\\');
                    }
                    re.push(c);
                }
                re.push(']');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| format!("{pattern}: bad pattern: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_align_to_the_interval_and_offset() {
        assert_eq!(slot(125_000, 60_000, 0), 120_000);
        assert_eq!(slot(120_000, 60_000, 0), 120_000);
        assert_eq!(slot(125_000, 60_000, 10_000), 70_000);
    }

    #[test]
    fn wildcards_match_file_names() -> Result<(), String> {
        let re = wildcard_regex("*.rules.y*ml")?;
        assert!(re.is_match("node.rules.yml"));
        assert!(re.is_match("a.rules.yaml"));
        assert!(!re.is_match("a.rules.json"));
        let re = wildcard_regex("[!.]*")?;
        assert!(re.is_match("a"));
        assert!(!re.is_match(".hidden"));
        Ok(())
    }

    #[test]
    fn globs_expand_to_sorted_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for name in ["b.yml", "a.yml", "c.txt"] {
            std::fs::write(dir.path().join(name), "groups: []\n")?;
        }
        let pattern = dir.path().join("*.yml").to_string_lossy().to_string();
        let files = expand_globs(&[pattern.clone(), pattern])?;
        let names: Vec<_> = files
            .iter()
            .filter_map(|f| f.file_name())
            .map(|f| f.to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["a.yml", "b.yml"]);
        let missing = expand_globs(&[dir.path().join("nope.yml").to_string_lossy().to_string()]);
        assert!(missing.is_err());
        Ok(())
    }
}
