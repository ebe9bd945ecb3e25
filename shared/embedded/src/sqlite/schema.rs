//! The schema, as a list of migrations applied in order at open.
//!
//! `PRAGMA user_version` holds how many have run; each runs in its own transaction together
//! with the version bump, so a crash mid-migration leaves the previous version intact. Never
//! edit a released migration: append a new one.
//!
//! Records that are only ever read whole are JSON columns (`record`); everything a query
//! filters, orders or updates by is a column of its own, with the index that query needs.

use anyhow::{Context as _, Result, bail};
use rusqlite::{Connection, TransactionBehavior};

/// The migrations; `MIGRATIONS[i]` takes the database from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    prefix           TEXT NOT NULL UNIQUE,
    hash             TEXT NOT NULL,
    created_at       TEXT NOT NULL
) STRICT;
CREATE INDEX api_keys_by_organization ON api_keys (organization_id);

-- `next_status_index` is the workspace's status-list index counter.
CREATE TABLE workspaces (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL,
    slug               TEXT NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    next_status_index  INTEGER NOT NULL DEFAULT 0,
    record             TEXT NOT NULL
) STRICT;
CREATE INDEX workspaces_by_organization ON workspaces (organization_id, created_at, id);

CREATE TABLE templates (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    record        TEXT NOT NULL
) STRICT;
CREATE INDEX templates_by_workspace ON templates (workspace_id, created_at, id);

-- `status` is the serde form of `CredentialStatus`; `status_kind` its kind, for filters.
CREATE TABLE credentials (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    template_id      TEXT NOT NULL,
    recipient_email  TEXT NOT NULL,
    recipient_name   TEXT NOT NULL,
    status_kind      TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_index     INTEGER NOT NULL,
    issued_at        TEXT NOT NULL,
    valid_from       TEXT NOT NULL,
    valid_until      TEXT,
    document         TEXT NOT NULL
) STRICT;
CREATE INDEX credentials_by_workspace ON credentials (workspace_id, id);
CREATE INDEX credentials_by_status ON credentials (workspace_id, status_kind, id);
CREATE INDEX credentials_by_template ON credentials (workspace_id, template_id, id);
CREATE INDEX credentials_by_recipient ON credentials (workspace_id, recipient_email, id);
CREATE INDEX credentials_expiring ON credentials (valid_until, id)
    WHERE status_kind IN ('active', 'suspended') AND valid_until IS NOT NULL;

CREATE TABLE idempotency (
    workspace_id   TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    credential_id  TEXT NOT NULL REFERENCES credentials (id),
    created_at     TEXT NOT NULL,
    PRIMARY KEY (workspace_id, key)
) STRICT, WITHOUT ROWID;

-- One row per status list (`StatusListId::key`): its bits and their version.
CREATE TABLE status_bits (
    list_key  TEXT PRIMARY KEY,
    bits      BLOB NOT NULL,
    version   INTEGER NOT NULL
) STRICT;

-- The newest signed publication of each list.
CREATE TABLE signed_status_lists (
    list_key  TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    document  TEXT NOT NULL
) STRICT;

CREATE TABLE bulk_jobs (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    total         INTEGER NOT NULL,
    issued        INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    completed_at  TEXT
) STRICT;

-- `input` is the serde form of the parsed row; `outcome` that of its `RowOutcome` once
-- recorded, and `error` the reason when the outcome is a failure.
CREATE TABLE bulk_rows (
    job_id   TEXT NOT NULL REFERENCES bulk_jobs (id),
    row      INTEGER NOT NULL,
    input    TEXT NOT NULL,
    outcome  TEXT,
    error    TEXT,
    PRIMARY KEY (job_id, row)
) STRICT, WITHOUT ROWID;

-- Dispatched events stay (flagged), so that appending one again is still a no-op.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY,
    event_id      TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    event         TEXT NOT NULL,
    dispatched    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbox_pending ON outbox (occurred_at, seq) WHERE dispatched = 0;

CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    record        TEXT NOT NULL
) STRICT;
CREATE INDEX webhooks_by_workspace ON webhooks (workspace_id, created_at, id);

-- No foreign key to webhooks: deliveries outlive a deleted subscription.
CREATE TABLE deliveries (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    webhook_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    record      TEXT NOT NULL
) STRICT;
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at, seq);

