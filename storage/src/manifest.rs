//! One manifest per signal: the list of live parts and the WAL segment from
//! which replay must start. Replaced atomically (temp file + fsync + rename)
//! so that a crash leaves either the old or the new one.

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::object_store::DataStore;
use crate::part::PartMeta;

/// Format version written into every manifest.
pub const MANIFEST_VERSION: u32 = 1;

/// The manifest's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// Next part id to hand out.
    pub next_part_id: u64,
    /// WAL segments below this number are fully contained in parts.
    pub wal_replay_from: u64,
    /// Live parts, oldest first.
    pub parts: Vec<PartMeta>,
}

impl Manifest {
    /// Object path of the manifest of `signal`.
    pub fn path(signal: &str) -> ObjectPath {
        ObjectPath::from(format!("{signal}/manifest.json"))
    }

    /// Loads the manifest, or an empty one when none exists yet.
    pub async fn load(store: &DataStore, signal: &str) -> Result<Self> {
        let path = Self::path(signal);
        let Some(bytes) = store.get_opt(&path).await? else {
            return Ok(Self {
                version: MANIFEST_VERSION,
                next_part_id: 1,
                wal_replay_from: 0,
                parts: Vec::new(),
            });
        };
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| Error::Manifest {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        if manifest.version != MANIFEST_VERSION {
            return Err(Error::Manifest {
                path: path.to_string(),
                message: format!("unsupported version {}", manifest.version),
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest atomically and durably.
    pub async fn store(&self, store: &DataStore, signal: &str) -> Result<()> {
        let path = Self::path(signal);
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Manifest {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        store.put_durable(&path, Bytes::from(json)).await
    }

    /// Hands out a new part id.
    pub fn allocate_part_id(&mut self) -> u64 {
        let id = self.next_part_id;
        self.next_part_id += 1;
        id
    }

    /// Total bytes of all parts.
    pub fn total_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: u64) -> PartMeta {
        PartMeta {
            id,
            day: 20_000,
            min_ts: 1,
            max_ts: 2,
            rows: 3,
            series: 1,
            bytes: 100,
            level: 0,
            has_exemplars: false,
            raw_bytes: 0,
        }
    }

    #[tokio::test]
    async fn round_trip_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = DataStore::local(dir.path()).unwrap();
        let mut m = Manifest::load(&store, "metrics").await.unwrap();
        assert!(m.parts.is_empty());
        let id = m.allocate_part_id();
        m.parts.push(part(id));
        m.wal_replay_from = 7;
        m.store(&store, "metrics").await.unwrap();
        let loaded = Manifest::load(&store, "metrics").await.unwrap();
        assert_eq!(loaded, m);
        m.parts.clear();
        m.store(&store, "metrics").await.unwrap();
        assert!(
            Manifest::load(&store, "metrics")
                .await
                .unwrap()
                .parts
                .is_empty()
        );
        assert_eq!(m.total_bytes(), 0);
    }

    #[tokio::test]
    async fn garbage_is_a_clear_error() {
        let store = DataStore::in_memory();
        store
            .put_durable(&Manifest::path("metrics"), Bytes::from_static(b"{nope"))
            .await
            .unwrap();
        let err = Manifest::load(&store, "metrics").await.unwrap_err();
        assert!(err.to_string().contains("metrics/manifest.json"), "{err}");
    }
}
