//! Organizations and their API keys, workspaces (with slug claims and the status index
//! counter), templates.

use anyhow::{Context as _, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use platform::ids::{ApiKeyId, OrganizationId, TemplateId, WorkspaceId, WorkspaceSlug};
use platform::model::{ApiKeyRecord, Organization, Template, Workspace};
use platform::ports::{OrganizationStore, PortResult, TemplateStore, WorkspaceStore};

use super::{
    Condition, DynamoStore, GSI1, Item, Transaction, conditional_update, doc, n, number,
    record_item, s, text,
};

const BOOTSTRAP: (&str, &str) = ("DEPLOYMENT", "BOOTSTRAP");
const STATUS_COUNTER: &str = "COUNTER#status";

fn organization_pk(id: OrganizationId) -> String {
    format!("ORG#{id}")
}

fn api_key_pk(prefix: &str) -> String {
    format!("APIKEY#{prefix}")
}

fn workspace_pk(id: WorkspaceId) -> String {
    format!("WS#{id}")
}

fn slug_pk(slug: &WorkspaceSlug) -> String {
    format!("SLUG#{slug}")
}

fn template_sk(id: TemplateId) -> String {
    format!("TPL#{id}")
}

fn template_item(template: &Template) -> anyhow::Result<Item> {
    let mut item =
        record_item(workspace_pk(template.workspace_id), template_sk(template.id), template)?;
    item.insert("version".into(), n(template.version));
    Ok(item)
}

#[async_trait]
impl OrganizationStore for DynamoStore {
    async fn bootstrap(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<bool> {
        let what = "bootstrap";
        // The marker is the once-only condition; the organization and key are fresh ids.
        let mut marker = record_item(BOOTSTRAP.0.into(), BOOTSTRAP.1, &organization.id)?;
        marker.insert("organization".into(), s(organization.id.to_string()));
        let items = vec![
            self.put_op(marker, Some(Condition::not_exists()))?,
            self.put_op(
                record_item(organization_pk(organization.id), "ORG", organization)?,
                Some(Condition::not_exists()),
            )?,
            self.put_op(api_key_item(owner_key)?, Some(Condition::not_exists()))?,
        ];
        match self.transact_retrying(what, items).await? {
            Transaction::Committed => Ok(true),
            outcome if outcome.failed(0) => Ok(false),
            outcome => Err(outcome.unexpected(what)),
        }
    }

    async fn insert_organization(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<()> {
        let what = "insert organization";
        let items = vec![
            self.put_op(
                record_item(organization_pk(organization.id), "ORG", organization)?,
                Some(Condition::not_exists()),
            )?,
            self.put_op(api_key_item(owner_key)?, Some(Condition::not_exists()))?,
        ];
        match self.transact_retrying(what, items).await? {
            Transaction::Committed => Ok(()),
            outcome => Err(outcome.unexpected(what)),
        }
    }

    async fn organization(&self, id: OrganizationId) -> PortResult<Option<Organization>> {
        self.get_doc("organization", organization_pk(id), "ORG").await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> PortResult<Option<ApiKeyRecord>> {
        let what = "API key by prefix";
        let Some(item) = self.get(what, api_key_pk(prefix), "APIKEY").await? else {
            return Ok(None);
        };
        Ok(Some(api_key(&item, what)?).filter(|k| k.prefix == prefix))
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> PortResult<bool> {
        self.put("insert API key", api_key_item(key)?, Some(Condition::not_exists())).await
    }

    async fn api_keys(&self, organization: OrganizationId) -> PortResult<Vec<ApiKeyRecord>> {
        let what = "API keys";
        let query = self
            .query_on(Some(GSI1))
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :key)")
            .expression_attribute_values(":pk", s(organization_pk(organization)))
            .expression_attribute_values(":key", s("APIKEY#"));
        let items = self.query(what, query, usize::MAX).await?;
        // The index is eventually consistent: each key is read again from its item.
        let mut keys = Vec::with_capacity(items.len());
        for item in &items {
            let listed = api_key(item, what)?;
            if let Some(key) = self.api_key_by_prefix(&listed.prefix).await? {
                keys.push(key);
            }
        }
        keys.sort_by_key(|k| (k.created_at, k.id));
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let what = "revoke API key";
        let Some(key) = self.api_keys(organization).await?.into_iter().find(|k| k.id == id) else {
            return Ok(false);
        };
        if key.revoked_at.is_some() {
            return Ok(false);
        }
        let revoked = ApiKeyRecord { revoked_at: Some(now), last_used_at: None, ..key };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(api_key_pk(&revoked.prefix)))
            .key("SK", s("APIKEY"))
            .update_expression("SET #doc = :doc, #revoked = :revoked")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#revoked)")
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_names("#revoked", "revoked")
            .expression_attribute_values(":doc", s(serde_json::to_string(&revoked)?))
            .expression_attribute_values(":revoked", s(stamp(now)))
            .send()
            .await;
        Ok(conditional_update(what, result)?.is_some())
    }

    async fn touch_api_key(&self, prefix: &str, now: DateTime<Utc>) -> PortResult<()> {
        let what = "record API key use";
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(api_key_pk(prefix)))
            .key("SK", s("APIKEY"))
            .update_expression("SET #used = :now")
            // Fixed-width UTC stamps order as the instants do.
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(#used) OR #used < :now)",
            )
            .expression_attribute_names("#used", "last_used")
            .expression_attribute_values(":now", s(stamp(now)))
            .send()
            .await;
        // A later use already recorded is not an error.
        conditional_update(what, result)?;
        Ok(())
    }
}

/// An instant as fixed-width RFC 3339 UTC text, which orders as the instants do.
fn stamp(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The item of an API key: found by prefix, listed through the organization's index
/// partition. The last use is an attribute of its own (`last_used`), so recording a use
/// does not rewrite the record.
fn api_key_item(key: &ApiKeyRecord) -> anyhow::Result<Item> {
    let record = ApiKeyRecord { last_used_at: None, ..key.clone() };
    let mut item = record_item(api_key_pk(&key.prefix), "APIKEY", &record)?;
    item.insert("GSI1PK".into(), s(organization_pk(key.organization_id)));
    item.insert("GSI1SK".into(), s(format!("APIKEY#{}", key.id)));
    Ok(item)
}

fn api_key(item: &Item, what: &str) -> anyhow::Result<ApiKeyRecord> {
    let mut key: ApiKeyRecord = doc(item, what)?;
    key.last_used_at = text(item, "last_used")
        .map(|t| DateTime::parse_from_rfc3339(t).map(|d| d.to_utc()))
        .transpose()
        .with_context(|| format!("{what}: `last_used`"))?;
    Ok(key)
}

#[async_trait]
impl WorkspaceStore for DynamoStore {
    async fn insert_workspace(&self, workspace: &Workspace) -> PortResult<bool> {
        let what = "insert workspace";
        let mut claim = record_item(slug_pk(&workspace.slug), "SLUG", &workspace.id)?;
        claim.insert("workspace".into(), s(workspace.id.to_string()));
        let mut item = record_item(workspace_pk(workspace.id), "WS", workspace)?;
        item.insert("GSI1PK".into(), s(organization_pk(workspace.organization_id)));
        item.insert("GSI1SK".into(), s(workspace_pk(workspace.id)));
        // The counter exists exactly when the workspace does, so allocating an index of an
        // unknown workspace fails instead of starting a counter for nothing.
        let mut counter = record_item(workspace_pk(workspace.id), STATUS_COUNTER, &0)?;
        counter.insert("next".into(), n(0));
        let items = vec![
            self.put_op(claim, Some(Condition::not_exists()))?,
            self.put_op(item, Some(Condition::not_exists()))?,
            self.put_op(counter, Some(Condition::not_exists()))?,
        ];
        match self.transact_retrying(what, items).await? {
            Transaction::Committed => Ok(true),
            // Only a taken slug is an expected outcome; a reused id stays an error.
            outcome if outcome.failed(0) && !outcome.failed(1) => Ok(false),
            outcome => Err(outcome.unexpected(what)),
        }
    }

    async fn workspace(&self, id: WorkspaceId) -> PortResult<Option<Workspace>> {
        self.get_doc("workspace", workspace_pk(id), "WS").await
    }

    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> PortResult<Option<Workspace>> {
        let what = "workspace by slug";
        let Some(claim) = self.get(what, slug_pk(slug), "SLUG").await? else { return Ok(None) };
        let id = text(&claim, "workspace").context("a slug claim without its workspace")?;
        let id = WorkspaceId::parse(id).map_err(|e| anyhow!("slug claim {slug}: {e}"))?;
        let workspace: Option<Workspace> = self.get_doc(what, workspace_pk(id), "WS").await?;
        Ok(workspace.filter(|w| &w.slug == slug))
    }

    async fn workspaces(&self, organization: OrganizationId) -> PortResult<Vec<Workspace>> {
        let what = "workspaces";
        let query = self
            .query_on(Some(GSI1))
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :ws)")
            .expression_attribute_values(":pk", s(organization_pk(organization)))
            .expression_attribute_values(":ws", s("WS#"));
        let items = self.query(what, query, usize::MAX).await?;
        let mut workspaces =
            items.iter().map(|item| doc(item, what)).collect::<anyhow::Result<Vec<Workspace>>>()?;
        workspaces.sort_by_key(|x| (x.created_at, x.id));
        Ok(workspaces)
    }

    async fn allocate_status_indexes(&self, workspace: WorkspaceId, count: u32) -> PortResult<u64> {
        let what = "allocate status indexes";
        anyhow::ensure!(count > 0, "allocate at least one status index");
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(workspace_pk(workspace)))
            .key("SK", s(STATUS_COUNTER))
            .update_expression("ADD #next :count")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#next", "next")
            .expression_attribute_values(":count", n(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let Some(output) = conditional_update(what, output)? else {
            bail!("no workspace {workspace}");
        };
        let attributes = output.attributes.unwrap_or_default();
        let next = number(&attributes, "next")?.context("the counter's new value")?;
        next.checked_sub(count.into()).context("the counter went below the count")
    }

    async fn set_requires_approval(&self, workspace: WorkspaceId, value: bool) -> PortResult<bool> {
        let what = "set requires approval";
        // Optimistic: the record is replaced on condition that it is the one read.
        for attempt in 0..super::MAX_ATTEMPTS {
            let Some(item) = self.get(what, workspace_pk(workspace), "WS").await? else {
                return Ok(false);
            };
            let old = text(&item, "doc").context("a workspace item without `doc`")?.to_owned();
            let mut current: Workspace = doc(&item, what)?;
            current.requires_approval = value;
            let new = serde_json::to_string(&current).context("record encoding")?;
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(workspace_pk(workspace)))
                .key("SK", s("WS"))
                .update_expression("SET #doc = :new")
                .condition_expression("#doc = :old")
                .expression_attribute_names("#doc", "doc")
                .expression_attribute_values(":new", s(new))
                .expression_attribute_values(":old", s(old))
                .send()
                .await;
            if conditional_update(what, result)?.is_some() {
                return Ok(true);
            }
            super::backoff(attempt + 1).await;
        }
        bail!("DynamoDB {what}: the workspace kept changing")
    }
}

#[async_trait]
impl TemplateStore for DynamoStore {
    async fn insert_template(&self, template: &Template) -> PortResult<()> {
        let inserted = self
            .put("insert template", template_item(template)?, Some(Condition::not_exists()))
            .await?;
        if !inserted {
            bail!("template {} already exists", template.id);
        }
        Ok(())
    }

    async fn template(
        &self,
        workspace: WorkspaceId,
        id: TemplateId,
    ) -> PortResult<Option<Template>> {
        self.get_doc("template", workspace_pk(workspace), &template_sk(id)).await
    }

    async fn templates(&self, workspace: WorkspaceId) -> PortResult<Vec<Template>> {
        let what = "templates";
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND begins_with(SK, :tpl)")
            .expression_attribute_values(":pk", s(workspace_pk(workspace)))
            .expression_attribute_values(":tpl", s("TPL#"));
        let items = self.query(what, query, usize::MAX).await?;
        let mut templates =
            items.iter().map(|item| doc(item, what)).collect::<anyhow::Result<Vec<Template>>>()?;
        templates.sort_by_key(|x| (x.created_at, x.id));
        Ok(templates)
    }

    async fn update_template(
        &self,
        template: &Template,
        expected_version: u64,
    ) -> PortResult<bool> {
        let condition = Condition::new("#version = :expected")
            .name("#version", "version")
            .value(":expected", n(expected_version));
        self.put("update template", template_item(template)?, Some(condition)).await
    }
}
