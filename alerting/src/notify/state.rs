//! Persistence of silences and the notification log in
//! `<state_dir>/notifications.json`, replaced atomically on every change
//! so a crash leaves either the old or the new file, never half of one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::NotifyError;
use super::nflog::Entry;
use super::silence::Silence;

/// The file name inside the state directory.
pub(crate) const STATE_FILE: &str = "notifications.json";

const FORMAT_VERSION: u32 = 1;

/// What survives a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Persisted {
    pub version: u32,
    pub silences: Vec<Silence>,
    pub nflog: Vec<Entry>,
}

impl Persisted {
    pub fn new(silences: Vec<Silence>, nflog: Vec<Entry>) -> Self {
        Self {
            version: FORMAT_VERSION,
            silences,
            nflog,
        }
    }
}

/// Reads the state file; a missing file is an empty state.
pub(crate) fn load(path: &Path) -> Result<Persisted, NotifyError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Persisted::new(vec![], vec![]));
        }
        Err(source) => {
            return Err(NotifyError::StateIo {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| NotifyError::StateCorrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if p.version != FORMAT_VERSION {
        return Err(NotifyError::StateCorrupt {
            path: path.to_path_buf(),
            reason: format!("unsupported format version {}", p.version),
        });
    }
    Ok(p)
}

/// Writes a temporary file, syncs it and renames it over the old one.
pub(crate) fn save(path: &Path, bytes: &[u8]) -> Result<(), NotifyError> {
    let io = |p: &Path| {
        let p: PathBuf = p.to_path_buf();
        move |source| NotifyError::StateIo { path: p, source }
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    // Make the rename itself durable; not every platform can sync a
    // directory, and failing to is no reason to lose the write.
    if let Some(dir) = path.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        assert_eq!(load(&path).unwrap(), Persisted::new(vec![], vec![]));
        let p = Persisted::new(vec![], vec![]);
        save(&path, &serde_json::to_vec(&p).unwrap()).unwrap();
        assert_eq!(load(&path).unwrap(), p);
        fs::write(&path, b"{not json").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("notifications.json"), "{err}");
        assert!(err.contains("corrupt"), "{err}");
    }
}
