//! `WebhookStore`: subscriptions scoped to their workspace, deliveries inserted once.

use std::time::Duration;

use platform::ids::{WebhookId, WorkspaceId};
use platform::model::{Delivery, DeliveryStatus, EventKind};

use crate::AdapterSet;
use crate::fixtures::{delivery, event, webhook};

pub async fn webhooks_are_listed_oldest_first_per_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let mut expected = Vec::new();
    for _ in 0..3 {
        let hook = webhook(ws, t.clock.now());
        store.insert_webhook(&hook).await?;
        store.insert_webhook(&webhook(other, t.clock.now())).await?;
        expected.push(hook);
        t.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(store.webhooks(ws).await?, expected);
    assert_eq!(store.webhooks(other).await?.len(), 3);
    assert!(store.webhooks(WorkspaceId::generate()).await?.is_empty());
    Ok(())
}

pub async fn a_webhook_is_found_and_deleted_only_through_its_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let hook = webhook(ws, t.clock.now());
    store.insert_webhook(&hook).await?;
    assert_eq!(store.webhook(ws, hook.id).await?, Some(hook.clone()));
    assert_eq!(store.webhook(other, hook.id).await?, None);
    assert_eq!(store.webhook(ws, WebhookId::generate()).await?, None);
    assert!(!store.delete_webhook(other, hook.id).await?);
    assert_eq!(store.webhook(ws, hook.id).await?, Some(hook));
    Ok(())
}

pub async fn a_webhook_is_deleted_once(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let ws = WorkspaceId::generate();
    let (kept, deleted) = (webhook(ws, t.clock.now()), webhook(ws, t.clock.now()));
    store.insert_webhook(&kept).await?;
    store.insert_webhook(&deleted).await?;
    assert!(store.delete_webhook(ws, deleted.id).await?);
    assert!(!store.delete_webhook(ws, deleted.id).await?);
    assert_eq!(store.webhook(ws, deleted.id).await?, None);
    assert_eq!(store.webhooks(ws).await?, vec![kept]);
    Ok(())
}

pub async fn a_delivery_is_inserted_once_per_id(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let hook = webhook(WorkspaceId::generate(), t.clock.now());
    let issued = event(hook.workspace_id, EventKind::CredentialIssued, t.clock.now());
    let first = delivery(&hook, &issued, t.clock.now());
    assert!(store.insert_delivery(&first).await?);
    // The same event dispatched again makes the same delivery id, with a later time.
    t.clock.advance(Duration::from_secs(30));
    let again = Delivery { created_at: t.clock.now(), updated_at: t.clock.now(), ..first.clone() };
    assert!(!store.insert_delivery(&again).await?);
    assert_eq!(store.delivery(first.id).await?, Some(first.clone()));
    assert_eq!(store.deliveries(hook.id, 10).await?, vec![first]);
    assert_eq!(store.delivery(uuid::Uuid::new_v4()).await?, None);
    Ok(())
}

pub async fn an_updated_delivery_replaces_the_stored_one(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let hook = webhook(WorkspaceId::generate(), t.clock.now());
    let pending = delivery(
        &hook,
        &event(hook.workspace_id, EventKind::CredentialIssued, t.clock.now()),
        t.clock.now(),
    );
    store.insert_delivery(&pending).await?;
    t.clock.advance(Duration::from_secs(5));
    let attempted = Delivery {
        status: DeliveryStatus::Delivered,
        attempts: 2,
        last_status_code: Some(204),
        last_error: None,
        updated_at: t.clock.now(),
        ..pending.clone()
    };
    store.update_delivery(&attempted).await?;
    assert_eq!(store.delivery(pending.id).await?, Some(attempted.clone()));
    assert_eq!(store.deliveries(hook.id, 10).await?, vec![attempted]);
    Ok(())
}

pub async fn deliveries_are_listed_newest_first_per_webhook_up_to_the_limit(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.webhooks;
    let ws = WorkspaceId::generate();
    let (hook, other_hook) = (webhook(ws, t.clock.now()), webhook(ws, t.clock.now()));
    let mut made = Vec::new();
    for _ in 0..5 {
        let issued = event(ws, EventKind::CredentialIssued, t.clock.now());
        let mine = delivery(&hook, &issued, t.clock.now());
        store.insert_delivery(&mine).await?;
        store.insert_delivery(&delivery(&other_hook, &issued, t.clock.now())).await?;
        made.push(mine);
        t.clock.advance(Duration::from_secs(1));
    }
    made.reverse();
    assert_eq!(store.deliveries(hook.id, 10).await?, made);
    assert_eq!(store.deliveries(hook.id, 3).await?, made[..3].to_vec());
    assert!(store.deliveries(WebhookId::generate(), 10).await?.is_empty());
    Ok(())
}
