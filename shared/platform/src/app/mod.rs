//! The use cases. [`App`] is a cheap handle (clone it freely) over the ports and settings;
//! each use case is one method, grouped by concern in the submodules.

mod access;
mod audit_log;
mod bulk;
mod credentials_api;
mod drafts;
mod events;
mod governance;
mod inbound;
mod personal_data;
mod public;
mod sso;
mod status;
mod templates;
mod users;
mod workspaces;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use access::{ApiKeyView, NewApiKey};
pub use audit_log::{AuditCall, AuditFilter, AuditProblem, AuditVerification};
pub use bulk::{BulkReport, parse_bulk_csv, parse_bulk_json};
pub use credentials_api::{EvidenceInput, IssueRequest, Issued, RecipientInput};
pub use drafts::{BulkSubmission, DraftInput, DraftPayload, Issuance, WorkspacePatch};
pub use events::HandleOutcome;
pub use governance::{Member, OrganizationSummary, Totals, WorkspaceSummary};
pub use inbound::ISSUE_REQUESTED;
pub use personal_data::{Erasure, HeldCredential, RecipientExport};
pub use public::{PublicCredential, Verification};
pub use sso::{MappingInput, MappingView, SsoInput, SsoView};
pub use templates::{AlignmentInput, TemplateInput, TemplatePatch};
pub use users::{NewUser, SESSION_TOKEN_PREFIX, SignIn, TotpEnrolment, UserSession, UserView};
pub use workspaces::{IssuerInput, NewWorkspace};

use crate::auth::{Actor, Grant, Role, Scope};
use crate::ids::{ApiKeyId, OrganizationId, random_token};
use crate::model::{ApiKeyRecord, Organization};
use crate::ports::{
    AuditStore, BulkStore, Clock, CredentialStore, DraftStore, KeyStore, OrganizationStore, Outbox,
    Queue, RecipientKeyStore, SsoStore, StatusListStore, TemplateStore, UserStore, Vault,
    WebhookStore, WebhookTransport, WorkspaceStore,
};
use crate::{Error, Result};

/// Runs CPU-bound `work` (a batch of signatures) on rayon's pool of one thread per core and
/// waits for it without blocking the caller's async executor. A panic in `work` is an error
/// here, not the end of the process.
pub(crate) async fn on_cpu_pool<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = futures_channel::oneshot::channel();
    rayon::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        // The receiver is gone only if the caller was cancelled; nobody needs the result then.
        let _ = sender.send(result);
    });
    match receiver.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(anyhow::anyhow!("a batch on the CPU pool panicked").into()),
        Err(_) => Err(anyhow::anyhow!("the CPU pool dropped a batch").into()),
    }
}

/// The adapters the use cases run on.
#[derive(Clone)]
pub struct Ports {
    pub organizations: Arc<dyn OrganizationStore>,
    pub workspaces: Arc<dyn WorkspaceStore>,
    pub templates: Arc<dyn TemplateStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub status_lists: Arc<dyn StatusListStore>,
    pub bulk: Arc<dyn BulkStore>,
    pub drafts: Arc<dyn DraftStore>,
    pub audit: Arc<dyn AuditStore>,
    pub recipients: Arc<dyn RecipientKeyStore>,
    pub users: Arc<dyn UserStore>,
    pub outbox: Arc<dyn Outbox>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn Queue>,
    pub keys: Arc<dyn KeyStore>,
    pub vault: Arc<dyn Vault>,
    pub transport: Arc<dyn WebhookTransport>,
    pub clock: Arc<dyn Clock>,
    pub sso: Arc<dyn SsoStore>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// Settings read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL (no trailing slash): credential ids, `did:web` ids and links.
    pub public_url: url::Url,
    /// The first retry delay of a failed webhook delivery; it doubles with each attempt.
    pub webhook_backoff: Duration,
    /// Attempts before a delivery is given up (and the message dead-lettered).
    pub webhook_max_attempts: u32,
    /// Whether webhooks may target loopback, private and link-local addresses (tests, labs).
    pub allow_internal_webhooks: bool,
    /// Requests a minute allowed per client address (public routes) and per API key.
    pub rate_limits: RateLimits,
}

/// Requests allowed per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address, on the public routes (page, downloads, `POST /verify`, ...).
    pub public_per_minute: u32,
    /// Per API key, on the authenticated routes.
    pub api_key_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { public_per_minute: 600, api_key_per_minute: 1200 }
    }
}

impl Settings {
    /// Defaults for `public_url`.
    pub fn new(public_url: url::Url) -> Self {
        Self {
            public_url,
            webhook_backoff: Duration::from_secs(5),
            webhook_max_attempts: 8,
            allow_internal_webhooks: false,
            rate_limits: RateLimits::default(),
        }
    }

    /// `public_url` without a trailing slash.
    pub fn base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// The `did:web` host part: the host, with `%3A` and the port when there is one.
    pub fn did_host(&self) -> String {
        let host = self.public_url.host_str().unwrap_or("localhost");
        match self.public_url.port() {
            Some(port) => format!("{host}%3A{port}"),
            None => host.to_owned(),
        }
    }
}

/// Who is calling: an authenticated principal of one organization, with its grants.
pub type Caller = crate::auth::Principal;

