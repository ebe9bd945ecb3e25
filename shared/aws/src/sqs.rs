//! [`SqsQueue`]: the [`Queue`] port on two standard SQS queues (bulk chunks, webhook
//! deliveries), each with a dead-letter queue.
//!
//! SQS does most of the contract itself: a receive hides messages for the visibility timeout
//! and hands out a new receipt handle each time, `ApproximateReceiveCount` is the receive
//! count, and the queue's redrive policy (`maxReceiveCount`) moves a message received too
//! often to the dead-letter queue. Durations are whole seconds in SQS: delays and timeouts
//! are rounded up, so work is never made visible earlier than asked.
//!
//! A stale receipt (the message was received again since) deletes or releases nothing: SQS
//! documents that such a request "succeeds, but the message will not be deleted", and some
//! implementations answer `ReceiptHandleIsInvalid` instead, which is mapped to the same
//! outcome here (with a warning), as the port's contract has it.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use platform::ports::{PortResult, Queue, QueueName, ReceivedMessage};

/// The longest delay SQS accepts on a message: 15 minutes.
pub const MAX_DELAY_SECONDS: u64 = 900;
/// The longest visibility timeout SQS accepts: 12 hours.
pub const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// The most messages one SQS batch (send) or receive call carries.
const BATCH: usize = 10;
/// How long a dead-letter queue keeps messages: 14 days, the SQS maximum.
const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// The queue port on SQS.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    bulk_queue_url: String,
    webhooks_queue_url: String,
}

impl SqsQueue {
    /// The queues at these URLs (created with their dead-letter queues by the template).
    pub fn new(
        client: aws_sdk_sqs::Client,
        bulk_queue_url: String,
        webhooks_queue_url: String,
    ) -> Self {
        Self { client, bulk_queue_url, webhooks_queue_url }
    }

    /// The URL of `queue`.
    pub fn queue_url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Bulk => &self.bulk_queue_url,
            QueueName::Webhooks => &self.webhooks_queue_url,
        }
    }
}

/// An SDK error with its whole source chain in the message.
fn aws_error(error: impl std::error::Error) -> anyhow::Error {
    anyhow!("{}", DisplayErrorContext(error))
}

/// Whole seconds, rounded up, at most `max`.
fn whole_seconds(duration: Duration, max: u64) -> i32 {
    let seconds = duration.as_secs().saturating_add(u64::from(duration.subsec_nanos() > 0));
    // `max` is one of the SQS limits above, far below `i32::MAX`.
    i32::try_from(seconds.min(max)).unwrap_or(i32::MAX)
}

