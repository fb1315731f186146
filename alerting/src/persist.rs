//! Alert state on disk, so that a restart keeps firing alerts firing (and
//! not re-notified) and pending alerts keep their `for` progress.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alert::{AlertState, RuleAlerts};
use crate::group::GroupRuntime;

/// The state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("alert state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not what Hearth writes.
    #[error("alert state file {path} is not valid: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    groups: Vec<SavedGroup>,
}

/// One group's saved state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedGroup {
    file: String,
    name: String,
    last_eval: Option<i64>,
    rules: Vec<SavedRule>,
}

/// A rule's saved state: its alerts only. The series it wrote last are not
/// kept (nor does Prometheus keep them): they would be rewritten every
/// round and grow with recording-rule cardinality, for no more than stale
/// markers of series that end across a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedRule {
    name: String,
    alerting: bool,
    alerts: RuleAlerts,
}

const VERSION: u32 = 1;

/// Reads saved state, keyed by (file, group name). A missing file is an
/// empty state.
pub fn load(path: &Path) -> Result<HashMap<(String, String), SavedGroup>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let state: StateFile =
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(state
        .groups
        .into_iter()
        .map(|g| ((g.file.clone(), g.name.clone()), g))
        .collect())
}

/// Writes the state of `groups` atomically (temporary file, fsync, rename).
pub async fn save(path: &Path, groups: &[GroupRuntime]) -> Result<(), StateError> {
    let state = StateFile {
        version: VERSION,
        groups: groups.iter().map(saved_group).collect(),
    };
    let path = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        write_atomically(&path, &state).map_err(|source| StateError::Io { path, source })
    })
    .await;
    match result {
        Ok(r) => r,
        Err(e) => Err(StateError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

fn write_atomically(path: &Path, state: &StateFile) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn saved_group(group: &GroupRuntime) -> SavedGroup {
    SavedGroup {
        file: group.def.file.clone(),
        name: group.def.name.clone(),
        last_eval: group.last_eval,
        rules: group
            .def
            .rules
            .iter()
            .zip(&group.rules)
            .map(|(def, rt)| SavedRule {
                name: def.name.clone(),
                alerting: def.is_alerting(),
                alerts: rt.alerts.clone(),
            })
            .collect(),
    }
}

/// Pending alerts are not restored after an outage longer than this: what
/// held before may say little about what holds now (Prometheus' default
/// outage tolerance).
const OUTAGE_TOLERANCE_MS: i64 = 60 * 60 * 1000;

/// Puts saved state into a freshly loaded group, matching rules by name,
/// kind and order among rules of the same name. Firing and resolved alerts
/// come back as they were, so nothing is notified twice. A pending alert
/// keeps the `for` progress it had observed: its start moves later by the
/// downtime, so the outage does not count towards `for`.
pub fn restore(saved: &SavedGroup, group: &mut GroupRuntime, now: i64) {
    group.last_eval = saved.last_eval;
    let downtime = saved.last_eval.map_or(0, |t| (now - t).max(0));
    let mut used = vec![false; saved.rules.len()];
    for (def, runtime) in group.def.rules.iter().zip(group.rules.iter_mut()) {
        let found = saved
            .rules
            .iter()
            .enumerate()
            .find(|(i, r)| !used[*i] && r.name == def.name && r.alerting == def.is_alerting());
        if let Some((i, rule)) = found {
            used[i] = true;
            runtime.alerts = rule.alerts.clone();
            runtime.alerts.alerts.retain_mut(|alert| {
                if alert.state != AlertState::Pending {
                    return true;
                }
                alert.active_at += downtime;
                downtime <= OUTAGE_TOLERANCE_MS
            });
            runtime.previous_series = runtime.alerts.written_series().collect();
        }
    }
}
