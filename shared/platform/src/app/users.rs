//! Local users: made by those who manage members, signing in with an email and a password
//! (Argon2id) and, once enrolled, a TOTP code; their sessions; and the organization's
//! sign-in policy, which may require that second factor.
//!
//! Tokens: a session is `obs_` + 32 random bytes (base64url), a login challenge `obc_` + the
//! same; only their SHA-256 is stored. A session lasts [`SESSION_HOURS`]; a challenge
//! [`CHALLENGE_MINUTES`], and is good once. After [`MAX_FAILED_SIGN_INS`] failures in a row
//! (password or code), sign-ins are refused for [`LOCK_MINUTES`]. Ending every session of a
//! user (a password change, a second factor enrolled) bumps the user's session generation;
//! a session of another generation is refused. Every sign-in step is recorded in the audit
//! log as the user (`auth.login`, `auth.second_factor`), with the client's address.
//!
//! Password hashing and checking are CPU-bound (Argon2id, 19 MiB): they run on the CPU pool,
//! never on the async executor.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::access::{role_names, slug_of, target};
use super::{App, AuditCall, Caller, on_cpu_pool};
use crate::audit::AuditOutcome;
use crate::auth::password::{self, PasswordHash};
use crate::auth::totp::{self, TotpSecret};
use crate::auth::{Actor, Grant, Permission, Role, Scope};
use crate::ids::{Email, OrganizationId, UserId, random_token, text};
use crate::model::{Session, SessionKind, SignInPolicy, TotpFactor, User};
use crate::{Error, Result};

/// The start of every session token (what `Authorization: Bearer` tells apart from API keys).
pub const SESSION_TOKEN_PREFIX: &str = "obs_";
/// The start of every login challenge.
const CHALLENGE_TOKEN_PREFIX: &str = "obc_";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;
/// How long a login challenge waits for its code.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Failed sign-ins in a row before the account is locked.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long a locked account refuses sign-ins.
pub const LOCK_MINUTES: i64 = 15;
/// Optimistic updates of a user retried before giving up.
const UPDATE_ATTEMPTS: usize = 5;

/// `POST /v1/users`. No `Debug`: it holds a password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// One of the roles (`issuer`, `workspace_admin`, `auditor`, ...).
    pub role: String,
    /// The workspace (slug) the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
    /// The first password, which the user then changes (`POST /v1/me/password`).
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("role", &self.role).finish_non_exhaustive()
    }
}

/// A user as shown: never the password hash nor the second factor's secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// The workspace (slug) the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
    /// Whether a TOTP authenticator is enrolled.
    pub two_factor: bool,
    /// Recovery codes left (0 without a second factor).
    pub recovery_codes_left: usize,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// The answer to a sign-in step.
#[derive(Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignIn {
    /// Signed in: `token` is a session, sent as `Authorization: Bearer <token>`. When
    /// `two_factor_enrolment_required`, the organization requires a second factor this
    /// session has not given: it may only enrol one (`/v1/me/totp`) and sign out.
    SignedIn {
        token: String,
        expires_at: DateTime<Utc>,
        two_factor: bool,
        two_factor_enrolment_required: bool,
    },
    /// The password was right; send a code of the authenticator (or a recovery code) with
    /// this challenge to `POST /v1/auth/login/second-factor`.
    SecondFactorRequired { challenge: String, expires_at: DateTime<Utc> },
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignedIn { expires_at, .. } => write!(f, "SignedIn(until {expires_at})"),
            Self::SecondFactorRequired { expires_at, .. } => {
                write!(f, "SecondFactorRequired(until {expires_at})")
            }
        }
    }
}

/// A TOTP enrolment under way: what the authenticator app needs. Shown once.
#[derive(Clone, Serialize)]
pub struct TotpEnrolment {
    /// The secret in base32, for apps that cannot scan.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth://` URI as a QR code (SVG).
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(…)")
    }
}

