//! Issuing credentials, reading them, and changing their status.

use chrono::{DateTime, Duration, Utc};
use credentials::model::{
    Achievement, AchievementSubject, Alignment, BitstringStatusListEntry, Evidence, IdentityObject,
    Image, OpenBadgeCredential, Profile,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{App, Caller, HeldCredential, Issuance};
use crate::auth::Permission;
use crate::ids::{
    CredentialId, Email, EventId, HttpUrl, IdempotencyKey, TemplateId, random_token, text,
};
use crate::model::{
    CredentialFilter, CredentialRecord, CredentialStatus, Event, EventKind, IdempotencyRecord,
    STATUS_PURPOSE, StatusKind, StatusListId, Template, Workspace,
};
use crate::personal::{Recipient, RecipientData, SealedRecipient};
use crate::ports::InsertCredential;
use crate::{Error, Result};

/// `POST …/credentials`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub template_id: String,
    pub recipient: RecipientInput,
    pub valid_until: Option<String>,
    pub evidence: Option<Vec<EvidenceInput>>,
}

/// The recipient as submitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    pub email: String,
    pub name: String,
}

/// One piece of evidence as submitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    pub url: String,
    pub name: Option<String>,
    pub narrative: Option<String>,
}

/// What issuing produced.
#[derive(Debug, Clone)]
pub struct Issued {
    pub record: CredentialRecord,
    pub recipient: Recipient,
    /// `false` when an idempotency key returned an earlier credential.
    pub created: bool,
}

/// A parsed, validated request to issue one credential.
#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub email: Email,
    pub name: String,
    pub valid_until: Option<DateTime<Utc>>,
    pub evidence: Vec<(HttpUrl, Option<String>, Option<String>)>,
}

pub(crate) fn parse_date(field: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).map(|d| d.to_utc()).map_err(|_| {
        Error::invalid(field, "must be an RFC 3339 date-time, like 2030-01-31T00:00:00Z")
    })
}

impl Issue {
    /// The recipient's email and name.
    pub(crate) fn recipient(&self) -> RecipientData {
        RecipientData { email: self.email.clone(), name: self.name.clone() }
    }
}

