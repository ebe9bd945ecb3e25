//! Workspaces: each one an issuer with its own Ed25519 key and `did:web`.

use credentials::did::DidDocument;
use credentials::keys::PublicKey;
use serde::Deserialize;
use serde_json::Value;

use super::{App, Caller};
use crate::auth::Permission;
use crate::ids::{Email, HttpUrl, WorkspaceId, WorkspaceSlug, text};
use crate::model::{IssuerProfile, Workspace};
use crate::{Error, Result};

/// `POST /v1/workspaces`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    pub slug: String,
    pub name: String,
    pub issuer: IssuerInput,
}

/// The issuer profile as submitted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerInput {
    pub name: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub image: Option<String>,
}

impl App {
    /// Creates a workspace with its first signing key and its `did:web`.
    pub async fn create_workspace(
        &self,
        caller: &Caller,
        input: NewWorkspace,
    ) -> Result<Workspace> {
        self.authorize_organization(caller, Permission::WorkspaceCreate)?;
        let slug = WorkspaceSlug::parse(&input.slug)?;
        let name = text("name", &input.name, 200)?;
        let issuer = IssuerProfile {
            name: text("issuer.name", &input.issuer.name, 200)?,
            url: input
                .issuer
                .url
                .as_deref()
                .map(|u| HttpUrl::parse("issuer.url", u))
                .transpose()?,
            email: input
                .issuer
                .email
                .as_deref()
                .map(|e| Email::parse("issuer.email", e))
                .transpose()?,
            image: input
                .issuer
                .image
                .as_deref()
                .map(|u| HttpUrl::parse("issuer.image", u))
                .transpose()?,
        };
        if self.ports().workspaces.workspace_by_slug(&slug).await?.is_some() {
            return Err(Error::Conflict(format!("workspace slug `{slug}` is taken")));
        }
        let id = WorkspaceId::generate();
        let now = self.ports().clock.now();
        let key = self.ports().keys.create_key(id, now).await?;
        let workspace = Workspace {
            id,
            organization_id: caller.organization_id,
            did: credentials::did::did_web(
                &self.settings().did_host().replace("%3A", ":"),
                &["ws", slug.as_str()],
            ),
            slug,
            name,
            issuer,
            current_key_id: key.key_id,
            created_at: now,
            requires_approval: false,
        };
        if !self.ports().workspaces.insert_workspace(&workspace).await? {
            return Err(Error::Conflict(format!("workspace slug `{}` is taken", workspace.slug)));
        }
        self.publish_status_lists(&workspace, 0).await?;
        Ok(workspace)
    }

    /// The workspaces of the caller's organization it may see (`workspace_read`).
    pub async fn workspaces(&self, caller: &Caller) -> Result<Vec<Workspace>> {
        let all = self.ports().workspaces.workspaces(caller.organization_id).await?;
        Ok(all.into_iter().filter(|w| caller.may(Permission::WorkspaceRead, Some(w.id))).collect())
    }

    /// The public DID document of workspace `slug`: every key, current and retired.
    pub async fn did_document(&self, slug: &str) -> Result<Value> {
        let slug = WorkspaceSlug::parse(slug).map_err(|_| Error::NotFound("workspace"))?;
        let workspace = self
            .ports()
            .workspaces
            .workspace_by_slug(&slug)
            .await?
            .ok_or(Error::NotFound("workspace"))?;
        self.did_document_of(&workspace).await
    }

    pub(crate) async fn did_document_of(&self, workspace: &Workspace) -> Result<Value> {
        let mut document = DidDocument::new(&workspace.did);
        for key in self.ports().keys.public_keys(workspace.id).await? {
            let public = PublicKey::from_multibase(&key.public_key_multibase)
                .map_err(|e| anyhow::anyhow!("stored public key of {}: {e}", workspace.id))?;
            document.add_ed25519_key(&key.key_id, public);
        }
        Ok(document.to_json())
    }
}
