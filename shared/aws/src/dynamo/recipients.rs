//! The keys that protect recipients' personal data: one item per organization secret and per
//! recipient data key (`ORG#<org>` / `RKEY#<recipient>`); erasure deletes the item (point-in-
//! time recovery keeps deleted items for its window, 35 days at most: documented).

use async_trait::async_trait;
use platform::ids::OrganizationId;
use platform::personal::{RecipientId, StoredRecipientKey};
use platform::ports::{PortResult, RecipientKeyStore};
use tokio::task::JoinSet;

use super::{Condition, DynamoStore, doc, record_item};

/// Reads of keys in flight at once.
const CONCURRENT_READS: usize = 16;

fn recipient_key(organization: OrganizationId, recipient: &RecipientId) -> (String, String) {
    (format!("ORG#{organization}"), format!("RKEY#{recipient}"))
}

#[async_trait]
impl RecipientKeyStore for DynamoStore {
    async fn recipient_keys(
        &self,
        organization: OrganizationId,
        recipients: &[RecipientId],
    ) -> PortResult<Vec<Option<StoredRecipientKey>>> {
        let what = "read recipient keys";
        let mut keys = Vec::with_capacity(recipients.len());
        for chunk in recipients.chunks(CONCURRENT_READS) {
            let mut tasks = JoinSet::new();
            for (index, recipient) in chunk.iter().enumerate() {
                let store = self.clone();
                let (pk, sk) = recipient_key(organization, recipient);
                tasks.spawn(async move { (index, store.get(what, pk, &sk).await) });
            }
            let mut found = vec![None; chunk.len()];
            while let Some(joined) = tasks.join_next().await {
                let (index, item) = joined?;
                found[index] =
                    item?.map(|item| doc::<StoredRecipientKey>(&item, what)).transpose()?;
            }
            keys.extend(found);
        }
        Ok(keys)
    }

    async fn ensure_recipient_keys(
        &self,
        organization: OrganizationId,
        candidates: &[StoredRecipientKey],
    ) -> PortResult<Vec<StoredRecipientKey>> {
        let what = "ensure recipient key";
        let mut stored = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let (pk, sk) = recipient_key(organization, &candidate.recipient);
            let item = record_item(pk.clone(), sk.clone(), candidate)?;
            if self.put(what, item, Some(Condition::not_exists())).await? {
                stored.push(candidate.clone());
            } else {
                // Taken: the first writer's key stays (a deletion in between is an erasure
                // racing an issuance; the caller's record then reads as erased).
                let item = self.get(what, pk, &sk).await?.ok_or_else(|| {
                    anyhow::anyhow!("a recipient key vanished while it was being stored")
                })?;
                stored.push(doc::<StoredRecipientKey>(&item, what)?);
            }
        }
        Ok(stored)
    }

    async fn erase_recipient_key(
        &self,
        organization: OrganizationId,
        recipient: &RecipientId,
    ) -> PortResult<bool> {
        let (pk, sk) = recipient_key(organization, recipient);
        Ok(self.delete("erase recipient key", pk, &sk).await?)
    }
}
