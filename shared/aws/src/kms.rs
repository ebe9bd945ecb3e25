//! [`KmsKeyStore`]: the workspaces' Ed25519 keys in KMS, their metadata in the DynamoDB table.
//!
//! One item per key, in the workspace's partition:
//!
//! | attribute | value |
//! |---|---|
//! | `PK`, `SK` | `WS#<workspace uuid>`, `KEY#<n, six digits>` (key `n` is `key-<n>`: 1, 2, …) |
//! | `key_id` | `key-<n>`, the DID fragment |
//! | `public_key_multibase` | `z6Mk…` |
//! | `created_at`, `retired_at` | RFC 3339; `retired_at` once a newer key exists |
//! | `mode` | `kms` or `envelope` |
//! | `kms_key_id` | `kms` mode: the ARN of the KMS key (`ECC_NIST_EDWARDS25519`) that signs |
//! | `sealed_seed`, `wrapping_key_id` | `envelope` mode: the Ed25519 seed encrypted by KMS under the wrapping key (ARN), with the encryption context `{"workspace": <uuid>, "purpose": "badges-signing-key"}` |
//!
//! A key is created by one `TransactWriteItems`: the new item, on condition that its `SK` is
//! free (of two concurrent rotations only one claims `n`; the other fails and schedules its
//! orphaned KMS key for deletion), and `retired_at` on the previous key.
//!
//! Each item says how it signs, so keys created before a change of [`SigningMode`] keep
//! working: `kms` keys by a KMS `Sign` call (`ED25519_SHA_512`, `RAW`, messages up to 4 KiB;
//! the platform signs 64-byte hashes), `envelope` keys locally after one KMS `Decrypt` of the
//! seed per container (the decrypted keys are cached, zeroized on drop, and checked against
//! the stored public key).
//!
//! Key metadata is cached per workspace for signing; a key id the cache does not know is
//! looked up again (consistent read), so a key created by another container is never missed.
//! [`KeyStore::public_keys`] always reads the table: DID documents must show rotations made
//! elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context as _, anyhow, bail, ensure};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec, Tag};
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore as _;
use chrono::{DateTime, SecondsFormat, Utc};
use credentials::keys::{KeyPair, PublicKey};
use platform::ids::WorkspaceId;
use platform::model::SigningKeyInfo;
use platform::ports::{KeyStore, PortResult};
use zeroize::Zeroizing;

use crate::config::SigningMode;

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
/// The tag naming the workspace on its KMS keys.
const WORKSPACE_TAG: &str = "badges:workspace";
/// The tag naming the deployment (its table) on its KMS keys, so that IAM policies can tell
/// one stack's keys from another's in the same account and region.
const DEPLOYMENT_TAG: &str = "badges:deployment";
/// The `purpose` of the envelope seeds' encryption context.
const SEED_PURPOSE: &str = "badges-signing-key";
/// The largest key number the six-digit sort key holds.
const MAX_KEY_NUMBER: u32 = 999_999;
/// The waiting period before KMS deletes an orphaned key (the minimum KMS allows).
const ORPHAN_DELETION_DAYS: i32 = 7;

/// How one key signs.
#[derive(Clone)]
enum Material {
    /// A KMS Ed25519 key (its ARN).
    Kms { kms_key_id: String },
    /// A seed encrypted under the KMS key `wrapping_key_id`.
    Envelope { sealed_seed: Vec<u8>, wrapping_key_id: String },
}

/// One key's item.
#[derive(Clone)]
struct KeyRecord {
    number: u32,
    info: SigningKeyInfo,
    material: Material,
}

type Keys = Arc<[KeyRecord]>;

/// The key store over KMS and the DynamoDB table.
pub struct KmsKeyStore {
    kms: aws_sdk_kms::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    signing: SigningMode,
    /// Key metadata by workspace, as last read.
    keys: Mutex<HashMap<WorkspaceId, Keys>>,
    /// Decrypted envelope keys by workspace and key id.
    signers: Mutex<HashMap<(WorkspaceId, String), Arc<KeyPair>>>,
}

impl std::fmt::Debug for KmsKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsKeyStore")
            .field("table", &self.table)
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

/// An SDK error with its whole source chain in the message.
fn aws_error(error: impl std::error::Error) -> anyhow::Error {
    anyhow!("{}", DisplayErrorContext(error))
}

fn partition(workspace: WorkspaceId) -> String {
    format!("WS#{}", workspace.0.hyphenated())
}

