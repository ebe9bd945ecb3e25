//! `WorkspaceStore`: unique slugs, listing, status-index allocation.

use std::collections::HashSet;

use platform::ids::{OrganizationId, WorkspaceId, WorkspaceSlug};

use crate::AdapterSet;
use crate::fixtures::workspace;

pub async fn a_workspace_is_found_by_id_and_by_slug(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let ws = workspace(OrganizationId::generate(), "acme", t.clock.now());
    assert!(store.insert_workspace(&ws).await?);
    assert_eq!(store.workspace(ws.id).await?, Some(ws.clone()));
    assert_eq!(store.workspace_by_slug(&ws.slug).await?, Some(ws));
    assert_eq!(store.workspace(WorkspaceId::generate()).await?, None);
    assert_eq!(store.workspace_by_slug(&WorkspaceSlug::parse("other")?).await?, None);
    Ok(())
}

pub async fn a_taken_slug_is_refused_and_nothing_is_written(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let first = workspace(OrganizationId::generate(), "acme", t.clock.now());
    assert!(store.insert_workspace(&first).await?);
    // Slugs are unique across organizations, not just within one.
    let second = workspace(OrganizationId::generate(), "acme", t.clock.now());
    assert!(!store.insert_workspace(&second).await?);
    assert_eq!(store.workspace(second.id).await?, None);
    assert_eq!(store.workspace_by_slug(&first.slug).await?, Some(first));
    assert!(store.workspaces(second.organization_id).await?.is_empty());
    Ok(())
}

pub async fn workspaces_are_listed_oldest_first_per_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let (org, other_org) = (OrganizationId::generate(), OrganizationId::generate());
    let mut expected = Vec::new();
    for slug in ["first", "second", "third"] {
        let ws = workspace(org, slug, t.clock.now());
        store.insert_workspace(&ws).await?;
        store
            .insert_workspace(&workspace(other_org, &format!("{slug}-other"), t.clock.now()))
            .await?;
        expected.push(ws);
        t.clock.advance(std::time::Duration::from_secs(1));
    }
    assert_eq!(store.workspaces(org).await?, expected);
    assert_eq!(store.workspaces(other_org).await?.len(), 3);
    assert!(store.workspaces(OrganizationId::generate()).await?.is_empty());
    Ok(())
}

pub async fn status_indexes_increase_and_are_never_returned_twice(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let ws = workspace(OrganizationId::generate(), "acme", t.clock.now());
    store.insert_workspace(&ws).await?;
    // Ranges of 1 to 4: each starts at or after the end of the one before.
    let mut end = 0;
    for count in (1..=4).cycle().take(20) {
        let first = store.allocate_status_indexes(ws.id, count).await?;
        assert!(first >= end, "{first} allocated before the end of the last range, {end}");
        end = first + u64::from(count);
    }
    assert!(end >= 50, "20 ranges of 1 to 4 end at {end}");
    Ok(())
}

pub async fn status_indexes_are_distinct_under_concurrency(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let ws = workspace(OrganizationId::generate(), "acme", t.clock.now());
    t.ports.workspaces.insert_workspace(&ws).await?;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = t.ports.workspaces.clone();
            tokio::spawn(async move {
                let mut indexes = Vec::new();
                // 25 single indexes and 25 pairs, interleaved.
                for count in (1..=2).cycle().take(50) {
                    let first = store.allocate_status_indexes(ws.id, count).await?;
                    indexes.extend(first..first + u64::from(count));
                }
                anyhow::Ok(indexes)
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for task in tasks {
        for index in task.await?? {
            assert!(seen.insert(index), "index {index} was allocated twice");
        }
    }
    assert_eq!(seen.len(), 8 * 75);
    Ok(())
}

pub async fn each_workspace_allocates_its_own_status_indexes(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let org = OrganizationId::generate();
    let (a, b) = (workspace(org, "alpha", t.clock.now()), workspace(org, "beta", t.clock.now()));
    store.insert_workspace(&a).await?;
    store.insert_workspace(&b).await?;
    for _ in 0..5 {
        store.allocate_status_indexes(a.id, 3).await?;
    }
    // A workspace's indexes start at 0 (its first list), whatever other workspaces used.
    assert_eq!(store.allocate_status_indexes(b.id, 1).await?, 0);
    assert_eq!(store.allocate_status_indexes(b.id, 1).await?, 1);
    Ok(())
}

pub async fn the_approval_policy_is_set_on_one_workspace_and_keeps_the_rest(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.workspaces;
    let organization = OrganizationId::generate();
    let ws = workspace(organization, "acme", t.clock.now());
    let other = workspace(organization, "other", t.clock.now());
    assert!(store.insert_workspace(&ws).await?);
    assert!(store.insert_workspace(&other).await?);
    let first = store.allocate_status_indexes(ws.id, 3).await?;
    assert!(store.set_requires_approval(ws.id, true).await?);
    let expected = platform::model::Workspace { requires_approval: true, ..ws.clone() };
    assert_eq!(store.workspace(ws.id).await?, Some(expected.clone()));
    assert_eq!(store.workspace_by_slug(&ws.slug).await?, Some(expected));
    assert_eq!(store.workspace(other.id).await?, Some(other));
    // The status-index counter is not part of the record and is left alone.
    assert_eq!(store.allocate_status_indexes(ws.id, 1).await?, first + 3);
    assert!(store.set_requires_approval(ws.id, false).await?);
    assert_eq!(store.workspace(ws.id).await?, Some(ws));
    assert!(!store.set_requires_approval(WorkspaceId::generate(), true).await?);
    assert_eq!(store.workspace(WorkspaceId::generate()).await?, None);
    Ok(())
}