/// A signed-in user's session, for the routes of their own account (`/v1/me`).
#[derive(Debug, Clone)]
pub struct UserSession {
    pub caller: Caller,
    pub user: User,
    pub session: Session,
    /// The organization requires a second factor this session has not given.
    pub second_factor_pending: bool,
}

impl App {
    /// Creates a user with a first password. The caller must manage users where the new
    /// user's role applies, and may not hand out more than it holds.
    pub async fn create_user(&self, caller: &Caller, input: NewUser) -> Result<UserView> {
        let email = Email::parse("email", &input.email)?;
        let name = text("name", &input.name, 200)?;
        let role = Role::parse(&input.role)
            .ok_or_else(|| Error::invalid("role", format!("must be one of {}", role_names())))?;
        let workspace = match &input.workspace {
            Some(slug) => Some(self.workspace(caller, slug, Permission::UsersManage).await?),
            None => {
                self.authorize_organization(caller, Permission::UsersManage)?;
                None
            }
        };
        if role.is_organization_role() && workspace.is_some() {
            return Err(Error::invalid(
                "workspace",
                format!("the role `{}` covers the whole organization", role.as_str()),
            ));
        }
        let scope = workspace.as_ref().map_or(Scope::Organization, |w| Scope::Workspace(w.id));
        let grant = Grant { scope, role };
        if !caller.may_grant(&grant) {
            return Err(Error::Forbidden(
                "a user cannot be given more than their creator holds".into(),
            ));
        }
        let password = hash_password(input.password).await?;
        let user = User {
            id: UserId::generate(),
            organization_id: caller.organization_id,
            email,
            name,
            grant,
            password,
            totp: None,
            pending_totp: None,
            failed_sign_ins: 0,
            locked_until: None,
            session_generation: 0,
            last_sign_in_at: None,
            created_at: self.now(),
            version: 1,
        };
        if !self.ports().users.insert_user(&user).await? {
            return Err(Error::Conflict("a user with this email exists".into()));
        }
        Ok(user_view(&user, workspace.map(|w| w.slug.to_string())))
    }

    /// The users the caller may manage: all of the organization's for an organization-wide
    /// manager, those of its workspaces for a workspace admin.
    pub async fn users(&self, caller: &Caller) -> Result<Vec<UserView>> {
        if !caller.grants.iter().any(|g| g.role.allows(Permission::UsersManage)) {
            return Err(Error::forbidden(Permission::UsersManage));
        }
        let slugs = self.workspace_slugs(caller).await?;
        let users = self.ports().users.users(caller.organization_id).await?;
        Ok(users
            .iter()
            .filter(|user| caller.may(Permission::UsersManage, target(&user.grant)))
            .map(|user| user_view(user, slug_of(&slugs, &user.grant)))
            .collect())
    }

    /// The organization's sign-in policy (`organization_read`).
    pub async fn sign_in_policy(&self, caller: &Caller) -> Result<SignInPolicy> {
        self.authorize_organization(caller, Permission::OrganizationRead)?;
        self.policy_of(caller.organization_id).await
    }

    /// Sets the organization's sign-in policy (`organization_manage`). Requiring a second
    /// factor applies at once: from their next request, sessions without one may only enrol.
    pub async fn set_sign_in_policy(
        &self,
        caller: &Caller,
        require_two_factor: bool,
    ) -> Result<SignInPolicy> {
        self.authorize_organization(caller, Permission::OrganizationManage)?;
        let policy = SignInPolicy { require_two_factor, updated_at: Some(self.now()) };
        self.ports().users.set_sign_in_policy(caller.organization_id, &policy).await?;
        Ok(policy)
    }

