//! `UserStore`: users with deployment-wide unique emails and versioned updates, sessions
//! deleted exactly once, sign-in policies per organization.

use chrono::{DateTime, Duration, Utc};
use platform::auth::password::PasswordHash;
use platform::auth::{Grant, Role, Scope};
use platform::ids::{OrganizationId, UserId, WorkspaceId};
use platform::model::{Session, SessionKind, SignInPolicy, TotpFactor, User};

use crate::AdapterSet;
use crate::fixtures::email;

fn user(organization: OrganizationId, address: &str, now: DateTime<Utc>) -> User {
    User {
        id: UserId::generate(),
        organization_id: organization,
        email: email(address),
        name: "Grace Hopper".into(),
        grant: Grant { scope: Scope::Workspace(WorkspaceId::generate()), role: Role::Issuer },
        password: PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        totp: None,
        pending_totp: None,
        failed_sign_ins: 0,
        locked_until: None,
        session_generation: 0,
        last_sign_in_at: None,
        created_at: now,
        version: 1,
    }
}

fn session(user: &User, now: DateTime<Utc>) -> Session {
    Session {
        id: format!("{:064x}", uuid::Uuid::new_v4().as_u128()),
        user_id: user.id,
        organization_id: user.organization_id,
        kind: SessionKind::SignedIn,
        two_factor: false,
        generation: user.session_generation,
        created_at: now,
        expires_at: now + Duration::hours(12),
    }
}

pub async fn a_user_is_found_by_id_and_by_email_and_an_email_is_taken_once(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.users;
    let grace = user(OrganizationId::generate(), "grace@example.com", t.clock.now());
    assert!(store.insert_user(&grace).await?);
    assert_eq!(store.user(grace.id).await?, Some(grace.clone()));
    assert_eq!(store.user_by_email(&email("grace@example.com")).await?, Some(grace.clone()));
    assert_eq!(store.user_by_email(&email("ada@example.com")).await?, None);
    assert_eq!(store.user(UserId::generate()).await?, None);
    // The same email in another organization is refused, and nothing is written.
    let twin = user(OrganizationId::generate(), "grace@example.com", t.clock.now());
    assert!(!store.insert_user(&twin).await?);
    assert_eq!(store.user(twin.id).await?, None);
    assert!(store.users(twin.organization_id).await?.is_empty());
    assert_eq!(store.user_by_email(&email("grace@example.com")).await?, Some(grace));
    Ok(())
}

pub async fn users_are_listed_oldest_first_per_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.users;
    let org = OrganizationId::generate();
    let now = t.clock.now();
    let second = user(org, "second@example.com", now + Duration::seconds(1));
    let first = user(org, "first@example.com", now);
    let other = user(OrganizationId::generate(), "other@example.com", now);
    for u in [&second, &first, &other] {
        assert!(store.insert_user(u).await?);
    }
    assert_eq!(store.users(org).await?, vec![first, second]);
    assert_eq!(store.users(other.organization_id).await?, vec![other]);
    Ok(())
}

pub async fn an_update_with_the_current_version_replaces_the_user_and_a_stale_one_does_not(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.users;
    let grace = user(OrganizationId::generate(), "grace@example.com", t.clock.now());
    store.insert_user(&grace).await?;
    let enrolled = User {
        totp: Some(TotpFactor {
            sealed_secret: "c2VhbGVk".into(),
            last_used_step: 42,
            recovery_codes: vec!["ab".repeat(32)],
            enabled_at: t.clock.now(),
        }),
        session_generation: 1,
        version: 2,
        ..grace.clone()
    };
    assert!(store.update_user(&enrolled, 1).await?);
    assert_eq!(store.user(grace.id).await?, Some(enrolled.clone()));
    // A writer that read version 1 loses.
    let stale = User { failed_sign_ins: 3, version: 2, ..grace.clone() };
    assert!(!store.update_user(&stale, 1).await?);
    assert_eq!(store.user(grace.id).await?, Some(enrolled.clone()));
    assert_eq!(store.user_by_email(&grace.email).await?, Some(enrolled));
    // An unknown user is not created by an update.
    let unknown = user(grace.organization_id, "nobody@example.com", t.clock.now());
    assert!(!store.update_user(&unknown, 1).await?);
    assert_eq!(store.user(unknown.id).await?, None);
    Ok(())
}

pub async fn a_session_is_found_until_deleted_and_deleted_once(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.users;
    let grace = user(OrganizationId::generate(), "grace@example.com", t.clock.now());
    let first = session(&grace, t.clock.now());
    let challenge = Session { kind: SessionKind::Challenge, ..session(&grace, t.clock.now()) };
    store.insert_session(&first).await?;
    store.insert_session(&challenge).await?;
    assert_eq!(store.session(&first.id).await?, Some(first.clone()));
    assert_eq!(store.session(&challenge.id).await?, Some(challenge.clone()));
    assert_eq!(store.session(&"0".repeat(64)).await?, None);
    // Deleted by exactly one of two concurrent calls.
    let (a, b) =
        tokio::join!(store.delete_session(&challenge.id), store.delete_session(&challenge.id));
    assert!(a? ^ b?, "exactly one delete wins");
    assert_eq!(store.session(&challenge.id).await?, None);
    assert!(!store.delete_session(&challenge.id).await?);
    assert_eq!(store.session(&first.id).await?, Some(first));
    Ok(())
}

pub async fn a_sign_in_policy_is_none_until_set_and_each_organization_has_its_own(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.users;
    let (org, other) = (OrganizationId::generate(), OrganizationId::generate());
    assert_eq!(store.sign_in_policy(org).await?, None);
    let strict = SignInPolicy { require_two_factor: true, updated_at: Some(t.clock.now()) };
    store.set_sign_in_policy(org, &strict).await?;
    assert_eq!(store.sign_in_policy(org).await?, Some(strict));
    assert_eq!(store.sign_in_policy(other).await?, None);
    let relaxed = SignInPolicy {
        require_two_factor: false,
        updated_at: Some(t.clock.now() + Duration::minutes(1)),
    };
    store.set_sign_in_policy(org, &relaxed).await?;
    assert_eq!(store.sign_in_policy(org).await?, Some(relaxed));
    Ok(())
}
