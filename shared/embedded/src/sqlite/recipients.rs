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
        // One or a few (a page, a credential) are looked up in place; a bulk chunk's hundred
        // go to the blocking pool.
        let in_place = recipients.len() <= 4;
        let work = move |c: &rusqlite::Connection| {
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
        };
        if in_place {
            self.lookup("read recipient keys", work).await
        } else {
            self.read("read recipient keys", work).await
        }
    }

    async fn ensure_recipient_keys(
        &self,
        organization: OrganizationId,
        candidates: &[StoredRecipientKey],
    ) -> PortResult<Vec<StoredRecipientKey>> {
        let candidates = candidates.to_vec();
        self.write("ensure recipient keys", move |tx| {
            let organization = organization.to_string();
            let mut insert = tx.prepare_cached(
                "INSERT INTO recipient_keys (organization_id, recipient_id, record)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            let mut select = tx.prepare_cached(
                "SELECT record FROM recipient_keys WHERE organization_id = ?1 AND recipient_id = ?2",
            )?;
            let mut stored = Vec::with_capacity(candidates.len());
            for candidate in &candidates {
                let recipient = candidate.recipient.as_str();
                if insert.execute(params![organization, recipient, to_json(candidate)?])? == 1 {
                    stored.push(candidate.clone());
                } else {
                    let record: String =
                        select.query_row(params![organization, recipient], |r| r.get(0))?;
                    stored.push(from_json(&record)?);
                }
            }
            Ok(stored)
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
                // Overwrite the deleted row with zeros, so that no copy of the key stays in
                // the file's free space (for this statement only: it costs I/O).
                tx.pragma_update(None, "secure_delete", true)?;
                let deleted = tx
                    .prepare_cached(
                        "DELETE FROM recipient_keys WHERE organization_id = ?1 AND recipient_id = ?2",
                    )?
                    .execute(params![organization.to_string(), recipient.as_str()]);
                tx.pragma_update(None, "secure_delete", false)?;
                Ok(deleted? > 0)
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