    /// The first sign-in step: email and password. `origin` (address, user agent, request id)
    /// goes to the audit log.
    pub async fn sign_in(&self, email: &str, password: &str, origin: AuditCall) -> Result<SignIn> {
        let wrong = || Error::Unauthorized("the email or the password is wrong".into());
        let user = match Email::parse("email", email) {
            Ok(email) => self.ports().users.user_by_email(&email).await?,
            Err(_) => None,
        };
        let password = password.to_owned();
        let Some(user) = user else {
            // As long as a wrong password, so that the time does not tell who has an account.
            on_cpu_pool(move || password::verify_against_nothing(&password)).await?;
            return Err(wrong());
        };
        let now = self.now();
        self.refuse_if_locked(&user, now, &origin, "auth.login").await?;
        let (typed, hash) = (password.clone(), user.password.clone());
        if !on_cpu_pool(move || password::verify_password(&typed, &hash)).await? {
            self.modify_user(user.id, |u| {
                count_failure(u, now);
                Ok(())
            })
            .await?;
            self.audit_user(&user, "auth.login", AuditOutcome::Failed, &origin).await;
            return Err(wrong());
        }
        // A hash of older costs is replaced now that the password is known.
        let rehashed = if password::needs_rehash(&user.password) {
            Some(hash_password(password).await?)
        } else {
            None
        };
        let needs_code = user.totp.is_some();
        let user = self
            .modify_user(user.id, |u| {
                u.failed_sign_ins = 0;
                u.locked_until = None;
                if let Some(hash) = &rehashed {
                    u.password = hash.clone();
                }
                if !needs_code {
                    u.last_sign_in_at = Some(now);
                }
                Ok(())
            })
            .await?;
        self.audit_user(&user, "auth.login", AuditOutcome::Success, &origin).await;
        if needs_code {
            let (challenge, session) = self.new_session(&user, SessionKind::Challenge, false)?;
            self.ports().users.insert_session(&session).await?;
            return Ok(SignIn::SecondFactorRequired { challenge, expires_at: session.expires_at });
        }
        self.signed_in(&user, false).await
    }

    /// The second sign-in step: a code of the enrolled authenticator, or one of the recovery
    /// codes (each good once), with the challenge of the first step.
    pub async fn sign_in_second_factor(
        &self,
        challenge: &str,
        code: &str,
        origin: AuditCall,
    ) -> Result<SignIn> {
        let unknown = || {
            Error::Unauthorized(
                "this sign-in challenge is unknown, used or expired: sign in again".into(),
            )
        };
        if !challenge.starts_with(CHALLENGE_TOKEN_PREFIX) {
            return Err(unknown());
        }
        let now = self.now();
        let id = token_digest(challenge);
        let session = self
            .ports()
            .users
            .session(&id)
            .await?
            .filter(|s| s.kind == SessionKind::Challenge && s.expires_at > now)
            .ok_or_else(unknown)?;
        let user = self
            .ports()
            .users
            .user(session.user_id)
            .await?
            .filter(|u| u.session_generation == session.generation)
            .ok_or_else(unknown)?;
        self.refuse_if_locked(&user, now, &origin, "auth.second_factor").await?;
        let Some(factor) = &user.totp else { return Err(unknown()) };
        let secret = self.open_totp_secret(user.id, &factor.sealed_secret).await?;
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let mut accepted = false;
        // Checked against the record being replaced, so that a code (or a recovery code)
        // used by a concurrent request is refused here.
        let user = self
            .modify_user(user.id, |u| {
                accepted = false;
                if let Some(factor) = u.totp.as_mut() {
                    if let Some(step) =
                        totp::verify(&secret, &digits, now, Some(factor.last_used_step))
                    {
                        factor.last_used_step = step;
                        accepted = true;
                    } else if let Some(used) = factor
                        .recovery_codes
                        .iter()
                        .position(|stored| totp::recovery_code_matches(code, stored))
                    {
                        factor.recovery_codes.remove(used);
                        accepted = true;
                    }
                }
                if accepted {
                    u.failed_sign_ins = 0;
                    u.locked_until = None;
                    u.last_sign_in_at = Some(now);
                } else {
                    count_failure(u, now);
                }
                Ok(())
            })
            .await?;
        if !accepted {
            self.audit_user(&user, "auth.second_factor", AuditOutcome::Failed, &origin).await;
            return Err(Error::Unauthorized("the code is wrong or was already used".into()));
        }
        // The challenge is good once.
        if !self.ports().users.delete_session(&id).await? {
            return Err(unknown());
        }
        self.audit_user(&user, "auth.second_factor", AuditOutcome::Success, &origin).await;
        self.signed_in(&user, true).await
    }

