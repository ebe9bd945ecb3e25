//! The outbox of events, webhook subscriptions and their deliveries.
//!
//! A pending event is on GSI4 under `OUTBOX#<shard>`, sorted by `<occurred_at>#<id>` (the
//! embedded store's order: time, then arrival; ids break ties here). Dispatching removes the
//! index keys, so the schedule only ever holds pending events. The index is eventually
//! consistent on AWS: a just-dispatched event can be listed once more, which the relay
//! tolerates (deliveries are deduplicated by their deterministic id).

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use platform::ids::{EventId, WebhookId, WorkspaceId};
use platform::model::{Delivery, Event, Webhook};
use platform::ports::{Outbox, PortResult, WebhookStore};
use tokio::task::JoinSet;

use super::{
    Condition, DynamoStore, GSI1, GSI4, Item, SHARDS, doc, page_limit, record_item, s, sdk, text,
    time_key,
};

fn event_pk(id: EventId) -> String {
    format!("EVT#{id}")
}

fn outbox_pk(shard: u8) -> String {
    format!("OUTBOX#{shard}")
}

fn webhook_keys(workspace: WorkspaceId, id: WebhookId) -> (String, String) {
    (format!("WS#{workspace}"), format!("HOOK#{id}"))
}

fn delivery_pk(id: uuid::Uuid) -> String {
    format!("DLV#{id}")
}

/// The item of a pending event; writers put it on condition that the id is new, so an event
/// appended again (even after dispatch) changes nothing.
pub(super) fn event_item(event: &Event) -> anyhow::Result<Item> {
    let mut item = record_item(event_pk(event.id), "EVT", event)?;
    item.insert("GSI4PK".into(), s(outbox_pk(super::shard(event.id.0))));
    item.insert("GSI4SK".into(), s(format!("{}#{}", time_key(event.occurred_at), event.id)));
    Ok(item)
}

fn delivery_item(delivery: &Delivery) -> anyhow::Result<Item> {
    let mut item = record_item(delivery_pk(delivery.id), "DLV", delivery)?;
    item.insert("GSI1PK".into(), s(format!("HOOK#{}", delivery.webhook_id)));
    item.insert("GSI1SK".into(), s(format!("{}#{}", time_key(delivery.created_at), delivery.id)));
    Ok(item)
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn append_events(&self, events: &[Event]) -> PortResult<()> {
        for event in events {
            // `false`: the id is there already (pending or dispatched), which is the point.
            self.put("append event", event_item(event)?, Some(Condition::not_exists())).await?;
        }
        Ok(())
    }

    async fn pending_events(&self, limit: usize) -> PortResult<Vec<Event>> {
        let what = "pending events";
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The oldest `limit` of each shard hold the oldest `limit` overall.
        let mut tasks = JoinSet::new();
        for shard in 0..SHARDS {
            let query = self
                .query_on(Some(GSI4))
                .key_condition_expression("GSI4PK = :pk")
                .expression_attribute_values(":pk", s(outbox_pk(shard)))
                .limit(page_limit(limit));
            let store = self.clone();
            tasks.spawn(async move { store.query(what, query, limit).await });
        }
        let mut pending = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            for item in joined.context("a pending events query task failed")?? {
                let order = text(&item, "GSI4SK").unwrap_or_default().to_owned();
                pending.push((order, item));
            }
        }
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        pending.truncate(limit);
        pending.iter().map(|(_, item)| doc(item, what)).collect()
    }

    async fn mark_dispatched(&self, ids: &[EventId]) -> PortResult<()> {
        let what = "mark event dispatched";
        for id in ids {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", s(event_pk(*id)))
                .key("SK", s("EVT"))
                .update_expression("REMOVE GSI4PK, GSI4SK SET #dispatched = :yes")
                // Never create an item for an id that was not appended.
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_names("#dispatched", "dispatched")
                .expression_attribute_values(
                    ":yes",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                )
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(error) => return Err(sdk(what, &error)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> PortResult<()> {
        let (pk, sk) = webhook_keys(webhook.workspace_id, webhook.id);
        let item = record_item(pk, sk, webhook)?;
        if !self.put("insert webhook", item, Some(Condition::not_exists())).await? {
            bail!("webhook {} already exists", webhook.id);
        }
        Ok(())
    }

    async fn webhooks(&self, workspace: WorkspaceId) -> PortResult<Vec<Webhook>> {
        let what = "webhooks";
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND begins_with(SK, :hook)")
            .expression_attribute_values(":pk", s(format!("WS#{workspace}")))
            .expression_attribute_values(":hook", s("HOOK#"));
        let items = self.query(what, query, usize::MAX).await?;
        let mut hooks =
            items.iter().map(|item| doc(item, what)).collect::<anyhow::Result<Vec<Webhook>>>()?;
        hooks.sort_by_key(|x| (x.created_at, x.id));
        Ok(hooks)
    }

    async fn webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<Option<Webhook>> {
        let (pk, sk) = webhook_keys(workspace, id);
        self.get_doc("webhook", pk, &sk).await
    }

    async fn delete_webhook(&self, workspace: WorkspaceId, id: WebhookId) -> PortResult<bool> {
        let (pk, sk) = webhook_keys(workspace, id);
        Ok(self.delete("delete webhook", pk, &sk).await?)
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> PortResult<bool> {
        self.put("insert delivery", delivery_item(delivery)?, Some(Condition::not_exists())).await
    }

    async fn delivery(&self, id: uuid::Uuid) -> PortResult<Option<Delivery>> {
        self.get_doc("delivery", delivery_pk(id), "DLV").await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> PortResult<()> {
        // The webhook and creation time never change, so the index keys stay the same.
        let updated = self
            .put("update delivery", delivery_item(delivery)?, Some(Condition::exists()))
            .await?;
        if !updated {
            bail!("no delivery {} to update", delivery.id);
        }
        Ok(())
    }

    async fn deliveries(&self, webhook: WebhookId, limit: usize) -> PortResult<Vec<Delivery>> {
        let what = "deliveries";
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = self
            .query_on(Some(GSI1))
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(format!("HOOK#{webhook}")))
            .scan_index_forward(false)
            .limit(page_limit(limit));
        let items = self.query(what, query, limit).await?;
        items.iter().map(|item| doc(item, what)).collect()
    }
}