/// The application.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    ports: Ports,
    settings: Settings,
    /// Status lists known to be published, so issuance does not read the signed list back
    /// every time (lists are never unpublished).
    published_lists: std::sync::Mutex<std::collections::HashSet<crate::model::StatusListId>>,
    /// Each organization's recipient keys, opened once ([`crate::personal`]).
    organization_keys: std::sync::Mutex<
        std::collections::HashMap<OrganizationId, Arc<crate::personal::OrganizationKeys>>,
    >,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

/// How many leading characters of an API key (`obk_` + 32 random bytes, base64url) name it:
/// its stored, shown and looked-up prefix.
pub const KEY_PREFIX_LEN: usize = 12;

impl App {
    /// The application over `ports`.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                ports,
                settings,
                published_lists: Default::default(),
                organization_keys: Default::default(),
            }),
        }
    }

    pub(crate) fn ports(&self) -> &Ports {
        &self.inner.ports
    }

    /// Whether `list` is known to be published (by this process).
    pub(crate) fn is_known_published(&self, list: &crate::model::StatusListId) -> bool {
        self.inner.published_lists.lock().is_ok_and(|known| known.contains(list))
    }

    pub(crate) fn remember_published(&self, list: crate::model::StatusListId) {
        if let Ok(mut known) = self.inner.published_lists.lock() {
            known.insert(list);
        }
    }

    /// Now, by the application's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports().clock.now()
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// On an empty store, creates the first organization with an owner API key: `token` when
    /// given, a new random one otherwise. Returns the key if one was generated; `Ok(None)` when
    /// the store already had an organization or the given token was used.
    pub async fn bootstrap(&self, token: Option<&str>) -> Result<Option<String>> {
        let generated = token.is_none();
        let key = match token {
            Some(token) => {
                if token.len() < 24 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(Error::invalid(
                        "BADGES_BOOTSTRAP_TOKEN",
                        "must be at least 24 visible ASCII characters",
                    ));
                }
                token.to_owned()
            }
            None => format!("obk_{}", random_token(32)?),
        };
        let now = self.ports().clock.now();
        let organization = Organization {
            id: OrganizationId::generate(),
            name: "Default organization".into(),
            created_at: now,
        };
        let record = owner_key(&key, organization.id, "bootstrap owner key", now);
        let created = self.ports().organizations.bootstrap(&organization, &record).await?;
        Ok((created && generated).then_some(key))
    }

    /// Creates another organization with an owner API key, and returns both (the key is
    /// shown this once). For the operator of the deployment, not an API route.
    pub async fn create_organization(&self, name: &str) -> Result<(Organization, String)> {
        let name = crate::ids::text("name", name, 200)?;
        let key = format!("obk_{}", random_token(32)?);
        let now = self.ports().clock.now();
        let organization = Organization { id: OrganizationId::generate(), name, created_at: now };
        let record = owner_key(&key, organization.id, "owner key", now);
        self.ports().organizations.insert_organization(&organization, &record).await?;
        Ok((organization, key))
    }

    /// The caller behind a bearer API key.
    pub async fn authenticate(&self, key: &str) -> Result<Caller> {
        if key.starts_with(SESSION_TOKEN_PREFIX) {
            return self.authenticate_session(key).await;
        }
        let unauthorized = || Error::Unauthorized("invalid API key".into());
        if key.len() < KEY_PREFIX_LEN {
            return Err(unauthorized());
        }
        let record = self
            .ports()
            .organizations
            .api_key_by_prefix(&key_prefix(key))
            .await?
            .ok_or_else(unauthorized)?;
        // Compare digests, not keys: the comparison time says nothing about the key.
        if record.hash.as_bytes() != hash_key(key).as_bytes() {
            return Err(unauthorized());
        }
        let now = self.ports().clock.now();
        if record.revoked_at.is_some() {
            return Err(Error::Unauthorized("this API key was revoked".into()));
        }
        if record.expires_at.is_some_and(|expires| expires <= now) {
            return Err(Error::Unauthorized("this API key has expired".into()));
        }
        // Last use is kept to the minute, so a busy key does not write on every request.
        if record.last_used_at.is_none_or(|last| now - last >= chrono::Duration::minutes(1)) {
            self.ports().organizations.touch_api_key(&record.prefix, now).await?;
        }
        Ok(Caller {
            organization_id: record.organization_id,
            actor: Actor::ApiKey(record.id),
            grants: vec![record.grant],
        })
    }

    /// Whether the store answers.
    pub async fn health(&self) -> Result<()> {
        self.ports().organizations.organization(OrganizationId(uuid::Uuid::nil())).await?;
        Ok(())
    }
}

/// The stored record of a new API key: never the key, only its prefix and digest.
fn key_record(
    key: &str,
    organization: OrganizationId,
    name: &str,
    grant: Grant,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyId::generate(),
        organization_id: organization,
        prefix: key_prefix(key),
        hash: hash_key(key),
        created_at: now,
        name: name.to_owned(),
        grant,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    }
}

fn owner_key(
    key: &str,
    organization: OrganizationId,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiKeyRecord {
    let grant = Grant { scope: Scope::Organization, role: Role::OrganizationOwner };
    key_record(key, organization, name, grant, None, now)
}

fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX_LEN).collect()
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Hex SHA-256 of a request body, for idempotency checks.
pub fn request_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}
