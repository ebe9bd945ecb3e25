//! The platform's ports on AWS, through the AWS SDK for Rust.
//!
//! | service | adapter | ports |
//! |---|---|---|
//! | DynamoDB (one table) + S3 | [`DynamoStore`] | every store and the outbox |
//! | SQS | [`SqsQueue`] | [`Queue`](platform::ports::Queue) |
//! | KMS | [`KmsKeyStore`] | [`KeyStore`](platform::ports::KeyStore), in `kms` or `envelope` mode |
//! | KMS | [`KmsVault`] | [`Vault`](platform::ports::Vault) |
//!
//! [`Aws::connect`] builds all of it from an [`AwsConfig`] (read from the environment by the
//! Lambda functions with [`AwsConfig::from_env`]). The table design is in
//! `docs/ARCHITECTURE.md`. [`provision`] creates the resources the SAM template would, for
//! tests and demos against a local emulator; production resources come from the template.
//!
//! This crate must not depend on `axum`, `rusqlite` or `lambda_*`.

mod config;
mod documents;
mod dynamo;
mod kms;
pub mod provision;
mod sqs;
mod vault;

use std::sync::Arc;

use platform::ports::{Clock, WebhookTransport};

pub use config::{AwsConfig, SigningMode};
pub use documents::Documents;
pub use dynamo::DynamoStore;
pub use kms::KmsKeyStore;
pub use sqs::SqsQueue;
pub use vault::KmsVault;

/// Every AWS adapter, sharing one SDK configuration.
#[derive(Clone)]
pub struct Aws {
    config: AwsConfig,
    store: Arc<DynamoStore>,
    queue: Arc<SqsQueue>,
    keys: Arc<KmsKeyStore>,
    vault: Arc<KmsVault>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Aws {
    /// The adapters over the resources `config` names, with the SDK settings of `sdk`
    /// (region, credentials, endpoint).
    pub fn connect(config: AwsConfig, sdk: &aws_config::SdkConfig, clock: Arc<dyn Clock>) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let s3 = s3_client(sdk, config.force_path_style);
        let kms = aws_sdk_kms::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let documents = Documents::new(s3, config.bucket.clone());
        let store = DynamoStore::new(dynamodb.clone(), config.table.clone(), documents);
        let queue =
            SqsQueue::new(sqs, config.bulk_queue_url.clone(), config.webhooks_queue_url.clone());
        let keys =
            KmsKeyStore::new(kms.clone(), dynamodb, config.table.clone(), config.signing.clone());
        let vault = KmsVault::new(kms, config.vault_key_id.clone());
        Self {
            config,
            store: Arc::new(store),
            queue: Arc::new(queue),
            keys: Arc::new(keys),
            vault: Arc::new(vault),
            clock,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// The DynamoDB store.
    pub fn store(&self) -> &Arc<DynamoStore> {
        &self.store
    }

    /// The ports over these adapters; webhook requests go through `transport`.
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
            queue: self.queue.clone(),
            keys: self.keys.clone(),
            vault: self.vault.clone(),
            transport,
            clock: self.clock.clone(),
            sso: self.store.clone(),
        }
    }
}

/// An S3 client; path-style addressing for emulators on loopback.
pub(crate) fn s3_client(sdk: &aws_config::SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(force_path_style).build();
    aws_sdk_s3::Client::from_conf(config)
}
