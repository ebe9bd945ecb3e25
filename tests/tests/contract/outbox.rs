//! `Outbox`: idempotent appends, pending oldest first, dispatch once.

use std::time::Duration;

use platform::ids::{EventId, WorkspaceId};
use platform::model::EventKind;

use crate::AdapterSet;
use crate::fixtures::event;

pub async fn appended_events_are_pending_oldest_first_until_dispatched(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let outbox = &t.ports.outbox;
    let ws = WorkspaceId::generate();
    let first = event(ws, EventKind::CredentialIssued, t.clock.now());
    t.clock.advance(Duration::from_secs(1));
    let second = event(WorkspaceId::generate(), EventKind::CredentialRevoked, t.clock.now());
    t.clock.advance(Duration::from_secs(1));
    let third = event(ws, EventKind::BulkIssuanceCompleted, t.clock.now());
    outbox.append_events(&[first.clone(), second.clone()]).await?;
    outbox.append_events(std::slice::from_ref(&third)).await?;
    assert_eq!(
        outbox.pending_events(10).await?,
        vec![first.clone(), second.clone(), third.clone()]
    );

    outbox.mark_dispatched(&[first.id, third.id]).await?;
    assert_eq!(outbox.pending_events(10).await?, vec![second.clone()]);
    // Marking again, or marking ids that were never appended, is harmless.
    outbox.mark_dispatched(&[first.id, EventId::generate()]).await?;
    assert_eq!(outbox.pending_events(10).await?, vec![second.clone()]);
    outbox.mark_dispatched(&[second.id]).await?;
    assert!(outbox.pending_events(10).await?.is_empty());
    Ok(())
}

pub async fn an_event_appended_twice_is_pending_once(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let outbox = &t.ports.outbox;
    let once = event(WorkspaceId::generate(), EventKind::BulkIssuanceCompleted, t.clock.now());
    outbox.append_events(std::slice::from_ref(&once)).await?;
    outbox.append_events(&[once.clone(), once.clone()]).await?;
    assert_eq!(outbox.pending_events(10).await?, vec![once]);
    Ok(())
}

pub async fn an_event_appended_again_after_dispatch_stays_dispatched(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let outbox = &t.ports.outbox;
    // A job's completion event has a derived id and is appended again on redelivery.
    let completion =
        event(WorkspaceId::generate(), EventKind::BulkIssuanceCompleted, t.clock.now());
    outbox.append_events(std::slice::from_ref(&completion)).await?;
    outbox.mark_dispatched(&[completion.id]).await?;
    outbox.append_events(std::slice::from_ref(&completion)).await?;
    assert!(outbox.pending_events(10).await?.is_empty());
    Ok(())
}

pub async fn pending_events_respect_the_limit(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let outbox = &t.ports.outbox;
    let events: Vec<_> = (0..5u64)
        .map(|i| {
            event(
                WorkspaceId::generate(),
                EventKind::CredentialIssued,
                t.clock.now() + chrono::Duration::seconds(i as i64),
            )
        })
        .collect();
    outbox.append_events(&events).await?;
    assert_eq!(outbox.pending_events(2).await?, events[..2].to_vec());
    outbox.mark_dispatched(&[events[0].id, events[1].id]).await?;
    assert_eq!(outbox.pending_events(2).await?, events[2..4].to_vec());
    Ok(())
}
