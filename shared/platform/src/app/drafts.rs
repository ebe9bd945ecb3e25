//! Four-eyes approval of issuance: the approval policy of workspaces (templates carry their
//! own), drafts of issuance, and their approval or rejection.
//!
//! A draft is a request to issue (one credential, or the rows of a bulk job) that an approver
//! other than its author sends. Its request holds the recipients' personal data, so it is
//! sealed by the [`Vault`](crate::ports::Vault) under `draft:<id>` and erased once the draft
//! is decided.
//!
//! Approval is crash-safe and issues exactly once: the draft is first claimed
//! (`pending → approving`, which also shuts out a concurrent rejection), then the issuance
//! runs with an identity derived from the draft (the idempotency key `draft:<id>` for one
//! credential, the job id = the draft id for a bulk job), then the draft is marked approved
//! with what it produced. Approving an `approving` draft again repeats the last two steps,
//! which finds what the first attempt issued instead of issuing again.

use serde::{Deserialize, Serialize};

use super::credentials_api::IssueRequest;
use super::{App, Caller, Issued, request_hash};
use crate::auth::Permission;
use crate::ids::{BulkJobId, DraftId, IdempotencyKey, TemplateId, text};
use crate::model::{BulkJob, BulkRow, Draft, DraftKind, DraftStatus, Workspace};
use crate::ports::InsertDraft;
use crate::{Error, Result};

/// What `POST …/credentials` did: issued, or (approval required) drafted.
#[derive(Debug, Clone)]
pub enum Issuance {
    Issued(Box<Issued>),
    Drafted(Box<Draft>),
}

/// What `POST …/bulk-issuances` did: started a job, or (approval required) drafted it.
#[derive(Debug, Clone)]
pub enum BulkSubmission {
    Started(BulkJob),
    Drafted(Box<Draft>),
}

/// `POST …/drafts`: what the draft would issue.
#[derive(Debug, Clone)]
pub enum DraftInput {
    /// One credential: the body of `POST …/credentials`.
    Single(IssueRequest),
    /// A bulk job: a template and the parsed rows of `POST …/bulk-issuances`.
    Bulk { template_id: String, rows: Vec<BulkRow> },
}

/// A draft's request, as opened for reading while it is undecided.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DraftPayload {
    Single { request: IssueRequest },
    Bulk { rows: Vec<BulkRow> },
}

/// `PATCH /v1/workspaces/{ws}`: the settings to change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    /// Whether every issuance in the workspace needs approval.
    pub requires_approval: Option<bool>,
}

/// The vault context of a draft's payload.
fn vault_context(id: DraftId) -> String {
    format!("draft:{id}")
}

impl App {
    /// Changes the settings of the caller's workspace `slug` (its approval policy).
    pub async fn update_workspace(
        &self,
        caller: &Caller,
        slug: &str,
        patch: WorkspacePatch,
    ) -> Result<Workspace> {
        let mut workspace = self.workspace(caller, slug, Permission::WorkspaceManage).await?;
        if let Some(value) = patch.requires_approval {
            if !self.ports().workspaces.set_requires_approval(workspace.id, value).await? {
                return Err(Error::NotFound("workspace"));
            }
            workspace.requires_approval = value;
        }
        Ok(workspace)
    }