fn sort_key(number: u32) -> String {
    format!("KEY#{number:06}")
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn seed_context(workspace: WorkspaceId) -> [(&'static str, String); 2] {
    [("workspace", workspace.0.hyphenated().to_string()), ("purpose", SEED_PURPOSE.to_owned())]
}

/// The 32 key bytes of a DER Ed25519 `SubjectPublicKeyInfo`, parsed strictly.
fn ed25519_spki(der: &[u8]) -> anyhow::Result<PublicKey> {
    let key = der
        .strip_prefix(&ED25519_SPKI_PREFIX)
        .filter(|key| key.len() == 32)
        .ok_or_else(|| anyhow!("KMS returned a public key that is not Ed25519 SPKI DER"))?;
    PublicKey::from_bytes(key).map_err(|e| anyhow!("KMS returned an invalid Ed25519 key: {e}"))
}

impl KmsKeyStore {
    /// The key store over the table `table`, creating keys in `signing` mode.
    pub fn new(
        kms: aws_sdk_kms::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: String,
        signing: SigningMode,
    ) -> Self {
        Self { kms, dynamodb, table, signing, keys: Mutex::default(), signers: Mutex::default() }
    }

    /// The workspace's keys, oldest first, read from the table; refreshes the cache.
    async fn read_keys(&self, workspace: WorkspaceId) -> anyhow::Result<Keys> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .dynamodb
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :sk)")
                .expression_attribute_values(":pk", AttributeValue::S(partition(workspace)))
                .expression_attribute_values(":sk", AttributeValue::S("KEY#".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(aws_error)
                .with_context(|| format!("DynamoDB Query of the keys of workspace {workspace}"))?;
            for item in output.items() {
                records.push(
                    record(item).with_context(|| format!("a key item of workspace {workspace}"))?,
                );
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let keys: Keys = records.into();
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).insert(workspace, keys.clone());
        Ok(keys)
    }

    /// The key `key_id` of `workspace`, from the cache or else from the table.
    async fn key(&self, workspace: WorkspaceId, key_id: &str) -> anyhow::Result<KeyRecord> {
        let cached =
            self.keys.lock().unwrap_or_else(PoisonError::into_inner).get(&workspace).cloned();
        let find = |keys: &Keys| keys.iter().find(|k| k.info.key_id == key_id).cloned();
        if let Some(key) = cached.as_ref().and_then(find) {
            return Ok(key);
        }
        find(&self.read_keys(workspace).await?)
            .ok_or_else(|| anyhow!("workspace {workspace} has no signing key `{key_id}`"))
    }

    /// The newest key's number, from the table.
    async fn latest_number(&self, workspace: WorkspaceId) -> anyhow::Result<Option<u32>> {
        let output = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :sk)")
            .expression_attribute_values(":pk", AttributeValue::S(partition(workspace)))
            .expression_attribute_values(":sk", AttributeValue::S("KEY#".into()))
            .consistent_read(true)
            .scan_index_forward(false)
            .limit(1)
            .projection_expression("SK")
            .send()
            .await
            .map_err(aws_error)
            .with_context(|| {
                format!("DynamoDB Query of the newest key of workspace {workspace}")
            })?;
        output.items().first().map(key_number).transpose()
    }

    /// A new KMS Ed25519 key for the workspace: its ARN and public key.
    async fn create_kms_key(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
    ) -> anyhow::Result<(String, PublicKey)> {
        let tag = Tag::builder()
            .tag_key(WORKSPACE_TAG)
            .tag_value(workspace.0.hyphenated().to_string())
            .build()
            .context("building a KMS tag")?;
        let deployment = Tag::builder()
            .tag_key(DEPLOYMENT_TAG)
            .tag_value(self.table.clone())
            .build()
            .context("building a KMS tag")?;
        let created = self
            .kms
            .create_key()
            .key_spec(KeySpec::EccNistEdwards25519)
            .key_usage(KeyUsageType::SignVerify)
            .description(format!("Open Badges signing key {key_id} of workspace {workspace}"))
            .tags(tag)
            .tags(deployment)
            .send()
            .await
            .map_err(aws_error)
            .with_context(|| format!("KMS CreateKey for workspace {workspace}"))?;
        let metadata = created.key_metadata().context("KMS CreateKey returned no metadata")?;
        let arn = metadata.arn().unwrap_or(metadata.key_id()).to_owned();
        let public = async {
            let output = self
                .kms
                .get_public_key()
                .key_id(&arn)
                .send()
                .await
                .map_err(aws_error)
                .with_context(|| format!("KMS GetPublicKey of {arn}"))?;
            let der = output.public_key().context("KMS GetPublicKey returned no key")?;
            ed25519_spki(der.as_ref())
        }
        .await;
        match public {
            Ok(public) => Ok((arn, public)),
            Err(error) => {
                self.delete_orphan(&arn).await;
                Err(error)
            }
        }
    }

    /// Schedules the deletion of a KMS key no item refers to (best effort: logged on failure).
    async fn delete_orphan(&self, arn: &str) {
        let result = self
            .kms
            .schedule_key_deletion()
            .key_id(arn)
            .pending_window_in_days(ORPHAN_DELETION_DAYS)
            .send()
            .await;
        if let Err(error) = result {
            tracing::warn!(
                key = arn,
                error = %DisplayErrorContext(error),
                "KMS ScheduleKeyDeletion of an unused signing key failed; delete it by hand"
            );
        }
    }

    /// A new seed encrypted under `wrapping_key_id`: the key pair, the ciphertext and the ARN
    /// of the key that encrypted it.
    async fn create_envelope_key(
        &self,
        workspace: WorkspaceId,
        wrapping_key_id: &str,
    ) -> anyhow::Result<(KeyPair, Vec<u8>, String)> {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(seed.as_mut())
            .map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
        let pair = KeyPair::from_seed(&seed);
        let [(k1, v1), (k2, v2)] = seed_context(workspace);
        let output = self
            .kms
            .encrypt()
            .key_id(wrapping_key_id)
            .plaintext(Blob::new(seed.to_vec()))
            .encryption_context(k1, v1)
            .encryption_context(k2, v2)
            .send()
            .await
            .map_err(aws_error)
            .with_context(|| format!("KMS Encrypt of a signing seed for workspace {workspace}"))?;
        let sealed = output
            .ciphertext_blob()
            .context("KMS Encrypt returned no ciphertext")?
            .as_ref()
            .to_vec();
        let wrapping_arn = output.key_id().unwrap_or(wrapping_key_id).to_owned();
        Ok((pair, sealed, wrapping_arn))
    }

    /// The decrypted envelope key, from the cache or else by KMS `Decrypt`.
    async fn envelope_signer(
        &self,
        workspace: WorkspaceId,
        key: &KeyRecord,
        sealed_seed: &[u8],
        wrapping_key_id: &str,
    ) -> anyhow::Result<Arc<KeyPair>> {
        let slot = (workspace, key.info.key_id.clone());
        if let Some(pair) = self.signers.lock().unwrap_or_else(PoisonError::into_inner).get(&slot) {
            return Ok(pair.clone());
        }
        let [(k1, v1), (k2, v2)] = seed_context(workspace);
        let mut output = self
            .kms
            .decrypt()
            .key_id(wrapping_key_id)
            .ciphertext_blob(Blob::new(sealed_seed))
            .encryption_context(k1, v1)
            .encryption_context(k2, v2)
            .send()
            .await
            .map_err(aws_error)
            .with_context(|| {
                format!("KMS Decrypt of signing key {} of workspace {workspace}", key.info.key_id)
            })?;
        let plaintext = Zeroizing::new(
            output.plaintext.take().context("KMS Decrypt returned no plaintext")?.into_inner(),
        );
        let seed: &[u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("a decrypted seed of {} bytes, not 32", plaintext.len()))?;
        let pair = KeyPair::from_seed(seed);
        ensure!(
            pair.public_key().to_multibase() == key.info.public_key_multibase,
            "the seed of signing key {} of workspace {workspace} does not match its public key",
            key.info.key_id
        );
        let pair = Arc::new(pair);
        self.signers.lock().unwrap_or_else(PoisonError::into_inner).insert(slot, pair.clone());
        Ok(pair)
    }

    /// Writes the new key's item and retires the previous key, atomically; `Ok(false)` if
    /// another key took the number first.
    async fn write_key(
        &self,
        workspace: WorkspaceId,
        record: &KeyRecord,
        previous: Option<u32>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(workspace, record)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .context("building a DynamoDB Put")?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(previous) = previous {
            let retire = Update::builder()
                .table_name(&self.table)
                .key("PK", AttributeValue::S(partition(workspace)))
                .key("SK", AttributeValue::S(sort_key(previous)))
                .update_expression("SET retired_at = if_not_exists(retired_at, :now)")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":now", AttributeValue::S(timestamp(now)))
                .build()
                .context("building a DynamoDB Update")?;
            items.push(TransactWriteItem::builder().update(retire).build());
        }
        let result =
            self.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(lost_to_another_key) => Ok(false),
            Err(error) => Err(aws_error(error)).with_context(|| {
                format!("DynamoDB TransactWriteItems of a key of workspace {workspace}")
            }),
        }
    }
}

