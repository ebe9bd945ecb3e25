//! `OrganizationStore`: bootstrap once, keys by prefix.

use platform::ids::OrganizationId;

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
