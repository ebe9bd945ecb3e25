//! Who may do what: principals, roles and permissions, and the secrets that prove who a
//! caller is (passwords, TOTP second factors, OpenID Connect tokens).
//!
//! A caller holds **grants**: a role over a scope, either the whole organization or one of
//! its workspaces. A role is a fixed set of [`Permission`]s ([`Role::permissions`], the
//! permission matrix of `docs/ARCHITECTURE.md`); a grant over the organization gives its
//! role's permissions in every workspace of it. Every use case checks exactly one permission
//! against the workspace it acts on (or the organization), and a workspace of another
//! organization is not found at all: tenants are denied by default.

pub mod oidc;
pub mod password;
pub mod totp;

use serde::{Deserialize, Serialize};

use crate::ids::{OrganizationId, WorkspaceId};

/// What a caller may do. Each use case checks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the organization: its workspaces and the governance summary.
    OrganizationRead,
    /// Change the organization's settings: its sign-in policy (two-factor) and single sign-on.
    OrganizationManage,
    /// Create workspaces.
    WorkspaceCreate,
    /// Create, list and revoke API keys (never with more power than one's own).
    ApiKeysManage,
    /// Create and list local users (never with more power than one's own).
    UsersManage,
    /// Read the audit log and verify its chain.
    AuditRead,
    /// See a workspace.
    WorkspaceRead,
    /// Change a workspace's settings (its approval policy).
    WorkspaceManage,
    /// Read templates.
    TemplateRead,
    /// Create and edit templates.
    TemplateWrite,
    /// Read credentials and bulk jobs, with the recipients' personal data.
    CredentialRead,
    /// Issue credentials, one or in bulk, directly.
    CredentialIssue,
    /// Prepare drafts of issuance that an approver sends.
    CredentialDraft,
    /// Approve or reject someone else's draft.
    CredentialApprove,
    /// Revoke, suspend and unsuspend credentials.
    CredentialRevoke,
    /// Read webhooks and their deliveries.
    WebhookRead,
    /// Create and delete webhooks.
    WebhookManage,
}

impl Permission {
    /// Every permission, in the order of the documented matrix.
    pub const ALL: [Self; 17] = [
        Self::OrganizationRead,
        Self::OrganizationManage,
        Self::WorkspaceCreate,
        Self::ApiKeysManage,
        Self::UsersManage,
        Self::AuditRead,
        Self::WorkspaceRead,
        Self::WorkspaceManage,
        Self::TemplateRead,
        Self::TemplateWrite,
        Self::CredentialRead,
        Self::CredentialIssue,
        Self::CredentialDraft,
        Self::CredentialApprove,
        Self::CredentialRevoke,
        Self::WebhookRead,
        Self::WebhookManage,
    ];

    /// Whether only a grant over the whole organization can give it.
    pub fn is_organization_wide(self) -> bool {
        matches!(
            self,
            Self::OrganizationRead
                | Self::OrganizationManage
                | Self::WorkspaceCreate
                | Self::AuditRead
        )
    }

    /// The name used in the API and the docs (`credential_issue`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrganizationRead => "organization_read",
            Self::OrganizationManage => "organization_manage",
            Self::WorkspaceCreate => "workspace_create",
            Self::ApiKeysManage => "api_keys_manage",
            Self::UsersManage => "users_manage",
            Self::AuditRead => "audit_read",
            Self::WorkspaceRead => "workspace_read",
            Self::WorkspaceManage => "workspace_manage",
            Self::TemplateRead => "template_read",
            Self::TemplateWrite => "template_write",
            Self::CredentialRead => "credential_read",
            Self::CredentialIssue => "credential_issue",
            Self::CredentialDraft => "credential_draft",
            Self::CredentialApprove => "credential_approve",
            Self::CredentialRevoke => "credential_revoke",
            Self::WebhookRead => "webhook_read",
            Self::WebhookManage => "webhook_manage",
        }
    }
}

/// A role: a fixed set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, in every workspace.
    OrganizationOwner,
    /// Everything, in every workspace; cannot make owners.
    OrganizationAdmin,
    /// Read-only across the organization: workspaces, templates, credentials, webhooks, the
    /// audit log and the governance summary. Changes nothing.
    Auditor,
    /// Everything within a workspace: templates, issuance, approval, lifecycle, webhooks and
    /// the workspace's API keys.
    WorkspaceAdmin,
    /// Edits templates; cannot issue.
    Designer,
    /// Issues, revokes and suspends directly.
    Issuer,
    /// Prepares issuance as drafts; cannot send them.
    DraftManager,
    /// Approves or rejects the drafts of others.
    Approver,
    /// Reads the workspace.
    Viewer,
}

