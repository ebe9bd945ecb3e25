//! The ports: what the use cases need from the outside world, split by capability.
//!
//! Every method documents its contract: what is atomic, what a conflict returns, how lists
//! are ordered and paged. Expected outcomes are return values; `Err` means the adapter
//! failed (a store down, a network error) and carries the source chain for the logs. One
//! contract suite (`tests/`) runs every adapter set against these contracts.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::{AuditDraft, AuditEntry, AuditHash};
use crate::ids::{
    ApiKeyId, BulkJobId, CredentialId, DraftId, EventId, HttpUrl, OrganizationId, TemplateId,
    WebhookId, WorkspaceId, WorkspaceSlug,
};
use crate::model::{
    ApiKeyRecord, BulkJob, BulkRow, CredentialCounts, CredentialFilter, CredentialRecord,
    CredentialStatus, Delivery, Draft, DraftStatus, Event, IdempotencyRecord, OidcProvider,
    Organization, RowOutcome, SigningKeyInfo, StatusKind, StatusListId, Template, Webhook,
    Workspace,
};
use crate::personal::{RecipientId, StoredRecipientKey};

/// Adapter failures: unexpected, logged, never shown to clients.
pub type PortResult<T> = anyhow::Result<T>;

/// Organizations and their API keys.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates `organization` and its owner key in one atomic write, only if the store has no
    /// organization yet. Returns `false` (and writes nothing) otherwise: bootstrap happens once.
    async fn bootstrap(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<bool>;
    /// Creates another organization and its owner key in one atomic write (the operator's
    /// `badges org create`); fails if the id or the key's prefix exists.
    async fn insert_organization(
        &self,
        organization: &Organization,
        owner_key: &ApiKeyRecord,
    ) -> PortResult<()>;
    /// The organization `id`.
    async fn organization(&self, id: OrganizationId) -> PortResult<Option<Organization>>;
    /// The API key with this prefix.
    async fn api_key_by_prefix(&self, prefix: &str) -> PortResult<Option<ApiKeyRecord>>;
    /// Inserts a new API key of an existing organization. Prefixes are unique: returns
    /// `false` and writes nothing when the prefix is taken.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> PortResult<bool>;
    /// The API keys of an organization, revoked ones included, oldest first.
    async fn api_keys(&self, organization: OrganizationId) -> PortResult<Vec<ApiKeyRecord>>;
    /// Revokes the key `id` of `organization` at `now`; `false` (nothing written) when the
    /// organization has no such key or it is already revoked.
    async fn revoke_api_key(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> PortResult<bool>;
    /// Records that the key with this prefix was used at `now`. The recorded time never
    /// moves back; an unknown prefix is not an error.
    async fn touch_api_key(&self, prefix: &str, now: DateTime<Utc>) -> PortResult<()>;
}

/// Single sign-on: each organization's OpenID Connect provider, at most one.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Creates or replaces the provider of `provider.organization_id`, atomically (a reader
    /// sees the old provider or the new one, never a mix). The pair (issuer, audience)
    /// selects the organization of a token, so it is unique across organizations: returns
    /// `false` and writes nothing when another organization's provider has the same pair.
    async fn put_oidc_provider(&self, provider: &OidcProvider) -> PortResult<bool>;
    /// The provider of `organization`.
    async fn oidc_provider(&self, organization: OrganizationId)
    -> PortResult<Option<OidcProvider>>;
    /// Deletes the provider of `organization`; `false` (nothing written) when it has none.
    async fn delete_oidc_provider(&self, organization: OrganizationId) -> PortResult<bool>;
    /// Every organization's provider whose issuer is exactly `issuer` (byte for byte),
    /// ordered by organization id. Strongly consistent: a provider replaced or deleted is
    /// never answered for its old issuer.
    async fn oidc_providers_by_issuer(&self, issuer: &str) -> PortResult<Vec<OidcProvider>>;
}

