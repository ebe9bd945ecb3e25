//! Status lists: one list per workspace page of [`STATUS_LIST_SIZE`] credentials, with the
//! purpose [`STATUS_PURPOSE`] (see there why one list serves suspension and revocation),
//! published as a signed `BitstringStatusListCredential` and re-signed on every change (never
//! on read).

use credentials::status::{StatusList, list_credential};

use super::App;
use crate::model::{CredentialRecord, STATUS_LIST_SIZE, STATUS_PURPOSE, StatusListId, Workspace};
use crate::{Error, Result};

impl App {
    /// The public URL of a status list credential.
    pub fn status_list_url(&self, list: &StatusListId) -> String {
        format!("{}/status/{}", self.settings().base(), list.key())
    }

    /// Makes sure the list of `page` is published (a signed empty list the first time).
    pub(crate) async fn publish_status_lists(
        &self,
        workspace: &Workspace,
        page: u64,
    ) -> Result<()> {
        let list = StatusListId { workspace_id: workspace.id, purpose: STATUS_PURPOSE, page };
        if self.is_known_published(&list) {
            return Ok(());
        }
        if self.ports().status_lists.signed_status_list(&list).await?.is_none() {
            let bits = vec![0u8; (STATUS_LIST_SIZE / 8) as usize];
            self.publish(workspace, &list, bits, 0).await?;
        }
        self.remember_published(list);
        Ok(())
    }

    /// Sets or clears a credential's bit and publishes the new list.
    pub(crate) async fn set_status(
        &self,
        workspace: &Workspace,
        record: &CredentialRecord,
        value: bool,
    ) -> Result<()> {
        let (list, offset) =
            StatusListId::for_index(workspace.id, STATUS_PURPOSE, record.status_index);
        let (bits, version) =
            self.ports().status_lists.set_status_bit(&list, offset, value).await?;
        self.publish(workspace, &list, bits, version).await
    }

    async fn publish(
        &self,
        workspace: &Workspace,
        list: &StatusListId,
        bits: Vec<u8>,
        version: u64,
    ) -> Result<()> {
        let status = StatusList::from_bytes(bits)?;
        let now = self.ports().clock.now();
        let unsigned = list_credential(
            &self.status_list_url(list),
            &workspace.did,
            list.purpose,
            &status,
            now,
        );
        let signed = self.sign_document(workspace, &unsigned, now).await?;
        self.ports()
            .status_lists
            .save_signed_status_list(list, version, &signed.to_string())
            .await?;
        Ok(())
    }

    /// The signed status list credential published under `key`.
    pub async fn status_list(&self, key: &str) -> Result<String> {
        let list = StatusListId::parse(key).ok_or(Error::NotFound("status list"))?;
        let (_, document) = self
            .ports()
            .status_lists
            .signed_status_list(&list)
            .await?
            .ok_or(Error::NotFound("status list"))?;
        Ok(document)
    }
}
