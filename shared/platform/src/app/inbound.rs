//! Inbound integration events: messages on the ingest queue that ask for a credential, sent
//! by an LMS, a CRM, an HR system or a form tool.
//!
//! A message is JSON:
//!
//! ```json
//! {"type": "credential.issue.requested", "workspace": "acme", "idempotency_key": "lms-42",
//!  "request": {"template_id": "…", "recipient": {"email": "…", "name": "…"}}}
//! ```
//!
//! where `request` is what `POST /v1/workspaces/{ws}/credentials` takes. There is no API key:
//! the queue is the trust boundary (only principals allowed `sqs:SendMessage` by its policy
//! can write), and a message acts for the organization that owns the named workspace.
//!
//! The idempotency key is required, so a redelivered message replays the first credential
//! instead of issuing a second. Inbound keys live in their own namespace (`inbound:KEY`), apart
//! from the HTTP API's `Idempotency-Key`s. A message that can never succeed (malformed, an
//! unknown type or workspace, an invalid request, a key reused with another request) is
//! dropped with a warning that names no recipient data; a store failure is an error, and the
//! message is retried.

use serde::Deserialize;
use serde_json::Value;

use super::{App, Caller, HandleOutcome, Issuance, IssueRequest, request_hash};
use crate::auth::{Actor, Grant, Role, Scope};
use crate::ids::{IdempotencyKey, WorkspaceSlug};
use crate::ports::QueueName;
use crate::{Error, Result};

/// The one inbound event type so far.
pub const ISSUE_REQUESTED: &str = "credential.issue.requested";

/// An inbound message as it arrives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundMessage {
    #[serde(rename = "type")]
    kind: String,
    workspace: String,
    idempotency_key: String,
    request: Value,
}

/// Why a message was dropped: words for the log, never the message's content.
fn drop_message(reason: &str) -> Result<HandleOutcome> {
    tracing::warn!(reason, "dropping an inbound event");
    Ok(HandleOutcome::Done)
}

impl App {
    /// Handles one inbound integration event: issues the requested credential once (a
    /// redelivery replays it), drops what can never succeed, and fails on store errors.
    pub async fn handle_inbound_message(&self, body: &str) -> Result<HandleOutcome> {
        let message = match serde_json::from_str::<InboundMessage>(body) {
            Ok(message) => message,
            Err(error) => {
                // Only where and what kind: serde's message may quote the content.
                tracing::warn!(
                    line = error.line(),
                    column = error.column(),
                    category = ?error.classify(),
                    "dropping a malformed inbound event"
                );
                return Ok(HandleOutcome::Done);
            }
        };
        if message.kind != ISSUE_REQUESTED {
            return drop_message("unknown event type");
        }
        let Ok(slug) = WorkspaceSlug::parse(&message.workspace) else {
            return drop_message("invalid workspace slug");
        };
        let Ok(client_key) = IdempotencyKey::parse(&message.idempotency_key) else {
            return drop_message("invalid idempotency_key (1 to 255 visible ASCII characters)");
        };
        let Ok(key) = IdempotencyKey::internal(&format!("inbound:{}", client_key.as_str())) else {
            return drop_message("idempotency_key too long (at most 247 characters)");
        };
        let Some(workspace) = self.ports().workspaces.workspace_by_slug(&slug).await? else {
            tracing::warn!(
                workspace = slug.as_str(),
                "dropping an inbound event: no such workspace"
            );
            return Ok(HandleOutcome::Done);
        };
        // The hash of the request as received (key order kept), to tell a replay from a key
        // reused with another request.
        let hash =
            request_hash(&serde_json::to_vec(&message.request).map_err(anyhow::Error::from)?);
        let Ok(request) = serde_json::from_value::<IssueRequest>(message.request) else {
            return drop_message("`request` is not an issuance request");
        };
        // The integration acts as an issuer of this one workspace.
        let caller = Caller {
            organization_id: workspace.organization_id,
            actor: Actor::System("inbound-events".into()),
            grants: vec![Grant { scope: Scope::Workspace(workspace.id), role: Role::Issuer }],
        };
        match self.issue(&caller, slug.as_str(), request, Some((key, hash))).await {
            Ok(Issuance::Drafted(draft)) => {
                tracing::info!(
                    workspace = slug.as_str(),
                    draft = %draft.id,
                    "inbound event awaits approval as a draft"
                );
                Ok(HandleOutcome::Done)
            }
            Ok(Issuance::Issued(issued)) => {
                tracing::info!(
                    workspace = slug.as_str(),
                    credential = %issued.record.id,
                    replayed = !issued.created,
                    "inbound event issued a credential"
                );
                Ok(HandleOutcome::Done)
            }
            Err(error @ Error::Unexpected(_)) => Err(error),
            Err(Error::Validation { field, .. }) => {
                // The reason stays out of the log: it may describe the recipient's data.
                tracing::warn!(
                    workspace = slug.as_str(),
                    field,
                    "dropping an invalid inbound event"
                );
                Ok(HandleOutcome::Done)
            }
            Err(Error::Conflict(_)) => {
                drop_message("idempotency_key reused with a different request")
            }
            Err(Error::NotFound(what)) => {
                tracing::warn!(workspace = slug.as_str(), what, "dropping an inbound event");
                Ok(HandleOutcome::Done)
            }
            Err(
                Error::Unauthorized(_)
                | Error::Forbidden(_)
                | Error::TooLarge(_)
                | Error::SecondFactorRequired(_)
                | Error::TooManyAttempts(_),
            ) => drop_message("refused"),
        }
    }

    /// Makes a received queue message visible again after `delay` (SQS
    /// `ChangeMessageVisibility`): how a Lambda consumer retries a message with backoff, since
    /// Lambda, not the platform, received it.
    pub async fn release_message(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: std::time::Duration,
    ) -> Result<()> {
        Ok(self.ports().queue.release(queue, receipt, delay).await?)
    }
}