    /// The caller behind a session token; refused while the organization requires a second
    /// factor the session has not given ([`Error::SecondFactorRequired`]).
    pub(crate) async fn authenticate_session(&self, token: &str) -> Result<Caller> {
        let session = self.user_session(token).await?;
        if session.second_factor_pending {
            return Err(Error::SecondFactorRequired(Box::new(session.caller)));
        }
        Ok(session.caller)
    }

    /// The signed-in user behind a session token, also while a second factor is pending.
    pub async fn user_session(&self, token: &str) -> Result<UserSession> {
        if !token.starts_with(SESSION_TOKEN_PREFIX) {
            return Err(Error::Forbidden(
                "this route is for signed-in users: send a session token from POST /v1/auth/login, not an API key".into(),
            ));
        }
        let ended = || {
            Error::Unauthorized("this session is unknown, ended or expired: sign in again".into())
        };
        let now = self.now();
        let session = self
            .ports()
            .users
            .session(&token_digest(token))
            .await?
            .filter(|s| s.kind == SessionKind::SignedIn && s.expires_at > now)
            .ok_or_else(ended)?;
        let user = self
            .ports()
            .users
            .user(session.user_id)
            .await?
            .filter(|u| {
                u.session_generation == session.generation
                    && u.organization_id == session.organization_id
            })
            .ok_or_else(ended)?;
        let second_factor_pending =
            !session.two_factor && self.policy_of(user.organization_id).await?.require_two_factor;
        Ok(UserSession { caller: caller_of(&user), user, session, second_factor_pending })
    }

    /// Ends the session.
    pub async fn sign_out(&self, session: &UserSession) -> Result<()> {
        self.ports().users.delete_session(&session.session.id).await?;
        Ok(())
    }

    /// The signed-in user, as shown.
    pub async fn me(&self, session: &UserSession) -> Result<UserView> {
        let slugs = match session.user.grant.scope {
            Scope::Organization => Vec::new(),
            Scope::Workspace(_) => self.workspace_slugs(&session.caller).await?,
        };
        Ok(user_view(&session.user, slug_of(&slugs, &session.user.grant)))
    }

    /// Replaces the user's password after checking the current one; every session of the user
    /// ends, and a new one is returned for this caller.
    pub async fn change_password(
        &self,
        session: &UserSession,
        current: &str,
        new: &str,
    ) -> Result<SignIn> {
        password::check_policy(new).map_err(|e| rename_field(e.into(), "new_password"))?;
        let (typed, hash) = (current.to_owned(), session.user.password.clone());
        if !on_cpu_pool(move || password::verify_password(&typed, &hash)).await? {
            return Err(Error::invalid("current_password", "is not the current password"));
        }
        let hash = hash_password(new.to_owned()).await?;
        let user = self
            .modify_user(session.user.id, |u| {
                u.password = hash.clone();
                u.session_generation = u.session_generation.wrapping_add(1);
                Ok(())
            })
            .await?;
        self.ports().users.delete_session(&session.session.id).await?;
        self.signed_in(&user, session.session.two_factor).await
    }

