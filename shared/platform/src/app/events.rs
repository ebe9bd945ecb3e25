//! Events and webhooks: subscriptions, fan-out from the outbox, delivery with retries, and
//! the expiry schedule that emits `credential.expired`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{App, Caller};
use crate::auth::Permission;
use crate::ids::{HttpUrl, WebhookId, is_internal_address};
use crate::model::{CredentialStatus, Delivery, DeliveryStatus, EventKind, StatusKind, Webhook};
use crate::ports::{QueueName, delivery_id};
use crate::{Error, Result, webhooks};

/// What a queue consumer should do with the message it handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleOutcome {
    /// Done (or nothing to do): delete the message.
    Done,
    /// Try again after this delay.
    Retry(Duration),
}

#[derive(Serialize, Deserialize)]
struct DeliveryMessage {
    delivery: uuid::Uuid,
}

fn vault_context(webhook: WebhookId) -> String {
    format!("webhook-secret:{webhook}")
}

impl App {
    /// Subscribes `url` to `events` in the caller's workspace `slug`; returns the
    /// subscription and its signing secret (shown this once).
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        slug: &str,
        url: &str,
        events: &[String],
    ) -> Result<(Webhook, String)> {
        let workspace = self.workspace(caller, slug, Permission::WebhookManage).await?;
        let url = HttpUrl::parse("url", url)?;
        if !self.settings().allow_internal_webhooks
            && url.ip_host().is_some_and(is_internal_address)
        {
            return Err(Error::invalid(
                "url",
                "must not point at a private, loopback or link-local address",
            ));
        }
        if events.is_empty() {
            return Err(Error::invalid("events", "list one or more event types"));
        }
        if events.len() > 16 {
            return Err(Error::invalid("events", "list each event type at most once"));
        }
        let mut kinds = Vec::new();
        for name in events {
            let kind = EventKind::parse(name)
                .ok_or_else(|| Error::invalid("events", format!("unknown event type `{name}`")))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let id = WebhookId::generate();
        let secret = webhooks::generate_secret()?;
        let sealed_secret = self.ports().vault.seal(secret.as_bytes(), &vault_context(id)).await?;
        let webhook = Webhook {
            id,
            workspace_id: workspace.id,
            url,
            events: kinds,
            sealed_secret,
            created_at: self.ports().clock.now(),
        };
        self.ports().webhooks.insert_webhook(&webhook).await?;
        Ok((webhook, secret))
    }

    /// The subscriptions of the caller's workspace.
    pub async fn webhooks(&self, caller: &Caller, slug: &str) -> Result<Vec<Webhook>> {
        let workspace = self.workspace(caller, slug, Permission::WebhookRead).await?;
        Ok(self.ports().webhooks.webhooks(workspace.id).await?)
    }

    /// Deletes a subscription.
    pub async fn delete_webhook(&self, caller: &Caller, slug: &str, id: &str) -> Result<()> {
        let workspace = self.workspace(caller, slug, Permission::WebhookManage).await?;
        let id = WebhookId::parse(id).map_err(|_| Error::NotFound("webhook"))?;
        if self.ports().webhooks.delete_webhook(workspace.id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("webhook"))
        }
    }

    /// The latest deliveries of a subscription.
    pub async fn deliveries(&self, caller: &Caller, slug: &str, id: &str) -> Result<Vec<Delivery>> {
        let workspace = self.workspace(caller, slug, Permission::WebhookRead).await?;
        let id = WebhookId::parse(id).map_err(|_| Error::NotFound("webhook"))?;
        self.ports().webhooks.webhook(workspace.id, id).await?.ok_or(Error::NotFound("webhook"))?;
        Ok(self.ports().webhooks.deliveries(id, 100).await?)
    }

    /// Fans pending outbox events out to the subscribed webhooks: one delivery each (the same
    /// delivery id however often this runs) and one queue message each. Returns how many
    /// events it dispatched.
    pub async fn dispatch_events(&self, limit: usize) -> Result<usize> {
        let events = self.ports().outbox.pending_events(limit).await?;
        for event in &events {
            let payload = webhooks::payload(event);
            let now = self.ports().clock.now();
            let mut messages = Vec::new();
            for webhook in self.ports().webhooks.webhooks(event.workspace_id).await? {
                if !webhook.events.contains(&event.kind) {
                    continue;
                }
                let delivery = Delivery {
                    id: delivery_id(event.id, webhook.id),
                    workspace_id: event.workspace_id,
                    webhook_id: webhook.id,
                    event_id: event.id,
                    event_kind: event.kind,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    last_status_code: None,
                    last_error: None,
                    payload: payload.clone(),
                    created_at: now,
                    updated_at: now,
                };
                self.ports().webhooks.insert_delivery(&delivery).await?;
                // Sent even when the delivery existed: a crash may have come between the two
                // writes, and the handler ignores deliveries that are already done.
                let body = serde_json::to_string(&DeliveryMessage { delivery: delivery.id })
                    .map_err(anyhow::Error::from)?;
                messages.push((body, Duration::ZERO));
            }
            if !messages.is_empty() {
                self.ports().queue.send(QueueName::Webhooks, &messages).await?;
            }
        }
        let ids: Vec<_> = events.iter().map(|e| e.id).collect();
        self.ports().outbox.mark_dispatched(&ids).await?;
        Ok(events.len())
    }

    /// Handles one webhook-delivery message: one attempt, then done or retry with backoff.
    /// A malformed message or a vanished delivery is done (there is nothing to retry).
    pub async fn handle_webhook_message(&self, body: &str) -> Result<HandleOutcome> {
        let Ok(message) = serde_json::from_str::<DeliveryMessage>(body) else {
            tracing::warn!("dropping a malformed webhook message");
            return Ok(HandleOutcome::Done);
        };
        let Some(mut delivery) = self.ports().webhooks.delivery(message.delivery).await? else {
            return Ok(HandleOutcome::Done);
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(HandleOutcome::Done);
        }
        let webhook =
            self.ports().webhooks.webhook(delivery.workspace_id, delivery.webhook_id).await?;
        let Some(webhook) = webhook else {
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = Some("the webhook was deleted".into());
            self.ports().webhooks.update_delivery(&delivery).await?;
            return Ok(HandleOutcome::Done);
        };
        let secret =
            self.ports().vault.open(&webhook.sealed_secret, &vault_context(webhook.id)).await?;
        let secret = String::from_utf8(secret).map_err(anyhow::Error::from)?;
        let now = self.ports().clock.now();
        let headers = webhooks::headers(
            &secret,
            &delivery.event_id.to_string(),
            now.timestamp(),
            &delivery.payload,
        )?;
        let outcome = self.ports().transport.post(&webhook.url, &headers, &delivery.payload).await;
        delivery.attempts += 1;
        delivery.last_status_code = outcome.status;
        delivery.last_error = outcome.error.clone();
        delivery.updated_at = now;
        let delivered = outcome.status.is_some_and(|s| (200..300).contains(&s));
        let result = if delivered {
            delivery.status = DeliveryStatus::Delivered;
            HandleOutcome::Done
        } else if delivery.attempts >= self.settings().webhook_max_attempts {
            delivery.status = DeliveryStatus::Failed;
            HandleOutcome::Done
        } else {
            let factor = 2u32.saturating_pow(delivery.attempts.saturating_sub(1).min(16));
            HandleOutcome::Retry(
                self.settings()
                    .webhook_backoff
                    .saturating_mul(factor)
                    .min(Duration::from_secs(3600)),
            )
        };
        tracing::info!(
            delivery = %delivery.id, webhook = %webhook.id, event = delivery.event_kind.as_str(),
            attempt = delivery.attempts, status = ?outcome.status, delivered, "webhook delivery attempt"
        );
        self.ports().webhooks.update_delivery(&delivery).await?;
        Ok(result)
    }

    /// Marks credentials past `validUntil` expired and emits `credential.expired`, at most
    /// `limit` of them; returns how many.
    pub async fn expire_due(&self, limit: usize) -> Result<usize> {
        let now = self.ports().clock.now();
        let due = self.ports().credentials.expiring(now, limit).await?;
        let mut expired = 0;
        for record in due {
            let Some(workspace) = self.ports().workspaces.workspace(record.workspace_id).await?
            else {
                continue;
            };
            let kind = record.status.kind();
            if !matches!(kind, StatusKind::Active | StatusKind::Suspended) {
                continue;
            }
            let event =
                self.credential_event(EventKind::CredentialExpired, &record, &workspace, None);
            if self
                .ports()
                .credentials
                .transition(record.id, kind, &CredentialStatus::Expired { at: now }, &[event])
                .await?
            {
                expired += 1;
            }
        }
        Ok(expired)
    }
}

