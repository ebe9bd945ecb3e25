//! The outbox of events, webhook subscriptions and their deliveries.

use anyhow::{Result, bail};
use async_trait::async_trait;
use platform::ids::{EventId, WebhookId, WorkspaceId};
use platform::model::{Delivery, Event, Webhook};
use platform::ports::{Outbox, PortResult, WebhookStore};
use rusqlite::{Connection, params};

use super::{SqliteStore, all, from_json, limit, optional, time, to_json};

/// Appends `events` to the outbox, skipping any whose id is already there (dispatched or
/// not), inside the caller's transaction.
pub(super) fn append(connection: &Connection, events: &[Event]) -> Result<()> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO outbox (event_id, workspace_id, occurred_at, event) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (event_id) DO NOTHING",
    )?;
    for event in events {
        statement.execute(params![
            event.id.to_string(),
            event.workspace_id.to_string(),
            time(event.occurred_at),
            to_json(event)?
        ])?;
    }
    Ok(())
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn append_events(&self, events: &[Event]) -> PortResult<()> {
        let events = events.to_vec();
        self.write("append events", move |tx| append(tx, &events)).await
    }

    async fn pending_events(&self, limit_to: usize) -> PortResult<Vec<Event>> {
        self.read("pending events", move |c| {
            all(
                c,
                "SELECT event FROM outbox WHERE dispatched = 0 ORDER BY occurred_at, seq LIMIT ?1",
                [limit(limit_to)],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn mark_dispatched(&self, ids: &[EventId]) -> PortResult<()> {
        let ids = ids.to_vec();
        self.write("mark events dispatched", move |tx| {
            let mut statement =
                tx.prepare("UPDATE outbox SET dispatched = 1 WHERE event_id = ?1")?;
            for id in ids {
                statement.execute([id.to_string()])?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> PortResult<()> {
        let record = to_json(webhook)?;
        let (id, workspace, created_at) = (webhook.id, webhook.workspace_id, webhook.created_at);
        self.write("insert webhook", move |tx| {
            tx.execute(
                "INSERT INTO webhooks (id, workspace_id, created_at, record) VALUES (?1, ?2, ?3, ?4)",
                params![id.to_string(), workspace.to_string(), time(created_at), record],
            )?;
            Ok(())
        })
        .await
    }

    async fn webhooks(&self, workspace: WorkspaceId) -> PortResult<Vec<Webhook>> {
        self.read("webhooks", move |c| {
            all(
                c,
                "SELECT record FROM webhooks WHERE workspace_id = ?1 ORDER BY created_at, id",
                [workspace.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<Option<Webhook>> {
        self.lookup("webhook", move |c| {
            optional(
                c,
                "SELECT record FROM webhooks WHERE id = ?1 AND workspace_id = ?2",
                [id.to_string(), workspace.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn delete_webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<bool> {
        self.write("delete webhook", move |tx| {
            let deleted = tx.execute(
                "DELETE FROM webhooks WHERE id = ?1 AND workspace_id = ?2",
                [id.to_string(), workspace.to_string()],
            )?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> PortResult<bool> {
        let record = to_json(delivery)?;
        let (id, webhook, created_at) = (delivery.id, delivery.webhook_id, delivery.created_at);
        self.write("insert delivery", move |tx| {
            let inserted = tx.execute(
                "INSERT INTO deliveries (id, webhook_id, created_at, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
                params![id.to_string(), webhook.to_string(), time(created_at), record],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn delivery(&self, id: uuid::Uuid) -> PortResult<Option<Delivery>> {
        self.lookup("delivery", move |c| {
            optional(c, "SELECT record FROM deliveries WHERE id = ?1", [id.to_string()], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()> {
        let record = to_json(delivery)?;
        let id = delivery.id;
        self.write("update delivery", move |tx| {
            // Its webhook and creation time never change, so the indexed columns stay.
            let updated = tx.execute(
                "UPDATE deliveries SET record = ?1 WHERE id = ?2",
                params![record, id.to_string()],
            )?;
            if updated == 0 {
                bail!("no delivery {id} to update");
            }
            Ok(())
        })
        .await
    }

    async fn deliveries(&self, webhook: WebhookId, limit_to: usize) -> PortResult<Vec<Delivery>> {
        self.read("deliveries", move |c| {
            all(
                c,
                "SELECT record FROM deliveries WHERE webhook_id = ?1 ORDER BY created_at DESC, seq DESC LIMIT ?2",
                params![webhook.to_string(), limit(limit_to)],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }
}
