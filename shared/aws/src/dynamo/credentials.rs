//! Issued credentials, their idempotency keys, and the events of their changes.
//!
//! A credential item holds the record without its signed document; the document lives in
//! S3 at `credentials/<workspace>/<id>.json`, written before the item (so an item always has
//! its document) and never rewritten. Reads put the two back together.

use std::collections::HashMap;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ids::{CredentialId, TemplateId, WorkspaceId};
use platform::model::{
    CredentialCounts, CredentialFilter, CredentialRecord, CredentialStatus, Event,
    IdempotencyRecord, StatusKind,
};
use platform::personal::RecipientId;
use platform::ports::{CredentialStore, InsertCredential, PortResult};
use tokio::task::JoinSet;

use super::events::event_item;
use super::{
    Condition, DynamoStore, EXPIRES_AT, GSI1, GSI2, GSI3, GSI4, Item, SHARDS, Transaction, backoff,
    doc, n, page_limit, record_item, s, shard, text, time_key,
};
use crate::documents::Documents;

/// How long a used idempotency key is remembered (its item's TTL).
const IDEMPOTENCY_DAYS: i64 = 30;
/// How many documents a list fetches from S3 at once.
const CONCURRENT_DOCUMENTS: usize = 16;
/// A query page when a filter may drop most of what it reads.
const FILTERED_PAGE: usize = 200;
/// The content type of stored credentials.
const CONTENT_TYPE: &str = "application/vc+ld+json";

fn credential_pk(id: CredentialId) -> String {
    format!("CRED#{id}")
}

fn document_key(workspace: WorkspaceId, id: CredentialId) -> String {
    format!("credentials/{workspace}/{id}.json")
}

fn idempotency_keys(workspace: WorkspaceId, key: &str) -> (String, String) {
    (format!("WS#{workspace}"), format!("IDEM#{key}"))
}

fn list_pk(workspace: WorkspaceId) -> String {
    format!("WS#{workspace}#CRED")
}

/// The recipient partition, by the recipient's keyed id (no personal data in a key).
fn recipient_pk(workspace: WorkspaceId, recipient: &RecipientId) -> String {
    format!("RCPT#{workspace}#{recipient}")
}

fn template_pk(workspace: WorkspaceId, template: TemplateId) -> String {
    format!("TPL#{workspace}#{template}")
}

fn expiry_pk(shard: u8) -> String {
    format!("EXP#{shard}")
}

/// Whether a credential of this status is on the expiry schedule.
fn can_expire(status: &CredentialStatus) -> bool {
    matches!(status.kind(), StatusKind::Active | StatusKind::Suspended)
}

/// The item of `record` (its document left out).
fn credential_item(record: &CredentialRecord) -> anyhow::Result<Item> {
    let stored = CredentialRecord { document: String::new(), ..record.clone() };
    let id = record.id.to_string();
    let mut item = record_item(credential_pk(record.id), "CRED", &stored)?;
    item.insert("workspace".into(), s(record.workspace_id.to_string()));
    item.insert("status_kind".into(), s(record.status.kind().as_str()));
    item.insert("GSI1PK".into(), s(list_pk(record.workspace_id)));
    item.insert("GSI1SK".into(), s(&id));
    item.insert("GSI2PK".into(), s(recipient_pk(record.workspace_id, &record.recipient.id)));
    item.insert("GSI2SK".into(), s(&id));
    item.insert("GSI3PK".into(), s(template_pk(record.workspace_id, record.template_id)));
    item.insert("GSI3SK".into(), s(&id));
    if let Some(until) = record.valid_until
        && can_expire(&record.status)
    {
        item.insert("GSI4PK".into(), s(expiry_pk(shard(record.id.0))));
        item.insert("GSI4SK".into(), s(format!("{}#{id}", time_key(until))));
    }
    Ok(item)
}

fn idempotency_item(key: &IdempotencyRecord) -> anyhow::Result<Item> {
    let (pk, sk) = idempotency_keys(key.workspace_id, &key.key);
    let mut item = record_item(pk, sk, key)?;
    let expires = key.created_at + chrono::Duration::days(IDEMPOTENCY_DAYS);
    item.insert(EXPIRES_AT.into(), n(expires.timestamp()));
    Ok(item)
}

/// The records of `items`, documents included, in order; fetched `CONCURRENT_DOCUMENTS` at a
/// time.
async fn with_documents(
    documents: &Documents,
    items: &[Item],
    what: &str,
) -> anyhow::Result<Vec<CredentialRecord>> {
    let mut records = items
        .iter()
        .map(|item| doc::<CredentialRecord>(item, what))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (chunk_index, chunk) in records.chunks_mut(CONCURRENT_DOCUMENTS).enumerate() {
        let mut tasks = JoinSet::new();
        for (index, record) in chunk.iter().enumerate() {
            let documents = documents.clone();
            let key = document_key(record.workspace_id, record.id);
            tasks.spawn(async move { (index, documents.get(&key).await, key) });
        }
        let mut fetched: HashMap<usize, String> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (index, document, key) = joined.context("a document fetch task failed")?;
            let document = document?.with_context(|| format!("no credential document {key}"))?;
            let document = String::from_utf8(document)
                .with_context(|| format!("credential document {key} is not UTF-8"))?;
            fetched.insert(index, document);
        }
        for (index, record) in chunk.iter_mut().enumerate() {
            record.document = fetched.remove(&index).with_context(|| {
                format!("document {} of page {chunk_index} is missing", record.id)
            })?;
        }
    }
    Ok(records)
}

