//! `DraftStore`: workspace scoping, payloads kept apart and erased, idempotency keys,
//! listing by status in id order, conditional transitions.

use std::time::Duration;

use platform::ids::{CredentialId, DraftId, WorkspaceId};
use platform::model::{Draft, DraftStatus};
use platform::ports::InsertDraft;

use crate::AdapterSet;
use crate::fixtures::draft;

/// `draft` as lists and key replays show it: without its payload.
fn bare(draft: &Draft) -> Draft {
    Draft { sealed_payload: None, ..draft.clone() }
}

pub async fn a_draft_is_found_with_its_payload_only_in_its_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.drafts;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let d = draft(ws, None, t.clock.now());
    assert_eq!(store.insert_draft(&d).await?, InsertDraft::Inserted);
    let found = store.draft(ws, d.id).await?.expect("the draft");
    assert_eq!(found, d);
    assert!(found.sealed_payload.is_some());
    assert_eq!(store.draft(other, d.id).await?, None);
    assert_eq!(store.draft(ws, DraftId::generate()).await?, None);
    assert!(store.drafts(other, None, None, 10).await?.is_empty());
    // An id is inserted once.
    assert!(store.insert_draft(&d).await.is_err());
    Ok(())
}

pub async fn drafts_are_listed_oldest_first_by_status_without_payloads(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.drafts;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let mut drafts = Vec::new();
    for _ in 0..4 {
        let d = draft(ws, None, t.clock.now());
        store.insert_draft(&d).await?;
        store.insert_draft(&draft(other, None, t.clock.now())).await?;
        drafts.push(d);
        // v7 ids are ordered by their millisecond.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rejected = Draft {
        status: DraftStatus::Rejected,
        reason: Some("no".into()),
        sealed_payload: None,
        ..drafts[1].clone()
    };
    assert!(store.transition_draft(&rejected, DraftStatus::Pending).await?);
    let all: Vec<Draft> =
        vec![bare(&drafts[0]), rejected.clone(), bare(&drafts[2]), bare(&drafts[3])];
    assert_eq!(store.drafts(ws, None, None, 10).await?, all);
    let pending = store.drafts(ws, Some(DraftStatus::Pending), None, 10).await?;
    assert_eq!(pending, vec![bare(&drafts[0]), bare(&drafts[2]), bare(&drafts[3])]);
    assert_eq!(store.drafts(ws, Some(DraftStatus::Rejected), None, 10).await?, vec![rejected]);
    assert!(store.drafts(ws, Some(DraftStatus::Approved), None, 10).await?.is_empty());
    // Paging: after a cursor, up to the limit, also with a status.
    assert_eq!(store.drafts(ws, None, Some(drafts[1].id), 10).await?, all[2..].to_vec());
    assert_eq!(store.drafts(ws, None, None, 2).await?, all[..2].to_vec());
    let page = store.drafts(ws, Some(DraftStatus::Pending), Some(drafts[0].id), 1).await?;
    assert_eq!(page, vec![bare(&drafts[2])]);
    Ok(())
}

pub async fn a_used_idempotency_key_returns_the_first_draft_and_writes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.drafts;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let first = draft(ws, Some("order-42"), t.clock.now());
    assert_eq!(store.insert_draft(&first).await?, InsertDraft::Inserted);
    let second = draft(ws, Some("order-42"), t.clock.now());
    assert_eq!(store.insert_draft(&second).await?, InsertDraft::KeyExists(Box::new(bare(&first))));
    assert_eq!(store.draft(ws, second.id).await?, None);
    assert_eq!(store.drafts(ws, None, None, 10).await?, vec![bare(&first)]);
    // Keys are scoped to their workspace; drafts without a key never collide.
    let elsewhere = draft(other, Some("order-42"), t.clock.now());
    assert_eq!(store.insert_draft(&elsewhere).await?, InsertDraft::Inserted);
    assert_eq!(store.insert_draft(&draft(ws, None, t.clock.now())).await?, InsertDraft::Inserted);
    assert_eq!(store.insert_draft(&draft(ws, None, t.clock.now())).await?, InsertDraft::Inserted);
    assert_eq!(store.drafts(ws, None, None, 10).await?.len(), 3);
    Ok(())
}

pub async fn a_transition_from_the_expected_status_replaces_the_draft_and_erases_its_payload(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.drafts;
    let ws = WorkspaceId::generate();
    let d = draft(ws, None, t.clock.now());
    store.insert_draft(&d).await?;
    // Claimed: the payload stays.
    let claimed = Draft {
        status: DraftStatus::Approving,
        decided_by: Some("api_key:approver".into()),
        decided_at: Some(t.clock.now()),
        ..d.clone()
    };
    assert!(store.transition_draft(&claimed, DraftStatus::Pending).await?);
    assert_eq!(store.draft(ws, d.id).await?, Some(claimed.clone()));
    // A second claimant read `pending` too: it lost the race, nothing changed.
    let late = Draft { decided_by: Some("api_key:late".into()), ..claimed.clone() };
    assert!(!store.transition_draft(&late, DraftStatus::Pending).await?);
    assert_eq!(store.draft(ws, d.id).await?, Some(claimed.clone()));
    // Decided: the payload is erased.
    let approved = Draft {
        status: DraftStatus::Approved,
        credential_id: Some(CredentialId::generate()),
        sealed_payload: None,
        ..claimed.clone()
    };
    assert!(store.transition_draft(&approved, DraftStatus::Approving).await?);
    assert_eq!(store.draft(ws, d.id).await?, Some(approved.clone()));
    assert!(!store.transition_draft(&approved, DraftStatus::Approving).await?);
    // Nothing changes through another workspace or for an unknown draft.
    let foreign = Draft { workspace_id: WorkspaceId::generate(), ..approved.clone() };
    assert!(!store.transition_draft(&foreign, DraftStatus::Approved).await?);
    let unknown = Draft { id: DraftId::generate(), ..approved.clone() };
    assert!(!store.transition_draft(&unknown, DraftStatus::Approved).await?);
    assert_eq!(store.draft(ws, unknown.id).await?, None);
    assert_eq!(store.draft(ws, d.id).await?, Some(approved));
    Ok(())
}
