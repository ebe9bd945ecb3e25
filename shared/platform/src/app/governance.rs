//! The organization summary across its workspaces, for owners, admins and auditors.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{App, Caller};
use crate::Result;
use crate::auth::{Permission, Role, Scope};
use crate::ids::OrganizationId;
use crate::model::CredentialCounts;

/// `GET /v1/organization/summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganizationSummary {
    pub organization: OrganizationId,
    pub name: String,
    pub workspaces: Vec<WorkspaceSummary>,
    /// Every workspace added up.
    pub totals: Totals,
    /// Who may act: each API key, each local user and each single sign-on group mapping,
    /// with its role and scope (never a key, a password or an email).
    pub members: Vec<Member>,
}

/// One workspace in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceSummary {
    pub slug: String,
    pub name: String,
    pub templates: u64,
    pub issued: u64,
    pub credentials: CredentialCounts,
}

/// The sums over the workspaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub workspaces: u64,
    pub templates: u64,
    pub issued: u64,
    pub credentials: CredentialCounts,
}

/// A principal of the organization and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    /// The key's or the user's id; for a single sign-on mapping, the claim value it maps.
    pub id: String,
    /// `api_key`, `user` or `sso_group`.
    pub kind: &'static str,
    /// The key's or the user's name; for a mapping, the claim value.
    pub name: String,
    pub role: Role,
    /// The workspace slug the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
    /// A key neither revoked nor expired, a user not locked out, a mapping in force.
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// A key's last use, a user's last sign-in; none for a mapping.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Whether a user has a second factor enrolled; absent for keys and mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub two_factor: Option<bool>,
}

impl App {
    /// The summary of the caller's organization (`organization_read`).
    pub async fn organization_summary(&self, caller: &Caller) -> Result<OrganizationSummary> {
        self.authorize_organization(caller, Permission::OrganizationRead)?;
        let organization = caller.organization_id;
        let name = self
            .ports()
            .organizations
            .organization(organization)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let mut workspaces = Vec::new();
        let mut totals = Totals::default();
        let all = self.ports().workspaces.workspaces(organization).await?;
        for workspace in &all {
            let templates = self.ports().templates.templates(workspace.id).await?.len() as u64;
            let credentials = self.ports().credentials.credential_counts(workspace.id).await?;
            totals.workspaces += 1;
            totals.templates += templates;
            totals.issued += credentials.issued();
            totals.credentials.absorb(credentials);
            workspaces.push(WorkspaceSummary {
                slug: workspace.slug.to_string(),
                name: workspace.name.clone(),
                templates,
                issued: credentials.issued(),
                credentials,
            });
        }
        let now = self.ports().clock.now();
        let slug = |scope: Scope| match scope {
            Scope::Organization => None,
            Scope::Workspace(id) => all.iter().find(|w| w.id == id).map(|w| w.slug.to_string()),
        };
        let ports = self.ports();
        let mut members: Vec<Member> = ports
            .organizations
            .api_keys(organization)
            .await?
            .into_iter()
            .map(|key| Member {
                id: key.id.to_string(),
                kind: "api_key",
                name: key.name,
                role: key.grant.role,
                workspace: slug(key.grant.scope),
                active: key.revoked_at.is_none() && key.expires_at.is_none_or(|at| at > now),
                expires_at: key.expires_at,
                last_used_at: key.last_used_at,
                two_factor: None,
            })
            .collect();
        members.extend(ports.users.users(organization).await?.into_iter().map(|user| Member {
            id: user.id.to_string(),
            kind: "user",
            name: user.name,
            role: user.grant.role,
            workspace: slug(user.grant.scope),
            active: user.locked_until.is_none_or(|until| until <= now),
            expires_at: None,
            last_used_at: user.last_sign_in_at,
            two_factor: Some(user.totp.is_some()),
        }));
        if let Some(provider) = ports.sso.oidc_provider(organization).await? {
            members.extend(provider.mappings.into_iter().map(|mapping| Member {
                id: mapping.value.clone(),
                kind: "sso_group",
                name: mapping.value,
                role: mapping.grant.role,
                workspace: slug(mapping.grant.scope),
                active: true,
                expires_at: None,
                last_used_at: None,
                two_factor: None,
            }));
        }
        Ok(OrganizationSummary { organization, name, workspaces, totals, members })
    }
}
