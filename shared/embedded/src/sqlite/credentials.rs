//! Issued credentials, their idempotency keys, and the events of their changes (written to
//! the outbox in the same transaction).

use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ids::{CredentialId, WorkspaceId};
use platform::model::{
    CredentialCounts, CredentialFilter, CredentialRecord, CredentialStatus, Event,
    IdempotencyRecord, StatusKind,
};
use platform::ports::{CredentialStore, InsertCredential, PortResult};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::events::append;
use super::{
    SqliteStore, all, from_json, limit, optional, parse_optional_time, parse_text, parse_time,
    time, to_i64, to_json, to_u64,
};

const COLUMNS: &str = "id, workspace_id, template_id, recipient, status, status_index, issued_at, \
                       valid_from, valid_until, document";

/// The credentials `expiring` returns; written exactly like the partial index's condition,
/// which is what lets SQLite use that index.
pub(super) const EXPIRING_WHERE: &str =
    "status_kind IN ('active', 'suspended') AND valid_until IS NOT NULL AND valid_until <= ?1";

fn credential(row: &Row<'_>) -> Result<CredentialRecord> {
    Ok(CredentialRecord {
        id: parse_text(row.get(0)?)?,
        workspace_id: parse_text(row.get(1)?)?,
        template_id: parse_text(row.get(2)?)?,
        recipient: match row.get::<_, Option<String>>(3)? {
            Some(recipient) => from_json(&recipient)?,
            None => anyhow::bail!(
                "a credential stored before recipient data was encrypted has not been upgraded"
            ),
        },
        status: from_json(&row.get::<_, String>(4)?)?,
        status_index: to_u64(row.get(5)?)?,
        issued_at: parse_time(&row.get::<_, String>(6)?)?,
        valid_from: parse_time(&row.get::<_, String>(7)?)?,
        valid_until: parse_optional_time(row.get(8)?)?,
        document: row.get(9)?,
    })
}

/// Writes a credential, its idempotency record and its events; the caller checked the key.
pub(super) fn insert(
    connection: &Connection,
    record: &CredentialRecord,
    status: &str,
    idempotency: Option<&IdempotencyRecord>,
    events: &[Event],
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO credentials (id, workspace_id, template_id, recipient_email, recipient_name,
                 recipient_id, recipient, status_kind, status, status_index, issued_at,
                 valid_from, valid_until, document)
             VALUES (?1, ?2, ?3, '', '', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            record.id.to_string(),
            record.workspace_id.to_string(),
            record.template_id.to_string(),
            record.recipient.id.as_str(),
            to_json(&record.recipient)?,
            record.status.kind().as_str(),
            status,
            to_i64(record.status_index)?,
            time(record.issued_at),
            time(record.valid_from),
            record.valid_until.map(time),
            record.document,
        ])?;
    if let Some(key) = idempotency {
        connection
            .prepare_cached(
                "INSERT INTO idempotency (workspace_id, key, request_hash, credential_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                key.workspace_id.to_string(),
                key.key,
                key.request_hash,
                key.credential_id.to_string(),
                time(key.created_at)
            ])?;
    }
    append(connection, events)
}

