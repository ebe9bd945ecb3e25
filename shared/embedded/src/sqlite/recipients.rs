//! The keys that protect recipients' personal data: one row per organization secret and per
//! recipient data key; erasure deletes the row.

use async_trait::async_trait;
use platform::ids::OrganizationId;
use platform::personal::{RecipientId, StoredRecipientKey};
use platform::ports::{PortResult, RecipientKeyStore};
use rusqlite::{OptionalExtension as _, params};

use super::{SqliteStore, from_json, to_json};

#[async_trait]
impl RecipientKeyStore for SqliteStore {
    async fn recipient_keys(
        &self,
        organization: OrganizationId,
        recipients: &[RecipientId],
    ) -> PortResult<Vec<Option<StoredRecipientKey>>> {
        let recipients = recipients.to_vec();
        self.read("read recipient keys", move |c| {
            let mut statement = c.prepare_cached(
                "SELECT record FROM recipient_keys WHERE organization_id = ?1 AND recipient_id = ?2",
            )?;
            let organization = organization.to_string();
            recipients
                .iter()
                .map(|recipient| {
                    statement
                        .query_row(params![organization, recipient.as_str()], |r| {
                            r.get::<_, String>(0)
                        })
                        .optional()?
                        .map(|record| from_json(&record))
                        .transpose()
                })
                .collect()
        })
        .await
    }

    async fn insert_recipient_keys(
        &self,
        organization: OrganizationId,
        keys: &[StoredRecipientKey],
    ) -> PortResult<()> {
        let keys = keys.to_vec();
        self.write("insert recipient keys", move |tx| {
            let mut statement = tx.prepare_cached(
                "INSERT INTO recipient_keys (organization_id, recipient_id, record)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            for key in &keys {
                statement.execute(params![
                    organization.to_string(),
                    key.recipient.as_str(),
                    to_json(key)?
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn erase_recipient_key(
        &self,
        organization: OrganizationId,
        recipient: &RecipientId,
    ) -> PortResult<bool> {
        let recipient = recipient.clone();
        let erased = self
            .write("erase recipient key", move |tx| {
                let deleted = tx
                .prepare_cached(
                    "DELETE FROM recipient_keys WHERE organization_id = ?1 AND recipient_id = ?2",
                )?
                .execute(params![organization.to_string(), recipient.as_str()])?;
                Ok(deleted > 0)
            })
            .await?;
        // Readers may hold the log open; a busy checkpoint is retried by the next erasure
        // and by SQLite's own automatic checkpoints.
        if let Err(error) = self.checkpoint().await {
            tracing::warn!(error = %error, "checkpoint after an erasure did not complete");
        }
        Ok(erased)
    }
}
