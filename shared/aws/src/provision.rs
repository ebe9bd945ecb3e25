//! Creates the resources of one deployment the way `infra/template.yaml` declares them (the
//! table with its indexes and TTL, the bucket, each queue with its dead-letter queue, the vault
//! key), for tests and demos against a local emulator. Production stacks come from the template.

use aws_config::SdkConfig;

use crate::config::{AwsConfig, SigningMode};

/// Which signing mode to provision for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Kms,
    Envelope,
}

/// Creates a table, a bucket, the queues (each with a dead-letter queue after `max_receives`
/// receives) and the KMS keys, all named after `prefix` (lowercase letters, digits and `-`),
/// and returns the configuration naming them.
pub async fn provision(
    sdk: &SdkConfig,
    prefix: &str,
    signing: Signing,
    max_receives: u32,
) -> anyhow::Result<AwsConfig> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let s3 = crate::s3_client(sdk, true);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let kms = aws_sdk_kms::Client::new(sdk);

    let table = format!("{prefix}-table");
    let bucket = format!("{prefix}-documents");
    crate::dynamo::create_table(&dynamodb, &table).await?;
    crate::documents::create_bucket(&s3, &bucket).await?;
    let bulk_queue_url =
        crate::sqs::create_queue_with_dlq(&sqs, &format!("{prefix}-bulk"), max_receives).await?;
    let webhooks_queue_url =
        crate::sqs::create_queue_with_dlq(&sqs, &format!("{prefix}-webhooks"), max_receives)
            .await?;
    let vault_key_id = crate::vault::create_symmetric_key(&kms, &format!("{prefix} vault")).await?;
    let signing = match signing {
        Signing::Kms => SigningMode::Kms,
        Signing::Envelope => SigningMode::Envelope {
            wrapping_key_id: crate::vault::create_symmetric_key(&kms, &format!("{prefix} seeds"))
                .await?,
        },
    };
    Ok(AwsConfig {
        table,
        bucket,
        bulk_queue_url,
        webhooks_queue_url,
        vault_key_id,
        signing,
        force_path_style: true,
    })
}
