//! [`KeyFileStore`]: each workspace's Ed25519 keys in a file of its own,
//! `<data-dir>/keys/<workspace-uuid>.json` (mode 0600), oldest first:
//!
//! ```json
//! [{"key_id": "key-1", "secretKeyMultibase": "z3u2…", "created_at": "…", "retired_at": "…"},
//!  {"key_id": "key-2", "secretKeyMultibase": "z3u2…", "created_at": "…", "retired_at": null}]
//! ```
//!
//! Files are read once and the key pairs kept in memory; writes (a workspace's first key, a
//! rotation) replace the whole file atomically. File access is serialized by one lock, so the
//! cache never holds an older list than the file.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use anyhow::{Context as _, Result, anyhow, bail};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use credentials::keys::KeyPair;
use platform::ids::WorkspaceId;
use platform::model::SigningKeyInfo;
use platform::ports::{KeyStore, PortResult};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::files;

/// The key directory's name in the data directory.
pub const KEYS_DIR: &str = "keys";

/// One key as the file holds it.
#[derive(Serialize, Deserialize)]
struct KeyFileEntry {
    key_id: String,
    #[serde(rename = "secretKeyMultibase")]
    secret_key_multibase: Zeroizing<String>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

/// One key as the cache holds it.
struct LoadedKey {
    key_id: String,
    pair: KeyPair,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl LoadedKey {
    fn info(&self) -> SigningKeyInfo {
        SigningKeyInfo {
            key_id: self.key_id.clone(),
            public_key_multibase: self.pair.public_key().to_multibase(),
            created_at: self.created_at,
            retired_at: self.retired_at,
        }
    }
}

type Keys = Arc<[LoadedKey]>;

struct KeyFiles {
    dir: PathBuf,
    cache: RwLock<HashMap<WorkspaceId, Keys>>,
    /// Held while a file is read into the cache or written.
    files: Mutex<()>,
}

/// The key store over `<data-dir>/keys/`.
#[derive(Clone)]
pub struct KeyFileStore {
    inner: Arc<KeyFiles>,
}

impl std::fmt::Debug for KeyFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFileStore").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

impl KeyFileStore {
    /// The key store of `data_dir`, creating `data_dir/keys` (mode 0700) if needed.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join(KEYS_DIR);
        files::create_private_dir(&dir)?;
        Ok(Self {
            inner: Arc::new(KeyFiles { dir, cache: RwLock::default(), files: Mutex::default() }),
        })
    }

    /// The workspace's keys, from the cache or else from its file (empty if it has none).
    async fn keys(&self, workspace: WorkspaceId) -> Result<Keys> {
        if let Some(keys) = self.inner.cached(workspace) {
            return Ok(keys);
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _files = inner.files.lock().unwrap_or_else(PoisonError::into_inner);
            // Another task may have loaded (or rotated) it while this one waited.
            if let Some(keys) = inner.cached(workspace) {
                return Ok(keys);
            }
            let keys = load(&inner.read_file(workspace)?)?;
            if !keys.is_empty() {
                inner
                    .cache
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(workspace, keys.clone());
            }
            Ok(keys)
        })
        .await
        .context("key file task failed")?
    }
}

impl KeyFiles {
    fn path(&self, workspace: WorkspaceId) -> PathBuf {
        self.dir.join(format!("{}.json", workspace.0.hyphenated()))
    }