/// Workspaces.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Inserts `workspace`. Slugs are unique across the deployment (they name `did:web`
    /// paths): returns `false` and writes nothing when the slug is taken.
    async fn insert_workspace(&self, workspace: &Workspace) -> PortResult<bool>;
    /// The workspace `id`.
    async fn workspace(&self, id: WorkspaceId) -> PortResult<Option<Workspace>>;
    /// The workspace named `slug`.
    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> PortResult<Option<Workspace>>;
    /// The workspaces of an organization, oldest first.
    async fn workspaces(&self, organization: OrganizationId) -> PortResult<Vec<Workspace>>;
    /// Allocates the next `count` (at least 1) status-list indexes of the workspace and
    /// returns the first: `first..first + count` are this caller's (0, 1, 2, … each
    /// allocated at most once, also under concurrency; gaps are allowed).
    async fn allocate_status_indexes(&self, workspace: WorkspaceId, count: u32) -> PortResult<u64>;
    /// Sets whether issuance in the workspace needs approval, leaving the rest of its record
    /// as it is (also under concurrent changes); `false` (nothing written) for an unknown
    /// workspace.
    async fn set_requires_approval(&self, workspace: WorkspaceId, value: bool) -> PortResult<bool>;
}

/// Templates.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Inserts a new template.
    async fn insert_template(&self, template: &Template) -> PortResult<()>;
    /// The template `id` of `workspace` (none for another workspace's template).
    async fn template(
        &self,
        workspace: WorkspaceId,
        id: TemplateId,
    ) -> PortResult<Option<Template>>;
    /// The templates of a workspace, oldest first.
    async fn templates(&self, workspace: WorkspaceId) -> PortResult<Vec<Template>>;
    /// Replaces the template if its stored version is `expected_version`; `false` otherwise.
    async fn update_template(&self, template: &Template, expected_version: u64)
    -> PortResult<bool>;
}

/// What [`CredentialStore::insert_credential`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertCredential {
    /// The credential, its key and its events were written.
    Inserted,
    /// The idempotency key was already used: nothing was written; here is what it produced.
    KeyExists(IdempotencyRecord),
}

/// Issued credentials, their idempotency keys, and the events of their changes.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Writes the credential, its idempotency record (if any) and its events atomically. When
    /// the key is already used in the workspace, writes nothing and returns the existing record.
    async fn insert_credential(
        &self,
        record: &CredentialRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
    ) -> PortResult<InsertCredential>;
    /// The idempotency record of `key` in `workspace`.
    async fn idempotency_record(
        &self,
        workspace: WorkspaceId,
        key: &str,
    ) -> PortResult<Option<IdempotencyRecord>>;
    /// The credential `id`, whatever its workspace (public routes look credentials up by id).
    async fn credential(&self, id: CredentialId) -> PortResult<Option<CredentialRecord>>;
    /// Credentials of a workspace matching `filter`, ordered by id (creation order), starting
    /// after `after`, at most `limit`.
    async fn list_credentials(
        &self,
        workspace: WorkspaceId,
        filter: &CredentialFilter,
        after: Option<CredentialId>,
        limit: usize,
    ) -> PortResult<Vec<CredentialRecord>>;
    /// Sets the status to `new` and writes `events`, atomically, if the current status is of
    /// kind `expected`; returns `false` and writes nothing otherwise.
    async fn transition(
        &self,
        id: CredentialId,
        expected: StatusKind,
        new: &CredentialStatus,
        events: &[Event],
    ) -> PortResult<bool>;
    /// How many credentials of `workspace` are in each status (on DynamoDB, from an
    /// eventually consistent index).
    async fn credential_counts(&self, workspace: WorkspaceId) -> PortResult<CredentialCounts>;
    /// Active or suspended credentials whose `valid_until` is at or before `now`, soonest
    /// first, at most `limit`.
    async fn expiring(&self, now: DateTime<Utc>, limit: usize)
    -> PortResult<Vec<CredentialRecord>>;
}