impl Role {
    /// Every role, in the order of the documented matrix.
    pub const ALL: [Self; 9] = [
        Self::OrganizationOwner,
        Self::OrganizationAdmin,
        Self::Auditor,
        Self::WorkspaceAdmin,
        Self::Designer,
        Self::Issuer,
        Self::DraftManager,
        Self::Approver,
        Self::Viewer,
    ];

    /// Whether the role is given over a whole organization (owner, admin, auditor) rather
    /// than over one workspace.
    pub fn is_organization_role(self) -> bool {
        matches!(self, Self::OrganizationOwner | Self::OrganizationAdmin | Self::Auditor)
    }

    /// The permission matrix.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::OrganizationOwner | Self::OrganizationAdmin => &Permission::ALL,
            Self::Auditor => &[
                OrganizationRead,
                AuditRead,
                WorkspaceRead,
                TemplateRead,
                CredentialRead,
                WebhookRead,
            ],
            Self::WorkspaceAdmin => &[
                ApiKeysManage,
                UsersManage,
                WorkspaceRead,
                WorkspaceManage,
                TemplateRead,
                TemplateWrite,
                CredentialRead,
                CredentialIssue,
                CredentialDraft,
                CredentialApprove,
                CredentialRevoke,
                WebhookRead,
                WebhookManage,
            ],
            Self::Designer => &[WorkspaceRead, TemplateRead, TemplateWrite],
            Self::Issuer => &[
                WorkspaceRead,
                TemplateRead,
                CredentialRead,
                CredentialIssue,
                CredentialDraft,
                CredentialRevoke,
            ],
            Self::DraftManager => &[WorkspaceRead, TemplateRead, CredentialRead, CredentialDraft],
            Self::Approver => &[WorkspaceRead, TemplateRead, CredentialRead, CredentialApprove],
            Self::Viewer => &[WorkspaceRead, TemplateRead, CredentialRead, WebhookRead],
        }
    }

    /// Whether the role has `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The name used in the API and the docs (`draft_manager`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrganizationOwner => "organization_owner",
            Self::OrganizationAdmin => "organization_admin",
            Self::Auditor => "auditor",
            Self::WorkspaceAdmin => "workspace_admin",
            Self::Designer => "designer",
            Self::Issuer => "issuer",
            Self::DraftManager => "draft_manager",
            Self::Approver => "approver",
            Self::Viewer => "viewer",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

/// What a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "workspace_id", rename_all = "snake_case")]
pub enum Scope {
    /// Every workspace of the organization, and the organization itself.
    Organization,
    /// One workspace.
    Workspace(WorkspaceId),
}

/// A role over a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub scope: Scope,
    pub role: Role,
}

impl Grant {
    /// Whether the grant gives `permission` on `target` (`None`: the organization itself).
    pub fn allows(&self, permission: Permission, target: Option<WorkspaceId>) -> bool {
        if !self.role.allows(permission) {
            return false;
        }
        match (self.scope, target) {
            (Scope::Organization, _) => true,
            // A workspace grant never reaches the organization's own resources.
            (Scope::Workspace(_), None) => false,
            (Scope::Workspace(own), Some(target)) => {
                own == target && !permission.is_organization_wide()
            }
        }
    }

    /// Whether a holder of `self` may hand out `other`: never a grant with more power.
    pub fn covers(&self, other: &Grant) -> bool {
        let scope_ok = match (self.scope, other.scope) {
            (Scope::Organization, _) => true,
            (Scope::Workspace(a), Scope::Workspace(b)) => a == b,
            (Scope::Workspace(_), Scope::Organization) => false,
        };
        let owner_ok =
            other.role != Role::OrganizationOwner || self.role == Role::OrganizationOwner;
        scope_ok && owner_ok && other.role.permissions().iter().all(|p| self.role.allows(*p))
    }
}

/// Who is acting, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// An API key, by id.
    ApiKey(crate::ids::ApiKeyId),
    /// The platform itself on behalf of an integration (`inbound-events`).
    System(String),
    /// A local user, signed in with a session.
    User(crate::ids::UserId),
    /// A user signed in through the organization's OpenID Connect provider: the token's
    /// `iss` and `sub`.
    Oidc { issuer: String, subject: String },
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey(id) => write!(f, "api_key:{id}"),
            Self::System(name) => write!(f, "system:{name}"),
            Self::User(id) => write!(f, "user:{id}"),
            Self::Oidc { subject, .. } => write!(f, "oidc:{subject}"),
        }
    }
}

