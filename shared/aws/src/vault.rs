//! [`KmsVault`]: the [`Vault`] port as envelope encryption under one KMS key.
//!
//! Each seal asks KMS for a fresh 256-bit data key (`GenerateDataKey`, `AES_256`) with the
//! encryption context `{"context": <context>}`, encrypts with ChaCha20-Poly1305 under it and
//! a random nonce, and keeps only the wrapped (KMS-encrypted) data key next to the
//! ciphertext. Sealed form (version 1):
//!
//! ```text
//! 0x01 ‖ u16 big-endian length of the wrapped key ‖ wrapped key ‖ nonce (12) ‖ ciphertext ‖ tag (16)
//! ```
//!
//! The associated data is everything before the nonce followed by the context, so the header
//! (the version and the wrapped key) is authenticated as well as the context: a sealed value
//! opens only unchanged and only under its context, whatever KMS does with a tampered
//! wrapped key. Opening parses strictly (any malformed input is an error, never a panic),
//! has KMS `Decrypt` the data key under the same encryption context, then decrypts.
//!
//! Why a data key per seal and no sealing cache: secrets are sealed rarely (a webhook's
//! creation), and one key per secret keeps every secret bound to its own context in KMS's
//! audit log too. Opening is frequent (every webhook delivery), so unwrapped data keys are
//! cached for [`OPEN_CACHE_TTL`] (at most [`OPEN_CACHE_SIZE`] of them, zeroized when
//! dropped), keyed by a hash of the header and the context: within that time a container
//! opens the same secret again without calling KMS.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use async_trait::async_trait;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeySpec, KeyUsageType};
use chacha20poly1305::aead::rand_core::RngCore as _;
use chacha20poly1305::aead::{Aead as _, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};
use platform::ports::{PortResult, Vault};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const DATA_KEY_LEN: usize = 32;
/// The encryption context's key; its value is the seal's context.
const CONTEXT_KEY: &str = "context";
/// How long an unwrapped data key is kept for opening again.
pub const OPEN_CACHE_TTL: Duration = Duration::from_secs(300);
/// How many unwrapped data keys are kept at most.
pub const OPEN_CACHE_SIZE: usize = 1024;

type DataKey = Zeroizing<[u8; DATA_KEY_LEN]>;

/// The vault over the KMS key `key_id`.
pub struct KmsVault {
    kms: aws_sdk_kms::Client,
    key_id: String,
    /// Unwrapped data keys by SHA-256 of (header ‖ context), with when they were unwrapped.
    opened: Mutex<HashMap<[u8; 32], (DataKey, Instant)>>,
}

impl std::fmt::Debug for KmsVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsVault").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl KmsVault {
    /// The vault sealing under the KMS key `key_id` (an id, ARN or alias).
    pub fn new(kms: aws_sdk_kms::Client, key_id: String) -> Self {
        Self { kms, key_id, opened: Mutex::default() }
    }

    fn cached(&self, slot: &[u8; 32]) -> Option<DataKey> {
        let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened.get(slot).filter(|(_, at)| at.elapsed() < OPEN_CACHE_TTL).map(|(key, _)| key.clone())
    }

    fn remember(&self, slot: [u8; 32], key: DataKey) {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if opened.len() >= OPEN_CACHE_SIZE {
            opened.retain(|_, (_, at)| at.elapsed() < OPEN_CACHE_TTL);
            if opened.len() >= OPEN_CACHE_SIZE {
                opened.clear();
            }
        }
        opened.insert(slot, (key, Instant::now()));
    }

    /// KMS `Decrypt` of a wrapped data key under `context`.
    async fn unwrap_key(&self, wrapped: &[u8], context: &str) -> anyhow::Result<DataKey> {
        let mut output = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(aws_error)
            .context("KMS Decrypt of a vault data key")?;
        let plaintext = Zeroizing::new(
            output.plaintext.take().context("KMS Decrypt returned no plaintext")?.into_inner(),
        );
        data_key(&plaintext)
    }
}

/// An SDK error with its whole source chain in the message.
fn aws_error(error: impl std::error::Error) -> anyhow::Error {
    anyhow!("{}", DisplayErrorContext(error))
}

fn data_key(bytes: &[u8]) -> anyhow::Result<DataKey> {
    let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
    ensure!(
        bytes.len() == DATA_KEY_LEN,
        "KMS returned a data key of {} bytes, not {DATA_KEY_LEN}",
        bytes.len()
    );
    key.copy_from_slice(bytes);
    Ok(key)
}

/// The cache slot of a sealed value's header under `context`.
fn slot(header: &[u8], context: &str) -> [u8; 32] {
    Sha256::new().chain_update(header).chain_update(context.as_bytes()).finalize().into()
}

/// The associated data: the header, then the context (the header is self-delimiting).
fn associated_data(header: &[u8], context: &str) -> Vec<u8> {
    [header, context.as_bytes()].concat()
}

/// A sealed value, split.
struct Sealed<'a> {
    /// Version, length and wrapped key.
    header: &'a [u8],
    wrapped: &'a [u8],
    nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
}