/// Whether a transaction was cancelled because a condition failed (the new key's number was
/// taken).
fn lost_to_another_key(error: &TransactWriteItemsError) -> bool {
    match error {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                || e.message().is_some_and(|m| m.contains("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

/// The item of a key.
fn item(workspace: WorkspaceId, record: &KeyRecord) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let info = &record.info;
    let mut item = HashMap::from([
        ("PK".to_owned(), s(&partition(workspace))),
        ("SK".to_owned(), s(&sort_key(record.number))),
        ("key_id".to_owned(), s(&info.key_id)),
        ("public_key_multibase".to_owned(), s(&info.public_key_multibase)),
        ("created_at".to_owned(), s(&timestamp(info.created_at))),
    ]);
    if let Some(retired_at) = info.retired_at {
        item.insert("retired_at".to_owned(), s(&timestamp(retired_at)));
    }
    match &record.material {
        Material::Kms { kms_key_id } => {
            item.insert("mode".to_owned(), s("kms"));
            item.insert("kms_key_id".to_owned(), s(kms_key_id));
        }
        Material::Envelope { sealed_seed, wrapping_key_id } => {
            item.insert("mode".to_owned(), s("envelope"));
            item.insert(
                "sealed_seed".to_owned(),
                AttributeValue::B(Blob::new(sealed_seed.clone())),
            );
            item.insert("wrapping_key_id".to_owned(), s(wrapping_key_id));
        }
    }
    item
}

fn string<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> anyhow::Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(_) => bail!("`{name}` is not a string"),
        None => bail!("`{name}` is missing"),
    }
}

fn time(item: &HashMap<String, AttributeValue>, name: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = string(item, name)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("`{name}` is not an RFC 3339 time: {text}"))
}

