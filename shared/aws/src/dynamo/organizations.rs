//! Organizations and their API keys, workspaces (with slug claims and the status index
//! counter), templates.

use anyhow::{Context as _, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use platform::ids::{OrganizationId, TemplateId, WorkspaceId, WorkspaceSlug};
use platform::model::{ApiKeyRecord, Organization, Template, Workspace};
use platform::ports::{OrganizationStore, PortResult, TemplateStore, WorkspaceStore};

use super::{
    Condition, DynamoStore, GSI1, Item, Transaction, doc, n, number, record_item, s, sdk, text,
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
            self.put_op(
                record_item(api_key_pk(&owner_key.prefix), "APIKEY", owner_key)?,
                Some(Condition::not_exists()),
            )?,
        ];
        match self.transact_retrying(what, items).await? {
            Transaction::Committed => Ok(true),
            outcome if outcome.failed(0) => Ok(false),
            outcome => Err(outcome.unexpected(what)),
        }
    }

    async fn organization(&self, id: OrganizationId) -> PortResult<Option<Organization>> {
        self.get_doc("organization", organization_pk(id), "ORG").await
    }

    async fn api_key_by_prefix(&self, prefix: &str) -> PortResult<Option<ApiKeyRecord>> {
        let key: Option<ApiKeyRecord> =
            self.get_doc("API key by prefix", api_key_pk(prefix), "APIKEY").await?;
        Ok(key.filter(|k| k.prefix == prefix))
    }
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
        let output = match output {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                bail!("no workspace {workspace}");
            }
            Err(error) => return Err(sdk(what, &error)),
        };
        let attributes = output.attributes.unwrap_or_default();
        let next = number(&attributes, "next")?.context("the counter's new value")?;
        next.checked_sub(count.into()).context("the counter went below the count")
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