    /// Prepares a draft in the caller's workspace `slug`, whatever the approval policy. With
    /// an idempotency key, the same key and body give the first draft (`false`: not created
    /// now), and the same key with another body is a conflict.
    pub async fn create_draft(
        &self,
        caller: &Caller,
        slug: &str,
        input: DraftInput,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<(Draft, bool)> {
        let workspace = self.workspace(caller, slug, Permission::CredentialDraft).await?;
        let (template_id, payload) = match input {
            DraftInput::Single(request) => {
                let (template_id, _) = request.clone().parse()?;
                (template_id, DraftPayload::Single { request })
            }
            DraftInput::Bulk { template_id, rows } => {
                (TemplateId::parse(&template_id)?, DraftPayload::Bulk { rows })
            }
        };
        self.ports()
            .templates
            .template(workspace.id, template_id)
            .await?
            .ok_or_else(|| Error::invalid("template_id", "no such template in this workspace"))?;
        self.put_draft(caller, &workspace, template_id, payload, idempotency).await
    }

    /// `POST …/credentials` where approval is required: the first credential of a known
    /// idempotency key as before, a draft otherwise.
    pub(crate) async fn draft_instead(
        &self,
        caller: &Caller,
        workspace: &Workspace,
        request: IssueRequest,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Issuance> {
        if let Some(replayed) = self.replay_if_known(workspace, idempotency.as_ref()).await? {
            return Ok(Issuance::Issued(Box::new(replayed)));
        }
        let (template_id, _) = request.clone().parse()?;
        let payload = DraftPayload::Single { request };
        let (draft, _) =
            self.put_draft(caller, workspace, template_id, payload, idempotency).await?;
        Ok(Issuance::Drafted(Box::new(draft)))
    }

    /// `POST …/bulk-issuances` where approval is required: a draft of the job.
    pub(crate) async fn draft_bulk_instead(
        &self,
        caller: &Caller,
        workspace: &Workspace,
        template_id: TemplateId,
        rows: Vec<BulkRow>,
    ) -> Result<BulkSubmission> {
        let payload = DraftPayload::Bulk { rows };
        let (draft, _) = self.put_draft(caller, workspace, template_id, payload, None).await?;
        Ok(BulkSubmission::Drafted(Box::new(draft)))
    }

    async fn put_draft(
        &self,
        caller: &Caller,
        workspace: &Workspace,
        template_id: TemplateId,
        payload: DraftPayload,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<(Draft, bool)> {
        let bytes = serde_json::to_vec(&payload).map_err(anyhow::Error::from)?;
        let (key, hash) = match idempotency {
            Some((key, hash)) => (Some(key.as_str().to_owned()), hash),
            None => (None, request_hash(&bytes)),
        };
        let (kind, rows, row_errors) = match &payload {
            DraftPayload::Single { .. } => (DraftKind::Single, 0, Vec::new()),
            DraftPayload::Bulk { rows } => (
                DraftKind::Bulk,
                u32::try_from(rows.len()).map_err(|_| Error::invalid("rows", "too many"))?,
                rows.iter()
                    .filter_map(|r| r.input.as_ref().err().map(|e| (r.row, e.clone())))
                    .collect(),
            ),
        };
        let id = DraftId::generate();
        let sealed = self.ports().vault.seal(&bytes, &vault_context(id)).await?;
        let draft = Draft {
            id,
            workspace_id: workspace.id,
            kind,
            template_id,
            author: caller.actor.to_string(),
            created_at: self.ports().clock.now(),
            status: DraftStatus::Pending,
            decided_by: None,
            decided_at: None,
            reason: None,
            credential_id: None,
            bulk_job_id: None,
            rows,
            row_errors,
            idempotency_key: key,
            request_hash: hash,
            sealed_payload: Some(sealed),
        };
        match self.ports().drafts.insert_draft(&draft).await? {
            InsertDraft::Inserted => Ok((draft, true)),
            InsertDraft::KeyExists(existing)
                if existing.request_hash == draft.request_hash && existing.kind == draft.kind =>
            {
                Ok((*existing, false))
            }
            InsertDraft::KeyExists(_) => Err(Error::Conflict(
                "this Idempotency-Key was used with a different request body".into(),
            )),
        }
    }

    /// A page of the drafts of the caller's workspace `slug` (in `status` if given), oldest
    /// first, after the cursor, and the next cursor. Without their requests.
    pub async fn drafts(
        &self,
        caller: &Caller,
        slug: &str,
        status: Option<DraftStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Draft>, Option<String>)> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRead).await?;
        let after = cursor
            .map(|c| {
                DraftId::parse(c)
                    .map_err(|_| Error::invalid("cursor", "is not a cursor from this API"))
            })
            .transpose()?;
        let limit = limit.clamp(1, 200);
        let mut page = self.ports().drafts.drafts(workspace.id, status, after, limit + 1).await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|d| d.id.to_string())
        } else {
            None
        };
        Ok((page, next))
    }

    /// The draft `id` of the caller's workspace `slug`, with its request while undecided.
    pub async fn draft(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
    ) -> Result<(Draft, Option<DraftPayload>)> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRead).await?;
        let draft = self.draft_in(&workspace, id).await?;
        let payload = match draft.sealed_payload {
            Some(_) => Some(self.open_payload(&draft).await?),
            None => None,
        };
        Ok((draft, payload))
    }

    /// Approves someone else's draft: issues what it asks for, exactly once, and records
    /// what that produced. See the module docs for the order of the writes.
    pub async fn approve_draft(&self, caller: &Caller, slug: &str, id: &str) -> Result<Draft> {
        let workspace = self.workspace(caller, slug, Permission::CredentialApprove).await?;
        let draft = self.draft_in(&workspace, id).await?;
        four_eyes(caller, &draft)?;
        refuse_decided(&draft)?;
        let payload = self.open_payload(&draft).await?;
        // Checked before the claim, so a draft that cannot be issued stays pending.
        self.ports()
            .templates
            .template(workspace.id, draft.template_id)
            .await?
            .ok_or_else(|| Error::invalid("template_id", "the template was deleted"))?;
        let claimed = self.claim(caller, &workspace, draft).await?;
        let mut approved = match payload {
            DraftPayload::Single { request } => {
                match self.issue_approved(&workspace, &claimed, request).await {
                    Ok(issued) => {
                        Draft { credential_id: Some(issued.record.id), ..claimed.clone() }
                    }
                    Err(error @ Error::Validation { .. }) => {
                        // Nothing was issued: the draft goes back to pending, for a fix by
                        // rejection or a later approval.
                        let released = Draft {
                            status: DraftStatus::Pending,
                            decided_by: None,
                            decided_at: None,
                            ..claimed.clone()
                        };
                        self.ports()
                            .drafts
                            .transition_draft(&released, DraftStatus::Approving)
                            .await?;
                        return Err(error);
                    }
                    Err(other) => return Err(other),
                }
            }
            DraftPayload::Bulk { rows } => {
                let job = self
                    .start_bulk(&workspace, claimed.template_id, rows, BulkJobId(claimed.id.0))
                    .await?;
                Draft { bulk_job_id: Some(job.id), ..claimed.clone() }
            }
        };
        approved.status = DraftStatus::Approved;
        approved.decided_at = Some(self.ports().clock.now());
        approved.sealed_payload = None;
        if self.ports().drafts.transition_draft(&approved, DraftStatus::Approving).await? {
            return Ok(approved);
        }
        // A concurrent approval finished first, with the same credential or job.
        let current = self.draft_in(&workspace, id).await?;
        refuse_decided(&current)?;
        Err(Error::Conflict("the draft changed concurrently; retry".into()))
    }

    /// Rejects someone else's pending draft, with a reason; its request is erased.
    pub async fn reject_draft(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        reason: &str,
    ) -> Result<Draft> {
        let reason = text("reason", reason, 1000)?;
        let workspace = self.workspace(caller, slug, Permission::CredentialApprove).await?;
        let draft = self.draft_in(&workspace, id).await?;
        four_eyes(caller, &draft)?;
        if draft.status != DraftStatus::Pending {
            return Err(Error::Conflict(format!(
                "only a pending draft can be rejected; this one is {}",
                draft.status.as_str()
            )));
        }
        let rejected = Draft {
            status: DraftStatus::Rejected,
            decided_by: Some(caller.actor.to_string()),
            decided_at: Some(self.ports().clock.now()),
            reason: Some(reason),
            sealed_payload: None,
            ..draft
        };
        if self.ports().drafts.transition_draft(&rejected, DraftStatus::Pending).await? {
            Ok(rejected)
        } else {
            Err(Error::Conflict("the draft changed concurrently; retry".into()))
        }
    }

    async fn draft_in(&self, workspace: &Workspace, id: &str) -> Result<Draft> {
        let id = DraftId::parse(id).map_err(|_| Error::NotFound("draft"))?;
        self.ports().drafts.draft(workspace.id, id).await?.ok_or(Error::NotFound("draft"))
    }

    async fn open_payload(&self, draft: &Draft) -> Result<DraftPayload> {
        let sealed = draft
            .sealed_payload
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("undecided draft {} without its payload", draft.id))?;
        let bytes = self.ports().vault.open(sealed, &vault_context(draft.id)).await?;
        Ok(serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?)
    }

    /// Moves a pending draft to `approving` (an `approving` one stays: its approval is
    /// finished by this one).
    async fn claim(&self, caller: &Caller, workspace: &Workspace, draft: Draft) -> Result<Draft> {
        if draft.status == DraftStatus::Approving {
            return Ok(draft);
        }
        let claimed = Draft {
            status: DraftStatus::Approving,
            decided_by: Some(caller.actor.to_string()),
            decided_at: Some(self.ports().clock.now()),
            ..draft
        };
        if self.ports().drafts.transition_draft(&claimed, DraftStatus::Pending).await? {
            return Ok(claimed);
        }
        let current = self.draft_in(workspace, &claimed.id.to_string()).await?;
        refuse_decided(&current)?;
        if current.status == DraftStatus::Approving {
            Ok(current)
        } else {
            Err(Error::Conflict("the draft changed concurrently; retry".into()))
        }
    }

    /// Issues a single draft's credential under the idempotency key `draft:<id>`: a retried
    /// or concurrent approval finds the first credential.
    async fn issue_approved(
        &self,
        workspace: &Workspace,
        draft: &Draft,
        request: IssueRequest,
    ) -> Result<Issued> {
        let (template_id, issue) = request.parse()?;
        let template =
            self.ports().templates.template(workspace.id, template_id).await?.ok_or_else(|| {
                Error::invalid("template_id", "no such template in this workspace")
            })?;
        let key = IdempotencyKey::internal(&vault_context(draft.id))?;
        self.issue_from(workspace, &template, issue, Some((key, draft.request_hash.clone()))).await
    }
}

/// Nobody approves or rejects their own draft.
fn four_eyes(caller: &Caller, draft: &Draft) -> Result<()> {
    if caller.actor.to_string() == draft.author {
        Err(Error::Forbidden(
            "four-eyes approval: the author of a draft cannot approve or reject it; another \
             approver must"
                .into(),
        ))
    } else {
        Ok(())
    }
}

/// A decided draft cannot be approved.
fn refuse_decided(draft: &Draft) -> Result<()> {
    match draft.status {
        DraftStatus::Approved => Err(Error::Conflict("the draft is already approved".into())),
        DraftStatus::Rejected => {
            Err(Error::Conflict("the draft was rejected; it cannot be approved".into()))
        }
        DraftStatus::Pending | DraftStatus::Approving => Ok(()),
    }
}