/// An authenticated caller: its organization, who it is, and its grants there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub organization_id: OrganizationId,
    pub actor: Actor,
    pub grants: Vec<Grant>,
}

impl Principal {
    /// Whether some grant gives `permission` on `target` (`None`: the organization itself).
    pub fn may(&self, permission: Permission, target: Option<WorkspaceId>) -> bool {
        self.grants.iter().any(|grant| grant.allows(permission, target))
    }

    /// Whether some grant reaches `target` (`None`: the organization itself) at all, whatever
    /// its permissions: what the caller is told exists (a refusal there is a 403, not a 404).
    pub fn sees(&self, target: Option<WorkspaceId>) -> bool {
        self.grants.iter().any(|grant| match (grant.scope, target) {
            (Scope::Organization, _) => true,
            (Scope::Workspace(own), Some(target)) => own == target,
            (Scope::Workspace(_), None) => false,
        })
    }

    /// Whether the caller may hand out `grant`.
    pub fn may_grant(&self, grant: &Grant) -> bool {
        self.grants.iter().any(|own| own.covers(grant))
    }
}

/// The permission matrix as a Markdown table (roles as columns), as `docs/ARCHITECTURE.md`
/// shows it; a test keeps the two the same.
pub fn permission_matrix_markdown() -> String {
    let mut table = String::from("| permission |");
    for role in Role::ALL {
        table.push_str(&format!(" `{}` |", role.as_str()));
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(Role::ALL.len()));
    table.push('\n');
    for permission in Permission::ALL {
        table.push_str(&format!("| `{}` |", permission.as_str()));
        for role in Role::ALL {
            table.push_str(if role.allows(permission) { " ✓ |" } else { " |" });
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scope: Scope, role: Role) -> Grant {
        Grant { scope, role }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_matrix_says_what_the_issue_asks() {
        assert!(!Role::Designer.allows(Permission::CredentialIssue));
        assert!(Role::Designer.allows(Permission::TemplateWrite));
        assert!(!Role::DraftManager.allows(Permission::CredentialIssue));
        assert!(Role::DraftManager.allows(Permission::CredentialDraft));
        assert!(Role::Approver.allows(Permission::CredentialApprove));
        // The auditor changes nothing.
        for permission in Role::Auditor.permissions() {
            assert!(
                matches!(
                    permission,
                    Permission::OrganizationRead
                        | Permission::AuditRead
                        | Permission::WorkspaceRead
                        | Permission::TemplateRead
                        | Permission::CredentialRead
                        | Permission::WebhookRead
                ),
                "{permission:?}"
            );
        }
    }

    #[test]
    fn a_workspace_grant_stays_in_its_workspace() {
        let (a, b) = (WorkspaceId::generate(), WorkspaceId::generate());
        let issuer = grant(Scope::Workspace(a), Role::Issuer);
        assert!(issuer.allows(Permission::CredentialIssue, Some(a)));
        assert!(!issuer.allows(Permission::CredentialIssue, Some(b)));
        assert!(!issuer.allows(Permission::CredentialIssue, None));
        let admin = grant(Scope::Workspace(a), Role::WorkspaceAdmin);
        assert!(!admin.allows(Permission::WorkspaceCreate, None));
        let org_issuer = grant(Scope::Organization, Role::Issuer);
        assert!(org_issuer.allows(Permission::CredentialIssue, Some(b)));
    }

    #[test]
    fn nobody_hands_out_more_than_they_hold() {
        let ws = WorkspaceId::generate();
        let owner = grant(Scope::Organization, Role::OrganizationOwner);
        let admin = grant(Scope::Organization, Role::OrganizationAdmin);
        let ws_admin = grant(Scope::Workspace(ws), Role::WorkspaceAdmin);
        assert!(owner.covers(&grant(Scope::Organization, Role::OrganizationOwner)));
        assert!(!admin.covers(&grant(Scope::Organization, Role::OrganizationOwner)));
        assert!(admin.covers(&grant(Scope::Organization, Role::OrganizationAdmin)));
        assert!(ws_admin.covers(&grant(Scope::Workspace(ws), Role::Issuer)));
        assert!(!ws_admin.covers(&grant(Scope::Workspace(WorkspaceId::generate()), Role::Issuer)));
        assert!(!ws_admin.covers(&grant(Scope::Organization, Role::Viewer)));
        assert!(!ws_admin.covers(&grant(Scope::Organization, Role::Auditor)));
        let issuer = grant(Scope::Workspace(ws), Role::Issuer);
        assert!(!issuer.covers(&grant(Scope::Workspace(ws), Role::Approver)));
    }
}