#[async_trait]
impl Queue for SqsQueue {
    /// Sends in batches of ten. Each delay is rounded up to whole seconds and capped at SQS's
    /// maximum of 15 minutes ([`MAX_DELAY_SECONDS`]): a longer delay makes the message
    /// visible after 15 minutes. Fails naming the entries SQS refused (earlier batches stay
    /// sent: a retry may send them twice, which at-least-once consumers tolerate).
    async fn send(&self, queue: QueueName, messages: &[(String, Duration)]) -> PortResult<()> {
        let url = self.queue_url(queue);
        for (batch_number, batch) in messages.chunks(BATCH).enumerate() {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, (body, delay))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .delay_seconds(whole_seconds(*delay, MAX_DELAY_SECONDS))
                        .build()
                        .context("building an SQS batch entry")
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(aws_error)
                .with_context(|| format!("SQS SendMessageBatch to the {} queue", queue.as_str()))?;
            if !output.failed().is_empty() {
                let failures: Vec<String> = output
                    .failed()
                    .iter()
                    .map(|f| {
                        let message = f.id().parse::<usize>().map_or_else(
                            |_| format!("entry `{}`", f.id()),
                            |i| format!("message {}", batch_number * BATCH + i),
                        );
                        format!("{message}: {} {}", f.code(), f.message().unwrap_or_default())
                    })
                    .collect();
                bail!(
                    "SQS refused {} of {} messages sent to the {} queue: {}",
                    failures.len(),
                    batch.len(),
                    queue.as_str(),
                    failures.join("; ")
                );
            }
        }
        Ok(())
    }

    /// One `ReceiveMessage` call without waiting (short polling): SQS may return fewer
    /// messages than are visible (it samples its servers), never more than `max` (at most
    /// ten). The visibility timeout is rounded up to whole seconds, at most 12 hours.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<ReceivedMessage>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        // `max.min(BATCH)` is at most 10.
        let max_messages = i32::try_from(max.min(BATCH)).unwrap_or(1);
        let output = self
            .client
            .receive_message()
            .queue_url(self.queue_url(queue))
            .max_number_of_messages(max_messages)
            .visibility_timeout(whole_seconds(visibility, MAX_VISIBILITY_SECONDS))
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(aws_error)
            .with_context(|| format!("SQS ReceiveMessage from the {} queue", queue.as_str()))?;
        output
            .messages()
            .iter()
            .take(max)
            .map(|message| {
                let id = message.message_id().context("an SQS message without an id")?;
                let receipt =
                    message.receipt_handle().context("an SQS message without a receipt handle")?;
                let receive_count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .context("an SQS message without ApproximateReceiveCount")?
                    .parse::<u32>()
                    .context("an SQS ApproximateReceiveCount that is not a number")?;
                Ok(ReceivedMessage {
                    id: id.to_owned(),
                    receipt: receipt.to_owned(),
                    body: message.body().unwrap_or_default().to_owned(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> PortResult<()> {
        let result = self
            .client
            .delete_message()
            .queue_url(self.queue_url(queue))
            .receipt_handle(receipt)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error.as_service_error().is_some_and(|e| e.is_receipt_handle_is_invalid()) =>
            {
                tracing::warn!(
                    queue = queue.as_str(),
                    "SQS DeleteMessage: the receipt handle is stale or invalid; nothing deleted"
                );
                Ok(())
            }
            Err(error) => Err(aws_error(error))
                .with_context(|| format!("SQS DeleteMessage on the {} queue", queue.as_str())),
        }
    }

    /// Sets the message's visibility timeout to `delay` (whole seconds, rounded up, at most 12
    /// hours), counted from now.
    async fn release(&self, queue: QueueName, receipt: &str, delay: Duration) -> PortResult<()> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(self.queue_url(queue))
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(delay, MAX_VISIBILITY_SECONDS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_receipt_handle_is_invalid() || e.is_message_not_inflight()
                }) =>
            {
                tracing::warn!(
                    queue = queue.as_str(),
                    "SQS ChangeMessageVisibility: the receipt handle is stale or invalid; \
                     nothing released"
                );
                Ok(())
            }
            Err(error) => Err(aws_error(error)).with_context(|| {
                format!("SQS ChangeMessageVisibility on the {} queue", queue.as_str())
            }),
        }
    }
}

/// Creates the standard queue `name` and its dead-letter queue `<name>-dlq` (kept 14 days),
/// with SQS-managed encryption and a redrive policy that moves a message there once it has
/// been received `max_receives` times; returns the queue's URL. Creating an existing queue
/// with the same attributes is a no-op in SQS.
pub(crate) async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receives: u32,
) -> anyhow::Result<String> {
    let dlq_name = format!("{name}-dlq");
    let dlq = client
        .create_queue()
        .queue_name(&dlq_name)
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            DEAD_LETTER_RETENTION_SECONDS.to_string(),
        )
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("SQS CreateQueue {dlq_name}"))?;
    let dlq_url = dlq.queue_url().with_context(|| format!("SQS CreateQueue {dlq_name}: no URL"))?;
    let attributes = client
        .get_queue_attributes()
        .queue_url(dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("SQS GetQueueAttributes {dlq_name}"))?;
    let dlq_arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .with_context(|| format!("SQS GetQueueAttributes {dlq_name}: no QueueArn"))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receives,
    });
    let queue = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
        .send()
        .await
        .map_err(aws_error)
        .with_context(|| format!("SQS CreateQueue {name}"))?;
    queue.queue_url().map(str::to_owned).with_context(|| format!("SQS CreateQueue {name}: no URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds_within_the_limit() {
        assert_eq!(whole_seconds(Duration::ZERO, 900), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1), 900), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2), 900), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001), 900), 3);
        assert_eq!(whole_seconds(Duration::from_secs(3600), 900), 900);
        assert_eq!(whole_seconds(Duration::MAX, MAX_VISIBILITY_SECONDS), 43_200);
    }
}