fn parse(sealed: &[u8]) -> anyhow::Result<Sealed<'_>> {
    let Some((&version, rest)) = sealed.split_first() else {
        bail!("sealed data is empty");
    };
    ensure!(version == VERSION, "sealed data has unknown version {version}");
    let Some((length, rest)) = rest.split_first_chunk::<2>() else {
        bail!("sealed data is too short for its header");
    };
    let length = usize::from(u16::from_be_bytes(*length));
    ensure!(length > 0, "sealed data has an empty wrapped key");
    ensure!(
        rest.len() >= length + NONCE_LEN + TAG_LEN,
        "sealed data is too short ({} bytes)",
        sealed.len()
    );
    let (wrapped, rest) = rest.split_at(length);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).context("nonce")?;
    Ok(Sealed { header: &sealed[..3 + length], wrapped, nonce, ciphertext })
}

#[async_trait]
impl Vault for KmsVault {
    async fn seal(&self, plaintext: &[u8], context: &str) -> PortResult<Vec<u8>> {
        let mut output = self
            .kms
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(aws_error)
            .context("KMS GenerateDataKey for the vault")?;
        let key = data_key(&Zeroizing::new(
            output
                .plaintext
                .take()
                .context("KMS GenerateDataKey returned no plaintext")?
                .into_inner(),
        ))?;
        let wrapped = output
            .ciphertext_blob
            .take()
            .context("KMS GenerateDataKey returned no ciphertext")?
            .into_inner();
        let length = u16::try_from(wrapped.len())
            .map_err(|_| anyhow!("KMS returned a wrapped key of {} bytes", wrapped.len()))?;
        ensure!(length > 0, "KMS returned an empty wrapped key");
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.try_fill_bytes(&mut nonce).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;

        let mut sealed = Vec::with_capacity(3 + wrapped.len() + NONCE_LEN + plaintext.len() + 16);
        sealed.push(VERSION);
        sealed.extend_from_slice(&length.to_be_bytes());
        sealed.extend_from_slice(&wrapped);
        let aad = associated_data(&sealed, context);
        let ciphertext = ChaCha20Poly1305::new_from_slice(key.as_ref())
            .map_err(|_| anyhow!("bad data key length"))?
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| anyhow!("sealing failed"))?;
        self.remember(slot(&sealed, context), key);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    async fn open(&self, sealed: &[u8], context: &str) -> PortResult<Vec<u8>> {
        let parts = parse(sealed)?;
        let slot = slot(parts.header, context);
        let key = match self.cached(&slot) {
            Some(key) => key,
            None => {
                let key = self.unwrap_key(parts.wrapped, context).await?;
                self.remember(slot, key.clone());
                key
            }
        };
        let aad = associated_data(parts.header, context);
        // One error for every cause: which one it was is no business of whoever holds the data.
        ChaCha20Poly1305::new_from_slice(key.as_ref())
            .map_err(|_| anyhow!("bad data key length"))?
            .decrypt(&Nonce::from(parts.nonce), Payload { msg: parts.ciphertext, aad: &aad })
            .map_err(|_| anyhow!("sealed data does not open: another context, or tampered"))
    }
}

/// Creates a symmetric KMS key (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`) with yearly automatic
/// rotation, and returns its id.
pub(crate) async fn create_symmetric_key(
    client: &aws_sdk_kms::Client,
    description: &str,
) -> anyhow::Result<String> {
    let output = client
        .create_key()
        .description(description)
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("KMS CreateKey `{description}`"))?;
    let key_id = output
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .with_context(|| format!("KMS CreateKey `{description}` returned no key id"))?;
    client
        .enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("KMS EnableKeyRotation of `{description}`"))?;
    Ok(key_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sealed(wrapped_len: u16, body: usize) -> Vec<u8> {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(&wrapped_len.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, usize::from(wrapped_len) + NONCE_LEN + body));
        bytes
    }

    #[test]
    fn a_well_formed_value_splits_into_its_parts() {
        let bytes = sealed(5, TAG_LEN + 3);
        let parts = parse(&bytes).unwrap();
        assert_eq!(parts.header.len(), 3 + 5);
        assert_eq!(parts.wrapped.len(), 5);
        assert_eq!(parts.ciphertext.len(), TAG_LEN + 3);
    }

    #[test]
    fn malformed_values_are_refused_without_panicking() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[VERSION]).is_err());
        assert!(parse(&[VERSION, 0]).is_err());
        assert!(parse(&sealed(0, TAG_LEN)).is_err());
        assert!(parse(&sealed(5, TAG_LEN - 1)).is_err());
        let mut other_version = sealed(5, TAG_LEN);
        other_version[0] = 2;
        assert!(parse(&other_version).is_err());
        let mut too_long = sealed(5, TAG_LEN);
        too_long[1] = 0xff;
        assert!(parse(&too_long).is_err());
        for length in 0..40 {
            let _ = parse(&sealed(3, 0)[..length.min(sealed(3, 0).len())]);
        }
    }

    #[test]
    fn the_associated_data_binds_the_header_and_the_context() {
        assert_ne!(associated_data(b"\x01\x00\x01a", "b"), associated_data(b"\x01\x00\x01a", "c"));
        assert_ne!(slot(b"\x01\x00\x01a", "b"), slot(b"\x01\x00\x01b", "b"));
    }
}
