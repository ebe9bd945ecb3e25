//! Recipients' personal data at rest: encrypted per recipient, erasable by destroying a key.
//!
//! The key hierarchy, for one organization (the controller of its recipients' data):
//!
//! 1. **The organization secret**: 32 random bytes, sealed by the [`Vault`](crate::ports::Vault)
//!    (KMS on AWS, the local master key file on the embedded store) and stored under the
//!    reserved recipient id [`ORGANIZATION_SECRET`]. Two keys derive from it (HMAC-SHA-256
//!    with distinct labels): the *index key* and the *key-encryption key*.
//! 2. **The recipient id**: HMAC-SHA-256 of the normalized email under the index key, hex.
//!    Records and indexes carry it instead of the email, so the platform can find a
//!    recipient's credentials (by email, through the id) without storing the email in clear;
//!    without the organization secret, the id says nothing about the email.
//! 3. **The recipient's data key**: 32 random bytes per recipient, stored wrapped under the
//!    key-encryption key (ChaCha20-Poly1305, bound to organization, recipient and key id).
//! 4. **The sealed recipient**: each credential record keeps the recipient's email and name
//!    encrypted under the data key (ChaCha20-Poly1305, bound to the credential id and the
//!    recipient id).
//!
//! **Erasure** deletes the recipient's data key: every copy of their email and name (in every
//! record, in every backup of the store) becomes unreadable at once. The signed credentials
//! never held either in clear (they name the recipient by a salted hash of the email, which
//! is what the recipient proves ownership with), so they stay verifiable. A credential
//! sealed under a key that is gone, or under an older key than the recipient's current one,
//! reads as erased.
//!
//! Everything here is pure: no I/O; the use cases in `app::personal_data` do the storing.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ids::{CredentialId, Email, OrganizationId};

/// The reserved recipient id under which an organization's secret is stored (recipient ids
/// are 64 hex digits, so it names no recipient).
pub const ORGANIZATION_SECRET: &str = "organization";

/// The version byte in front of everything sealed here.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// A recipient, as records and indexes name them: HMAC-SHA-256 of the normalized email under
/// the organization's index key, 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecipientId(String);

impl std::fmt::Debug for RecipientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecipientId({})", &self.0)
    }
}

impl std::fmt::Display for RecipientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RecipientId {
    /// Parses a stored id: 64 lowercase hex digits, or the reserved [`ORGANIZATION_SECRET`].
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        (hex || text == ORGANIZATION_SECRET).then(|| Self(text.to_owned()))
    }

    /// The reserved id of the organization secret.
    pub fn organization_secret() -> Self {
        Self(ORGANIZATION_SECRET.to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A recipient's email and name: what is sealed in each credential record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientData {
    pub email: Email,
    pub name: String,
}

impl std::fmt::Debug for RecipientData {
    // Personal data stays out of logs, even debug ones.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecipientData(…)")
    }
}

/// The recipient of a credential as a record stores it: who (the id), under which data key,
/// and the sealed email and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedRecipient {
    pub id: RecipientId,
    /// The data key it is sealed under (a recipient gets a new one after an erasure).
    pub key_id: uuid::Uuid,
    /// Version, nonce and ciphertext of the JSON of [`RecipientData`].
    #[serde(with = "base64_bytes")]
    pub sealed: Vec<u8>,
}

/// What the platform can tell about a credential's recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The email and name.
    Known(RecipientData),
    /// The recipient's data was erased: the key that opened it is destroyed.
    Erased,
}

impl Recipient {
    /// The email and name, unless erased.
    pub fn data(&self) -> Option<&RecipientData> {
        match self {
            Self::Known(data) => Some(data),
            Self::Erased => None,
        }
    }
}