impl IssueRequest {
    pub(crate) fn parse(self) -> Result<(TemplateId, Issue)> {
        let template_id = TemplateId::parse(&self.template_id)?;
        let email = Email::parse("recipient.email", &self.recipient.email)?;
        let name = text("recipient.name", &self.recipient.name, 200)?;
        let valid_until =
            self.valid_until.as_deref().map(|t| parse_date("valid_until", t)).transpose()?;
        let evidence = self
            .evidence
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                Ok((
                    HttpUrl::parse(&format!("evidence[{i}].url"), &e.url)?,
                    e.name.map(|n| text(&format!("evidence[{i}].name"), &n, 500)).transpose()?,
                    e.narrative
                        .map(|n| text(&format!("evidence[{i}].narrative"), &n, 5000))
                        .transpose()?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        if evidence.len() > 20 {
            return Err(Error::invalid("evidence", "at most 20 items"));
        }
        Ok((template_id, Issue { email, name, valid_until, evidence }))
    }
}

impl App {
    /// Issues a credential from a template of the caller's workspace `slug`. With an
    /// idempotency key, the same key and body return the first credential (`created: false`),
    /// and the same key with another body is a conflict. Where the workspace or the template
    /// requires approval, nothing is issued: the request becomes a draft for an approver.
    pub async fn issue(
        &self,
        caller: &Caller,
        slug: &str,
        request: IssueRequest,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Issuance> {
        let workspace = self.workspace(caller, slug, Permission::CredentialIssue).await?;
        let (template_id, issue) = request.clone().parse()?;
        let template =
            self.ports().templates.template(workspace.id, template_id).await?.ok_or_else(|| {
                Error::invalid("template_id", "no such template in this workspace")
            })?;
        if workspace.requires_approval || template.requires_approval {
            return self.draft_instead(caller, &workspace, request, idempotency).await;
        }
        let issued = self.issue_from(&workspace, &template, issue, idempotency).await?;
        Ok(Issuance::Issued(Box::new(issued)))
    }

    /// The credential an idempotency key already produced, if it did (a conflict if the body
    /// differs). Checked before any work, so a replay or a redelivered bulk row signs nothing.
    pub(crate) async fn replay_if_known(
        &self,
        workspace: &Workspace,
        idempotency: Option<&(IdempotencyKey, String)>,
    ) -> Result<Option<Issued>> {
        let Some((key, hash)) = idempotency else { return Ok(None) };
        match self.ports().credentials.idempotency_record(workspace.id, key.as_str()).await? {
            Some(existing) => self.replay(workspace, existing, hash).await.map(Some),
            None => Ok(None),
        }
    }

    async fn replay(
        &self,
        workspace: &Workspace,
        existing: IdempotencyRecord,
        hash: &str,
    ) -> Result<Issued> {
        if existing.request_hash != hash {
            return Err(Error::Conflict(
                "this Idempotency-Key was used with a different request body".into(),
            ));
        }
        let record =
            self.ports().credentials.credential(existing.credential_id).await?.ok_or_else(
                || anyhow::anyhow!("idempotency record points at a missing credential"),
            )?;
        let held = self.held_one(workspace.organization_id, record).await?;
        Ok(Issued { record: held.record, recipient: held.recipient, created: false })
    }

    /// Builds, signs and stores one credential; shared by single and bulk issuance.
    pub(crate) async fn issue_from(
        &self,
        workspace: &Workspace,
        template: &Template,
        issue: Issue,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Issued> {
        if let Some(replayed) = self.replay_if_known(workspace, idempotency.as_ref()).await? {
            return Ok(replayed);
        }
        let now = self.ports().clock.now();
        let valid_until = issue
            .valid_until
            .or_else(|| template.valid_for_days.map(|days| now + Duration::days(days.into())));
        if valid_until.is_some_and(|until| until <= now) {
            return Err(Error::invalid("valid_until", "must be in the future"));
        }
        let id = CredentialId::generate();
        let index = self.ports().workspaces.allocate_status_indexes(workspace.id, 1).await?;
        let (list, _) = StatusListId::for_index(workspace.id, STATUS_PURPOSE, index);
        self.publish_status_lists(workspace, list.page).await?;

        let unsigned =
            self.build_credential(workspace, template, &issue, id, index, now, valid_until)?;
        let signed = self.sign_document(workspace, &unsigned, now).await?;
        let data = issue.recipient();
        let sealed = self
            .seal_recipients(workspace.organization_id, &[(id, &data)])
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no sealed recipient"))?;
        let record = new_record(workspace, template, sealed, id, index, now, valid_until, &signed);
        let event = self.credential_event(EventKind::CredentialIssued, &record, workspace, None);
        let idempotency_record = idempotency.map(|(key, hash)| IdempotencyRecord {
            workspace_id: workspace.id,
            key: key.as_str().to_owned(),
            request_hash: hash,
            credential_id: id,
            created_at: now,
        });
        match self
            .ports()
            .credentials
            .insert_credential(&record, idempotency_record.as_ref(), &[event])
            .await?
        {
            InsertCredential::Inserted => {
                Ok(Issued { record, recipient: Recipient::Known(data), created: true })
            }
            InsertCredential::KeyExists(existing) => {
                let hash = idempotency_record.map(|r| r.request_hash).unwrap_or_default();
                self.replay(workspace, existing, &hash).await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build_credential(
        &self,
        workspace: &Workspace,
        template: &Template,
        issue: &Issue,
        id: CredentialId,
        index: u64,
        now: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<serde_json::Value> {
        let base = self.settings().base();
        let mut achievement = Achievement::new(
            format!("{base}/ws/{}/achievements/{}", workspace.slug, template.id),
            &template.name,
            &template.description,
            &template.criteria_narrative,
        );
        achievement.achievement_type = template.achievement_type.clone();
        achievement.image = template
            .image
            .as_ref()
            .map(|url| Image::new(url.as_str(), Some(template.name.clone())));
        achievement.tag = template.tags.clone();
        achievement.alignment = template
            .alignments
            .iter()
            .map(|a| {
                let mut alignment = Alignment::new(&a.target_name, a.target_url.as_str());
                alignment.target_description = a.target_description.clone();
                alignment.target_framework = a.target_framework.clone();
                alignment.target_code = a.target_code.clone();
                alignment
            })
            .collect();
        let mut issuer = Profile::new(&workspace.did, &workspace.issuer.name);
        issuer.url = workspace.issuer.url.as_ref().map(|u| u.as_str().to_owned());
        issuer.email = workspace.issuer.email.as_ref().map(|e| e.as_str().to_owned());
        issuer.image = workspace.issuer.image.as_ref().map(|u| Image::new(u.as_str(), None));
        achievement.creator = Some(Profile::new(&workspace.did, &workspace.issuer.name));

        let salt = random_token(12)?;
        // The recipient is named by a salted hash of their email only: the signed credential
        // holds no personal data in clear, so erasing the recipient's data leaves it valid.
        let subject = AchievementSubject::with_identity(
            IdentityObject::hashed_email(issue.email.as_str(), &salt),
            achievement,
        );

        let (list, offset) = StatusListId::for_index(workspace.id, STATUS_PURPOSE, index);
        let offset =
            usize::try_from(offset).map_err(|_| anyhow::anyhow!("status index overflow"))?;
        let mut builder = OpenBadgeCredential::builder(format!("urn:uuid:{id}"), issuer, subject)
            .valid_from(now)
            .valid_until(valid_until)
            .description(template.description.clone())
            .status(vec![BitstringStatusListEntry::new(
                &self.status_list_url(&list),
                offset,
                STATUS_PURPOSE,
            )]);
        for (url, name, narrative) in &issue.evidence {
            let mut evidence = Evidence::at(url.as_str());
            evidence.name = name.clone();
            evidence.narrative = narrative.clone();
            builder = builder.evidence(evidence);
        }
        Ok(builder.build()?.to_json()?)
    }

    /// Signs a document with the workspace's current key (`eddsa-rdfc-2022`).
    pub(crate) async fn sign_document(
        &self,
        workspace: &Workspace,
        unsigned: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value> {
        let options = credentials::di::ProofOptions {
            verification_method: workspace.verification_method(),
            created: now,
        };
        let prepared = credentials::di::prepare(unsigned, &options)?;
        let signature = self
            .ports()
            .keys
            .sign(workspace.id, &workspace.current_key_id, prepared.hash_data())
            .await?;
        Ok(prepared.finish(&signature)?)
    }

    /// Signs many documents with the workspace's current key: canonicalization and hashing
    /// spread over the cores, then one call to the key store for all the signatures. The
    /// result at each position is that document's, signed or refused.
    pub(crate) async fn sign_documents(
        &self,
        workspace: &Workspace,
        unsigned: Vec<serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<serde_json::Value>>> {
        let options = credentials::di::ProofOptions {
            verification_method: workspace.verification_method(),
            created: now,
        };
        let prepared =
            super::on_cpu_pool(move || credentials::di::prepare_batch(&unsigned, &options)).await?;
        let messages: Vec<&[u8]> =
            prepared.iter().filter_map(|p| p.as_ref().ok()).map(|p| &p.hash_data()[..]).collect();
        let signatures =
            self.ports().keys.sign_many(workspace.id, &workspace.current_key_id, &messages).await?;
        if signatures.len() != messages.len() {
            return Err(anyhow::anyhow!("the key store returned too few signatures").into());
        }
        let mut signatures = signatures.into_iter();
        Ok(prepared
            .into_iter()
            .map(|prepared| {
                let prepared = prepared?;
                let signature = signatures.next().ok_or_else(|| anyhow::anyhow!("no signature"))?;
                Ok(prepared.finish(&signature)?)
            })
            .collect())
    }

    pub(crate) fn credential_event(
        &self,
        kind: EventKind,
        record: &CredentialRecord,
        workspace: &Workspace,
        reason: Option<&str>,
    ) -> Event {
        let mut data = json!({
            "credential_id": record.id,
            "workspace": workspace.slug,
            "template_id": record.template_id,
            "verification_url": self.verification_url(record.id),
        });
        if let Some(reason) = reason {
            data["reason"] = reason.into();
        }
        Event {
            id: EventId::generate(),
            workspace_id: workspace.id,
            kind,
            occurred_at: self.ports().clock.now(),
            data,
        }
    }

    /// The public verification page of a credential.
    pub fn verification_url(&self, id: CredentialId) -> String {
        format!("{}/credentials/{id}", self.settings().base())
    }

    /// The credential `id` of the caller's workspace `slug`.
    pub async fn credential(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
    ) -> Result<HeldCredential> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRead).await?;
        let record = self.credential_in(&workspace, id).await?;
        self.held_one(workspace.organization_id, record).await
    }

    async fn credential_in(&self, workspace: &Workspace, id: &str) -> Result<CredentialRecord> {
        let id = CredentialId::parse(id).map_err(|_| Error::NotFound("credential"))?;
        match self.ports().credentials.credential(id).await? {
            Some(record) if record.workspace_id == workspace.id => Ok(record),
            _ => Err(Error::NotFound("credential")),
        }
    }

    /// A page of the workspace's credentials, after the cursor, and the next cursor;
    /// `recipient_email` narrows `filter` to one recipient.
    pub async fn list_credentials(
        &self,
        caller: &Caller,
        slug: &str,
        mut filter: CredentialFilter,
        recipient_email: Option<Email>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<HeldCredential>, Option<String>)> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRead).await?;
        if let Some(email) = recipient_email {
            filter.recipient = Some(self.recipient_id(workspace.organization_id, &email).await?);
        }
        let after = cursor
            .map(|c| {
                CredentialId::parse(c)
                    .map_err(|_| Error::invalid("cursor", "is not a cursor from this API"))
            })
            .transpose()?;
        let limit = limit.clamp(1, 200);
        let mut page = self
            .ports()
            .credentials
            .list_credentials(workspace.id, &filter, after, limit + 1)
            .await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok((self.held(workspace.organization_id, page).await?, next))
    }

    /// Revokes a credential (for good), with a reason.
    pub async fn revoke(
        &self,
        caller: &Caller,
        slug: &str,
        id: &str,
        reason: &str,
    ) -> Result<HeldCredential> {
        let reason = text("reason", reason, 1000)?;
        let workspace = self.workspace(caller, slug, Permission::CredentialRevoke).await?;
        let record = self.credential_in(&workspace, id).await?;
        if record.status.kind() == StatusKind::Revoked {
            // Re-applying the bit repairs a revocation interrupted between its two writes.
            self.set_status(&workspace, &record, true).await?;
            return Err(Error::Conflict("the credential is already revoked".into()));
        }
        // Bit first: if we stop half-way, verifiers already see it revoked.
        self.set_status(&workspace, &record, true).await?;
        let new =
            CredentialStatus::Revoked { at: self.ports().clock.now(), reason: reason.clone() };
        let event =
            self.credential_event(EventKind::CredentialRevoked, &record, &workspace, Some(&reason));
        let record = self.transition(record, new, event).await?;
        self.held_one(workspace.organization_id, record).await
    }

    /// Suspends an active credential.
    pub async fn suspend(&self, caller: &Caller, slug: &str, id: &str) -> Result<HeldCredential> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRevoke).await?;
        let record = self.credential_in(&workspace, id).await?;
        // The effective status: a credential past `validUntil` is expired even before the
        // expiry schedule records it, and cannot be suspended.
        let current = record.effective_status(self.now()).kind();
        if current != StatusKind::Active {
            return Err(Error::Conflict(format!(
                "only an active credential can be suspended; this one is {}",
                current.as_str()
            )));
        }
        self.set_status(&workspace, &record, true).await?;
        let new = CredentialStatus::Suspended { at: self.ports().clock.now() };
        let event =
            self.credential_event(EventKind::CredentialSuspended, &record, &workspace, None);
        let record = self.transition(record, new, event).await?;
        self.held_one(workspace.organization_id, record).await
    }

    /// Lifts a suspension.
    pub async fn unsuspend(&self, caller: &Caller, slug: &str, id: &str) -> Result<HeldCredential> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRevoke).await?;
        let record = self.credential_in(&workspace, id).await?;
        if record.status.kind() != StatusKind::Suspended {
            return Err(Error::Conflict(format!(
                "only a suspended credential can be unsuspended; this one is {}",
                record.status.kind().as_str()
            )));
        }
        let event =
            self.credential_event(EventKind::CredentialUnsuspended, &record, &workspace, None);
        // Record first, bit second: if we stop half-way, verifiers still see it suspended.
        let updated = self.transition(record, CredentialStatus::Active, event).await?;
        self.set_status(&workspace, &updated, false).await?;
        self.held_one(workspace.organization_id, updated).await
    }

    async fn transition(
        &self,
        mut record: CredentialRecord,
        new: CredentialStatus,
        event: Event,
    ) -> Result<CredentialRecord> {
        if self
            .ports()
            .credentials
            .transition(record.id, record.status.kind(), &new, &[event])
            .await?
        {
            record.status = new;
            Ok(record)
        } else {
            Err(Error::Conflict("the credential's status changed concurrently; retry".into()))
        }
    }
}

/// The record of a credential just signed: active, issued now.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_record(
    workspace: &Workspace,
    template: &Template,
    recipient: SealedRecipient,
    id: CredentialId,
    index: u64,
    now: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    signed: &serde_json::Value,
) -> CredentialRecord {
    CredentialRecord {
        id,
        workspace_id: workspace.id,
        template_id: template.id,
        recipient,
        status: CredentialStatus::Active,
        status_index: index,
        issued_at: now,
        valid_from: now,
        valid_until,
        document: signed.to_string(),
    }
}
