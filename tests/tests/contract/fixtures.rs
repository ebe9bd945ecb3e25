//! Valid records to store, with fresh ids and the test clock's time.

use chrono::{DateTime, Utc};
use platform::auth::{Grant, Role, Scope};
use platform::ids::{
    ApiKeyId, BulkJobId, CredentialId, Email, EventId, HttpUrl, OrganizationId, TemplateId,
    WebhookId, WorkspaceId, WorkspaceSlug,
};
use platform::model::{
    ApiKeyRecord, BulkJob, BulkRow, BulkRowInput, BulkStatus, CredentialRecord, CredentialStatus,
    Delivery, DeliveryStatus, Event, EventKind, IdempotencyRecord, IssuerProfile, Organization,
    Template, Webhook, Workspace,
};
use platform::personal::{RecipientId, SealedRecipient};
use serde_json::json;

pub fn organization(now: DateTime<Utc>) -> Organization {
    Organization { id: OrganizationId::generate(), name: "Acme".into(), created_at: now }
}

pub fn api_key(organization: OrganizationId, prefix: &str, now: DateTime<Utc>) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyId::generate(),
        organization_id: organization,
        prefix: prefix.into(),
        hash: "a".repeat(64),
        created_at: now,
        name: "CI".into(),
        grant: Grant { scope: Scope::Organization, role: Role::OrganizationOwner },
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

pub fn workspace(organization: OrganizationId, slug: &str, now: DateTime<Utc>) -> Workspace {
    Workspace {
        id: WorkspaceId::generate(),
        organization_id: organization,
        slug: WorkspaceSlug::parse(slug).unwrap(),
        name: format!("Workspace {slug}"),
        issuer: IssuerProfile {
            name: "Acme Academy".into(),
            url: Some(HttpUrl::parse("url", "https://acme.example").unwrap()),
            email: None,
            image: None,
        },
        did: format!("did:web:badges.example:ws:{slug}"),
        current_key_id: "key-1".into(),
        created_at: now,
        requires_approval: false,
    }
}

pub fn template(workspace: WorkspaceId, name: &str, now: DateTime<Utc>) -> Template {
    Template {
        id: TemplateId::generate(),
        workspace_id: workspace,
        name: name.into(),
        description: "A badge".into(),
        criteria_narrative: "Do the thing.".into(),
        image: None,
        achievement_type: Some("Badge".into()),
        alignments: Vec::new(),
        tags: vec!["rust".into()],
        valid_for_days: None,
        version: 1,
        created_at: now,
        updated_at: now,
        requires_approval: false,
    }
}

pub fn email(text: &str) -> Email {
    Email::parse("email", text).unwrap()
}

/// The id a store keeps for the recipient `address` (a stand-in for the keyed hash the
/// platform computes), with opaque sealed bytes: stores never look inside.
pub fn recipient_id(address: &str) -> RecipientId {
    use sha2::{Digest as _, Sha256};
    RecipientId::parse(&hex::encode(Sha256::digest(email(address).as_str().as_bytes()))).unwrap()
}

pub fn sealed_recipient(address: &str) -> SealedRecipient {
    SealedRecipient { id: recipient_id(address), key_id: uuid::Uuid::now_v7(), sealed: vec![1; 48] }
}

pub fn credential(
    workspace: WorkspaceId,
    template: TemplateId,
    recipient: &str,
    now: DateTime<Utc>,
) -> CredentialRecord {
    let id = CredentialId::generate();
    CredentialRecord {
        id,
        workspace_id: workspace,
        template_id: template,
        recipient: sealed_recipient(recipient),
        status: CredentialStatus::Active,
        status_index: 0,
        issued_at: now,
        valid_from: now,
        valid_until: None,
        document: json!({"id": format!("urn:uuid:{id}"), "type": ["VerifiableCredential"]})
            .to_string(),
    }
}

pub fn idempotency(record: &CredentialRecord, key: &str, hash: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        workspace_id: record.workspace_id,
        key: key.into(),
        request_hash: hash.into(),
        credential_id: record.id,
        created_at: record.issued_at,
    }
}

pub fn event(workspace: WorkspaceId, kind: EventKind, occurred_at: DateTime<Utc>) -> Event {
    Event {
        id: EventId::generate(),
        workspace_id: workspace,
        kind,
        occurred_at,
        data: json!({"n": 1}),
    }
}

pub fn bulk_job(
    workspace: WorkspaceId,
    template: TemplateId,
    total: u32,
    now: DateTime<Utc>,
) -> BulkJob {
    BulkJob {
        id: BulkJobId::generate(),
        workspace_id: workspace,
        template_id: template,
        status: BulkStatus::Running,
        total,
        issued: 0,
        failed: 0,
        created_at: now,
        completed_at: None,
    }
}

/// Rows `1..=count`; every third row did not parse.
pub fn bulk_rows(count: u32) -> Vec<BulkRow> {
    (1..=count)
        .map(|row| BulkRow {
            row,
            input: if row % 3 == 0 {
                Err(format!("row {row}: invalid `email`"))
            } else {
                Ok(BulkRowInput {
                    email: email(&format!("r{row}@example.com")),
                    name: format!("Recipient {row}"),
                    valid_until: None,
                    evidence_url: None,
                })
            },
        })
        .collect()
}

pub fn webhook(workspace: WorkspaceId, now: DateTime<Utc>) -> Webhook {
    Webhook {
        id: WebhookId::generate(),
        workspace_id: workspace,
        url: HttpUrl::parse("url", "https://hooks.example/in").unwrap(),
        events: vec![EventKind::CredentialIssued, EventKind::CredentialRevoked],
        sealed_secret: vec![1, 2, 3],
        created_at: now,
    }
}

pub fn delivery(webhook: &Webhook, event: &Event, now: DateTime<Utc>) -> Delivery {
    Delivery {
        id: platform::ports::delivery_id(event.id, webhook.id),
        workspace_id: webhook.workspace_id,
        webhook_id: webhook.id,
        event_id: event.id,
        event_kind: event.kind,
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_status_code: None,
        last_error: None,
        payload: json!({"type": event.kind.as_str()}).to_string(),
        created_at: now,
        updated_at: now,
    }
}

pub fn draft(
    workspace: WorkspaceId,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> platform::model::Draft {
    let id = platform::ids::DraftId::generate();
    platform::model::Draft {
        id,
        workspace_id: workspace,
        kind: platform::model::DraftKind::Single,
        template_id: TemplateId::generate(),
        author: "api_key:author".into(),
        created_at: now,
        status: platform::model::DraftStatus::Pending,
        decided_by: None,
        decided_at: None,
        reason: None,
        credential_id: None,
        bulk_job_id: None,
        rows: 0,
        row_errors: Vec::new(),
        idempotency_key: key.map(str::to_owned),
        request_hash: "b".repeat(64),
        sealed_payload: Some(format!("sealed request of {id}").into_bytes()),
    }
}
