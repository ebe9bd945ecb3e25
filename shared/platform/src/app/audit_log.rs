//! Recording every call in the audit log, and reading, exporting and verifying it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{App, Caller};
use crate::audit::{AuditDraft, AuditEntry, AuditHash, AuditOutcome, ChainVerifier};
use crate::auth::Permission;
use crate::ids::{WorkspaceId, WorkspaceSlug};
use crate::{Error, Result};

/// How many entries a list request reads at most to find its page.
const SCAN_LIMIT: u64 = 10_000;
/// Entries read per store call.
const PAGE: usize = 500;

/// One call to record: what the HTTP layer knows about it.
#[derive(Debug, Clone, Default)]
pub struct AuditCall {
    /// `credential.issue`, `api_key.revoke`, `credential.read`, ...
    pub action: String,
    /// The workspace slug of the route, if any.
    pub workspace: Option<String>,
    /// What was acted on (an id), if known.
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A workspace slug.
    pub workspace: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The verdict on an organization's chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditVerification {
    pub intact: bool,
    /// Entries read.
    pub entries: u64,
    /// The stored head's hash.
    pub head: AuditHash,
    /// Where and why it is not intact.
    pub problem: Option<AuditProblem>,
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditProblem {
    /// 0-based position in the chain; the entry count when the head does not match.
    pub position: u64,
    pub id: Option<uuid::Uuid>,
    pub reason: String,
}

impl App {
    /// Appends one entry for a call of `caller`. The workspace is recorded only if it is one
    /// of the caller's organization.
    pub async fn record_call(&self, caller: &Caller, call: AuditCall) -> Result<AuditEntry> {
        let workspace = match call.workspace.as_deref().map(WorkspaceSlug::parse) {
            Some(Ok(slug)) => self
                .ports()
                .workspaces
                .workspace_by_slug(&slug)
                .await?
                .filter(|w| w.organization_id == caller.organization_id)
                .map(|w| w.id),
            _ => None,
        };
        let now = self.ports().clock.now();
        let outcome = call.outcome.unwrap_or(AuditOutcome::Success);
        let mut draft = AuditDraft::new(
            now,
            caller.organization_id,
            caller.actor.to_string(),
            call.action,
            outcome,
        );
        draft.workspace = workspace;
        draft.target = call.target;
        draft.ip = call.ip;
        draft.user_agent = call.user_agent;
        draft.request_id = call.request_id;
        Ok(self.ports().audit.append_audit(draft).await?)
    }

    /// A page of the organization's audit log matching `filter`, in chain order from the
    /// position `cursor`, and the cursor of the next page.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<String>)> {
        self.authorize_organization(caller, Permission::AuditRead)?;
        let mut position = match cursor {
            Some(text) => {
                text.parse::<u64>().map_err(|_| Error::invalid("cursor", "not a cursor"))?
            }
            None => 0,
        };
        let workspace = self.filter_workspace(caller, filter.workspace.as_deref()).await?;
        let (total, _) = self.ports().audit.audit_head(caller.organization_id).await?;
        let stop = total.min(position.saturating_add(SCAN_LIMIT));
        let mut items = Vec::new();
        while position < stop && items.len() < limit {
            let page =
                self.ports().audit.audit_entries(caller.organization_id, position, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                position += 1;
                if matches(&entry, filter, workspace) {
                    items.push(entry);
                    if items.len() == limit {
                        break;
                    }
                }
            }
        }
        let next = (position < total).then(|| position.to_string());
        Ok((items, next))
    }

    /// The organization's whole audit log, in chain order (JSON Lines export).
    pub async fn audit_export(&self, caller: &Caller) -> Result<Vec<AuditEntry>> {
        self.authorize_organization(caller, Permission::AuditRead)?;
        let mut entries = Vec::new();
        loop {
            let from = u64::try_from(entries.len()).map_err(anyhow::Error::from)?;
            let page = self.ports().audit.audit_entries(caller.organization_id, from, PAGE).await?;
            if page.is_empty() {
                return Ok(entries);
            }
            entries.extend(page);
        }
    }

    /// Verifies the organization's chain from its first entry, and that it ends at the
    /// stored head (which shows entries cut off the end).
    pub async fn audit_verify(&self, caller: &Caller) -> Result<AuditVerification> {
        self.authorize_organization(caller, Permission::AuditRead)?;
        let (stored_entries, head) = self.ports().audit.audit_head(caller.organization_id).await?;
        let mut verifier = ChainVerifier::new();
        let mut read = 0u64;
        loop {
            let page = self.ports().audit.audit_entries(caller.organization_id, read, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for entry in &page {
                if let Err(broken) = verifier.push(entry) {
                    let problem = AuditProblem {
                        position: read,
                        id: Some(broken.id),
                        reason: broken.to_string(),
                    };
                    return Ok(AuditVerification {
                        intact: false,
                        entries: read,
                        head,
                        problem: Some(problem),
                    });
                }
                read += 1;
            }
        }
        let last = verifier.finish().heads.get(&caller.organization_id).copied();
        let ends_at_head = read == stored_entries && last.unwrap_or(crate::audit::GENESIS) == head;
        let problem = (!ends_at_head).then(|| AuditProblem {
            position: read,
            id: None,
            reason: format!(
                "the chain has {read} entries ending at {}, but the stored head says {stored_entries} ending at {head}: entries were removed from the end or the head was changed",
                last.unwrap_or(crate::audit::GENESIS)
            ),
        });
        Ok(AuditVerification { intact: ends_at_head, entries: read, head, problem })
    }

    async fn filter_workspace(
        &self,
        caller: &Caller,
        slug: Option<&str>,
    ) -> Result<Option<WorkspaceId>> {
        let Some(slug) = slug else { return Ok(None) };
        Ok(Some(self.workspace(caller, slug, Permission::AuditRead).await?.id))
    }
}

fn matches(entry: &AuditEntry, filter: &AuditFilter, workspace: Option<WorkspaceId>) -> bool {
    workspace.is_none_or(|w| entry.workspace == Some(w))
        && filter.actor.as_deref().is_none_or(|a| entry.actor == a)
        && filter.action.as_deref().is_none_or(|a| entry.action == a)
        && filter.outcome.is_none_or(|o| entry.outcome == o)
        && filter.from.is_none_or(|from| entry.time >= from)
        && filter.to.is_none_or(|to| entry.time < to)
}
