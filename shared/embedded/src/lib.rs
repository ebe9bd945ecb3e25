//! The platform's ports on one machine, for `badges serve` and for tests.
//!
//! Everything lives in one data directory (mode 0700):
//!
//! | file | adapter | ports |
//! |---|---|---|
//! | `badges.db` | [`SqliteStore`] | every store, the outbox and the job queue |
//! | `keys/<workspace>.json` | [`KeyFileStore`] | [`KeyStore`](platform::ports::KeyStore) |
//! | `master.key` | [`LocalVault`] | [`Vault`](platform::ports::Vault) |
//!
//! The time comes from a [`Clock`] given by the caller ([`SystemClock`] in production, a
//! settable one in tests), so queue visibility timeouts are exact in tests. [`Embedded`]
//! opens all of it at once and hands out [`platform::Ports`].
//!
//! This crate must not depend on `aws-*`, `axum` or `lambda_*`: it is one of two adapter
//! sets, chosen by which crate a binary links.

mod clock;
mod files;
mod keys;
mod sqlite;
mod vault;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use platform::ports::{Clock, WebhookTransport};

pub use clock::SystemClock;
pub use keys::{KEYS_DIR, KeyFileStore};
pub use sqlite::{DATABASE_FILE, DeadLetter, Durability, SqliteStore, StoreOptions};
pub use vault::{LocalVault, MASTER_KEY_FILE};

/// Every embedded adapter over one data directory.
#[derive(Clone)]
pub struct Embedded {
    data_dir: PathBuf,
    store: Arc<SqliteStore>,
    keys: Arc<KeyFileStore>,
    vault: Arc<LocalVault>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl Embedded {
    /// Opens (creating it if needed, mode 0700) the data directory with the default
    /// [`StoreOptions`]: the database is migrated, the master key created on first use.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::open_with(data_dir, clock, StoreOptions::default())
    }

    /// [`open`](Self::open) with explicit store options.
    pub fn open_with(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> anyhow::Result<Self> {
        files::create_private_dir(data_dir)
            .with_context(|| format!("data directory {}", data_dir.display()))?;
        let store = SqliteStore::open_with(data_dir, clock.clone(), options)?;
        let keys = KeyFileStore::open(data_dir)?;
        let vault = LocalVault::open(data_dir)?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            store: Arc::new(store),
            keys: Arc::new(keys),
            vault: Arc::new(vault),
            clock,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The SQLite store (for what the ports do not expose, such as the dead letters).
    pub fn store(&self) -> &Arc<SqliteStore> {
        &self.store
    }

    /// The ports over these adapters; webhook requests go through `transport`, which comes
    /// from the HTTP crate.
    pub fn ports(&self, transport: Arc<dyn WebhookTransport>) -> platform::Ports {
        platform::Ports {
            organizations: self.store.clone(),
            workspaces: self.store.clone(),
            templates: self.store.clone(),
            credentials: self.store.clone(),
            status_lists: self.store.clone(),
            bulk: self.store.clone(),
            drafts: self.store.clone(),
            audit: self.store.clone(),
            recipients: self.store.clone(),
            users: self.store.clone(),
            outbox: self.store.clone(),
            webhooks: self.store.clone(),
            queue: self.store.clone(),
            keys: self.keys.clone(),
            vault: self.vault.clone(),
            transport,
            clock: self.clock.clone(),
            sso: self.store.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use platform::ids::HttpUrl;
    use platform::ports::TransportOutcome;

    use super::*;

    struct Offline;

    #[async_trait::async_trait]
    impl WebhookTransport for Offline {
        async fn post(&self, _: &HttpUrl, _: &[(String, String)], _: &str) -> TransportOutcome {
            TransportOutcome { status: None, error: Some("offline".into()) }
        }
    }

    #[tokio::test]
    async fn opening_creates_a_private_data_directory_with_every_file_in_it() {
        let parent = tempfile::tempdir().unwrap();
        let data_dir = parent.path().join("badges-data");
        let embedded = Embedded::open(&data_dir, Arc::new(SystemClock)).unwrap();
        let ports = embedded.ports(Arc::new(Offline));
        let sealed = ports.vault.seal(b"secret", "context").await.unwrap();
        assert_eq!(ports.vault.open(&sealed, "context").await.unwrap(), b"secret");
        assert!(ports.outbox.pending_events(1).await.unwrap().is_empty());
        for name in [DATABASE_FILE, MASTER_KEY_FILE, KEYS_DIR] {
            assert!(data_dir.join(name).exists(), "{name}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        // Opening again (a restart) reuses everything.
        drop(ports);
        drop(embedded);
        let reopened =
            Embedded::open(&data_dir, Arc::new(SystemClock)).unwrap().ports(Arc::new(Offline));
        assert_eq!(reopened.vault.open(&sealed, "context").await.unwrap(), b"secret");
    }
}