/// A stored key: a recipient's data key wrapped under the key-encryption key, or (under
/// [`ORGANIZATION_SECRET`]) the organization secret sealed by the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecipientKey {
    pub recipient: RecipientId,
    pub key_id: uuid::Uuid,
    #[serde(with = "base64_bytes")]
    pub wrapped: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// 32 secret bytes, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// 32 bytes from the operating system's generator.
    pub fn generate() -> anyhow::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
        Ok(Self(bytes))
    }

    /// The key in `bytes`, which must be 32 long.
    pub fn from_slice(bytes: &[u8]) -> anyhow::Result<Self> {
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| anyhow::anyhow!("a key must be 32 bytes"))?;
        Ok(Self(array))
    }

    /// The raw bytes (to seal with the vault).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn derive(&self, label: &[u8]) -> SecretKey {
        SecretKey(hmac_sha256(&self.0, label))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.0))
    }
}

/// An organization's secret, with the two keys derived from it.
#[derive(Debug, Clone)]
pub struct OrganizationKeys {
    organization: OrganizationId,
    index: SecretKey,
    key_encryption: SecretKey,
}

impl OrganizationKeys {
    /// The keys of `organization` derived from its `secret`.
    pub fn new(organization: OrganizationId, secret: &SecretKey) -> Self {
        Self {
            organization,
            index: secret.derive(b"open-badges recipient index v1"),
            key_encryption: secret.derive(b"open-badges recipient key encryption v1"),
        }
    }

    /// The id of the recipient with `email`.
    pub fn recipient_id(&self, email: &Email) -> RecipientId {
        RecipientId(hex::encode(hmac_sha256(self.index.expose(), email.as_str().as_bytes())))
    }

    /// A new data key for `recipient`, and its stored (wrapped) form.
    pub fn new_data_key(
        &self,
        recipient: &RecipientId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(SecretKey, StoredRecipientKey)> {
        let key = SecretKey::generate()?;
        let key_id = uuid::Uuid::now_v7();
        let aad = self.wrap_context(recipient, key_id);
        let wrapped = seal(&self.key_encryption, key.expose(), aad.as_bytes())?;
        Ok((
            key,
            StoredRecipientKey { recipient: recipient.clone(), key_id, wrapped, created_at: now },
        ))
    }

    /// The data key in `stored` (which must be a recipient's key of this organization).
    pub fn unwrap_data_key(&self, stored: &StoredRecipientKey) -> anyhow::Result<SecretKey> {
        let aad = self.wrap_context(&stored.recipient, stored.key_id);
        let mut bytes = open(&self.key_encryption, &stored.wrapped, aad.as_bytes())?;
        let key = SecretKey::from_slice(&bytes);
        bytes.zeroize();
        key
    }

    fn wrap_context(&self, recipient: &RecipientId, key_id: uuid::Uuid) -> String {
        format!("recipient-key|{}|{recipient}|{key_id}", self.organization)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The vault context of an organization's secret.
pub fn secret_context(organization: OrganizationId) -> String {
    format!("recipient-secret|{organization}")
}

/// Seals `data` for the credential `id` under the recipient's data key.
pub fn seal_recipient(
    key: &SecretKey,
    key_id: uuid::Uuid,
    recipient: &RecipientId,
    id: CredentialId,
    data: &RecipientData,
) -> anyhow::Result<SealedRecipient> {
    let mut json = serde_json::to_vec(data)?;
    let sealed = seal(key, &json, record_context(recipient, id).as_bytes());
    json.zeroize();
    Ok(SealedRecipient { id: recipient.clone(), key_id, sealed: sealed? })
}

/// Opens what [`seal_recipient`] sealed for the credential `id`.
pub fn open_recipient(
    key: &SecretKey,
    id: CredentialId,
    sealed: &SealedRecipient,
) -> anyhow::Result<RecipientData> {
    let mut json = open(key, &sealed.sealed, record_context(&sealed.id, id).as_bytes())?;
    let data = serde_json::from_slice(&json);
    json.zeroize();
    Ok(data?)
}

fn record_context(recipient: &RecipientId, id: CredentialId) -> String {
    format!("recipient-data|{id}|{recipient}")
}

fn seal(key: &SecretKey, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let ciphertext = key
        .cipher()
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn open(key: &SecretKey, sealed: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
    let [version, rest @ ..] = sealed else { anyhow::bail!("empty ciphertext") };
    anyhow::ensure!(*version == VERSION, "unknown ciphertext version {version}");
    anyhow::ensure!(rest.len() > NONCE_LEN, "ciphertext too short");
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into()?;
    key.cipher()
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad })
        .map_err(|_| anyhow::anyhow!("the ciphertext does not open with this key and context"))
}

/// Bytes as standard base64 in JSON.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn keys() -> OrganizationKeys {
        OrganizationKeys::new(OrganizationId::generate(), &SecretKey::generate().unwrap())
    }

