//! The organization summary across its workspaces, for owners, admins and auditors.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{App, Caller};
use crate::Result;
use crate::auth::{Permission, Role, Scope};
use crate::ids::{ApiKeyId, OrganizationId};
use crate::model::CredentialCounts;

/// `GET /v1/organization/summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganizationSummary {
    pub organization: OrganizationId,
    pub name: String,
    pub workspaces: Vec<WorkspaceSummary>,
    /// Every workspace added up.
    pub totals: Totals,
    /// Who may act: each API key with its role and scope (never the key).
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
    pub id: ApiKeyId,
    pub kind: &'static str,
    pub name: String,
    pub role: Role,
    /// The workspace slug the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
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
        let members = self
            .ports()
            .organizations
            .api_keys(organization)
            .await?
            .into_iter()
            .map(|key| Member {
                id: key.id,
                kind: "api_key",
                name: key.name,
                role: key.grant.role,
                workspace: match key.grant.scope {
                    Scope::Organization => None,
                    Scope::Workspace(id) => {
                        all.iter().find(|w| w.id == id).map(|w| w.slug.to_string())
                    }
                },
                active: key.revoked_at.is_none() && key.expires_at.is_none_or(|at| at > now),
                expires_at: key.expires_at,
                last_used_at: key.last_used_at,
            })
            .collect();
        Ok(OrganizationSummary { organization, name, workspaces, totals, members })
    }
}