/// The bits of the status lists and their signed publications.
#[async_trait]
pub trait StatusListStore: Send + Sync {
    /// Sets or clears one bit (index within the list) atomically, creating an all-clear list
    /// of `model::STATUS_LIST_SIZE` entries first if needed. Returns the list's bits after the
    /// change and its version, which increases with every change.
    async fn set_status_bit(
        &self,
        list: &StatusListId,
        index: u64,
        value: bool,
    ) -> PortResult<(Vec<u8>, u64)>;
    /// The list's bits and version; `None` if no bit was ever set.
    async fn status_bits(&self, list: &StatusListId) -> PortResult<Option<(Vec<u8>, u64)>>;
    /// Stores the signed list credential made from `version`, unless a newer version's is
    /// already stored (concurrent signers never roll the list back).
    async fn save_signed_status_list(
        &self,
        list: &StatusListId,
        version: u64,
        document: &str,
    ) -> PortResult<()>;
    /// The newest signed list credential and its version.
    async fn signed_status_list(&self, list: &StatusListId) -> PortResult<Option<(u64, String)>>;
}

/// What [`BulkStore::record_bulk_row`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRecorded {
    /// This call recorded the row; `completed` when it was the job's last row.
    First { completed: bool },
    /// The row had been recorded before (a redelivery): nothing changed.
    Already,
}

/// One row of a chunk to record with [`BulkStore::record_bulk_chunk`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRow {
    pub row: u32,
    pub outcome: ChunkOutcome,
}

/// What became of a row of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkOutcome {
    /// A new credential, with the idempotency record of its row and its events.
    Issued { record: Box<CredentialRecord>, idempotency: IdempotencyRecord, events: Vec<Event> },
    /// The reason the row was not issued.
    Failed(String),
}

impl ChunkOutcome {
    /// The outcome recorded for the row.
    pub fn row_outcome(&self) -> RowOutcome {
        match self {
            Self::Issued { record, .. } => RowOutcome::Issued(record.id),
            Self::Failed(reason) => RowOutcome::Failed(reason.clone()),
        }
    }
}

/// Bulk issuance jobs and their rows.
#[async_trait]
pub trait BulkStore: Send + Sync {
    /// Creates the job and all its rows atomically.
    async fn create_bulk_job(&self, job: &BulkJob, rows: &[BulkRow]) -> PortResult<()>;
    /// The job `id` of `workspace`.
    async fn bulk_job(&self, workspace: WorkspaceId, id: BulkJobId) -> PortResult<Option<BulkJob>>;
    /// The rows `from..to` (row numbers) of a job whose outcome is not recorded yet, in order.
    async fn bulk_rows(&self, job: BulkJobId, from: u32, to: u32) -> PortResult<Vec<BulkRow>>;
    /// Records a row's outcome once: the first call bumps the job's `issued` or `failed`
    /// count and, if that completes the job, marks it completed, atomically. Later calls for
    /// the same row change nothing.
    async fn record_bulk_row(
        &self,
        job: BulkJobId,
        row: u32,
        outcome: &RowOutcome,
        now: DateTime<Utc>,
    ) -> PortResult<RowRecorded>;
    /// Records the outcomes of many rows of a job, each as [`record_bulk_row`] does, with the
    /// credential of each issued row written as [`CredentialStore::insert_credential`] writes
    /// it (with its idempotency record and events) before its outcome. A row recorded before
    /// is left as it is, and its credential is not written. A row whose idempotency key
    /// already names a credential is recorded as issued with that credential, and the new one
    /// is not written. Returns `true` when this call completed the job.
    ///
    /// Each row's credential and outcome are written together or not at all; an adapter may
    /// write the whole chunk in one transaction (the embedded store does).
    ///
    /// [`record_bulk_row`]: Self::record_bulk_row
    async fn record_bulk_chunk(
        &self,
        job: BulkJobId,
        rows: &[ChunkRow],
        now: DateTime<Utc>,
    ) -> PortResult<bool>;
    /// The failed rows of a job: `(row, reason)`, in row order.
    async fn bulk_errors(&self, job: BulkJobId) -> PortResult<Vec<(u32, String)>>;
}

