//! The records the platform keeps.

use chrono::{DateTime, Utc};
use credentials::status::StatusPurpose;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{Grant, Role, Scope};
use crate::ids::{
    ApiKeyId, BulkJobId, CredentialId, DraftId, Email, EventId, HttpUrl, OrganizationId,
    TemplateId, WebhookId, WorkspaceId, WorkspaceSlug,
};
use crate::personal::{RecipientId, SealedRecipient};

/// An organization: the tenant. Everything else belongs to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API key as stored: never the key itself, only its prefix (to find it) and its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub organization_id: OrganizationId,
    /// The first characters of the key, shown in listings and used to look it up.
    pub prefix: String,
    /// Hex SHA-256 of the whole key. API keys carry 256 bits of entropy, so a fast hash is
    /// enough (no password-style stretching needed).
    pub hash: String,
    pub created_at: DateTime<Utc>,
    /// What the key is for, as its creator named it.
    #[serde(default)]
    pub name: String,
    /// What the key may do, and where. Keys stored before roles existed were owner keys.
    #[serde(default = "owner_grant")]
    pub grant: Grant,
    /// After this instant the key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked; a revoked key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key was last used (to the minute: recorded at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

fn owner_grant() -> Grant {
    Grant { scope: Scope::Organization, role: Role::OrganizationOwner }
}

/// The public face of a workspace's issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuerProfile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<HttpUrl>,
}

/// A workspace: one issuer (brand, unit, region) with its own key and `did:web`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub organization_id: OrganizationId,
    pub slug: WorkspaceSlug,
    pub name: String,
    pub issuer: IssuerProfile,
    /// `did:web:HOST%3APORT:ws:SLUG`.
    pub did: String,
    /// The DID fragment of the key new credentials are signed with.
    pub current_key_id: String,
    pub created_at: DateTime<Utc>,
    /// Whether every issuance here needs four-eyes approval (a draft an approver sends).
    #[serde(default)]
    pub requires_approval: bool,
}

impl Workspace {
    /// The verification method new credentials name.
    pub fn verification_method(&self) -> String {
        format!("{}#{}", self.did, self.current_key_id)
    }
}

/// An alignment of a template to a skill or standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateAlignment {
    pub target_name: String,
    pub target_url: HttpUrl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
}

/// A template: the achievement and its validity policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: String,
    pub criteria_narrative: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<HttpUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    #[serde(default)]
    pub alignments: Vec<TemplateAlignment>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for_days: Option<u32>,
    /// Bumped by every update; updates are conditional on it.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether issuing from this template needs four-eyes approval.
    #[serde(default)]
    pub requires_approval: bool,
}

/// Where a credential stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CredentialStatus {
    Active,
    Suspended { at: DateTime<Utc> },
    Revoked { at: DateTime<Utc>, reason: String },
    Expired { at: DateTime<Utc> },
}

/// The kind of a [`CredentialStatus`], for filters and conditional transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    Active,
    Suspended,
    Revoked,
    Expired,
}

/// How many credentials a workspace has in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialCounts {
    pub active: u64,
    pub suspended: u64,
    pub revoked: u64,
    pub expired: u64,
}

impl CredentialCounts {
    /// Counts one more credential of `kind`.
    pub fn add(&mut self, kind: StatusKind, count: u64) {
        match kind {
            StatusKind::Active => self.active += count,
            StatusKind::Suspended => self.suspended += count,
            StatusKind::Revoked => self.revoked += count,
            StatusKind::Expired => self.expired += count,
        }
    }

    /// Adds `other`'s counts.
    pub fn absorb(&mut self, other: CredentialCounts) {
        self.active += other.active;
        self.suspended += other.suspended;
        self.revoked += other.revoked;
        self.expired += other.expired;
    }

    /// Every credential ever issued (none is ever deleted).
    pub fn issued(&self) -> u64 {
        self.active + self.suspended + self.revoked + self.expired
    }
}

impl StatusKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked, Self::Expired]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

