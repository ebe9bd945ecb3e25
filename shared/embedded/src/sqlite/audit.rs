//! The audit log: one hash chain per organization, appended in one write transaction with
//! its head (the single writer orders concurrent appends).

use anyhow::Context as _;
use async_trait::async_trait;
use platform::audit::{AuditDraft, AuditEntry, AuditHash, GENESIS};
use platform::ids::OrganizationId;
use platform::ports::{AuditStore, PortResult};
use rusqlite::{Connection, OptionalExtension as _, params};

use super::{SqliteStore, all, from_json, limit, to_i64, to_json, to_u64};

fn head(connection: &Connection, organization: OrganizationId) -> anyhow::Result<(u64, AuditHash)> {
    let head = connection
        .prepare_cached("SELECT entries, hash FROM audit_heads WHERE organization_id = ?1")?
        .query_row([organization.to_string()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    match head {
        None => Ok((0, GENESIS)),
        Some((entries, hash)) => Ok((
            to_u64(entries)?,
            AuditHash::parse(&hash).map_err(|e| anyhow::anyhow!("stored audit head: {e}"))?,
        )),
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, draft: AuditDraft) -> PortResult<AuditEntry> {
        self.write("append audit entry", move |tx| {
            let organization = draft.organization;
            let (entries, previous) = head(tx, organization)?;
            let entry = AuditEntry::seal(draft, previous);
            tx.prepare_cached(
                "INSERT INTO audit_log (organization_id, position, entry) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                organization.to_string(),
                to_i64(entries)?,
                to_json(&entry)?
            ])?;
            tx.prepare_cached(
                "INSERT INTO audit_heads (organization_id, entries, hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT (organization_id) DO UPDATE SET entries = ?2, hash = ?3",
            )?
            .execute(params![
                organization.to_string(),
                to_i64(entries + 1)?,
                entry.hash.to_string()
            ])?;
            Ok(entry)
        })
        .await
    }

    async fn audit_entries(
        &self,
        organization: OrganizationId,
        from: u64,
        limit_to: usize,
    ) -> PortResult<Vec<AuditEntry>> {
        let from = to_i64(from)?;
        self.read("audit entries", move |c| {
            all(
                c,
                "SELECT entry FROM audit_log WHERE organization_id = ?1 AND position >= ?2
                 ORDER BY position LIMIT ?3",
                params![organization.to_string(), from, limit(limit_to)],
                |row| from_json(&row.get::<_, String>(0)?).context("a stored audit entry"),
            )
        })
        .await
    }

    async fn audit_head(&self, organization: OrganizationId) -> PortResult<(u64, AuditHash)> {
        self.lookup("audit head", move |c| head(c, organization)).await
    }
}
