//! [`LocalVault`]: secrets sealed with ChaCha20-Poly1305 under a master key kept in the data
//! directory.
//!
//! Sealed form: `version (1) ‖ nonce (12 random bytes) ‖ ciphertext and tag`, with the
//! `context` as associated data, so a secret sealed for one webhook cannot be opened as
//! another's. Random 96-bit nonces are safe for far more seals than a single machine makes
//! (the birthday bound is around 2^48 messages).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use async_trait::async_trait;
use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};
use platform::ports::{PortResult, Vault};
use zeroize::Zeroizing;

use crate::files;

/// The master key's file name in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The vault over `<data-dir>/master.key` (32 random bytes, mode 0600, created on first use).
pub struct LocalVault {
    key: Zeroizing<[u8; 32]>,
    path: PathBuf,
}

impl std::fmt::Debug for LocalVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalVault").field("path", &self.path).finish_non_exhaustive()
    }
}

impl LocalVault {
    /// Reads the master key of `data_dir`, creating it first if there is none.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(MASTER_KEY_FILE);
        if !path.exists() {
            let mut key = Zeroizing::new([0u8; 32]);
            getrandom::fill(key.as_mut()).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
            // Losing a race with another opener is fine: theirs is the key, read below.
            files::create_private_file(&path, key.as_ref())?;
        }
        let bytes = Zeroizing::new(
            fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            anyhow!("{} holds {} bytes; a master key is 32", path.display(), bytes.len())
        })?;
        Ok(Self { key: Zeroizing::new(key), path })
    }

    fn cipher(&self) -> Result<ChaCha20Poly1305> {
        ChaCha20Poly1305::new_from_slice(self.key.as_ref())
            .map_err(|_| anyhow!("bad master key length"))
    }
}

#[async_trait]
impl Vault for LocalVault {
    async fn seal(&self, plaintext: &[u8], context: &str) -> PortResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
        let payload = Payload { msg: plaintext, aad: context.as_bytes() };
        let ciphertext = self
            .cipher()?
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| anyhow!("sealing failed"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    async fn open(&self, sealed: &[u8], context: &str) -> PortResult<Vec<u8>> {
        ensure!(
            sealed.len() >= 1 + NONCE_LEN + TAG_LEN,
            "sealed data is too short ({} bytes)",
            sealed.len()
        );
        let (version, rest) = sealed.split_at(1);
        if version != [VERSION] {
            bail!("sealed data has unknown version {}", version[0]);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().context("nonce")?;
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        // One error for every cause: which one it was is no business of whoever holds the data.
        self.cipher()?.decrypt(&Nonce::from(nonce), payload).map_err(|_| {
            anyhow!("sealed data does not open: another context, another master key, or tampered")
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn a_sealed_secret_opens_only_under_its_context_and_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = LocalVault::open(dir.path()).unwrap();
        let sealed = vault.seal(b"whsec_abc", "webhook-secret:1").await.unwrap();
        assert_eq!(sealed[0], VERSION);
        assert_eq!(vault.open(&sealed, "webhook-secret:1").await.unwrap(), b"whsec_abc");
        assert!(vault.open(&sealed, "webhook-secret:2").await.is_err());

        // The key is kept: a reopened vault opens what the first one sealed.
        let reopened = LocalVault::open(dir.path()).unwrap();
        assert_eq!(reopened.open(&sealed, "webhook-secret:1").await.unwrap(), b"whsec_abc");

        let other = tempfile::tempdir().unwrap();
        assert!(
            LocalVault::open(other.path())
                .unwrap()
                .open(&sealed, "webhook-secret:1")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn truncated_or_unknown_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let vault = LocalVault::open(dir.path()).unwrap();
        let mut sealed = vault.seal(b"", "c").await.unwrap();
        assert_eq!(vault.open(&sealed, "c").await.unwrap(), b"");
        assert!(vault.open(&sealed[..sealed.len() - 1], "c").await.is_err());
        sealed[0] = 2;
        assert!(vault.open(&sealed, "c").await.is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_master_key_is_32_private_bytes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        LocalVault::open(dir.path()).unwrap();
        let path = dir.path().join(MASTER_KEY_FILE);
        assert_eq!(fs::read(&path).unwrap().len(), 32);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_master_key_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MASTER_KEY_FILE), b"short").unwrap();
        let error = LocalVault::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("a master key is 32"), "{error}");
    }
}
