//! Organizations and their API keys, workspaces, templates.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use platform::ids::{OrganizationId, TemplateId, WorkspaceId, WorkspaceSlug};
use platform::model::{ApiKeyRecord, Organization, Template, Workspace};
use platform::ports::{OrganizationStore, PortResult, TemplateStore, WorkspaceStore};
use rusqlite::{OptionalExtension as _, params};

use super::{
    SqliteStore, all, from_json, optional, parse_text, parse_time, time, to_i64, to_json, to_u64,
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
            let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM organizations)", [], |r| r.get(0))?;
            if exists {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![organization.id.to_string(), organization.name, time(organization.created_at)],
            )?;
            tx.execute(
                "INSERT INTO api_keys (id, organization_id, prefix, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    key.id.to_string(),
                    key.organization_id.to_string(),
                    key.prefix,
                    key.hash,
                    time(key.created_at)
                ],
            )?;
            Ok(true)
        })
        .await
    }

    async fn organization(&self, id: OrganizationId) -> PortResult<Option<Organization>> {
        self.read("organization", move |c| {
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
        self.read("API key by prefix", move |c| {
            optional(
                c,
                "SELECT id, organization_id, prefix, hash, created_at FROM api_keys WHERE prefix = ?1",
                [prefix],
                |row| {
                    Ok(ApiKeyRecord {
                        id: parse_text(row.get(0)?)?,
                        organization_id: parse_text(row.get(1)?)?,
                        prefix: row.get(2)?,
                        hash: row.get(3)?,
                        created_at: parse_time(&row.get::<_, String>(4)?)?,
                    })
                },
            )
        })
        .await
    }
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
        self.read("workspace", move |c| {
            optional(c, "SELECT record FROM workspaces WHERE id = ?1", [id.to_string()], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> PortResult<Option<Workspace>> {
        let slug = slug.as_str().to_owned();
        self.read("workspace by slug", move |c| {
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
        self.read("template", move |c| {
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
