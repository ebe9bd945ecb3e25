//! Recipients' personal data: sealing it at issuance, opening it for reads, and the data
//! subject's rights (access: an export of everything held; erasure: the data key destroyed).
//! The key hierarchy is in [`crate::personal`].

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use zeroize::Zeroize;

use super::{App, Caller};
use crate::auth::Permission;
use crate::ids::{CredentialId, Email, OrganizationId};
use crate::model::{CredentialFilter, CredentialRecord};
use crate::personal::{
    OrganizationKeys, Recipient, RecipientData, RecipientId, SealedRecipient, SecretKey,
    StoredRecipientKey, open_recipient, seal_recipient, secret_context,
};
use crate::{Error, Result};

/// A credential with its recipient opened (or known to be erased).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldCredential {
    pub record: CredentialRecord,
    pub recipient: Recipient,
}

/// Everything the organization holds about one recipient (`POST /v1/recipients/export`).
#[derive(Debug, Clone)]
pub struct RecipientExport {
    pub recipient_id: RecipientId,
    /// Their current email and name, unless erased (or never issued to).
    pub recipient: Option<RecipientData>,
    /// Their credentials, in every workspace of the organization, with the workspace's slug.
    pub credentials: Vec<(String, HeldCredential)>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Erasure {
    pub recipient_id: RecipientId,
    /// Whether a data key was destroyed now (`false`: there was none, e.g. erased before).
    pub erased: bool,
    /// The recipient's credentials, which stay valid and verifiable.
    pub credentials: u64,
}

/// How many credentials one export or erasure walks at most per workspace page.
const PAGE: usize = 500;

impl App {
    /// The organization's recipient keys: its secret is made (and sealed by the vault) on
    /// first use, opened once per process, and kept.
    pub(crate) async fn organization_keys(
        &self,
        organization: OrganizationId,
    ) -> Result<Arc<OrganizationKeys>> {
        if let Some(keys) = self
            .inner
            .organization_keys
            .lock()
            .ok()
            .and_then(|cache| cache.get(&organization).cloned())
        {
            return Ok(keys);
        }
        let id = RecipientId::organization_secret();
        let store = &self.ports().recipients;
        let context = secret_context(organization);
        let stored = match store
            .recipient_keys(organization, std::slice::from_ref(&id))
            .await?
            .pop()
            .flatten()
        {
            Some(stored) => stored,
            None => {
                let secret = SecretKey::generate()?;
                let wrapped = self.ports().vault.seal(secret.expose(), &context).await?;
                let candidate = StoredRecipientKey {
                    recipient: id.clone(),
                    key_id: uuid::Uuid::now_v7(),
                    wrapped,
                    created_at: self.now(),
                };
                // Another process may have won the race: use whichever is stored.
                store.ensure_recipient_keys(organization, &[candidate]).await?.pop().ok_or_else(
                    || anyhow::anyhow!("the organization's recipient secret was not stored"),
                )?
            }
        };
        let mut bytes = self.ports().vault.open(&stored.wrapped, &context).await?;
        let secret = SecretKey::from_slice(&bytes);
        bytes.zeroize();
        let keys = Arc::new(OrganizationKeys::new(organization, &secret?));
        if let Ok(mut cache) = self.inner.organization_keys.lock() {
            cache.insert(organization, keys.clone());
        }
        Ok(keys)
    }

    /// The id of the recipient with `email` in `organization`.
    pub(crate) async fn recipient_id(
        &self,
        organization: OrganizationId,
        email: &Email,
    ) -> Result<RecipientId> {
        Ok(self.organization_keys(organization).await?.recipient_id(email))
    }

    /// Seals each recipient for its credential, creating the data keys recipients do not
    /// have yet (one read and at most one write of keys for the whole batch).
    pub(crate) async fn seal_recipients(
        &self,
        organization: OrganizationId,
        items: &[(CredentialId, &RecipientData)],
    ) -> Result<Vec<SealedRecipient>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.organization_keys(organization).await?;
        let ids: Vec<RecipientId> =
            items.iter().map(|(_, data)| keys.recipient_id(&data.email)).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        // One read for the keys recipients have; one write for those who have none (a new
        // key each, unless another writer stored one first).
        let store = &self.ports().recipients;
        let found = store.recipient_keys(organization, &unique).await?;
        let now = self.now();
        let mut data_keys = HashMap::with_capacity(unique.len());
        let mut candidates = Vec::new();
        for (id, stored) in unique.into_iter().zip(found) {
            match stored {
                Some(stored) => {
                    data_keys.insert(id, (stored.key_id, keys.unwrap_data_key(&stored)?));
                }
                None => candidates.push(keys.new_data_key(&id, now)?.1),
            }
        }
        if !candidates.is_empty() {
            for stored in store.ensure_recipient_keys(organization, &candidates).await? {
                let key = keys.unwrap_data_key(&stored)?;
                data_keys.insert(stored.recipient.clone(), (stored.key_id, key));
            }
        }
        items
            .iter()
            .zip(ids)
            .map(|((credential, data), id)| {
                let (key_id, key) = data_keys
                    .get(&id)
                    .ok_or_else(|| anyhow::anyhow!("a recipient's data key was not stored"))?;
                Ok(seal_recipient(key, *key_id, &id, *credential, data)?)
            })
            .collect()
    }

