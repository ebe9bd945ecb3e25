//! Drafts of issuance: the record as JSON, the sealed payload in a column of its own (NULL
//! once the draft is decided), the idempotency key under a unique index per workspace.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::ids::{DraftId, WorkspaceId};
use platform::model::{Draft, DraftStatus};
use platform::ports::{DraftStore, InsertDraft, PortResult};
use rusqlite::{OptionalExtension as _, params};

use super::{SqliteStore, all, from_json, limit, optional, to_json};

/// A stored draft, with its payload when `payload` is selected second.
fn read_draft(row: &rusqlite::Row<'_>, with_payload: bool) -> anyhow::Result<Draft> {
    let mut draft: Draft = from_json(&row.get::<_, String>(0)?)?;
    if with_payload {
        draft.sealed_payload = row.get::<_, Option<Vec<u8>>>(1)?;
    }
    Ok(draft)
}

#[async_trait]
impl DraftStore for SqliteStore {
    async fn insert_draft(&self, draft: &Draft) -> PortResult<InsertDraft> {
        let record = to_json(draft)?;
        let draft = draft.clone();
        self.write("insert draft", move |tx| {
            if let Some(key) = &draft.idempotency_key {
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT record FROM drafts WHERE workspace_id = ?1 AND idempotency_key = ?2",
                        params![draft.workspace_id.to_string(), key],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(existing) = existing {
                    return Ok(InsertDraft::KeyExists(Box::new(from_json(&existing)?)));
                }
            }
            tx.execute(
                "INSERT INTO drafts (id, workspace_id, status, idempotency_key, record, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    draft.id.to_string(),
                    draft.workspace_id.to_string(),
                    draft.status.as_str(),
                    draft.idempotency_key,
                    record,
                    draft.sealed_payload
                ],
            )
            .with_context(|| format!("draft {}", draft.id))?;
            Ok(InsertDraft::Inserted)
        })
        .await
    }

    async fn draft(&self, workspace: WorkspaceId, id: DraftId) -> PortResult<Option<Draft>> {
        self.lookup("draft", move |c| {
            optional(
                c,
                "SELECT record, payload FROM drafts WHERE id = ?1 AND workspace_id = ?2",
                [id.to_string(), workspace.to_string()],
                |row| read_draft(row, true),
            )
        })
        .await
    }

    async fn drafts(
        &self,
        workspace: WorkspaceId,
        status: Option<DraftStatus>,
        after: Option<DraftId>,
        max: usize,
    ) -> PortResult<Vec<Draft>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.read("drafts", move |c| match status {
            Some(status) => all(
                c,
                "SELECT record FROM drafts WHERE workspace_id = ?1 AND status = ?2 AND id > ?3
                 ORDER BY id LIMIT ?4",
                params![workspace.to_string(), status.as_str(), after, limit(max)],
                |row| read_draft(row, false),
            ),
            None => all(
                c,
                "SELECT record FROM drafts WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                params![workspace.to_string(), after, limit(max)],
                |row| read_draft(row, false),
            ),
        })
        .await
    }

    async fn transition_draft(&self, next: &Draft, expected: DraftStatus) -> PortResult<bool> {
        let record = to_json(next)?;
        let next = next.clone();
        self.write("transition draft", move |tx| {
            // The payload is never rewritten, only erased.
            let updated = tx.execute(
                "UPDATE drafts SET status = ?1, record = ?2,
                     payload = CASE WHEN ?3 THEN payload ELSE NULL END
                 WHERE id = ?4 AND workspace_id = ?5 AND status = ?6",
                params![
                    next.status.as_str(),
                    record,
                    next.sealed_payload.is_some(),
                    next.id.to_string(),
                    next.workspace_id.to_string(),
                    expected.as_str()
                ],
            )?;
            Ok(updated == 1)
        })
        .await
    }
}