impl CredentialStatus {
    /// Its kind.
    pub fn kind(&self) -> StatusKind {
        match self {
            Self::Active => StatusKind::Active,
            Self::Suspended { .. } => StatusKind::Suspended,
            Self::Revoked { .. } => StatusKind::Revoked,
            Self::Expired { .. } => StatusKind::Expired,
        }
    }
}

/// An issued credential: the signed document, stored once and never re-signed, and what
/// the platform needs to find and manage it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub id: CredentialId,
    pub workspace_id: WorkspaceId,
    pub template_id: TemplateId,
    /// The recipient: their id, and their email and name sealed under their data key
    /// ([`crate::personal`]); never in clear.
    pub recipient: SealedRecipient,
    pub status: CredentialStatus,
    /// Its index in the workspace's status lists (the same index in the revocation and the
    /// suspension list).
    pub status_index: u64,
    pub issued_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The signed OB 3.0 credential (JSON text), exactly as signed.
    pub document: String,
}

impl CredentialRecord {
    /// The status as of `now`: an active or suspended credential past `valid_until` is
    /// expired at once, before the expiry schedule records it.
    pub fn effective_status(&self, now: DateTime<Utc>) -> CredentialStatus {
        match (&self.status, self.valid_until) {
            (CredentialStatus::Active | CredentialStatus::Suspended { .. }, Some(until))
                if until <= now =>
            {
                CredentialStatus::Expired { at: until }
            }
            (status, _) => status.clone(),
        }
    }

    /// The signed document as JSON.
    pub fn document_json(&self) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.document)?)
    }
}

/// What a list of credentials can be filtered by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CredentialFilter {
    pub status: Option<StatusKind>,
    pub template_id: Option<TemplateId>,
    /// The recipient, by id (see [`crate::personal::OrganizationKeys::recipient_id`]).
    pub recipient: Option<RecipientId>,
}

/// A used idempotency key and what it produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub workspace_id: WorkspaceId,
    pub key: String,
    /// Hex SHA-256 of the request body it was first used with.
    pub request_hash: String,
    pub credential_id: CredentialId,
    pub created_at: DateTime<Utc>,
}

/// One status list of a workspace: a purpose and a page of [`STATUS_LIST_SIZE`] entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusListId {
    pub workspace_id: WorkspaceId,
    pub purpose: StatusPurpose,
    pub page: u64,
}

/// Entries per status list.
pub const STATUS_LIST_SIZE: u64 = credentials::status::MIN_ENTRIES as u64;

/// The purpose of the one status entry every credential carries.
///
/// The 1EdTech OB 3.0 schema allows a single `credentialStatus` object, so a credential can
/// point at one list only. It is the *suspension* list: suspending sets the bit and lifting
/// the suspension clears it, and revoking sets it for good (a revocation is a suspension that
/// is never lifted). Every verifier therefore refuses a credential that is suspended or
/// revoked; the verification page and the API, which hold the record, say which and why.
/// A `revocation` entry could not express suspension at all, and a revocation bit must never
/// be cleared.
pub const STATUS_PURPOSE: StatusPurpose = StatusPurpose::Suspension;

impl StatusListId {
    /// The list holding `index` for `purpose`, and the index within it.
    pub fn for_index(workspace_id: WorkspaceId, purpose: StatusPurpose, index: u64) -> (Self, u64) {
        (Self { workspace_id, purpose, page: index / STATUS_LIST_SIZE }, index % STATUS_LIST_SIZE)
    }

    /// The URL path segment: `WORKSPACE-PURPOSE-PAGE` (`…-suspension-0`).
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.workspace_id, self.purpose.as_str(), self.page)
    }

    /// Parses [`key`](Self::key).
    pub fn parse(text: &str) -> Option<Self> {
        let (rest, page) = text.rsplit_once('-')?;
        let (workspace, purpose) = rest.rsplit_once('-')?;
        Some(Self {
            workspace_id: WorkspaceId(uuid::Uuid::try_parse(workspace).ok()?),
            purpose: StatusPurpose::parse(purpose).ok()?,
            page: page.parse().ok().filter(|p: &u64| p.to_string() == page)?,
        })
    }
}