/// The number in a key item's `SK`.
fn key_number(item: &HashMap<String, AttributeValue>) -> anyhow::Result<u32> {
    let sk = string(item, "SK")?;
    sk.strip_prefix("KEY#")
        .filter(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("`SK` is not a key's sort key: {sk}"))
}

fn record(item: &HashMap<String, AttributeValue>) -> anyhow::Result<KeyRecord> {
    let number = key_number(item)?;
    let retired_at = match item.get("retired_at") {
        None | Some(AttributeValue::Null(_)) => None,
        Some(_) => Some(time(item, "retired_at")?),
    };
    let material = match string(item, "mode")? {
        "kms" => Material::Kms { kms_key_id: string(item, "kms_key_id")?.to_owned() },
        "envelope" => Material::Envelope {
            sealed_seed: match item.get("sealed_seed") {
                Some(AttributeValue::B(blob)) => blob.as_ref().to_vec(),
                _ => bail!("`sealed_seed` is missing or not binary"),
            },
            wrapping_key_id: string(item, "wrapping_key_id")?.to_owned(),
        },
        other => bail!("unknown key mode `{other}`"),
    };
    Ok(KeyRecord {
        number,
        info: SigningKeyInfo {
            key_id: string(item, "key_id")?.to_owned(),
            public_key_multibase: string(item, "public_key_multibase")?.to_owned(),
            created_at: time(item, "created_at")?,
            retired_at,
        },
        material,
    })
}

#[async_trait]
impl KeyStore for KmsKeyStore {
    /// Fails (and creates nothing) if another key of the workspace is created concurrently.
    async fn create_key(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> PortResult<SigningKeyInfo> {
        let previous = self.latest_number(workspace).await?;
        let number = previous.map_or(1, |n| n.saturating_add(1));
        ensure!(number <= MAX_KEY_NUMBER, "workspace {workspace} has too many keys");
        let key_id = format!("key-{number}");
        let (public, material, pair) = match &self.signing {
            SigningMode::Kms => {
                let (kms_key_id, public) = self.create_kms_key(workspace, &key_id).await?;
                (public, Material::Kms { kms_key_id }, None)
            }
            SigningMode::Envelope { wrapping_key_id } => {
                let (pair, sealed_seed, wrapping_key_id) =
                    self.create_envelope_key(workspace, wrapping_key_id).await?;
                (pair.public_key(), Material::Envelope { sealed_seed, wrapping_key_id }, Some(pair))
            }
        };
        let info = SigningKeyInfo {
            key_id: key_id.clone(),
            public_key_multibase: public.to_multibase(),
            created_at: now,
            retired_at: None,
        };
        let record = KeyRecord { number, info: info.clone(), material };
        let written = self.write_key(workspace, &record, previous, now).await;
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).remove(&workspace);
        match written {
            Ok(true) => {}
            Ok(false) => {
                if let Material::Kms { kms_key_id } = &record.material {
                    self.delete_orphan(kms_key_id).await;
                }
                bail!(
                    "another key {key_id} was created for workspace {workspace} at the same time"
                );
            }
            Err(error) => return Err(error),
        }
        if let Some(pair) = pair {
            self.signers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((workspace, key_id), Arc::new(pair));
        }
        Ok(info)
    }