    fn cached(&self, workspace: WorkspaceId) -> Option<Keys> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner).get(&workspace).cloned()
    }

    /// The file's entries; none if there is no file.
    fn read_file(&self, workspace: WorkspaceId) -> Result<Vec<KeyFileEntry>> {
        let path = self.path(workspace);
        match fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("key file {} is damaged", path.display()))
            }
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => {
                Err(error).with_context(|| format!("cannot read key file {}", path.display()))
            }
        }
    }

    /// Retires the current key, adds a new one, writes the file and updates the cache.
    fn create_key(&self, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<SigningKeyInfo> {
        let _files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.read_file(workspace)?;
        let first = entries.is_empty();
        for entry in entries.iter_mut().filter(|e| e.retired_at.is_none()) {
            entry.retired_at = Some(now);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
        let pair = KeyPair::from_seed(&seed);
        entries.push(KeyFileEntry {
            key_id: format!("key-{}", entries.len() + 1),
            secret_key_multibase: pair.secret_key_multibase(),
            created_at: now,
            retired_at: None,
        });
        let json =
            Zeroizing::new(serde_json::to_vec_pretty(&entries).context("key file encoding")?);
        let path = self.path(workspace);
        if first {
            if !files::create_private_file(&path, &json)? {
                bail!("key file {} appeared while the first key was being created", path.display());
            }
        } else {
            files::replace_private_file(&path, &json)?;
        }
        let keys = load(&entries)?;
        let info =
            keys.last().map(LoadedKey::info).ok_or_else(|| anyhow!("no key after creating one"))?;
        self.cache.write().unwrap_or_else(PoisonError::into_inner).insert(workspace, keys);
        Ok(info)
    }
}

fn load(entries: &[KeyFileEntry]) -> Result<Keys> {
    entries
        .iter()
        .map(|entry| {
            let pair = KeyPair::from_secret_key_multibase(&entry.secret_key_multibase)
                .map_err(|e| anyhow!("key {} does not read: {e}", entry.key_id))?;
            Ok(LoadedKey {
                key_id: entry.key_id.clone(),
                pair,
                created_at: entry.created_at,
                retired_at: entry.retired_at,
            })
        })
        .collect()
}

#[async_trait]
impl KeyStore for KeyFileStore {
    async fn create_key(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> PortResult<SigningKeyInfo> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.create_key(workspace, now))
            .await
            .context("key file task failed")?
            .with_context(|| format!("creating a key for workspace {workspace}"))
    }

    async fn sign(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
        message: &[u8],
    ) -> PortResult<[u8; 64]> {
        let signatures = self.sign_many(workspace, key_id, &[message]).await?;
        signatures.into_iter().next().ok_or_else(|| anyhow!("no signature"))
    }

    async fn sign_many(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
        messages: &[&[u8]],
    ) -> PortResult<Vec<[u8; 64]>> {
        let keys = self.keys(workspace).await?;
        let key = keys
            .iter()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| anyhow!("workspace {workspace} has no signing key `{key_id}`"))?;
        Ok(messages.iter().map(|message| key.pair.sign(message)).collect())
    }

    async fn public_keys(&self, workspace: WorkspaceId) -> PortResult<Vec<SigningKeyInfo>> {
        Ok(self.keys(workspace).await?.iter().map(LoadedKey::info).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone as _;
    use credentials::keys::PublicKey;

    use super::*;

    #[tokio::test]
    async fn rotation_keeps_retired_keys_in_the_file_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = WorkspaceId::generate();
        let t1 = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let t2 = Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap();
        let store = KeyFileStore::open(dir.path()).unwrap();
        let first = store.create_key(workspace, t1).await.unwrap();
        let second = store.create_key(workspace, t2).await.unwrap();
        assert_eq!((first.key_id.as_str(), second.key_id.as_str()), ("key-1", "key-2"));

        let reopened = KeyFileStore::open(dir.path()).unwrap();
        let keys = reopened.public_keys(workspace).await.unwrap();
        assert_eq!(keys, vec![SigningKeyInfo { retired_at: Some(t2), ..first.clone() }, second]);
        let signature = reopened.sign(workspace, "key-1", b"old").await.unwrap();
        PublicKey::from_multibase(&first.public_key_multibase)
            .unwrap()
            .verify(b"old", &signature)
            .unwrap();

        let text = fs::read_to_string(dir.path().join(KEYS_DIR).join(format!("{workspace}.json")))
            .unwrap();
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(file[0]["key_id"], "key-1");
        assert!(file[0]["secretKeyMultibase"].as_str().unwrap().starts_with("z3u2"));
        assert_eq!(file[1]["retired_at"], serde_json::Value::Null);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn key_files_are_private_and_leave_no_temporary_files() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = KeyFileStore::open(dir.path()).unwrap();
        let workspace = WorkspaceId::generate();
        store.create_key(workspace, Utc::now()).await.unwrap();
        store.create_key(workspace, Utc::now()).await.unwrap();
        let keys_dir = dir.path().join(KEYS_DIR);
        assert_eq!(fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777, 0o700);
        let names: Vec<_> =
            fs::read_dir(&keys_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(format!("{workspace}.json"))]);
        let mode = fs::metadata(keys_dir.join(&names[0])).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[tokio::test]
    async fn a_damaged_key_file_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyFileStore::open(dir.path()).unwrap();
        let workspace = WorkspaceId::generate();
        fs::write(dir.path().join(KEYS_DIR).join(format!("{workspace}.json")), b"{").unwrap();
        assert!(store.public_keys(workspace).await.is_err());
        assert!(store.create_key(workspace, Utc::now()).await.is_err());
    }
}