/// The keys that protect recipients' personal data ([`crate::personal`]): per organization,
/// its secret (under the reserved id [`ORGANIZATION_SECRET`](crate::personal::ORGANIZATION_SECRET))
/// and one data key per recipient.
#[async_trait]
pub trait RecipientKeyStore: Send + Sync {
    /// The stored keys of `recipients` in `organization`, in the same order; `None` where a
    /// recipient has none (never had one, or it was erased).
    async fn recipient_keys(
        &self,
        organization: OrganizationId,
        recipients: &[RecipientId],
    ) -> PortResult<Vec<Option<StoredRecipientKey>>>;
    /// Stores each key of `candidates` whose recipient has none yet, and returns, in the same
    /// order, the key each recipient has now: the candidate, or the key stored before it (the
    /// first writer wins, also under concurrency). Atomic per key.
    async fn ensure_recipient_keys(
        &self,
        organization: OrganizationId,
        candidates: &[StoredRecipientKey],
    ) -> PortResult<Vec<StoredRecipientKey>>;
    /// Deletes the recipient's key for good (on a store with backups, the backups hold only
    /// ciphertext under keys that are gone too); `false` when there was none.
    async fn erase_recipient_key(
        &self,
        organization: OrganizationId,
        recipient: &RecipientId,
    ) -> PortResult<bool>;
}

/// What [`DraftStore::insert_draft`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertDraft {
    /// The draft was written.
    Inserted,
    /// Its idempotency key already names a draft of the workspace: nothing was written; here
    /// is that draft (without its payload).
    KeyExists(Box<Draft>),
}

/// Drafts of issuance awaiting four-eyes approval. A draft's sealed payload is stored with
/// it while it is undecided and erased when a change leaves it without one.
#[async_trait]
pub trait DraftStore: Send + Sync {
    /// Writes a new draft with its payload. With an idempotency key already used by a draft
    /// of the same workspace, writes nothing and returns that draft (keys are scoped to their
    /// workspace); an existing id is an error.
    async fn insert_draft(&self, draft: &Draft) -> PortResult<InsertDraft>;
    /// The draft `id` of `workspace`, with its payload if it still has one (none for another
    /// workspace's draft).
    async fn draft(&self, workspace: WorkspaceId, id: DraftId) -> PortResult<Option<Draft>>;
    /// The drafts of a workspace, in `status` if given, oldest first (by id), after `after`,
    /// at most `limit`; without their payloads.
    async fn drafts(
        &self,
        workspace: WorkspaceId,
        status: Option<DraftStatus>,
        after: Option<DraftId>,
        limit: usize,
    ) -> PortResult<Vec<Draft>>;
    /// Replaces the draft `next.id` of `next.workspace_id` with `next` if its stored status is
    /// `expected`, atomically; `false` and nothing written otherwise (also for an unknown
    /// draft). When `next` has no payload, the stored payload is erased.
    async fn transition_draft(&self, next: &Draft, expected: DraftStatus) -> PortResult<bool>;
}

/// The audit log: one hash chain per organization.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Seals `draft` onto its organization's chain, right after the current head (or
    /// [`GENESIS`](crate::audit::GENESIS) for the first), stores it and moves the head, all
    /// atomically: concurrent appends each get their own place, and none is lost. Returns the
    /// sealed entry.
    async fn append_audit(&self, draft: AuditDraft) -> PortResult<AuditEntry>;
    /// The entries of `organization` in chain order, from position `from` (0-based), at most
    /// `limit`.
    async fn audit_entries(
        &self,
        organization: OrganizationId,
        from: u64,
        limit: usize,
    ) -> PortResult<Vec<AuditEntry>>;
    /// The organization's head: how many entries its chain has, and the last one's hash
    /// ([`GENESIS`](crate::audit::GENESIS) and 0 when it has none).
    async fn audit_head(&self, organization: OrganizationId) -> PortResult<(u64, AuditHash)>;
}

