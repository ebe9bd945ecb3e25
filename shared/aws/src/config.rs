//! What the adapters need to know: resource names and the signing mode.

use anyhow::{Context as _, bail};

/// How workspace keys sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningMode {
    /// Each workspace key is a KMS key of spec `ECC_NIST_EDWARDS25519`; signing is a KMS
    /// `Sign` call (`ED25519_SHA_512`, `RAW`), so the private key never leaves KMS.
    Kms,
    /// Each workspace's Ed25519 seed is encrypted under the KMS key `wrapping_key_id` with an
    /// encryption context naming the workspace, and decrypted once per container; for volumes
    /// above the KMS asymmetric request quota.
    Envelope { wrapping_key_id: String },
}

/// The AWS resources of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// The DynamoDB table.
    pub table: String,
    /// The S3 bucket for documents (credentials, signed status lists, exports).
    pub bucket: String,
    /// The bulk issuance queue's URL.
    pub bulk_queue_url: String,
    /// The webhook delivery queue's URL.
    pub webhooks_queue_url: String,
    /// The KMS key (id, ARN or alias) that seals secrets at rest.
    pub vault_key_id: String,
    /// How workspace keys sign.
    pub signing: SigningMode,
    /// Path-style S3 addressing (emulators); virtual-hosted style otherwise.
    pub force_path_style: bool,
}

impl AwsConfig {
    /// From the environment the SAM template gives every function:
    /// `BADGES_TABLE`, `BADGES_BUCKET`, `BADGES_BULK_QUEUE_URL`, `BADGES_WEBHOOK_QUEUE_URL`,
    /// `BADGES_VAULT_KEY_ID`, `BADGES_SIGNING_MODE` (`kms`, the default, or `envelope`),
    /// `BADGES_ENVELOPE_KEY_ID` (envelope mode), `BADGES_S3_PATH_STYLE` (`true` for emulators).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any lookup (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("{name} is not set"))
        };
        let signing = match lookup("BADGES_SIGNING_MODE").as_deref().map(str::trim) {
            None | Some("") | Some("kms") => SigningMode::Kms,
            Some("envelope") => {
                SigningMode::Envelope { wrapping_key_id: required("BADGES_ENVELOPE_KEY_ID")? }
            }
            Some(other) => bail!("BADGES_SIGNING_MODE must be `kms` or `envelope`, not `{other}`"),
        };
        Ok(Self {
            table: required("BADGES_TABLE")?,
            bucket: required("BADGES_BUCKET")?,
            bulk_queue_url: required("BADGES_BULK_QUEUE_URL")?,
            webhooks_queue_url: required("BADGES_WEBHOOK_QUEUE_URL")?,
            vault_key_id: required("BADGES_VAULT_KEY_ID")?,
            signing,
            force_path_style: lookup("BADGES_S3_PATH_STYLE").is_some_and(|v| v == "true"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 5] = [
        ("BADGES_TABLE", "t"),
        ("BADGES_BUCKET", "b"),
        ("BADGES_BULK_QUEUE_URL", "q1"),
        ("BADGES_WEBHOOK_QUEUE_URL", "q2"),
        ("BADGES_VAULT_KEY_ID", "alias/v"),
    ];

    #[test]
    fn kms_signing_is_the_default() {
        let config = AwsConfig::from_lookup(env(&BASE)).unwrap();
        assert_eq!(config.signing, SigningMode::Kms);
        assert!(!config.force_path_style);
    }

    #[test]
    fn envelope_mode_needs_its_wrapping_key() {
        let mut pairs = BASE.to_vec();
        pairs.push(("BADGES_SIGNING_MODE", "envelope"));
        let error = AwsConfig::from_lookup(env(&pairs)).unwrap_err().to_string();
        assert!(error.contains("BADGES_ENVELOPE_KEY_ID"), "{error}");
        pairs.push(("BADGES_ENVELOPE_KEY_ID", "alias/e"));
        assert_eq!(
            AwsConfig::from_lookup(env(&pairs)).unwrap().signing,
            SigningMode::Envelope { wrapping_key_id: "alias/e".into() }
        );
    }

    #[test]
    fn an_unknown_mode_or_a_missing_resource_is_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("BADGES_SIGNING_MODE", "hsm"));
        assert!(AwsConfig::from_lookup(env(&pairs)).unwrap_err().to_string().contains("hsm"));
        let error = AwsConfig::from_lookup(env(&BASE[1..])).unwrap_err().to_string();
        assert!(error.contains("BADGES_TABLE"), "{error}");
    }
}
