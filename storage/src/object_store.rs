//! All part and manifest I/O goes through `object_store`, so a local
//! directory and an S3-compatible bucket share one code path. The WAL is the
//! exception: it needs append and fsync, which object stores do not offer, so
//! it always lives on local disk (as Prometheus' does).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};

/// The object store plus, when it is a local directory, that directory, so
/// that writes can be fsynced (object_store's local backend renames a staged
/// file into place but never syncs it).
#[derive(Clone, Debug)]
pub struct DataStore {
    inner: Arc<dyn ObjectStore>,
    local_root: Option<PathBuf>,
}

impl DataStore {
    /// A store rooted at a local directory (created if missing).
    pub fn local(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("create", root, e))?;
        let root = root
            .canonicalize()
            .map_err(|e| Error::io("canonicalize", root, e))?;
        let fs = LocalFileSystem::new_with_prefix(&root)?;
        Ok(Self {
            inner: Arc::new(fs),
            local_root: Some(root),
        })
    }

    /// A store held in memory; used by tests of the engine's logic.
    pub fn in_memory() -> Self {
        Self {
            inner: Arc::new(InMemory::new()),
            local_root: None,
        }
    }

    /// The underlying store, for readers such as DataFusion.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.inner)
    }

    /// Writes `bytes` at `path` atomically and durably.
    pub async fn put_durable(&self, path: &ObjectPath, bytes: Bytes) -> Result<()> {
        self.inner.put(path, PutPayload::from_bytes(bytes)).await?;
        self.sync(path)
    }

    /// Makes a completed write durable: fsync the file and its directory on a
    /// local store; object stores are durable once the write returns.
    pub fn sync(&self, path: &ObjectPath) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let file = root.join(path.as_ref());
        std::fs::File::open(&file)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("fsync", &file, e))?;
        if let Some(dir) = file.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Reads a whole object, or `None` when it does not exist.
    pub async fn get_opt(&self, path: &ObjectPath) -> Result<Option<Bytes>> {
        match self.inner.get(path).await {
            Ok(res) => Ok(Some(res.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Size of an object in bytes.
    pub async fn size(&self, path: &ObjectPath) -> Result<u64> {
        Ok(self.inner.head(path).await?.size)
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(&self, path: &ObjectPath) -> Result<()> {
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under `prefix`.
    pub async fn list(&self, prefix: &ObjectPath) -> Result<Vec<ObjectPath>> {
        let metas: Vec<_> = self.inner.list(Some(prefix)).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location).collect())
    }

    /// Removes empty directories left behind by deletes on a local store.
    pub fn prune_empty_dirs(&self, prefix: &ObjectPath) {
        if let Some(root) = &self.local_root {
            prune_dir(&root.join(prefix.as_ref()));
        }
    }
}

fn prune_dir(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut empty = true;
    for entry in entries.flatten() {
        let path = entry.path();
        if !(path.is_dir() && prune_dir(&path) && std::fs::remove_dir(&path).is_ok()) {
            empty = false;
        }
    }
    empty
}

/// Fsyncs a directory so that renames and creations in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync dir", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exercise(store: DataStore) {
        let path = ObjectPath::from("a/b/c.bin");
        assert!(store.get_opt(&path).await.unwrap().is_none());
        store
            .put_durable(&path, Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(store.get_opt(&path).await.unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(store.size(&path).await.unwrap(), 5);
        assert_eq!(store.list(&"a".into()).await.unwrap(), vec![path.clone()]);
        store.delete(&path).await.unwrap();
        store.delete(&path).await.unwrap();
        assert!(store.list(&"a".into()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn local_and_memory_behave_alike() {
        let dir = tempfile::tempdir().unwrap();
        exercise(DataStore::local(dir.path()).unwrap()).await;
        exercise(DataStore::in_memory()).await;
    }
}
