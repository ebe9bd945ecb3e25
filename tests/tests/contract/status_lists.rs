//! `StatusListStore`: bits with versions, and signed publications that never roll back.

use std::collections::HashSet;

use credentials::status::{StatusList, StatusPurpose};
use platform::ids::WorkspaceId;
use platform::model::{STATUS_LIST_SIZE, StatusListId};

use crate::AdapterSet;

fn list(workspace: WorkspaceId, purpose: StatusPurpose, page: u64) -> StatusListId {
    StatusListId { workspace_id: workspace, purpose, page }
}

/// The set bits of a list.
fn set_bits(bits: Vec<u8>) -> Vec<usize> {
    let list = StatusList::from_bytes(bits).unwrap();
    (0..list.len()).filter(|&i| list.get(i).unwrap()).collect()
}

pub async fn a_list_never_changed_has_no_bits(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let id = list(WorkspaceId::generate(), StatusPurpose::Revocation, 0);
    assert_eq!(t.ports.status_lists.status_bits(&id).await?, None);
    assert_eq!(t.ports.status_lists.signed_status_list(&id).await?, None);
    Ok(())
}

pub async fn the_first_change_creates_a_cleared_list_and_every_change_bumps_the_version(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.status_lists;
    let id = list(WorkspaceId::generate(), StatusPurpose::Suspension, 0);

    let (bits, v1) = store.set_status_bit(&id, 3, true).await?;
    assert_eq!(bits.len() as u64, STATUS_LIST_SIZE / 8);
    assert_eq!(set_bits(bits), vec![3]);
    let (bits, v2) = store.set_status_bit(&id, STATUS_LIST_SIZE - 1, true).await?;
    assert_eq!(set_bits(bits), vec![3, STATUS_LIST_SIZE as usize - 1]);
    let (bits, v3) = store.set_status_bit(&id, 3, false).await?;
    assert_eq!(set_bits(bits.clone()), vec![STATUS_LIST_SIZE as usize - 1]);
    assert!(v1 < v2 && v2 < v3, "versions {v1}, {v2}, {v3}");
    assert_eq!(store.status_bits(&id).await?, Some((bits, v3)));
    Ok(())
}

pub async fn concurrent_bit_changes_are_all_kept_with_distinct_versions(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let id = list(WorkspaceId::generate(), StatusPurpose::Revocation, 0);
    let tasks: Vec<_> = (0..24u64)
        .map(|i| {
            let store = t.ports.status_lists.clone();
            tokio::spawn(async move { store.set_status_bit(&id, i * 7, true).await })
        })
        .collect();
    let mut versions = HashSet::new();
    for task in tasks {
        let (_, version) = task.await??;
        assert!(versions.insert(version), "version {version} was returned twice");
    }
    let (bits, version) = t.ports.status_lists.status_bits(&id).await?.unwrap();
    assert_eq!(set_bits(bits), (0..24).map(|i| i * 7).collect::<Vec<usize>>());
    assert_eq!(Some(version), versions.iter().max().copied());
    Ok(())
}

pub async fn lists_of_other_pages_purposes_and_workspaces_are_independent(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.status_lists;
    let ws = WorkspaceId::generate();
    let id = list(ws, StatusPurpose::Revocation, 0);
    store.set_status_bit(&id, 1, true).await?;
    store.save_signed_status_list(&id, 1, "signed").await?;
    for other in [
        list(ws, StatusPurpose::Suspension, 0),
        list(ws, StatusPurpose::Revocation, 1),
        list(WorkspaceId::generate(), StatusPurpose::Revocation, 0),
    ] {
        assert_eq!(store.status_bits(&other).await?, None, "{other:?}");
        assert_eq!(store.signed_status_list(&other).await?, None, "{other:?}");
        let (bits, _) = store.set_status_bit(&other, 2, true).await?;
        assert_eq!(set_bits(bits), vec![2]);
    }
    assert_eq!(set_bits(store.status_bits(&id).await?.unwrap().0), vec![1]);
    Ok(())
}

pub async fn an_index_outside_the_list_is_an_error_and_changes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.status_lists;
    let id = list(WorkspaceId::generate(), StatusPurpose::Revocation, 0);
    let before = store.set_status_bit(&id, 0, true).await?;
    assert!(store.set_status_bit(&id, STATUS_LIST_SIZE, true).await.is_err());
    assert_eq!(store.status_bits(&id).await?, Some(before));
    Ok(())
}

pub async fn a_signed_list_is_never_replaced_by_an_older_version(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.status_lists;
    let id = list(WorkspaceId::generate(), StatusPurpose::Revocation, 0);
    store.save_signed_status_list(&id, 0, "empty list").await?;
    assert_eq!(store.signed_status_list(&id).await?, Some((0, "empty list".into())));
    store.save_signed_status_list(&id, 2, "version 2").await?;
    // A slower signer of version 1 finishes last: the list must not go back.
    store.save_signed_status_list(&id, 1, "version 1").await?;
    assert_eq!(store.signed_status_list(&id).await?, Some((2, "version 2".into())));
    store.save_signed_status_list(&id, 3, "version 3").await?;
    assert_eq!(store.signed_status_list(&id).await?, Some((3, "version 3".into())));
    Ok(())
}
