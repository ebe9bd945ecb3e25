//! The public side: what anyone may see and check without an API key.
//!
//! Verification runs the credential core's verifier over the stored, signed document, with
//! a resolver that answers from this deployment's own workspaces and status lists (prefetched,
//! since the core is synchronous). DIDs and lists of other issuers are never fetched: a
//! foreign credential with a status list is reported `status-unknown`.

use std::collections::HashMap;

use credentials::verify::{self, Options, Report, Resolver, Verdict};
use serde_json::Value;

use super::App;
use crate::ids::{CredentialId, WorkspaceSlug};
use crate::model::{CredentialRecord, CredentialStatus, StatusListId, Template, Workspace};
use crate::personal::Recipient;
use crate::{Error, Result};

/// A credential as the public may see it.
#[derive(Debug, Clone)]
pub struct PublicCredential {
    pub record: CredentialRecord,
    /// The recipient as the page names them, or erased.
    pub recipient: Recipient,
    pub workspace: Workspace,
    pub template: Option<Template>,
}

/// A credential and the report of verifying it now.
#[derive(Debug, Clone)]
pub struct Verification {
    pub credential: PublicCredential,
    pub report: Report,
}

/// DID documents and status lists, fetched before the synchronous verifier runs.
#[derive(Debug, Default)]
struct Prefetched {
    dids: HashMap<String, Value>,
    lists: HashMap<String, Value>,
}

impl Resolver for Prefetched {
    fn did_document(&self, did: &str) -> std::result::Result<Value, String> {
        self.dids.get(did).cloned().ok_or_else(|| "not a DID of this deployment".to_owned())
    }
    fn status_list(&self, url: &str) -> std::result::Result<Value, String> {
        self.lists
            .get(url)
            .cloned()
            .ok_or_else(|| "not a status list of this deployment".to_owned())
    }
}

impl App {
    /// A credential by id, for the public routes.
    pub async fn public_credential(&self, id: &str) -> Result<PublicCredential> {
        let id = CredentialId::parse(id).map_err(|_| Error::NotFound("credential"))?;
        let record =
            self.ports().credentials.credential(id).await?.ok_or(Error::NotFound("credential"))?;
        let workspace = self
            .ports()
            .workspaces
            .workspace(record.workspace_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("credential {id} has no workspace"))?;
        let template = self.ports().templates.template(workspace.id, record.template_id).await?;
        let recipient = self
            .open_recipients(workspace.organization_id, std::slice::from_ref(&record))
            .await?
            .pop()
            .unwrap_or(Recipient::Erased);
        Ok(PublicCredential { record, recipient, workspace, template })
    }

    /// Verifies a stored credential now.
    pub async fn verification(&self, id: &str) -> Result<Verification> {
        let credential = self.public_credential(id).await?;
        let report = self.verify_bytes(credential.record.document.as_bytes()).await;
        Ok(Verification { credential, report })
    }

    /// Verifies what someone posted: credential JSON, a VC-JWT or a baked image.
    pub async fn verify_bytes(&self, input: &[u8]) -> Report {
        let resolver = self.prefetch(input).await;
        let mut report =
            verify::verify_bytes(input, &resolver, &Options::at(self.ports().clock.now()));
        self.name_revocation(&mut report).await;
        report
    }

    /// A revoked credential of ours reads "suspended" in its status list (see
    /// [`crate::model::STATUS_PURPOSE`]); at the source we know better, and say "revoked".
    async fn name_revocation(&self, report: &mut Report) {
        if report.verdict != Verdict::Suspended {
            return;
        }
        let Some(id) = report.credential_id.as_deref().and_then(|id| id.strip_prefix("urn:uuid:"))
        else {
            return;
        };
        let Ok(id) = CredentialId::parse(id) else { return };
        let Ok(Some(record)) = self.ports().credentials.credential(id).await else { return };
        let Ok(Some(workspace)) = self.ports().workspaces.workspace(record.workspace_id).await
        else {
            return;
        };
        if report.issuer.as_deref() != Some(workspace.did.as_str()) {
            return;
        }
        if let CredentialStatus::Revoked { reason, .. } = &record.status {
            report.verdict = Verdict::Revoked;
            if let Some(check) = report.checks.iter_mut().find(|c| c.name == "status") {
                check.detail = Some(format!("revoked by its issuer: {reason}"));
            }
        }
    }

    /// Finds the issuer DID and status lists a credential names, and loads those that belong
    /// to this deployment. Anything unreadable is left for the verifier to report.
    async fn prefetch(&self, input: &[u8]) -> Prefetched {
        let mut prefetched = Prefetched::default();
        let Some(credential) = peek_credential(input) else { return prefetched };
        if let Some(issuer) = credentials::jwt::issuer_id(&credential)
            && let Some(document) = self.local_did_document(issuer).await
        {
            prefetched.dids.insert(issuer.to_owned(), document);
        }
        let entries = match credential.get("credentialStatus") {
            Some(Value::Array(entries)) => entries.clone(),
            Some(entry) => vec![entry.clone()],
            None => Vec::new(),
        };
        for entry in entries.iter().take(8) {
            let Some(url) = entry.get("statusListCredential").and_then(Value::as_str) else {
                continue;
            };
            let Some(key) = url.strip_prefix(&format!("{}/status/", self.settings().base())) else {
                continue;
            };
            if StatusListId::parse(key).is_none() {
                continue;
            }
            if let Ok(document) = self.status_list(key).await
                && let Ok(value) = serde_json::from_str(&document)
            {
                prefetched.lists.insert(url.to_owned(), value);
            }
        }
        prefetched
    }

    async fn local_did_document(&self, did: &str) -> Option<Value> {
        let prefix = format!("did:web:{}:ws:", self.settings().did_host());
        let slug = WorkspaceSlug::parse(did.strip_prefix(&prefix)?).ok()?;
        let workspace = self.ports().workspaces.workspace_by_slug(&slug).await.ok()??;
        self.did_document_of(&workspace).await.ok()
    }
}

/// The credential inside `input` (JSON, VC-JWT payload, or baked image), if it can be read.
fn peek_credential(input: &[u8]) -> Option<Value> {
    if input.len() > verify::MAX_IMAGE_BYTES {
        return None;
    }
    let text = match credentials::bake::sniff(input) {
        Some(_) => credentials::bake::unbake(input).ok()?,
        None => std::str::from_utf8(input).ok()?.to_owned(),
    };
    let text = text.trim();
    if text.starts_with('{') {
        serde_json::from_str(text).ok()
    } else {
        credentials::jwt::decode(text).ok().map(|jwt| jwt.credential)
    }
}