impl App {
    /// Receives up to `max` messages from `queue`, handles each, and deletes or releases it:
    /// the local worker loop's unit of work (on AWS, Lambda receives and deletes instead).
    /// Returns how many messages it handled.
    pub async fn work_queue(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<usize> {
        let messages = self.ports().queue.receive(queue, max, visibility).await?;
        for message in &messages {
            let outcome = match queue {
                QueueName::Bulk => self.handle_bulk_message(&message.body).await,
                QueueName::Webhooks => self.handle_webhook_message(&message.body).await,
            };
            match outcome {
                Ok(HandleOutcome::Done) => {
                    self.ports().queue.delete(queue, &message.receipt).await?
                }
                Ok(HandleOutcome::Retry(delay)) => {
                    self.ports().queue.release(queue, &message.receipt, delay).await?
                }
                Err(error) => {
                    // Left to become visible again: at-least-once, and the handlers are idempotent.
                    tracing::error!(queue = queue.as_str(), message = %message.id, error = %format!("{error:#}"), "message handling failed");
                    if let Error::Unexpected(source) = &error {
                        tracing::debug!(?source, "source chain");
                    }
                    self.ports()
                        .queue
                        .release(queue, &message.receipt, Duration::from_secs(5))
                        .await?;
                }
            }
        }
        Ok(messages.len())
    }
}
