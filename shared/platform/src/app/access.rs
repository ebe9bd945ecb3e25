//! API keys, and the permission check every use case makes.

use chrono::{DateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};

use super::credentials_api::parse_date;
use super::{App, Caller, key_record};
use crate::auth::{Grant, Permission, Role, Scope};
use crate::ids::{ApiKeyId, WorkspaceId, WorkspaceSlug, random_token, text};
use crate::model::{ApiKeyRecord, Workspace};
use crate::{Error, Result};

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for.
    pub name: String,
    /// One of the roles (`issuer`, `workspace_admin`, `auditor`, ...).
    pub role: String,
    /// The workspace (slug) the key is limited to; none: the whole organization.
    pub workspace: Option<String>,
    /// When the key stops working (RFC 3339); none: never.
    pub expires_at: Option<String>,
}

/// An API key as shown: never the key itself nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    /// The key's first characters, to recognize it.
    pub prefix: String,
    pub role: Role,
    /// The workspace (slug) the key is limited to; none: the whole organization.
    pub workspace: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl App {
    /// Checks that the caller holds `permission` over its organization itself.
    pub(crate) fn authorize_organization(
        &self,
        caller: &Caller,
        permission: Permission,
    ) -> Result<()> {
        if caller.may(permission, None) { Ok(()) } else { Err(Error::forbidden(permission)) }
    }

    /// The workspace `slug` of the caller's organization, if the caller holds `permission`
    /// there. A workspace of another organization, or one the caller holds no grant on at
    /// all, is not found; one it holds other grants on is forbidden.
    pub async fn workspace(
        &self,
        caller: &Caller,
        slug: &str,
        permission: Permission,
    ) -> Result<Workspace> {
        let slug = WorkspaceSlug::parse(slug).map_err(|_| Error::NotFound("workspace"))?;
        let workspace = match self.ports().workspaces.workspace_by_slug(&slug).await? {
            Some(workspace) if workspace.organization_id == caller.organization_id => workspace,
            _ => return Err(Error::NotFound("workspace")),
        };
        if caller.may(permission, Some(workspace.id)) {
            Ok(workspace)
        } else if caller.sees(Some(workspace.id)) {
            Err(Error::forbidden(permission))
        } else {
            Err(Error::NotFound("workspace"))
        }
    }

    /// Creates an API key and returns it once, with its description. The caller must be
    /// allowed to manage keys where the new key applies, and may not hand out more than it
    /// holds.
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        input: NewApiKey,
    ) -> Result<(ApiKeyView, String)> {
        let name = text("name", &input.name, 100)?;
        let role = Role::parse(&input.role)
            .ok_or_else(|| Error::invalid("role", format!("must be one of {}", role_names())))?;
        let workspace = match &input.workspace {
            Some(slug) => Some(self.workspace(caller, slug, Permission::ApiKeysManage).await?),
            None => {
                self.authorize_organization(caller, Permission::ApiKeysManage)?;
                None
            }
        };
        if role.is_organization_role() && workspace.is_some() {
            return Err(Error::invalid(
                "workspace",
                format!("the role `{}` covers the whole organization", role.as_str()),
            ));
        }
        let now = self.ports().clock.now();
        let expires_at =
            input.expires_at.as_deref().map(|t| parse_date("expires_at", t)).transpose()?;
        // To the second, as the platform's clock counts.
        let expires_at = expires_at.map(|at| at.trunc_subsecs(0));
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        let scope = workspace.as_ref().map_or(Scope::Organization, |w| Scope::Workspace(w.id));
        let grant = Grant { scope, role };
        if !caller.may_grant(&grant) {
            return Err(Error::Forbidden(
                "an API key cannot be given more than its creator holds".into(),
            ));
        }
        // A prefix collision (12 random characters) is all but impossible; try again once.
        for _ in 0..2 {
            let key = format!("obk_{}", random_token(32)?);
            let record = key_record(&key, caller.organization_id, &name, grant, expires_at, now);
            if self.ports().organizations.insert_api_key(&record).await? {
                let view = view(&record, workspace.as_ref().map(|w| w.slug.to_string()));
                return Ok((view, key));
            }
        }
        Err(anyhow::anyhow!("two API key prefixes collided in a row").into())
    }

    /// The API keys the caller may manage: all of the organization's for an organization-wide
    /// manager, those of its workspaces for a workspace admin.
    pub async fn api_keys(&self, caller: &Caller) -> Result<Vec<ApiKeyView>> {
        if !caller.grants.iter().any(|g| g.role.allows(Permission::ApiKeysManage)) {
            return Err(Error::forbidden(Permission::ApiKeysManage));
        }
        let slugs = self.workspace_slugs(caller).await?;
        let keys = self.ports().organizations.api_keys(caller.organization_id).await?;
        Ok(keys
            .iter()
            .filter(|key| caller.may(Permission::ApiKeysManage, target(&key.grant)))
            .map(|key| view(key, slug_of(&slugs, &key.grant)))
            .collect())
    }

    /// Revokes the key `id`; from then on it is refused.
    pub async fn revoke_api_key(&self, caller: &Caller, id: &str) -> Result<ApiKeyView> {
        let id = ApiKeyId::parse(id).map_err(|_| Error::NotFound("API key"))?;
        let keys = self.ports().organizations.api_keys(caller.organization_id).await?;
        let key = keys
            .into_iter()
            .find(|key| key.id == id)
            .filter(|key| caller.sees(target(&key.grant)))
            .ok_or(Error::NotFound("API key"))?;
        if !caller.may(Permission::ApiKeysManage, target(&key.grant)) {
            return Err(Error::forbidden(Permission::ApiKeysManage));
        }
        if !caller.may_grant(&key.grant) {
            return Err(Error::Forbidden("this key holds more than you do".into()));
        }
        let now = self.ports().clock.now();
        if !self.ports().organizations.revoke_api_key(caller.organization_id, id, now).await? {
            return Err(Error::Conflict("this API key is already revoked".into()));
        }
        let slugs = self.workspace_slugs(caller).await?;
        let revoked = ApiKeyRecord { revoked_at: Some(now), ..key };
        Ok(view(&revoked, slug_of(&slugs, &revoked.grant)))
    }

    async fn workspace_slugs(&self, caller: &Caller) -> Result<Vec<(WorkspaceId, String)>> {
        let workspaces = self.ports().workspaces.workspaces(caller.organization_id).await?;
        Ok(workspaces.into_iter().map(|w| (w.id, w.slug.to_string())).collect())
    }
}

pub(super) fn role_names() -> String {
    Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

fn target(grant: &Grant) -> Option<WorkspaceId> {
    match grant.scope {
        Scope::Organization => None,
        Scope::Workspace(id) => Some(id),
    }
}

fn slug_of(slugs: &[(WorkspaceId, String)], grant: &Grant) -> Option<String> {
    let id = target(grant)?;
    slugs.iter().find(|(ws, _)| *ws == id).map(|(_, slug)| slug.clone())
}

fn view(key: &ApiKeyRecord, workspace: Option<String>) -> ApiKeyView {
    ApiKeyView {
        id: key.id,
        name: key.name.clone(),
        prefix: key.prefix.clone(),
        role: key.grant.role,
        workspace,
        created_at: key.created_at,
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        last_used_at: key.last_used_at,
    }
}