impl DynamoStore {
    /// The idempotency record of `key`, read consistently.
    async fn read_idempotency(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> anyhow::Result<Option<IdempotencyRecord>> {
        let (pk, sk) = idempotency_keys(workspace, key);
        self.get_doc("idempotency record", pk, &sk).await
    }
}

#[async_trait]
impl CredentialStore for DynamoStore {
    async fn insert_credential(
        &self,
        record: &CredentialRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
    ) -> PortResult<InsertCredential> {
        let what = "insert credential";
        let key = document_key(record.workspace_id, record.id);
        // The document first: once the item exists, its document does too.
        self.documents.put(&key, record.document.clone().into_bytes(), CONTENT_TYPE).await?;

        let mut items = vec![self.put_op(credential_item(record)?, Some(Condition::not_exists()))?];
        if let Some(idempotency) = idempotency {
            items.push(self.put_op(idempotency_item(idempotency)?, Some(Condition::not_exists()))?);
        }
        for event in events {
            items.push(self.put_op(event_item(event)?, Some(Condition::not_exists()))?);
        }
        let outcome = self.transact_retrying(what, items).await?;
        let Some(idempotency) = idempotency.filter(|_| outcome.failed(1)) else {
            return match outcome {
                Transaction::Committed => Ok(InsertCredential::Inserted),
                outcome => Err(outcome.unexpected(what)),
            };
        };
        let existing = self
            .read_idempotency(idempotency.workspace_id, &idempotency.key)
            .await?
            .context("the idempotency key is used but its record is gone")?;
        // The document written above belongs to no credential, unless this was a retry of
        // the very insert that used the key.
        if existing.credential_id != record.id
            && let Err(error) = self.documents.delete(&key).await
        {
            tracing::warn!(error = format!("{error:#}"), key, "an orphan document stays");
        }
        Ok(InsertCredential::KeyExists(existing))
    }