/// The kinds of events the platform emits (and webhooks subscribe to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "credential.issued")]
    CredentialIssued,
    #[serde(rename = "credential.revoked")]
    CredentialRevoked,
    #[serde(rename = "credential.suspended")]
    CredentialSuspended,
    #[serde(rename = "credential.unsuspended")]
    CredentialUnsuspended,
    #[serde(rename = "credential.expired")]
    CredentialExpired,
    #[serde(rename = "bulk_issuance.completed")]
    BulkIssuanceCompleted,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::CredentialIssued,
        Self::CredentialRevoked,
        Self::CredentialSuspended,
        Self::CredentialUnsuspended,
        Self::CredentialExpired,
        Self::BulkIssuanceCompleted,
    ];

    /// The dotted name (`credential.issued`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialIssued => "credential.issued",
            Self::CredentialRevoked => "credential.revoked",
            Self::CredentialSuspended => "credential.suspended",
            Self::CredentialUnsuspended => "credential.unsuspended",
            Self::CredentialExpired => "credential.expired",
            Self::BulkIssuanceCompleted => "bulk_issuance.completed",
        }
    }

    /// Parses the dotted name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Something that happened, to be delivered to the webhooks subscribed to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub workspace_id: WorkspaceId,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    /// The event's `data` (no personal data beyond what the subscriber's workspace holds).
    pub data: Value,
}

/// A bulk issuance job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkJob {
    pub id: BulkJobId,
    pub workspace_id: WorkspaceId,
    pub template_id: TemplateId,
    pub status: BulkStatus,
    pub total: u32,
    pub issued: u32,
    pub failed: u32,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Where a bulk job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    Running,
    Completed,
}

/// One row of a bulk job, as submitted (already parsed, or the reason it does not parse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRow {
    /// 1-based row number (the CSV header is row 0).
    pub row: u32,
    pub input: Result<BulkRowInput, String>,
}

/// A row that parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRowInput {
    pub email: Email,
    pub name: String,
    pub valid_until: Option<DateTime<Utc>>,
    pub evidence_url: Option<HttpUrl>,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RowOutcome {
    Issued(CredentialId),
    Failed(String),
}

/// What a draft would issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// One credential (the body of `POST …/credentials`).
    Single,
    /// A bulk issuance job (the rows of `POST …/bulk-issuances`).
    Bulk,
}

/// Where a draft stands: `pending` until an approver decides; `approving` while an approval
/// is under way (approving again finishes it); then `approved` or `rejected`, for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    Pending,
    Approving,
    Approved,
    Rejected,
}

impl DraftStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approving, Self::Approved, Self::Rejected];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approving => "approving",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A draft of issuance, waiting for an approver who is not its author (four eyes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: DraftId,
    pub workspace_id: WorkspaceId,
    pub kind: DraftKind,
    pub template_id: TemplateId,
    /// Who prepared it, as the audit log names actors (`api_key:<id>`, ...).
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub status: DraftStatus,
    /// Who approved (from the start of the approval) or rejected it, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What its approval produced: the credential (single) or the bulk job (bulk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<CredentialId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_job_id: Option<BulkJobId>,
    /// Bulk: how many rows, and those that do not parse (`(row, reason)`, no personal data).
    #[serde(default)]
    pub rows: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_errors: Vec<(u32, String)>,
    /// The client's `Idempotency-Key` of the submission, if any: the same key in the same
    /// workspace gives the same draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Hex SHA-256 of the submitted request body.
    pub request_hash: String,
    /// The request (recipients' personal data), sealed by the vault under `draft:<id>`. Kept
    /// apart from the record by the stores; erased once the draft is decided, and absent from
    /// lists.
    #[serde(skip)]
    pub sealed_payload: Option<Vec<u8>>,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub url: HttpUrl,
    pub events: Vec<EventKind>,
    /// The signing secret (`whsec_…`), sealed by the vault; never stored in the clear.
    pub sealed_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// One event to one webhook, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Deterministic from (event, webhook): a redelivered event creates no second delivery.
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_kind: EventKind,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    /// The exact request body (the Standard Webhooks payload), the same on every attempt.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// A workspace signing key, public half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyInfo {
    /// The DID fragment (`key-1`).
    pub key_id: String,
    /// `z6Mk…`.
    pub public_key_multibase: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// A local user: signs in with an email and a password (Argon2id), and a TOTP second factor
/// once enrolled. One role over the organization or one workspace, as an API key has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: crate::ids::UserId,
    pub organization_id: OrganizationId,
    /// Unique across the deployment: it is what a user signs in with.
    pub email: Email,
    pub name: String,
    pub grant: Grant,
    pub password: crate::auth::password::PasswordHash,
    /// The enrolled second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpFactor>,
    /// A TOTP secret being enrolled (sealed by the vault, base64), until a first code confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_totp: Option<String>,
    /// Failed sign-ins (password or code) since the last success or lock.
    #[serde(default)]
    pub failed_sign_ins: u32,
    /// Sign-ins are refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Sessions of another generation are ended (a password change, a second factor enrolled).
    #[serde(default)]
    pub session_generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Bumped by every update; updates are conditional on it.
    pub version: u64,
}