    /// Starts enrolling a TOTP authenticator: a new secret, kept sealed until a first code
    /// confirms it ([`App::confirm_totp`]). Starting again replaces the secret.
    pub async fn begin_totp(&self, session: &UserSession) -> Result<TotpEnrolment> {
        let already = || Error::Conflict("a TOTP authenticator is already enrolled".into());
        if session.user.totp.is_some() {
            return Err(already());
        }
        let secret = TotpSecret::generate()?;
        let sealed =
            self.ports().vault.seal(secret.as_bytes(), &totp_context(session.user.id)).await?;
        let sealed = base64::engine::general_purpose::STANDARD.encode(sealed);
        self.modify_user(session.user.id, |u| {
            if u.totp.is_some() {
                return Err(already());
            }
            u.pending_totp = Some(sealed.clone());
            Ok(())
        })
        .await?;
        let organization =
            self.ports().organizations.organization(session.user.organization_id).await?;
        // Some apps split the label at a colon, whatever its encoding.
        let issuer = organization.map_or_else(|| "Badges".to_owned(), |o| o.name.replace(':', " "));
        let otpauth_uri = totp::otpauth_uri(&secret, &issuer, session.user.email.as_str());
        let qr_svg = totp::qr_svg(&otpauth_uri)?;
        Ok(TotpEnrolment { secret: secret.to_base32(), otpauth_uri, qr_svg })
    }

    /// Confirms the enrolment with a first code: the second factor is on, recovery codes are
    /// made (returned once), every other session of the user ends, and this caller gets a new
    /// session that counts as having given the second factor.
    pub async fn confirm_totp(
        &self,
        session: &UserSession,
        code: &str,
    ) -> Result<(Vec<String>, SignIn)> {
        let Some(sealed) = session.user.pending_totp.clone() else {
            return Err(Error::Conflict("no enrolment under way: POST /v1/me/totp first".into()));
        };
        let secret = self.open_totp_secret(session.user.id, &sealed).await?;
        let now = self.now();
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let step = totp::verify(&secret, &digits, now, None)
            .ok_or_else(|| Error::invalid("code", "is not the authenticator's current code"))?;
        let codes = totp::recovery_codes()?;
        let user = self
            .modify_user(session.user.id, |u| {
                if u.pending_totp.as_deref() != Some(sealed.as_str()) {
                    return Err(Error::Conflict("the enrolment changed: start again".into()));
                }
                u.totp = Some(TotpFactor {
                    sealed_secret: sealed.clone(),
                    last_used_step: step,
                    recovery_codes: codes.to_store.clone(),
                    enabled_at: now,
                });
                u.pending_totp = None;
                u.session_generation = u.session_generation.wrapping_add(1);
                Ok(())
            })
            .await?;
        self.ports().users.delete_session(&session.session.id).await?;
        let signed_in = self.signed_in(&user, true).await?;
        Ok((codes.to_show, signed_in))
    }

    /// The organization's policy, the default when never set.
    async fn policy_of(&self, organization: OrganizationId) -> Result<SignInPolicy> {
        Ok(self.ports().users.sign_in_policy(organization).await?.unwrap_or_default())
    }

    /// A new session of `user`, stored, as a sign-in answer.
    async fn signed_in(&self, user: &User, two_factor: bool) -> Result<SignIn> {
        let required =
            !two_factor && self.policy_of(user.organization_id).await?.require_two_factor;
        let (token, session) = self.new_session(user, SessionKind::SignedIn, two_factor)?;
        self.ports().users.insert_session(&session).await?;
        Ok(SignIn::SignedIn {
            token,
            expires_at: session.expires_at,
            two_factor,
            two_factor_enrolment_required: required,
        })
    }

    /// A new token and its session record (not stored yet).
    fn new_session(
        &self,
        user: &User,
        kind: SessionKind,
        two_factor: bool,
    ) -> Result<(String, Session)> {
        let (prefix, lifetime) = match kind {
            SessionKind::Challenge => {
                (CHALLENGE_TOKEN_PREFIX, Duration::minutes(CHALLENGE_MINUTES))
            }
            SessionKind::SignedIn => (SESSION_TOKEN_PREFIX, Duration::hours(SESSION_HOURS)),
        };
        let token = format!("{prefix}{}", random_token(32)?);
        let now = self.now();
        let session = Session {
            id: token_digest(&token),
            user_id: user.id,
            organization_id: user.organization_id,
            kind,
            two_factor,
            generation: user.session_generation,
            created_at: now,
            expires_at: now + lifetime,
        };
        Ok((token, session))
    }