    /// The recipients of `records` (all of `organization`), in order: opened, or erased when
    /// the key they were sealed under is gone.
    pub(crate) async fn open_recipients(
        &self,
        organization: OrganizationId,
        records: &[CredentialRecord],
    ) -> Result<Vec<Recipient>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.organization_keys(organization).await?;
        let mut unique: Vec<RecipientId> = records.iter().map(|r| r.recipient.id.clone()).collect();
        unique.sort();
        unique.dedup();
        let stored = self.ports().recipients.recipient_keys(organization, &unique).await?;
        let mut data_keys = HashMap::with_capacity(unique.len());
        for (id, stored) in unique.into_iter().zip(stored) {
            if let Some(stored) = stored {
                data_keys.insert(id, (stored.key_id, keys.unwrap_data_key(&stored)?));
            }
        }
        records
            .iter()
            .map(|record| match data_keys.get(&record.recipient.id) {
                Some((key_id, key)) if *key_id == record.recipient.key_id => {
                    Ok(Recipient::Known(open_recipient(key, record.id, &record.recipient)?))
                }
                _ => Ok(Recipient::Erased),
            })
            .collect()
    }

    /// `records` with their recipients opened.
    pub(crate) async fn held(
        &self,
        organization: OrganizationId,
        records: Vec<CredentialRecord>,
    ) -> Result<Vec<HeldCredential>> {
        let recipients = self.open_recipients(organization, &records).await?;
        Ok(records
            .into_iter()
            .zip(recipients)
            .map(|(record, recipient)| HeldCredential { record, recipient })
            .collect())
    }

    /// One record with its recipient opened.
    pub(crate) async fn held_one(
        &self,
        organization: OrganizationId,
        record: CredentialRecord,
    ) -> Result<HeldCredential> {
        let mut held = self.held(organization, vec![record]).await?;
        held.pop().ok_or_else(|| anyhow::anyhow!("no record").into())
    }

    /// Everything the caller's organization holds about the recipient with `email`: their
    /// data and every credential issued to them (`credential_read` over the organization).
    pub async fn export_recipient(&self, caller: &Caller, email: &str) -> Result<RecipientExport> {
        self.authorize_organization(caller, Permission::CredentialRead)?;
        let email = Email::parse("email", email)?;
        let organization = caller.organization_id;
        let recipient_id = self.recipient_id(organization, &email).await?;
        let mut credentials = Vec::new();
        for workspace in self.ports().workspaces.workspaces(organization).await? {
            for record in self.recipient_records(&workspace, &recipient_id).await? {
                credentials.push((workspace.slug.to_string(), record));
            }
        }
        let records: Vec<CredentialRecord> =
            credentials.iter().map(|(_, record)| record.clone()).collect();
        let recipients = self.open_recipients(organization, &records).await?;
        // The newest readable record holds the recipient's current name.
        let recipient = recipients.iter().rev().find_map(|r| r.data().cloned());
        let credentials = credentials
            .into_iter()
            .zip(recipients)
            .map(|((slug, record), recipient)| (slug, HeldCredential { record, recipient }))
            .collect();
        Ok(RecipientExport { recipient_id, recipient, credentials })
    }

    /// Erases the recipient with `email` (`organization_manage`): destroys their data key,
    /// so their email and name are unreadable in every record that held them. Their
    /// credentials stay valid and verifiable; their pages say the data was erased.
    pub async fn erase_recipient(&self, caller: &Caller, email: &str) -> Result<Erasure> {
        self.authorize_organization(caller, Permission::OrganizationManage)?;
        let email = Email::parse("email", email)?;
        let organization = caller.organization_id;
        let recipient_id = self.recipient_id(organization, &email).await?;
        let mut count = 0u64;
        for workspace in self.ports().workspaces.workspaces(organization).await? {
            count += self.recipient_records(&workspace, &recipient_id).await?.len() as u64;
        }
        let erased =
            self.ports().recipients.erase_recipient_key(organization, &recipient_id).await?;
        if !erased && count == 0 {
            return Err(Error::NotFound("recipient"));
        }
        Ok(Erasure { recipient_id, erased, credentials: count })
    }

    /// Every credential of `workspace` issued to `recipient`, in creation order.
    async fn recipient_records(
        &self,
        workspace: &crate::model::Workspace,
        recipient: &RecipientId,
    ) -> Result<Vec<CredentialRecord>> {
        let filter = CredentialFilter { recipient: Some(recipient.clone()), ..Default::default() };
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .ports()
                .credentials
                .list_credentials(workspace.id, &filter, after, PAGE)
                .await?;
            let full = page.len() == PAGE;
            after = page.last().map(|record| record.id);
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }
}