/// Local users, their sessions, and each organization's sign-in policy.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a new user. Emails are unique across the deployment (a user signs in with
    /// it alone): returns `false` and writes nothing when the email is taken.
    async fn insert_user(&self, user: &crate::model::User) -> PortResult<bool>;
    /// The user `id`, whatever its organization.
    async fn user(&self, id: crate::ids::UserId) -> PortResult<Option<crate::model::User>>;
    /// The user whose email is `email`.
    async fn user_by_email(
        &self,
        email: &crate::ids::Email,
    ) -> PortResult<Option<crate::model::User>>;
    /// The users of an organization, oldest first.
    async fn users(&self, organization: OrganizationId) -> PortResult<Vec<crate::model::User>>;
    /// Replaces the user if its stored version is `expected_version`; `false` (nothing
    /// written) otherwise, or when there is no such user. A user's email never changes.
    async fn update_user(
        &self,
        user: &crate::model::User,
        expected_version: u64,
    ) -> PortResult<bool>;
    /// Inserts a session (or login challenge); its id is fresh. Expired sessions may be
    /// removed from then on.
    async fn insert_session(&self, session: &crate::model::Session) -> PortResult<()>;
    /// The session `id`, until it is deleted (an expired one may still be returned: the
    /// caller checks `expires_at`).
    async fn session(&self, id: &str) -> PortResult<Option<crate::model::Session>>;
    /// Deletes the session `id`; `true` only for the one call that deleted it, so that a
    /// token meant for one use is used once even under concurrency.
    async fn delete_session(&self, id: &str) -> PortResult<bool>;
    /// The organization's sign-in policy; `None` when never set.
    async fn sign_in_policy(
        &self,
        organization: OrganizationId,
    ) -> PortResult<Option<crate::model::SignInPolicy>>;
    /// Sets the organization's sign-in policy.
    async fn set_sign_in_policy(
        &self,
        organization: OrganizationId,
        policy: &crate::model::SignInPolicy,
    ) -> PortResult<()>;
}

/// Events waiting to be fanned out to webhooks.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Appends events, ignoring any whose id is already there (appending twice is safe).
    async fn append_events(&self, events: &[Event]) -> PortResult<()>;
    /// Undispatched events, oldest first, at most `limit`.
    async fn pending_events(&self, limit: usize) -> PortResult<Vec<Event>>;
    /// Marks events dispatched.
    async fn mark_dispatched(&self, ids: &[EventId]) -> PortResult<()>;
}

/// Webhook subscriptions and deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Inserts a subscription.
    async fn insert_webhook(&self, webhook: &Webhook) -> PortResult<()>;
    /// The subscriptions of a workspace, oldest first.
    async fn webhooks(&self, workspace: WorkspaceId) -> PortResult<Vec<Webhook>>;
    /// The subscription `id` of `workspace`.
    async fn webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<Option<Webhook>>;
    /// Deletes a subscription; `false` if there was none.
    async fn delete_webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<bool>;
    /// Inserts a delivery unless one with its id exists; `true` if inserted.
    async fn insert_delivery(&self, delivery: &Delivery) -> PortResult<bool>;
    /// The delivery `id`.
    async fn delivery(&self, id: uuid::Uuid) -> PortResult<Option<Delivery>>;
    /// Replaces a delivery (its status and attempts).
    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()>;
    /// The deliveries of a subscription, newest first, at most `limit`.
    async fn deliveries(&self, webhook: WebhookId, limit: usize) -> PortResult<Vec<Delivery>>;
}

