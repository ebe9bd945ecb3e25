//! The bits of the status lists and their newest signed publications.
//!
//! The bits of a list are one item (`BITS`: binary `bits`, number `version`), changed by
//! optimistic read-modify-write: a conditional put on the version read, retried with
//! jittered backoff when another writer got there first. Signed lists are S3 objects, one
//! per version; the `SIGNED` item points at the newest and only ever moves forward, and the
//! object it stops naming is deleted (a reader that loses that race reads the pointer again).

use anyhow::{Context as _, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use credentials::status::StatusList;
use platform::model::{STATUS_LIST_SIZE, StatusListId};
use platform::ports::{PortResult, StatusListStore};

use super::{Condition, DynamoStore, Item, MAX_ATTEMPTS, backoff, n, number, s, sdk, text};

const BITS: &str = "BITS";
const SIGNED: &str = "SIGNED";

fn list_pk(list: &StatusListId) -> String {
    format!("SL#{}#{}#{}", list.workspace_id, list.purpose.as_str(), list.page)
}

fn signed_key(list: &StatusListId, version: u64) -> String {
    format!(
        "status-lists/{}/{}/{}/{version}.json",
        list.workspace_id,
        list.purpose.as_str(),
        list.page
    )
}

/// The bits and version in a `BITS` item.
fn bits_of(item: &Item) -> anyhow::Result<(Vec<u8>, u64)> {
    let bits = item
        .get("bits")
        .and_then(|v| v.as_b().ok())
        .context("a status list item without its bits")?
        .as_ref()
        .to_vec();
    let version = number(item, "version")?.context("a status list item without its version")?;
    Ok((bits, version))
}

#[async_trait]
impl StatusListStore for DynamoStore {
    async fn set_status_bit(
        &self,
        list: &StatusListId,
        index: u64,
        value: bool,
    ) -> PortResult<(Vec<u8>, u64)> {
        let what = "set status bit";
        let position =
            usize::try_from(index).ok().filter(|_| index < STATUS_LIST_SIZE).ok_or_else(|| {
                anyhow!("index {index} is outside a list of {STATUS_LIST_SIZE} entries")
            })?;
        let size = usize::try_from(STATUS_LIST_SIZE).context("the list size")?;
        for attempt in 0..MAX_ATTEMPTS {
            let stored = self.get(what, list_pk(list), BITS).await?;
            let (mut bits, version, condition) = match &stored {
                Some(item) => {
                    let (bits, version) = bits_of(item)?;
                    let bits = StatusList::from_bytes(bits).context("stored status bits")?;
                    let condition = Condition::new("#version = :read")
                        .name("#version", "version")
                        .value(":read", n(version));
                    (bits, version, condition)
                }
                None => (
                    StatusList::new(size).context("a new status list")?,
                    0,
                    Condition::not_exists(),
                ),
            };
            bits.set(position, value).context("status bit")?;
            let bits = bits.as_bytes().to_vec();
            let version = version + 1;
            let item = Item::from([
                ("PK".into(), s(list_pk(list))),
                ("SK".into(), s(BITS)),
                ("bits".into(), AttributeValue::B(Blob::new(bits.clone()))),
                ("version".into(), n(version)),
            ]);
            if self.put(what, item, Some(condition)).await? {
                return Ok((bits, version));
            }
            backoff(attempt + 1).await;
        }
        bail!("DynamoDB {what}: still contended after {MAX_ATTEMPTS} attempts")
    }

    async fn status_bits(&self, list: &StatusListId) -> PortResult<Option<(Vec<u8>, u64)>> {
        self.get("status bits", list_pk(list), BITS).await?.as_ref().map(bits_of).transpose()
    }

    async fn save_signed_status_list(
        &self,
        list: &StatusListId,
        version: u64,
        document: &str,
    ) -> PortResult<()> {
        let what = "save signed status list";
        let key = signed_key(list, version);
        self.documents.put(&key, document.as_bytes().to_vec(), "application/vc+ld+json").await?;
        // An equal version replaces: it is the same bits, signed again (and the same object).
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(list_pk(list)))
            .key("SK", s(SIGNED))
            .update_expression("SET #version = :version, #object = :object")
            .condition_expression("attribute_not_exists(#version) OR #version <= :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#object", "object")
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":object", s(&key))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        // Either way one object is of no use any more: the one this update replaced, or this
        // one if a newer version is already published (never the object the pointer names).
        let stale = match result {
            Ok(output) => output
                .attributes
                .as_ref()
                .and_then(|old| text(old, "object"))
                .filter(|old| *old != key)
                .map(str::to_owned),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Some(key)
            }
            Err(error) => return Err(sdk(what, &error)),
        };
        if let Some(stale) = stale
            && let Err(error) = self.documents.delete(&stale).await
        {
            tracing::warn!(error = format!("{error:#}"), key = stale, "a stale status list stays");
        }
        Ok(())
    }

    async fn signed_status_list(&self, list: &StatusListId) -> PortResult<Option<(u64, String)>> {
        let what = "signed status list";
        let mut attempt = 0;
        loop {
            let Some(pointer) = self.get(what, list_pk(list), SIGNED).await? else {
                return Ok(None);
            };
            let version =
                number(&pointer, "version")?.context("a signed list without its version")?;
            let key = text(&pointer, "object").context("a signed list without its object")?;
            match self.documents.get(key).await? {
                Some(document) => {
                    let document = String::from_utf8(document)
                        .with_context(|| format!("signed list {key} is not UTF-8"))?;
                    return Ok(Some((version, document)));
                }
                // A newer version replaced it (and deleted it) between the two reads.
                None if attempt < 3 => attempt += 1,
                None => bail!("no signed list {key}"),
            }
        }
    }
}
