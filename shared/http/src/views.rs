//! The JSON shapes of the API's resources. They are written out here rather than serialized
//! from the stored records, so that a change of storage never changes the API by accident,
//! and what is private (sealed webhook secrets, key ids) never leaves by accident either.

use chrono::{DateTime, Utc};
use credentials::model::format_date;
use platform::App;
use platform::app::HeldCredential;
use platform::model::{
    BulkJob, CredentialStatus, Delivery, IssuerProfile, Template, TemplateAlignment, Webhook,
    Workspace,
};
use platform::personal::Recipient;
use serde::Serialize;
use serde_json::Value;

/// A list: `{"items": [...]}`, with `next_cursor` when the list is paged.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

impl<T> Items<T> {
    /// An unpaged list.
    pub fn all(items: Vec<T>) -> Self {
        Self { items, next_cursor: None }
    }

    /// A page, and the cursor of the next one (`null` on the last page).
    pub fn page(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor: Some(next_cursor) }
    }
}

pub(crate) fn date(value: DateTime<Utc>) -> String {
    format_date(value)
}

/// A workspace.
#[derive(Debug, Serialize)]
pub struct WorkspaceView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub issuer: IssuerProfile,
    pub did: String,
    pub did_document_url: String,
    pub created_at: String,
    /// Whether every issuance here needs four-eyes approval.
    pub requires_approval: bool,
}

impl WorkspaceView {
    /// The view of `workspace`.
    pub fn new(app: &App, workspace: Workspace) -> Self {
        Self {
            id: workspace.id.to_string(),
            did_document_url: format!("{}/ws/{}/did.json", app.settings().base(), workspace.slug),
            slug: workspace.slug.to_string(),
            name: workspace.name,
            issuer: workspace.issuer,
            did: workspace.did,
            created_at: date(workspace.created_at),
            requires_approval: workspace.requires_approval,
        }
    }
}

/// A template, in the shape it is submitted in.
#[derive(Debug, Serialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub criteria: CriteriaView,
    pub image: Option<String>,
    pub achievement_type: Option<String>,
    pub alignments: Vec<TemplateAlignment>,
    pub tags: Vec<String>,
    pub valid_for_days: Option<u32>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    /// Whether issuing from it needs four-eyes approval.
    pub requires_approval: bool,
}

/// A template's criteria.
#[derive(Debug, Serialize)]
pub struct CriteriaView {
    pub narrative: String,
}

impl From<Template> for TemplateView {
    fn from(template: Template) -> Self {
        Self {
            id: template.id.to_string(),
            name: template.name,
            description: template.description,
            criteria: CriteriaView { narrative: template.criteria_narrative },
            image: template.image.map(|url| url.as_str().to_owned()),
            achievement_type: template.achievement_type,
            alignments: template.alignments,
            tags: template.tags,
            valid_for_days: template.valid_for_days,
            version: template.version,
            created_at: date(template.created_at),
            updated_at: date(template.updated_at),
            requires_approval: template.requires_approval,
        }
    }
}

/// A credential as listed: what the platform knows about it, without the signed document.
#[derive(Debug, Serialize)]
pub struct CredentialView {
    pub id: String,
    /// `active`, `suspended`, `revoked` or `expired`.
    pub status: &'static str,
    /// When the status last changed (`null` while active).
    pub status_at: Option<String>,
    /// Why it was revoked (`null` otherwise).
    pub status_reason: Option<String>,
    pub template_id: String,
    pub recipient: RecipientView,
    pub issued_at: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub verification_url: String,
    /// The signed credential, in single reads and on issuance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Value>,
}

/// A credential's recipient: their email and name, or `{"erased": true}` once their data
/// was erased.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RecipientView {
    Known { email: String, name: String },
    Erased { erased: bool },
}

impl RecipientView {
    /// The view of `recipient`.
    pub fn new(recipient: &Recipient) -> Self {
        match recipient.data() {
            Some(data) => {
                Self::Known { email: data.email.as_str().to_owned(), name: data.name.clone() }
            }
            None => Self::Erased { erased: true },
        }
    }
}

impl CredentialView {
    /// The list item of a credential.
    pub fn item(app: &App, held: &HeldCredential) -> Self {
        let HeldCredential { record, recipient } = held;
        let status = record.effective_status(app.now());
        let (status_at, status_reason) = match &status {
            CredentialStatus::Active => (None, None),
            CredentialStatus::Suspended { at } | CredentialStatus::Expired { at } => {
                (Some(date(*at)), None)
            }
            CredentialStatus::Revoked { at, reason } => (Some(date(*at)), Some(reason.clone())),
        };
        Self {
            id: record.id.to_string(),
            status: status.kind().as_str(),
            status_at,
            status_reason,
            template_id: record.template_id.to_string(),
            recipient: RecipientView::new(recipient),
            issued_at: date(record.issued_at),
            valid_from: date(record.valid_from),
            valid_until: record.valid_until.map(date),
            verification_url: app.verification_url(record.id),
            credential: None,
        }
    }

    /// The item with the signed credential.
    pub fn full(app: &App, held: &HeldCredential) -> anyhow::Result<Self> {
        let credential = held.record.document_json()?;
        Ok(Self { credential: Some(credential), ..Self::item(app, held) })
    }
}

/// A webhook subscription; the secret only when it was just created.
#[derive(Debug, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
}

impl WebhookView {
    /// The view of `webhook`, showing `secret` if given.
    pub fn new(webhook: &Webhook, secret: Option<String>) -> Self {
        Self {
            id: webhook.id.to_string(),
            url: webhook.url.as_str().to_owned(),
            events: webhook.events.iter().map(|kind| kind.as_str()).collect(),
            secret,
            created_at: date(webhook.created_at),
        }
    }
}

/// One delivery of an event to a webhook.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: &'static str,
    /// `pending`, `delivered` or `failed`.
    pub status: platform::model::DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Delivery> for DeliveryView {
    fn from(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            event_id: delivery.event_id.to_string(),
            event_type: delivery.event_kind.as_str(),
            status: delivery.status,
            attempts: delivery.attempts,
            last_status_code: delivery.last_status_code,
            last_error: delivery.last_error.clone(),
            created_at: date(delivery.created_at),
            updated_at: date(delivery.updated_at),
        }
    }
}

/// A bulk issuance job and its failed rows.
#[derive(Debug, Serialize)]
pub struct BulkJobView {
    pub job_id: String,
    pub template_id: String,
    /// `running` or `completed`.
    pub status: platform::model::BulkStatus,
    pub total: u32,
    pub issued: u32,
    pub failed: u32,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub errors: Vec<RowError>,
}

/// Why one row failed.
#[derive(Debug, Serialize)]
pub struct RowError {
    pub row: u32,
    pub error: String,
}

impl BulkJobView {
    /// The view of `job` and its `errors`.
    pub fn new(job: &BulkJob, errors: Vec<(u32, String)>) -> Self {
        Self {
            job_id: job.id.to_string(),
            template_id: job.template_id.to_string(),
            status: job.status,
            total: job.total,
            issued: job.issued,
            failed: job.failed,
            created_at: date(job.created_at),
            completed_at: job.completed_at.map(date),
            errors: errors.into_iter().map(|(row, error)| RowError { row, error }).collect(),
        }
    }
}
