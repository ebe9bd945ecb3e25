//! Drafts of issuance: the draft item `WS#<ws>` / `DRAFT#<id>` (the record in `doc`, its
//! status in `status` for conditions and filters, the S3 key of its payload in `payload`
//! while it has one), and the idempotency claim `WS#<ws>` / `DKEY#<key>` written in the same
//! transaction. The sealed payload (up to a whole bulk job's rows, too large for an item)
//! is the S3 object `drafts/<ws>/<id>.sealed`, written before the item and deleted after
//! the change that erases it.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use platform::ids::{DraftId, WorkspaceId};
use platform::model::{Draft, DraftStatus};
use platform::ports::{DraftStore, InsertDraft, PortResult};

use super::{
    Condition, DynamoStore, Transaction, conditional_update, doc, page_limit, record_item, s, text,
};

const CONTENT_TYPE: &str = "application/octet-stream";

fn workspace_pk(id: WorkspaceId) -> String {
    format!("WS#{id}")
}

fn draft_sk(id: DraftId) -> String {
    format!("DRAFT#{id}")
}

fn key_sk(key: &str) -> String {
    format!("DKEY#{key}")
}

fn payload_key(workspace: WorkspaceId, id: DraftId) -> String {
    format!("drafts/{workspace}/{id}.sealed")
}

impl DynamoStore {
    /// The draft `id` of `workspace`, with its payload when `with_payload`.
    async fn read_draft(
        &self,
        workspace: WorkspaceId,
        id: DraftId,
        with_payload: bool,
    ) -> anyhow::Result<Option<Draft>> {
        let what = "draft";
        let Some(item) = self.get(what, workspace_pk(workspace), &draft_sk(id)).await? else {
            return Ok(None);
        };
        let mut draft: Draft = doc(&item, what)?;
        if with_payload && let Some(key) = text(&item, "payload") {
            let bytes = self.documents.get(key).await?;
            draft.sealed_payload =
                Some(bytes.ok_or_else(|| anyhow!("draft {id}: payload object {key} is missing"))?);
        }
        Ok(Some(draft))
    }
}

#[async_trait]
impl DraftStore for DynamoStore {
    async fn insert_draft(&self, draft: &Draft) -> PortResult<InsertDraft> {
        let what = "insert draft";
        let mut item = record_item(workspace_pk(draft.workspace_id), draft_sk(draft.id), draft)?;
        item.insert("status".into(), s(draft.status.as_str()));
        let object = payload_key(draft.workspace_id, draft.id);
        if let Some(payload) = &draft.sealed_payload {
            // The object first: a crash before the item leaves an unreferenced object, never
            // a draft without its payload.
            self.documents.put(&object, payload.clone(), CONTENT_TYPE).await?;
            item.insert("payload".into(), s(&object));
        }
        let mut items = vec![self.put_op(item, Some(Condition::not_exists()))?];
        if let Some(key) = &draft.idempotency_key {
            let mut claim = record_item(workspace_pk(draft.workspace_id), key_sk(key), &draft.id)?;
            claim.insert("draft".into(), s(draft.id.to_string()));
            items.push(self.put_op(claim, Some(Condition::not_exists()))?);
        }
        let outcome = self.transact_retrying(what, items).await?;
        if matches!(outcome, Transaction::Committed) {
            return Ok(InsertDraft::Inserted);
        }
        if draft.sealed_payload.is_some() {
            self.documents.delete(&object).await?;
        }
        match (&draft.idempotency_key, outcome) {
            (Some(key), outcome) if outcome.failed(1) && !outcome.failed(0) => {
                let claim = self
                    .get(what, workspace_pk(draft.workspace_id), &key_sk(key))
                    .await?
                    .context("an idempotency claim that vanished")?;
                let id = text(&claim, "draft").context("a draft key claim without its draft")?;
                let id = DraftId::parse(id).map_err(|e| anyhow!("draft key claim: {e}"))?;
                let existing = self
                    .read_draft(draft.workspace_id, id, false)
                    .await?
                    .context("an idempotency claim whose draft is missing")?;
                Ok(InsertDraft::KeyExists(Box::new(existing)))
            }
            (_, outcome) => Err(outcome.unexpected(what)),
        }
    }

    async fn draft(&self, workspace: WorkspaceId, id: DraftId) -> PortResult<Option<Draft>> {
        self.read_draft(workspace, id, true).await
    }

    async fn drafts(
        &self,
        workspace: WorkspaceId,
        status: Option<DraftStatus>,
        after: Option<DraftId>,
        limit: usize,
    ) -> PortResult<Vec<Draft>> {
        let what = "drafts";
        // `~` sorts after every character of an id: `DRAFT#<after>~` comes right after it.
        let from = match after {
            Some(after) => format!("{}~", draft_sk(after)),
            None => "DRAFT#".to_owned(),
        };
        let mut query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(workspace_pk(workspace)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s("DRAFT#~"))
            .limit(page_limit(limit));
        if let Some(status) = status {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let items = self.query(what, query, limit).await?;
        items.iter().map(|item| doc(item, what)).collect()
    }

    async fn transition_draft(&self, next: &Draft, expected: DraftStatus) -> PortResult<bool> {
        let what = "transition draft";
        let record = serde_json::to_string(next).context("record encoding")?;
        let update = if next.sealed_payload.is_some() {
            "SET #doc = :doc, #status = :new"
        } else {
            "SET #doc = :doc, #status = :new REMOVE #payload"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(workspace_pk(next.workspace_id)))
            .key("SK", s(draft_sk(next.id)))
            .update_expression(update)
            .condition_expression("attribute_exists(PK) AND #status = :expected")
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":doc", s(record))
            .expression_attribute_values(":new", s(next.status.as_str()))
            .expression_attribute_values(":expected", s(expected.as_str()))
            .return_values(ReturnValue::AllOld);
        if next.sealed_payload.is_none() {
            request = request.expression_attribute_names("#payload", "payload");
        }
        let Some(output) = conditional_update(what, request.send().await)? else {
            return Ok(false);
        };
        // The item no longer points at the payload; a crash before this delete leaves an
        // unreferenced object behind.
        if next.sealed_payload.is_none()
            && let Some(key) = output.attributes.as_ref().and_then(|old| text(old, "payload"))
        {
            self.documents.delete(key).await?;
        }
        Ok(true)
    }
}
