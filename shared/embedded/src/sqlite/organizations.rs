//! Organizations and their API keys, workspaces, templates.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ids::{ApiKeyId, OrganizationId, TemplateId, WorkspaceId, WorkspaceSlug};
use platform::model::{ApiKeyRecord, Organization, Template, Workspace};
use platform::ports::{OrganizationStore, PortResult, TemplateStore, WorkspaceStore};
use rusqlite::{OptionalExtension as _, params};

use super::{
    SqliteStore, all, from_json, optional, parse_optional_time, parse_text, parse_time, time,
    to_i64, to_json, to_u64,
};

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn bootstrap(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<bool> {
        let organization = organization.clone();
        let key = owner_key.clone();
        self.write("bootstrap", move |tx| {
            let exists: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM organizations)", [], |r| r.get(0))?;
            if exists {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![
                    organization.id.to_string(),
                    organization.name,
                    time(organization.created_at)
                ],
            )?;
            insert_key(tx, &key)?;
            Ok(true)
        })
        .await
    }

    async fn insert_organization(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<()> {
        let organization = organization.clone();
        let key = owner_key.clone();
        self.write("insert organization", move |tx| {
            tx.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![
                    organization.id.to_string(),
                    organization.name,
                    time(organization.created_at)
                ],
            )?;
            insert_key(tx, &key)
        })
        .await
    }

    async fn organization(&self, id: OrganizationId) -> PortResult<Option<Organization>> {
        self.lookup("organization", move |c| {
            optional(
                c,
                "SELECT id, name, created_at FROM organizations WHERE id = ?1",
                [id.to_string()],
                |row| {
                    Ok(Organization {
                        id: parse_text(row.get(0)?)?,
                        name: row.get(1)?,
                        created_at: parse_time(&row.get::<_, String>(2)?)?,
                    })
                },
            )
        })
        .await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> PortResult<Option<ApiKeyRecord>> {
        let prefix = prefix.to_owned();
        self.lookup("API key by prefix", move |c| {
            optional(
                c,
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = ?1"),
                [prefix],
                api_key,
            )
        })
        .await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> PortResult<bool> {
        let key = key.clone();
        self.write("insert API key", move |tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE prefix = ?1)",
                [&key.prefix],
                |r| r.get(0),
            )?;
            if taken {
                return Ok(false);
            }
            insert_key(tx, &key)?;
            Ok(true)
        })
        .await
    }

    async fn api_keys(&self, organization: OrganizationId) -> PortResult<Vec<ApiKeyRecord>> {
        self.read("API keys", move |c| {
            all(
                c,
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE organization_id = ?1 ORDER BY created_at, id"),
                [organization.to_string()],
                api_key,
            )
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        self.write("revoke API key", move |tx| {
            let key = optional(
                tx,
                &format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1 AND organization_id = ?2"
                ),
                [id.to_string(), organization.to_string()],
                api_key,
            )?;
            let Some(key) = key.filter(|key| key.revoked_at.is_none()) else { return Ok(false) };
            let revoked = ApiKeyRecord { revoked_at: Some(now), last_used_at: None, ..key };
            tx.execute(
                "UPDATE api_keys SET record = ?1 WHERE id = ?2",
                params![to_json(&revoked)?, id.to_string()],
            )?;
            Ok(true)
        })
        .await
    }

    async fn touch_api_key(&self, prefix: &str, now: DateTime<Utc>) -> PortResult<()> {
        let prefix = prefix.to_owned();
        self.write("record API key use", move |tx| {
            // RFC 3339 UTC text of one format orders as the instants do.
            tx.execute(
                "UPDATE api_keys SET last_used_at = ?1
                 WHERE prefix = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)",
                params![time(now), prefix],
            )?;
            Ok(())
        })
        .await
    }
}

const KEY_COLUMNS: &str = "id, organization_id, prefix, hash, created_at, record, last_used_at";

fn api_key(row: &rusqlite::Row<'_>) -> anyhow::Result<ApiKeyRecord> {
    let last_used_at = parse_optional_time(row.get(6)?)?;
    let mut key = match row.get::<_, Option<String>>(5)? {
        Some(record) => from_json::<ApiKeyRecord>(&record)?,
        // Keys from before roles: owner keys of their organization.
        None => from_json::<ApiKeyRecord>(
            &serde_json::json!({
                "id": row.get::<_, String>(0)?,
                "organization_id": row.get::<_, String>(1)?,
                "prefix": row.get::<_, String>(2)?,
                "hash": row.get::<_, String>(3)?,
                "created_at": row.get::<_, String>(4)?,
            })
            .to_string(),
        )?,
    };
    key.last_used_at = last_used_at;
    Ok(key)
}