/// An enrolled TOTP second factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpFactor {
    /// The secret, sealed by the vault under `totp:<user id>`, base64.
    pub sealed_secret: String,
    /// The time step of the last accepted code: no code of it or before is accepted again.
    pub last_used_step: u64,
    /// Hex SHA-256 digests of the unused recovery codes.
    pub recovery_codes: Vec<String>,
    pub enabled_at: DateTime<Utc>,
}

/// What a session token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// The password was right; a second factor is awaited (a login challenge, used once).
    Challenge,
    /// Signed in.
    SignedIn,
}

/// A login session or challenge, stored under the SHA-256 of its token (never the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Hex SHA-256 of the token.
    pub id: String,
    pub user_id: crate::ids::UserId,
    pub organization_id: OrganizationId,
    pub kind: SessionKind,
    /// Whether the user gave a second factor to get it.
    pub two_factor: bool,
    /// The user's session generation when it was made; another one ends it.
    pub generation: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// How the users of an organization must sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SignInPolicy {
    /// Every user gives a TOTP code at sign-in; a user without one may only enrol one.
    pub require_two_factor: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// An organization's OpenID Connect identity provider (single sign-on): at most one per
/// organization. Bearer tokens it issues for the configured audience act in the organization
/// with the grants its claim values map to. Nothing here is secret (public keys, a client id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub organization_id: OrganizationId,
    /// Issuer, audience, key set, claim and leeway, as `auth::oidc::verify_token` takes them.
    pub config: crate::auth::oidc::OidcConfig,
    /// Claim values to grants, in the order given; a token gets every grant one of its
    /// values maps to, and no grant at all when none matches.
    pub mappings: Vec<ClaimMapping>,
    pub updated_at: DateTime<Utc>,
}

/// One claim value (a group, a role name) and the grant it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    /// Compared byte for byte with each value of the configured claim.
    pub value: String,
    pub grant: Grant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_list_ids_round_trip_and_reject_junk() {
        let id = StatusListId {
            workspace_id: WorkspaceId::generate(),
            purpose: StatusPurpose::Suspension,
            page: 3,
        };
        assert_eq!(StatusListId::parse(&id.key()), Some(id));
        for junk in [
            "",
            "x-revocation-0",
            "00000000-0000-0000-0000-000000000000-bogus-0",
            "00000000-0000-0000-0000-000000000000-revocation-01",
        ] {
            assert_eq!(StatusListId::parse(junk), None, "{junk}");
        }
        let (list, offset) = StatusListId::for_index(
            id.workspace_id,
            StatusPurpose::Revocation,
            STATUS_LIST_SIZE + 5,
        );
        assert_eq!((list.page, offset), (1, 5));
    }

    #[test]
    fn event_kinds_have_their_dotted_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