/// The queues work goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Bulk issuance: one message per chunk of rows.
    Bulk,
    /// Webhook deliveries: one message per delivery.
    Webhooks,
}

impl QueueName {
    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bulk => "bulk",
            Self::Webhooks => "webhooks",
        }
    }
}

/// A message received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable across redeliveries.
    pub id: String,
    /// Names this receipt, for [`Queue::delete`] and [`Queue::release`].
    pub receipt: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// An at-least-once queue with visibility timeouts and a dead-letter queue, like SQS.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages, each visible after its delay.
    async fn send(&self, queue: QueueName, messages: &[(String, Duration)]) -> PortResult<()>;
    /// Receives up to `max` visible messages and hides them for `visibility`; a message
    /// received more than the queue's maximum number of times goes to the dead-letter queue
    /// instead of being returned.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<ReceivedMessage>>;
    /// Deletes a received message (the work is done).
    async fn delete(&self, queue: QueueName, receipt: &str) -> PortResult<()>;
    /// Makes a received message visible again after `delay` (a retry with backoff).
    async fn release(&self, queue: QueueName, receipt: &str, delay: Duration) -> PortResult<()>;
}

/// The workspaces' Ed25519 signing keys. Private keys never leave the adapter.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Creates a new signing key for `workspace` (its first, or the next after a rotation)
    /// and returns its public half; earlier keys stay listed, marked retired.
    async fn create_key(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> PortResult<SigningKeyInfo>;
    /// An Ed25519 signature of `message` with the workspace's key `key_id`.
    async fn sign(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
        message: &[u8],
    ) -> PortResult<[u8; 64]>;
    /// Signatures of every message of `messages` with the same key, in order. The default
    /// signs one after the other; an adapter that holds the key may do better.
    async fn sign_many(
        &self,
        workspace: WorkspaceId,
        key_id: &str,
        messages: &[&[u8]],
    ) -> PortResult<Vec<[u8; 64]>> {
        let mut signatures = Vec::with_capacity(messages.len());
        for message in messages {
            signatures.push(self.sign(workspace, key_id, message).await?);
        }
        Ok(signatures)
    }
    /// Every key of the workspace, current and retired, oldest first.
    async fn public_keys(&self, workspace: WorkspaceId) -> PortResult<Vec<SigningKeyInfo>>;
}

/// Encryption of small secrets at rest (webhook secrets; later, per-recipient data keys).
#[async_trait]
pub trait Vault: Send + Sync {
    /// Encrypts `plaintext`, bound to `context` (decrypting under another context fails).
    async fn seal(&self, plaintext: &[u8], context: &str) -> PortResult<Vec<u8>>;
    /// Decrypts what [`seal`](Self::seal) returned for the same `context`.
    async fn open(&self, sealed: &[u8], context: &str) -> PortResult<Vec<u8>>;
}

/// The outcome of one webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOutcome {
    /// The HTTP status, if a response came back.
    pub status: Option<u16>,
    /// Why there was no (successful) response.
    pub error: Option<String>,
}

/// Sends webhook requests. Adapters refuse internal addresses unless configured otherwise,
/// checking the address actually connected to (not just the name).
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// POSTs `body` (JSON) with `headers` to `url`.
    async fn post(
        &self,
        url: &HttpUrl,
        headers: &[(String, String)],
        body: &str,
    ) -> TransportOutcome;
}

/// The time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// Everything a message handler needs to identify work across redeliveries.
pub fn delivery_id(event: EventId, webhook: WebhookId) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(event.0.as_bytes())
        .chain_update(webhook.0.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A deterministic event id for something that happens once (a job's completion), so that
/// appending it again after a crash is a no-op.
pub fn derived_event_id(namespace: &str, id: uuid::Uuid) -> EventId {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::new().chain_update(namespace.as_bytes()).chain_update(id.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}
