//! `SsoStore`: one OpenID Connect provider per organization, found by exact issuer, with
//! (issuer, audience) unique across organizations.

use std::sync::Arc;

use platform::auth::oidc::{JwkSet, JwksLocation, OidcConfig};
use platform::auth::{Grant, Role, Scope};
use platform::ids::{OrganizationId, WorkspaceId};
use platform::model::{ClaimMapping, OidcProvider};

use crate::AdapterSet;

fn provider(
    organization: OrganizationId,
    issuer: &str,
    audience: &str,
    t: &crate::TestPorts,
) -> OidcProvider {
    OidcProvider {
        organization_id: organization,
        config: OidcConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks: JwksLocation::Url(format!("{issuer}/keys")),
            role_claim: "groups".into(),
            leeway_seconds: 60,
        },
        mappings: vec![
            ClaimMapping {
                value: "badge-issuers".into(),
                grant: Grant {
                    scope: Scope::Workspace(WorkspaceId::generate()),
                    role: Role::Issuer,
                },
            },
            ClaimMapping {
                value: "auditors".into(),
                grant: Grant { scope: Scope::Organization, role: Role::Auditor },
            },
        ],
        updated_at: t.clock.now(),
    }
}

fn organizations(n: usize) -> Vec<OrganizationId> {
    let mut ids: Vec<_> = (0..n).map(|_| OrganizationId::generate()).collect();
    ids.sort();
    ids
}

pub async fn a_provider_is_put_read_and_replaced_per_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.sso;
    let [a, b] = organizations(2)[..] else { unreachable!() };
    assert_eq!(store.oidc_provider(a).await?, None);
    let first = provider(a, "https://idp.example.com", "badges", &t);
    assert!(store.put_oidc_provider(&first).await?);
    assert_eq!(store.oidc_provider(a).await?, Some(first.clone()));
    assert_eq!(store.oidc_provider(b).await?, None, "another organization has none");

    // Replaced whole: a static key set, other mappings, the same issuer and audience.
    let mut second = provider(a, "https://idp.example.com", "badges", &t);
    second.config.jwks = JwksLocation::Static(JwkSet { keys: vec![] });
    second.mappings.truncate(1);
    assert!(store.put_oidc_provider(&second).await?);
    assert_eq!(store.oidc_provider(a).await?, Some(second.clone()));
    assert_eq!(store.oidc_providers_by_issuer("https://idp.example.com").await?, vec![second]);
    Ok(())
}

pub async fn providers_are_found_by_their_exact_issuer_across_organizations(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.sso;
    let ids = organizations(3);
    let google = "https://accounts.google.com";
    // Two organizations share an issuer, each with its own audience; a third has another.
    let second = provider(ids[1], google, "client-b.apps.googleusercontent.com", &t);
    let first = provider(ids[0], google, "client-a.apps.googleusercontent.com", &t);
    let other = provider(ids[2], "https://login.example.com/tenant/v2.0", "badges", &t);
    for p in [&second, &other, &first] {
        assert!(store.put_oidc_provider(p).await?);
    }
    assert_eq!(store.oidc_providers_by_issuer(google).await?, vec![first, second]);
    assert_eq!(
        store.oidc_providers_by_issuer("https://login.example.com/tenant/v2.0").await?,
        vec![other]
    );
    for near in [
        "https://accounts.google.com/",
        "accounts.google.com",
        "https://ACCOUNTS.google.com",
        "https://accounts.google.co",
        "",
    ] {
        assert!(store.oidc_providers_by_issuer(near).await?.is_empty(), "{near}");
    }
    Ok(())
}

pub async fn an_issuer_and_audience_pair_belongs_to_one_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.sso;
    let [a, b] = organizations(2)[..] else { unreachable!() };
    let mine = provider(a, "https://idp.example.com", "badges", &t);
    assert!(store.put_oidc_provider(&mine).await?);
    // Another organization cannot take the pair, and nothing of its attempt is written.
    let theirs = provider(b, "https://idp.example.com", "badges", &t);
    assert!(!store.put_oidc_provider(&theirs).await?);
    assert_eq!(store.oidc_provider(b).await?, None);
    assert_eq!(
        store.oidc_providers_by_issuer("https://idp.example.com").await?,
        vec![mine.clone()]
    );
    // With its own audience it can.
    let own = provider(b, "https://idp.example.com", "badges-b", &t);
    assert!(store.put_oidc_provider(&own).await?);
    assert_eq!(store.oidc_providers_by_issuer("https://idp.example.com").await?.len(), 2);
    // The holder keeps its pair when it replaces its provider.
    assert!(store.put_oidc_provider(&mine).await?);
    Ok(())
}

pub async fn a_replaced_provider_is_not_found_under_its_old_issuer_and_frees_its_pair(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.sso;
    let [a, b] = organizations(2)[..] else { unreachable!() };
    assert!(store.put_oidc_provider(&provider(a, "https://old.example.com", "badges", &t)).await?);
    let moved = provider(a, "https://new.example.com", "badges", &t);
    assert!(store.put_oidc_provider(&moved).await?);
    assert!(store.oidc_providers_by_issuer("https://old.example.com").await?.is_empty());
    assert_eq!(store.oidc_providers_by_issuer("https://new.example.com").await?, vec![moved]);
    // The old pair is free again.
    assert!(store.put_oidc_provider(&provider(b, "https://old.example.com", "badges", &t)).await?);
    Ok(())
}

pub async fn a_provider_is_deleted_once_and_its_pair_freed(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.sso;
    let [a, b] = organizations(2)[..] else { unreachable!() };
    assert!(!store.delete_oidc_provider(a).await?, "nothing to delete");
    assert!(store.put_oidc_provider(&provider(a, "https://idp.example.com", "badges", &t)).await?);
    assert!(store.put_oidc_provider(&provider(b, "https://idp.example.com", "other", &t)).await?);
    assert!(store.delete_oidc_provider(a).await?);
    assert!(!store.delete_oidc_provider(a).await?, "deleted once");
    assert_eq!(store.oidc_provider(a).await?, None);
    let left = store.oidc_providers_by_issuer("https://idp.example.com").await?;
    assert_eq!(left.iter().map(|p| p.organization_id).collect::<Vec<_>>(), vec![b]);
    assert!(store.put_oidc_provider(&provider(b, "https://idp.example.com", "badges", &t)).await?);
    Ok(())
}

pub async fn concurrent_replacements_leave_one_provider_found_under_one_issuer(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = Arc::clone(&t.ports.sso);
    let organization = OrganizationId::generate();
    let issuers: Vec<String> = (0..6).map(|i| format!("https://idp{i}.example.com")).collect();
    let mut tasks = Vec::new();
    for issuer in &issuers {
        let store = Arc::clone(&store);
        let p = provider(organization, issuer, "badges", &t);
        tasks.push(tokio::spawn(async move { store.put_oidc_provider(&p).await }));
    }
    for task in tasks {
        assert!(task.await??, "every put is its organization's own");
    }
    let stored = store.oidc_provider(organization).await?.expect("a provider");
    let mut found = Vec::new();
    for issuer in &issuers {
        found.extend(store.oidc_providers_by_issuer(issuer).await?);
    }
    assert_eq!(found, vec![stored], "exactly the stored provider, under its issuer only");
    Ok(())
}