pub(super) fn idempotency_record(
    connection: &Connection,
    workspace: WorkspaceId,
    key: &str,
) -> Result<Option<IdempotencyRecord>> {
    optional(
        connection,
        "SELECT workspace_id, key, request_hash, credential_id, created_at FROM idempotency
         WHERE workspace_id = ?1 AND key = ?2",
        params![workspace.to_string(), key],
        |row| {
            Ok(IdempotencyRecord {
                workspace_id: parse_text(row.get(0)?)?,
                key: row.get(1)?,
                request_hash: row.get(2)?,
                credential_id: parse_text(row.get(3)?)?,
                created_at: parse_time(&row.get::<_, String>(4)?)?,
            })
        },
    )
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(
        &self,
        record: &CredentialRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
    ) -> PortResult<InsertCredential> {
        let record = record.clone();
        let status = to_json(&record.status)?;
        let idempotency = idempotency.cloned();
        let events = events.to_vec();
        self.write("insert credential", move |tx| {
            if let Some(key) = &idempotency
                && let Some(existing) = idempotency_record(tx, key.workspace_id, &key.key)?
            {
                return Ok(InsertCredential::KeyExists(existing));
            }
            insert(tx, &record, &status, idempotency.as_ref(), &events)?;
            Ok(InsertCredential::Inserted)
        })
        .await
    }

    async fn idempotency_record(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> PortResult<Option<IdempotencyRecord>> {
        let key = key.to_owned();
        self.lookup("idempotency record", move |c| idempotency_record(c, workspace, &key)).await
    }

    async fn credential(&self, id: CredentialId) -> PortResult<Option<CredentialRecord>> {
        self.lookup("credential", move |c| {
            optional(
                c,
                &format!("SELECT {COLUMNS} FROM credentials WHERE id = ?1"),
                [id.to_string()],
                credential,
            )
        })
        .await
    }

    async fn list_credentials(
        &self,
        workspace: WorkspaceId,
        filter: &CredentialFilter,
        after: Option<CredentialId>,
        limit_to: usize,
    ) -> PortResult<Vec<CredentialRecord>> {
        // Built with only the conditions in use (`?n IS NULL OR …` would keep SQLite from
        // picking the index that matches the filter).
        let mut sql = format!("SELECT {COLUMNS} FROM credentials WHERE workspace_id = ?");
        let mut values = vec![Value::Text(workspace.to_string())];
        if let Some(status) = filter.status {
            sql.push_str(" AND status_kind = ?");
            values.push(Value::Text(status.as_str().into()));
        }
        if let Some(template) = filter.template_id {
            sql.push_str(" AND template_id = ?");
            values.push(Value::Text(template.to_string()));
        }
        if let Some(recipient) = &filter.recipient {
            sql.push_str(" AND recipient_id = ?");
            values.push(Value::Text(recipient.as_str().into()));
        }
        if let Some(after) = after {
            sql.push_str(" AND id > ?");
            values.push(Value::Text(after.to_string()));
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        values.push(Value::Integer(limit(limit_to)));
        self.read("list credentials", move |c| all(c, &sql, params_from_iter(values), credential))
            .await
    }

    async fn transition(
        &self,
        id: CredentialId,
        expected: StatusKind,
        new: &CredentialStatus,
        events: &[Event],
    ) -> PortResult<bool> {
        let status = to_json(new)?;
        let kind = new.kind();
        let events = events.to_vec();
        self.write("transition credential", move |tx| {
            let updated = tx.execute(
                "UPDATE credentials SET status_kind = ?1, status = ?2 WHERE id = ?3 AND status_kind = ?4",
                params![kind.as_str(), status, id.to_string(), expected.as_str()],
            )?;
            if updated == 0 {
                return Ok(false);
            }
            append(tx, &events)?;
            Ok(true)
        })
        .await
    }

    async fn credential_counts(&self, workspace: WorkspaceId) -> PortResult<CredentialCounts> {
        self.read("credential counts", move |c| {
            let rows = all(
                c,
                "SELECT status_kind, COUNT(*) FROM credentials WHERE workspace_id = ?1 GROUP BY status_kind",
                [workspace.to_string()],
                |row| Ok((row.get::<_, String>(0)?, to_u64(row.get(1)?)?)),
            )?;
            let mut counts = CredentialCounts::default();
            for (kind, count) in rows {
                let kind = StatusKind::parse(&kind)
                    .ok_or_else(|| anyhow::anyhow!("stored status kind `{kind}` is unknown"))?;
                counts.add(kind, count);
            }
            Ok(counts)
        })
        .await
    }

    async fn expiring(
        &self,
        now: DateTime<Utc>,
        limit_to: usize,
    ) -> PortResult<Vec<CredentialRecord>> {
        self.read("expiring credentials", move |c| {
            all(
                c,
                &format!("SELECT {COLUMNS} FROM credentials WHERE {EXPIRING_WHERE} ORDER BY valid_until, id LIMIT ?2"),
                params![time(now), limit(limit_to)],
                credential,
            )
        })
        .await
    }
}