-- Times in microseconds since the epoch. `receipt` names the latest receive.
CREATE TABLE queue_messages (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    queue          TEXT NOT NULL,
    body           TEXT NOT NULL,
    sent_at        INTEGER NOT NULL,
    visible_at     INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    receipt        TEXT UNIQUE
) STRICT;
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at, seq);

CREATE TABLE dead_letters (
    id             TEXT PRIMARY KEY,
    queue          TEXT NOT NULL,
    body           TEXT NOT NULL,
    sent_at        INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL,
    dead_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX dead_letters_by_queue ON dead_letters (queue, dead_at);
"#,
    r#"
-- 2: API keys with a name, a role over a scope, expiry, revocation and last use. `record` is
-- the serde form of the whole `ApiKeyRecord` (NULL for keys created before: owner keys);
-- `last_used_at` is kept apart so that recording a use does not rewrite the record.
ALTER TABLE api_keys ADD COLUMN record TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
"#,
    r#"
-- 3: the audit log, one hash chain per organization. `entry` is the sealed entry as JSON;
-- `audit_heads` is the head of each chain, moved in the same transaction as each append.
CREATE TABLE audit_log (
    organization_id  TEXT NOT NULL,
    position         INTEGER NOT NULL,
    entry            TEXT NOT NULL,
    PRIMARY KEY (organization_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_heads (
    organization_id  TEXT PRIMARY KEY,
    entries          INTEGER NOT NULL,
    hash             TEXT NOT NULL
) STRICT;
"#,
    r#"
-- 4: recipients' personal data, encrypted per recipient (`platform::personal`). A credential
-- keeps its recipient's id and, in `recipient`, the `SealedRecipient` (their email and name
-- sealed under their data key); the clear columns of version 1 stay empty. `recipient_keys`
-- holds each organization's secret (sealed by the vault) and each recipient's data key
-- (wrapped), `record` being the `StoredRecipientKey`; erasure deletes the recipient's row.
ALTER TABLE credentials ADD COLUMN recipient_id TEXT;
ALTER TABLE credentials ADD COLUMN recipient TEXT;
DROP INDEX credentials_by_recipient;
CREATE INDEX credentials_by_recipient_id ON credentials (workspace_id, recipient_id, id);

CREATE TABLE recipient_keys (
    organization_id  TEXT NOT NULL,
    recipient_id     TEXT NOT NULL,
    record           TEXT NOT NULL,
    PRIMARY KEY (organization_id, recipient_id)
) STRICT, WITHOUT ROWID;
"#,
    r#"
-- 5: local users (emails unique across the deployment), their sessions and login challenges
-- (by the SHA-256 of their token, never the token), and each organization's sign-in policy.
-- `record` is the serde form of the `User`, `Session` or `SignInPolicy`.
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    email            TEXT NOT NULL UNIQUE,
    version          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    record           TEXT NOT NULL
) STRICT;
CREATE INDEX users_by_organization ON users (organization_id, created_at, id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    record      TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE sign_in_policies (
    organization_id  TEXT PRIMARY KEY,
    record           TEXT NOT NULL
) STRICT;
"#,
    r#"
-- 6: single sign-on, one OpenID Connect provider per organization; `record` is the serde
-- form of the whole `OidcProvider`. The pair (issuer, audience) picks a token's
-- organization, so it is unique; its index also serves the lookups by issuer.
CREATE TABLE oidc_providers (
    organization_id  TEXT PRIMARY KEY,
    issuer           TEXT NOT NULL,
    audience         TEXT NOT NULL,
    record           TEXT NOT NULL,
    UNIQUE (issuer, audience)
) STRICT;
"#,
    r#"
-- 7: drafts of issuance awaiting four-eyes approval. `record` is the serde form of the
-- `Draft` without its payload; `payload` is its request sealed by the vault, NULL once the
-- draft is decided. An idempotency key names one draft per workspace.
CREATE TABLE drafts (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    status           TEXT NOT NULL,
    idempotency_key  TEXT,
    record           TEXT NOT NULL,
    payload          BLOB
) STRICT;
CREATE INDEX drafts_by_workspace ON drafts (workspace_id, id);
CREATE INDEX drafts_by_status ON drafts (workspace_id, status, id);
CREATE UNIQUE INDEX drafts_by_key ON drafts (workspace_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
"#,
];

/// Applies the migrations the database has not seen yet.
pub(super) fn migrate(connection: &mut Connection) -> Result<()> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        bail!(
            "the database is at schema version {version}, newer than this program's {}; \
             upgrade the program",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction
            .execute_batch(sql)
            .with_context(|| format!("schema migration {}", index + 1))?;
        transaction.pragma_update(None, "user_version", i64::try_from(index + 1)?)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "database schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use platform::ids::OrganizationId;
    use platform::model::Organization;
    use platform::ports::OrganizationStore as _;

    use super::*;
    use crate::sqlite::tests::store;
    use crate::sqlite::{SqliteStore, StoreOptions};

    fn user_version(path: &std::path::Path) -> usize {
        let version: i64 = Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        usize::try_from(version).unwrap()
    }

    #[tokio::test]
    async fn reopening_migrates_nothing_twice_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let organization = Organization {
            id: OrganizationId::generate(),
            name: "Acme".into(),
            created_at: chrono::Utc::now(),
        };
        let first = store(dir.path(), StoreOptions::default());
        assert_eq!(user_version(first.path()), MIGRATIONS.len());
        let key = platform::model::ApiKeyRecord {
            id: platform::ids::ApiKeyId::generate(),
            organization_id: organization.id,
            prefix: "obk_12345678".into(),
            hash: "00".into(),
            created_at: organization.created_at,
            name: "owner".into(),
            grant: platform::auth::Grant {
                scope: platform::auth::Scope::Organization,
                role: platform::auth::Role::OrganizationOwner,
            },
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        assert!(first.bootstrap(&organization, &key).await.unwrap());
        drop(first);

        let second = store(dir.path(), StoreOptions::default());
        assert_eq!(user_version(second.path()), MIGRATIONS.len());
        assert_eq!(second.organization(organization.id).await.unwrap(), Some(organization));
    }

    #[tokio::test]
    async fn an_api_key_from_before_roles_reads_as_an_owner_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), StoreOptions::default());
        let organization = OrganizationId::generate();
        Connection::open(store.path())
            .unwrap()
            .execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, 'Acme', '2026')",
                [organization.to_string()],
            )
            .unwrap();
        // A row as schema version 1 wrote it: no record, no last use.
        Connection::open(store.path())
            .unwrap()
            .execute(
                "INSERT INTO api_keys (id, organization_id, prefix, hash, created_at)
                 VALUES (?1, ?2, 'obk_old00000', 'ab', '2026-01-01T00:00:00.000000000Z')",
                [platform::ids::ApiKeyId::generate().to_string(), organization.to_string()],
            )
            .unwrap();
        let key = store.api_key_by_prefix("obk_old00000").await.unwrap().unwrap();
        assert_eq!(key.organization_id, organization);
        assert_eq!(key.grant.role, platform::auth::Role::OrganizationOwner);
        assert_eq!(key.grant.scope, platform::auth::Scope::Organization);
        assert_eq!((key.revoked_at, key.expires_at, key.last_used_at), (None, None, None));
    }

    #[test]
    fn a_database_from_a_newer_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(store(dir.path(), StoreOptions::default()));
        let path = dir.path().join(crate::DATABASE_FILE);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", i64::try_from(MIGRATIONS.len() + 1).unwrap())
            .unwrap();
        let error =
            SqliteStore::open(dir.path(), std::sync::Arc::new(crate::SystemClock)).unwrap_err();
        assert!(format!("{error:#}").contains("newer than this program"), "{error:#}");
    }

    #[test]
    fn the_expiry_and_list_queries_use_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), StoreOptions::default());
        let connection = Connection::open(store.path()).unwrap();
        let plan = |sql: &str| -> String {
            let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = statement.query_map([], |r| r.get::<_, String>(3)).unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let condition = crate::sqlite::credentials::EXPIRING_WHERE.replace("?1", "'2030'");
        let expiring = plan(&format!(
            "SELECT id FROM credentials WHERE {condition} ORDER BY valid_until, id LIMIT 5"
        ));
        assert!(expiring.contains("credentials_expiring"), "{expiring}");
        let by_status = plan(
            "SELECT id FROM credentials WHERE workspace_id = 'w' AND status_kind = 'active' AND id > 'x' ORDER BY id LIMIT 5",
        );
        assert!(by_status.contains("credentials_by_status"), "{by_status}");
        assert!(!by_status.contains("TEMP B-TREE"), "no sort step: {by_status}");
    }
}