    fn ada() -> RecipientData {
        RecipientData { email: Email::parse("e", "Ada@Example.com").unwrap(), name: "Ada".into() }
    }

    #[test]
    fn recipient_ids_are_keyed_stable_and_normalized() {
        let keys = keys();
        let a = keys.recipient_id(&Email::parse("e", "ada@example.com").unwrap());
        let b = keys.recipient_id(&Email::parse("e", " ADA@example.COM ").unwrap());
        assert_eq!(a, b);
        assert!(RecipientId::parse(a.as_str()).is_some());
        // Another organization's index key gives another id: ids do not link tenants.
        assert_ne!(a, self::keys().recipient_id(&Email::parse("e", "ada@example.com").unwrap()));
        assert!(!a.as_str().contains("ada"));
    }

    #[test]
    fn sealed_data_opens_only_for_its_credential_and_key() {
        let keys = keys();
        let rid = keys.recipient_id(&ada().email);
        let (key, stored) = keys.new_data_key(&rid, now()).unwrap();
        let id = CredentialId::generate();
        let sealed = seal_recipient(&key, stored.key_id, &rid, id, &ada()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.sealed).contains("Ada"));
        let unwrapped = keys.unwrap_data_key(&stored).unwrap();
        assert_eq!(open_recipient(&unwrapped, id, &sealed).unwrap(), ada());
        // Moved to another record: refused.
        assert!(open_recipient(&unwrapped, CredentialId::generate(), &sealed).is_err());
        // Another data key (after an erasure, the recipient's new one): refused.
        let (other, _) = keys.new_data_key(&rid, now()).unwrap();
        assert!(open_recipient(&other, id, &sealed).is_err());
        // A flipped bit: refused.
        let mut tampered = sealed.clone();
        let last = tampered.sealed.len() - 1;
        tampered.sealed[last] ^= 1;
        assert!(open_recipient(&unwrapped, id, &tampered).is_err());
    }

    #[test]
    fn wrapped_keys_are_bound_to_their_organization_and_recipient() {
        let keys = keys();
        let rid = keys.recipient_id(&ada().email);
        let (_, stored) = keys.new_data_key(&rid, now()).unwrap();
        assert!(self::keys().unwrap_data_key(&stored).is_err());
        let mut moved = stored.clone();
        moved.recipient = keys.recipient_id(&Email::parse("e", "bob@example.com").unwrap());
        assert!(keys.unwrap_data_key(&moved).is_err());
        let mut truncated = stored;
        truncated.wrapped.truncate(5);
        assert!(keys.unwrap_data_key(&truncated).is_err());
    }

    #[test]
    fn ids_parse_strictly_and_debug_hides_personal_data() {
        assert!(RecipientId::parse("organization").is_some());
        assert!(RecipientId::parse(&"A".repeat(64)).is_none());
        assert!(RecipientId::parse(&"a".repeat(63)).is_none());
        assert!(!format!("{:?}", ada()).contains("Ada"));
        let json = serde_json::to_string(&SealedRecipient {
            id: RecipientId::organization_secret(),
            key_id: uuid::Uuid::nil(),
            sealed: vec![1, 2, 3],
        })
        .unwrap();
        let back: SealedRecipient = serde_json::from_str(&json).unwrap();
        assert_eq!(back.sealed, vec![1, 2, 3]);
    }
}