    async fn sign(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
        message: &[u8],
    ) -> PortResult<[u8; 64]> {
        let cached = self
            .signers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(workspace, key_id.to_owned()))
            .cloned();
        if let Some(pair) = cached {
            return Ok(pair.sign(message));
        }
        let key = self.key(workspace, key_id).await?;
        match &key.material {
            Material::Envelope { sealed_seed, wrapping_key_id } => {
                let pair =
                    self.envelope_signer(workspace, &key, sealed_seed, wrapping_key_id).await?;
                Ok(pair.sign(message))
            }
            Material::Kms { kms_key_id } => {
                let output = self
                    .kms
                    .sign()
                    .key_id(kms_key_id)
                    .message(Blob::new(message))
                    .message_type(MessageType::Raw)
                    .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
                    .send()
                    .await
                    .map_err(aws_error)
                    .with_context(|| {
                        format!("KMS Sign with key {key_id} of workspace {workspace}")
                    })?;
                let signature = output.signature().context("KMS Sign returned no signature")?;
                <[u8; 64]>::try_from(signature.as_ref()).map_err(|_| {
                    anyhow!(
                        "KMS Sign returned {} bytes; an Ed25519 signature is 64",
                        signature.as_ref().len()
                    )
                })
            }
        }
    }

    async fn public_keys(&self, workspace: WorkspaceId) -> PortResult<Vec<SigningKeyInfo>> {
        Ok(self.read_keys(workspace).await?.iter().map(|k| k.info.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn ed25519_spki_is_parsed_strictly() {
        let pair = KeyPair::from_seed(&[3; 32]);
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&pair.public_key().to_bytes());
        assert_eq!(ed25519_spki(&der).unwrap(), pair.public_key());
        assert!(ed25519_spki(&der[..der.len() - 1]).is_err());
        assert!(ed25519_spki(&[der.as_slice(), &[0]].concat()).is_err());
        let mut other_algorithm = der.clone();
        other_algorithm[8] = 0x71; // Ed448
        assert!(ed25519_spki(&other_algorithm).is_err());
        assert!(ed25519_spki(&[]).is_err());
    }

    #[test]
    fn items_round_trip_in_both_modes() {
        let workspace = WorkspaceId::generate();
        let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let info = SigningKeyInfo {
            key_id: "key-12".into(),
            public_key_multibase: KeyPair::from_seed(&[1; 32]).public_key().to_multibase(),
            created_at: at,
            retired_at: Some(at + chrono::Duration::nanoseconds(1_500)),
        };
        for material in [
            Material::Kms { kms_key_id: "arn:aws:kms:eu-central-1:1:key/k".into() },
            Material::Envelope { sealed_seed: vec![1, 2, 3], wrapping_key_id: "arn:w".into() },
        ] {
            let original = KeyRecord { number: 12, info: info.clone(), material };
            let item = item(workspace, &original);
            assert_eq!(item["SK"], AttributeValue::S("KEY#000012".into()));
            let parsed = record(&item).unwrap();
            assert_eq!((parsed.number, &parsed.info), (12, &info));
        }
    }

    #[test]
    fn damaged_items_are_errors() {
        let workspace = WorkspaceId::generate();
        let original = KeyRecord {
            number: 1,
            info: SigningKeyInfo {
                key_id: "key-1".into(),
                public_key_multibase: "z6Mk".into(),
                created_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
                retired_at: None,
            },
            material: Material::Kms { kms_key_id: "k".into() },
        };
        let good = item(workspace, &original);
        for (name, value) in [
            ("SK", AttributeValue::S("KEY#1".into())),
            ("mode", AttributeValue::S("hsm".into())),
            ("created_at", AttributeValue::S("yesterday".into())),
            ("kms_key_id", AttributeValue::N("1".into())),
        ] {
            let mut damaged = good.clone();
            damaged.insert(name.into(), value);
            assert!(record(&damaged).is_err(), "{name}");
        }
    }
}
