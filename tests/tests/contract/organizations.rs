//! `OrganizationStore`: bootstrap once, keys by prefix.

use chrono::Duration;
use platform::auth::{Grant, Role, Scope};
use platform::ids::{ApiKeyId, OrganizationId, WorkspaceId};
use platform::model::ApiKeyRecord;

use crate::AdapterSet;
use crate::fixtures::{api_key, organization};

pub async fn bootstrap_creates_the_first_organization_and_its_owner_key(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let org = organization(t.clock.now());
    let key = api_key(org.id, "obk_abcdefgh", t.clock.now());
    assert!(store.bootstrap(&org, &key).await?);
    assert_eq!(store.organization(org.id).await?, Some(org));
    assert_eq!(store.api_key_by_prefix("obk_abcdefgh").await?, Some(key));
    Ok(())
}

pub async fn bootstrap_happens_only_once_and_a_second_attempt_writes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let first = organization(t.clock.now());
    assert!(store.bootstrap(&first, &api_key(first.id, "obk_first000", t.clock.now())).await?);

    let second = organization(t.clock.now());
    assert!(!store.bootstrap(&second, &api_key(second.id, "obk_second00", t.clock.now())).await?);
    assert_eq!(store.organization(second.id).await?, None);
    assert_eq!(store.api_key_by_prefix("obk_second00").await?, None);
    assert_eq!(store.organization(first.id).await?, Some(first));
    Ok(())
}

pub async fn api_keys_are_found_by_their_exact_prefix_only(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let org = organization(t.clock.now());
    store.bootstrap(&org, &api_key(org.id, "obk_abcdefgh", t.clock.now())).await?;
    for other in ["obk_abcdefg", "obk_abcdefghi", "OBK_ABCDEFGH", "obk_abcdefgX", ""] {
        assert_eq!(store.api_key_by_prefix(other).await?, None, "{other}");
    }
    Ok(())
}

pub async fn an_unknown_organization_is_none(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    assert_eq!(t.ports.organizations.organization(OrganizationId::generate()).await?, None);
    assert_eq!(t.ports.organizations.organization(OrganizationId(uuid::Uuid::nil())).await?, None);
    Ok(())
}

pub async fn api_keys_are_inserted_once_per_prefix_and_listed_per_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let org = organization(t.clock.now());
    let owner = api_key(org.id, "obk_owner000", t.clock.now());
    store.bootstrap(&org, &owner).await?;
    let issuer = ApiKeyRecord {
        name: "LMS integration".into(),
        grant: Grant { scope: Scope::Workspace(WorkspaceId::generate()), role: Role::Issuer },
        expires_at: Some(t.clock.now() + Duration::days(90)),
        created_at: t.clock.now() + Duration::seconds(1),
        ..api_key(org.id, "obk_issuer00", t.clock.now())
    };
    assert!(store.insert_api_key(&issuer).await?);
    let taken = ApiKeyRecord { id: ApiKeyId::generate(), ..issuer.clone() };
    assert!(!store.insert_api_key(&taken).await?, "a taken prefix is refused");

    assert_eq!(store.api_key_by_prefix("obk_issuer00").await?, Some(issuer.clone()));
    assert_eq!(store.api_keys(org.id).await?, vec![owner, issuer]);
    assert!(store.api_keys(OrganizationId::generate()).await?.is_empty());
    Ok(())
}

pub async fn a_key_is_revoked_once_and_only_in_its_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let org = organization(t.clock.now());
    store.bootstrap(&org, &api_key(org.id, "obk_owner000", t.clock.now())).await?;
    let key = api_key(org.id, "obk_revoke00", t.clock.now());
    assert!(store.insert_api_key(&key).await?);
    let now = t.clock.now();
    assert!(!store.revoke_api_key(OrganizationId::generate(), key.id, now).await?);
    assert!(!store.revoke_api_key(org.id, ApiKeyId::generate(), now).await?);
    assert_eq!(store.api_key_by_prefix("obk_revoke00").await?.unwrap().revoked_at, None);
    assert!(store.revoke_api_key(org.id, key.id, now).await?);
    assert!(!store.revoke_api_key(org.id, key.id, now + Duration::seconds(1)).await?);
    let stored = store.api_key_by_prefix("obk_revoke00").await?.unwrap();
    assert_eq!(stored.revoked_at, Some(now));
    let listed = store.api_keys(org.id).await?;
    assert_eq!(listed.iter().find(|k| k.id == key.id).unwrap().revoked_at, Some(now));
    Ok(())
}

pub async fn the_last_use_of_a_key_only_moves_forward(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let org = organization(t.clock.now());
    store.bootstrap(&org, &api_key(org.id, "obk_owner000", t.clock.now())).await?;
    let key = api_key(org.id, "obk_touch000", t.clock.now());
    assert!(store.insert_api_key(&key).await?);
    let later = t.clock.now() + Duration::minutes(5);
    store.touch_api_key("obk_touch000", later).await?;
    store.touch_api_key("obk_touch000", later - Duration::minutes(2)).await?;
    store.touch_api_key("obk_unknown0", later).await?;
    assert_eq!(store.api_key_by_prefix("obk_touch000").await?.unwrap().last_used_at, Some(later));
    // Revoking keeps the last use.
    store.revoke_api_key(org.id, key.id, later).await?;
    let stored = store.api_key_by_prefix("obk_touch000").await?.unwrap();
    assert_eq!((stored.last_used_at, stored.revoked_at), (Some(later), Some(later)));
    Ok(())
}

pub async fn another_organization_is_created_with_its_owner_key_after_bootstrap(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.organizations;
    let first = organization(t.clock.now());
    assert!(store.bootstrap(&first, &api_key(first.id, "obk_first000", t.clock.now())).await?);
    let second = organization(t.clock.now());
    let key = api_key(second.id, "obk_second00", t.clock.now());
    store.insert_organization(&second, &key).await?;
    assert_eq!(store.organization(second.id).await?, Some(second.clone()));
    assert_eq!(store.api_keys(second.id).await?, vec![key]);
    // Neither a taken id nor a taken prefix is written.
    let again = api_key(second.id, "obk_second01", t.clock.now());
    assert!(store.insert_organization(&second, &again).await.is_err());
    let third = organization(t.clock.now());
    let clash = api_key(third.id, "obk_first000", t.clock.now());
    assert!(store.insert_organization(&third, &clash).await.is_err());
    assert_eq!(store.organization(third.id).await?, None);
    assert_eq!(store.api_keys(second.id).await?.len(), 1);
    Ok(())
}