    /// Reads the user, applies `change`, and writes it back if nobody wrote in between (else
    /// again, from the new version). An error of `change` is returned as it is.
    async fn modify_user(
        &self,
        id: UserId,
        mut change: impl FnMut(&mut User) -> Result<()>,
    ) -> Result<User> {
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(current) = self.ports().users.user(id).await? else {
                return Err(Error::NotFound("user"));
            };
            let mut changed = current.clone();
            change(&mut changed)?;
            changed.version = current.version + 1;
            if self.ports().users.update_user(&changed, current.version).await? {
                return Ok(changed);
            }
        }
        Err(Error::Conflict("the account was changed concurrently: try again".into()))
    }

    /// Refuses a locked account (and records the refusal).
    async fn refuse_if_locked(
        &self,
        user: &User,
        now: DateTime<Utc>,
        origin: &AuditCall,
        action: &str,
    ) -> Result<()> {
        match user.locked_until {
            Some(until) if until > now => {
                self.audit_user(user, action, AuditOutcome::Denied, origin).await;
                Err(Error::TooManyAttempts(format!(
                    "too many failed sign-ins: this account is locked until {}",
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )))
            }
            _ => Ok(()),
        }
    }

    /// Records a sign-in step in the user's organization's audit log; a failure to record is
    /// logged (the step has happened).
    async fn audit_user(
        &self,
        user: &User,
        action: &str,
        outcome: AuditOutcome,
        origin: &AuditCall,
    ) {
        let call = AuditCall {
            action: action.to_owned(),
            workspace: None,
            target: Some(user.id.to_string()),
            outcome: Some(outcome),
            ..origin.clone()
        };
        if let Err(error) = self.record_call(&caller_of(user), call).await {
            tracing::error!(error = %error, "a sign-in could not be recorded in the audit log");
        }
    }

    async fn open_totp_secret(&self, user: UserId, sealed: &str) -> Result<TotpSecret> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| anyhow::anyhow!("a stored TOTP secret is not base64: {e}"))?;
        let bytes = self.ports().vault.open(&sealed, &totp_context(user)).await?;
        let bytes: [u8; totp::SECRET_BYTES] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("a stored TOTP secret has the wrong length"))?;
        Ok(TotpSecret::from_bytes(bytes))
    }
}

/// One more failure; the last one allowed locks the account.
fn count_failure(user: &mut User, now: DateTime<Utc>) {
    user.failed_sign_ins += 1;
    if user.failed_sign_ins >= MAX_FAILED_SIGN_INS {
        user.failed_sign_ins = 0;
        user.locked_until = Some(now + Duration::minutes(LOCK_MINUTES));
    }
}

/// Hashes a new password (after the policy check) on the CPU pool.
async fn hash_password(password: String) -> Result<PasswordHash> {
    Ok(on_cpu_pool(move || password::hash_password(&password)).await??)
}

/// A validation error about `password` as one about `field`.
fn rename_field(error: Error, field: &str) -> Error {
    match error {
        Error::Validation { reason, .. } => Error::invalid(field, reason),
        other => other,
    }
}

/// The caller a user acts as.
fn caller_of(user: &User) -> Caller {
    Caller {
        organization_id: user.organization_id,
        actor: Actor::User(user.id),
        grants: vec![user.grant],
    }
}

/// The stored id of a token: hex SHA-256 (the token has 256 random bits).
fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The vault context of a user's TOTP secret.
fn totp_context(user: UserId) -> String {
    format!("totp:{user}")
}

fn user_view(user: &User, workspace: Option<String>) -> UserView {
    UserView {
        id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.grant.role,
        workspace,
        two_factor: user.totp.is_some(),
        recovery_codes_left: user.totp.as_ref().map_or(0, |t| t.recovery_codes.len()),
        locked_until: user.locked_until,
        created_at: user.created_at,
        last_sign_in_at: user.last_sign_in_at,
    }
}