fn insert_key(tx: &rusqlite::Transaction<'_>, key: &ApiKeyRecord) -> anyhow::Result<()> {
    let record = ApiKeyRecord { last_used_at: None, ..key.clone() };
    tx.execute(
        "INSERT INTO api_keys (id, organization_id, prefix, hash, created_at, record, last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            key.id.to_string(),
            key.organization_id.to_string(),
            key.prefix,
            key.hash,
            time(key.created_at),
            to_json(&record)?,
            key.last_used_at.map(time),
        ],
    )?;
    Ok(())
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn insert_workspace(&self, workspace: &Workspace) -> PortResult<bool> {
        let record = to_json(workspace)?;
        let workspace = workspace.clone();
        self.write("insert workspace", move |tx| {
            // Only a taken slug is an expected outcome; a reused id stays an error.
            let inserted = tx.execute(
                "INSERT INTO workspaces (id, organization_id, slug, created_at, record) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (slug) DO NOTHING",
                params![
                    workspace.id.to_string(),
                    workspace.organization_id.to_string(),
                    workspace.slug.as_str(),
                    time(workspace.created_at),
                    record
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn workspace(&self, id: WorkspaceId) -> PortResult<Option<Workspace>> {
        self.lookup("workspace", move |c| {
            optional(c, "SELECT record FROM workspaces WHERE id = ?1", [id.to_string()], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> PortResult<Option<Workspace>> {
        let slug = slug.as_str().to_owned();
        self.lookup("workspace by slug", move |c| {
            optional(c, "SELECT record FROM workspaces WHERE slug = ?1", [slug], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn workspaces(&self, organization: OrganizationId) -> PortResult<Vec<Workspace>> {
        self.read("workspaces", move |c| {
            all(
                c,
                "SELECT record FROM workspaces WHERE organization_id = ?1 ORDER BY created_at, id",
                [organization.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn allocate_status_indexes(&self, workspace: WorkspaceId, count: u32) -> PortResult<u64> {
        anyhow::ensure!(count > 0, "allocate at least one status index");
        self.write("allocate status indexes", move |tx| {
            let index: Option<i64> = tx
                .query_row(
                    "UPDATE workspaces SET next_status_index = next_status_index + ?2 WHERE id = ?1
                     RETURNING next_status_index - ?2",
                    params![workspace.to_string(), count],
                    |row| row.get(0),
                )
                .optional()?;
            to_u64(index.ok_or_else(|| anyhow!("no workspace {workspace}"))?)
        })
        .await
    }

    async fn set_requires_approval(&self, workspace: WorkspaceId, value: bool) -> PortResult<bool> {
        self.write("set requires approval", move |tx| {
            // Read and written in one transaction on the single writer: nothing else changes
            // the record in between.
            let record: Option<String> = tx
                .query_row(
                    "SELECT record FROM workspaces WHERE id = ?1",
                    [workspace.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(record) = record else { return Ok(false) };
            let mut current: Workspace = from_json(&record)?;
            current.requires_approval = value;
            tx.execute(
                "UPDATE workspaces SET record = ?1 WHERE id = ?2",
                params![to_json(&current)?, workspace.to_string()],
            )?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn insert_template(&self, template: &Template) -> PortResult<()> {
        let record = to_json(template)?;
        let template = template.clone();
        self.write("insert template", move |tx| {
            tx.execute(
                "INSERT INTO templates (id, workspace_id, version, created_at, record) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    template.id.to_string(),
                    template.workspace_id.to_string(),
                    to_i64(template.version)?,
                    time(template.created_at),
                    record
                ],
            )
            .with_context(|| format!("template {}", template.id))?;
            Ok(())
        })
        .await
    }

    async fn template(
        &self,
        workspace: WorkspaceId,
        id: TemplateId,
    ) -> PortResult<Option<Template>> {
        self.lookup("template", move |c| {
            optional(
                c,
                "SELECT record FROM templates WHERE id = ?1 AND workspace_id = ?2",
                [id.to_string(), workspace.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn templates(&self, workspace: WorkspaceId) -> PortResult<Vec<Template>> {
        self.read("templates", move |c| {
            all(
                c,
                "SELECT record FROM templates WHERE workspace_id = ?1 ORDER BY created_at, id",
                [workspace.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn update_template(
        &self,
        template: &Template,
        expected_version: u64,
    ) -> PortResult<bool> {
        let record = to_json(template)?;
        let template = template.clone();
        self.write("update template", move |tx| {
            let updated = tx.execute(
                "UPDATE templates SET version = ?1, record = ?2
                 WHERE id = ?3 AND workspace_id = ?4 AND version = ?5",
                params![
                    to_i64(template.version)?,
                    record,
                    template.id.to_string(),
                    template.workspace_id.to_string(),
                    to_i64(expected_version)?
                ],
            )?;
            Ok(updated == 1)
        })
        .await
    }
}