    async fn idempotency_record(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> PortResult<Option<IdempotencyRecord>> {
        self.read_idempotency(workspace, key).await
    }

    async fn credential(&self, id: CredentialId) -> PortResult<Option<CredentialRecord>> {
        let what = "credential";
        let Some(item) = self.get(what, credential_pk(id), "CRED").await? else { return Ok(None) };
        let mut records = with_documents(&self.documents, &[item], what).await?;
        Ok(records.pop())
    }

    async fn list_credentials(
        &self,
        workspace: WorkspaceId,
        filter: &CredentialFilter,
        after: Option<CredentialId>,
        limit: usize,
    ) -> PortResult<Vec<CredentialRecord>> {
        let what = "list credentials";
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The most selective index for the filter; the rest of the filter is a
        // FilterExpression (which DynamoDB applies after `Limit`, hence the larger pages).
        let (index, pk, sk) = match (&filter.recipient, filter.template_id) {
            (Some(recipient), _) => (GSI2, recipient_pk(workspace, recipient), "GSI2SK"),
            (None, Some(template)) => (GSI3, template_pk(workspace, template), "GSI3SK"),
            (None, None) => (GSI1, list_pk(workspace), "GSI1SK"),
        };
        let pk_name = format!("{index}PK");
        let mut query = self
            .query_on(Some(index))
            .expression_attribute_names("#pk", &pk_name)
            .expression_attribute_values(":pk", s(pk));
        query = match after {
            Some(after) => query
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":after", s(after.to_string())),
            None => query.key_condition_expression("#pk = :pk"),
        };
        let mut filters = Vec::new();
        if let Some(status) = filter.status {
            filters.push("#kind = :status");
            query = query
                .expression_attribute_names("#kind", "status_kind")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if let (Some(template), GSI2) = (filter.template_id, index) {
            filters.push("GSI3PK = :template");
            query =
                query.expression_attribute_values(":template", s(template_pk(workspace, template)));
        }
        query = if filters.is_empty() {
            query.limit(page_limit(limit))
        } else {
            query.filter_expression(filters.join(" AND ")).limit(page_limit(FILTERED_PAGE))
        };
        let items = self.query(what, query, limit).await?;
        with_documents(&self.documents, &items, what).await
    }

    async fn transition(
        &self,
        id: CredentialId,
        expected: StatusKind,
        new: &CredentialStatus,
        events: &[Event],
    ) -> PortResult<bool> {
        let what = "transition credential";
        let mut attempt = 0;
        loop {
            let Some(item) = self.get(what, credential_pk(id), "CRED").await? else {
                return Ok(false);
            };
            let stored: CredentialRecord = doc(&item, what)?;
            if stored.status.kind() != expected {
                return Ok(false);
            }
            // The status is the only thing that changes, so the record read is rewritten
            // with the new status, on condition that the status is still the expected one.
            let updated = CredentialRecord { status: new.clone(), ..stored };
            let condition = Condition::new("#kind = :expected")
                .name("#kind", "status_kind")
                .value(":expected", s(expected.as_str()));
            let mut items = vec![self.put_op(credential_item(&updated)?, Some(condition))?];
            for event in events {
                items.push(self.put_op(event_item(event)?, Some(Condition::not_exists()))?);
            }
            match self.transact_retrying(what, items).await? {
                Transaction::Committed => return Ok(true),
                // Moved on between the read and the write: read again (it may have come back
                // to `expected`, or not).
                outcome if outcome.failed(0) && attempt < super::MAX_ATTEMPTS => {
                    attempt += 1;
                    backoff(attempt).await;
                }
                outcome => return Err(outcome.unexpected(what)),
            }
        }
    }

    async fn credential_counts(&self, workspace: WorkspaceId) -> PortResult<CredentialCounts> {
        let what = "credential counts";
        let query = self
            .query_on(Some(GSI1))
            .key_condition_expression("GSI1PK = :pk")
            .projection_expression("#kind")
            .expression_attribute_names("#kind", "status_kind")
            .expression_attribute_values(":pk", s(list_pk(workspace)));
        let mut counts = CredentialCounts::default();
        for item in self.query(what, query, usize::MAX).await? {
            let kind = text(&item, "status_kind").context("a credential without `status_kind`")?;
            let kind = StatusKind::parse(kind)
                .with_context(|| format!("stored status kind `{kind}` is unknown"))?;
            counts.add(kind, 1);
        }
        Ok(counts)
    }

    async fn expiring(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<CredentialRecord>> {
        let what = "expiring credentials";
        if limit == 0 {
            return Ok(Vec::new());
        }
        // `#~` sorts after every `#<id>`, so credentials due exactly at `now` are included.
        let upto = format!("{}#~", time_key(now));
        let mut tasks = JoinSet::new();
        for shard in 0..SHARDS {
            let query = self
                .query_on(Some(GSI4))
                .key_condition_expression("GSI4PK = :pk AND GSI4SK <= :upto")
                .expression_attribute_values(":pk", s(expiry_pk(shard)))
                .expression_attribute_values(":upto", s(&upto))
                .limit(page_limit(limit));
            let store = self.clone();
            tasks.spawn(async move { store.query(what, query, limit).await });
        }
        let mut due = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            due.extend(joined.context("an expiry query task failed")??);
        }
        // The index can lag behind the table: keep only what is still due.
        let mut due: Vec<(String, Item)> = due
            .into_iter()
            .filter_map(|item| Some((text(&item, "GSI4SK")?.to_owned(), item)))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0));
        let mut records = Vec::new();
        for (_, item) in due {
            let record: CredentialRecord = doc(&item, what)?;
            if can_expire(&record.status) && record.valid_until.is_some_and(|until| until <= now) {
                records.push(item);
            }
            if records.len() == limit {
                break;
            }
        }
        with_documents(&self.documents, &records, what).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_active_and_suspended_credentials_with_an_end_are_scheduled() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
        let record = CredentialRecord {
            id: CredentialId::generate(),
            workspace_id: WorkspaceId::generate(),
            template_id: TemplateId::generate(),
            recipient: platform::personal::SealedRecipient {
                id: RecipientId::parse(&"a".repeat(64)).unwrap(),
                key_id: uuid::Uuid::nil(),
                sealed: vec![1, 2, 3],
            },
            status: CredentialStatus::Active,
            status_index: 0,
            issued_at: now,
            valid_from: now,
            valid_until: Some(now),
            document: "{}".into(),
        };
        let item = credential_item(&record).unwrap();
        assert!(item.contains_key("GSI4PK") && item.contains_key("GSI4SK"));
        assert_eq!(doc::<CredentialRecord>(&item, "t").unwrap().document, "");
        let revoked = CredentialRecord {
            status: CredentialStatus::Revoked { at: now, reason: "r".into() },
            ..record.clone()
        };
        assert!(!credential_item(&revoked).unwrap().contains_key("GSI4PK"));
        let open_ended = CredentialRecord { valid_until: None, ..record };
        assert!(!credential_item(&open_ended).unwrap().contains_key("GSI4PK"));
    }

    #[test]
    fn a_corrupt_doc_is_an_error() {
        let mut item = record_item("CRED#x".into(), "CRED", &1).unwrap();
        assert!(doc::<CredentialRecord>(&item, "t").is_err());
        item.remove("doc");
        assert!(doc::<CredentialRecord>(&item, "t").is_err());
    }
}
