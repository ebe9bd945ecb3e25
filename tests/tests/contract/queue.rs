//! `Queue`: at-least-once delivery with visibility timeouts, receipts, delays, releases and a
//! dead-letter queue, like SQS. Durations are whole seconds, so a cloud queue can run this too.

use std::collections::HashSet;
use std::time::Duration;

use platform::ports::{QueueName, ReceivedMessage};

use crate::{AdapterSet, TestPorts};

const VISIBILITY: Duration = Duration::from_secs(2);
/// Longer than [`VISIBILITY`].
const PAST_VISIBILITY: Duration = Duration::from_secs(3);

async fn send(t: &TestPorts, queue: QueueName, bodies: &[&str]) -> anyhow::Result<()> {
    let messages: Vec<_> = bodies.iter().map(|b| (b.to_string(), Duration::ZERO)).collect();
    t.ports.queue.send(queue, &messages).await
}

async fn receive(t: &TestPorts, queue: QueueName) -> anyhow::Result<Vec<ReceivedMessage>> {
    t.ports.queue.receive(queue, 10, VISIBILITY).await
}

async fn receive_one(t: &TestPorts) -> anyhow::Result<ReceivedMessage> {
    let mut messages = receive(t, QueueName::Bulk).await?;
    assert_eq!(messages.len(), 1, "{messages:?}");
    Ok(messages.remove(0))
}

pub async fn a_received_message_is_hidden_for_its_visibility_timeout(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["chunk 1"]).await?;
    let message = receive_one(&t).await?;
    assert_eq!((message.body.as_str(), message.receive_count), ("chunk 1", 1));
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    t.pass(Duration::from_secs(1)).await;
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    Ok(())
}

pub async fn an_undeleted_message_comes_back_with_the_same_id_and_a_new_receipt(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["chunk 1"]).await?;
    let first = receive_one(&t).await?;
    t.pass(PAST_VISIBILITY).await;
    let second = receive_one(&t).await?;
    assert_eq!((&second.id, &second.body, second.receive_count), (&first.id, &first.body, 2));
    assert_ne!(second.receipt, first.receipt);
    Ok(())
}

pub async fn a_delayed_message_is_invisible_until_its_delay_has_passed(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let messages =
        [("later".to_string(), Duration::from_secs(5)), ("now".to_string(), Duration::ZERO)];
    t.ports.queue.send(QueueName::Bulk, &messages).await?;
    let now = receive_one(&t).await?;
    assert_eq!(now.body, "now");
    t.ports.queue.delete(QueueName::Bulk, &now.receipt).await?;
    t.pass(Duration::from_secs(3)).await;
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    t.pass(Duration::from_secs(3)).await;
    let later = receive_one(&t).await?;
    assert_eq!((later.body.as_str(), later.receive_count), ("later", 1));
    Ok(())
}

pub async fn a_deleted_message_is_not_received_again(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["chunk 1"]).await?;
    let message = receive_one(&t).await?;
    t.ports.queue.delete(QueueName::Bulk, &message.receipt).await?;
    t.pass(PAST_VISIBILITY).await;
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    Ok(())
}

pub async fn a_stale_receipt_deletes_nothing(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["chunk 1"]).await?;
    let first = receive_one(&t).await?;
    t.pass(PAST_VISIBILITY).await;
    let second = receive_one(&t).await?;
    // The first worker overran its timeout; its late delete must not drop the message that
    // the second worker now holds.
    t.ports.queue.delete(QueueName::Bulk, &first.receipt).await?;
    t.pass(PAST_VISIBILITY).await;
    let third = receive_one(&t).await?;
    assert_eq!((&third.id, third.receive_count), (&second.id, 3));
    t.ports.queue.delete(QueueName::Bulk, &third.receipt).await?;
    t.pass(PAST_VISIBILITY).await;
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    Ok(())
}

pub async fn a_released_message_comes_back_after_its_delay(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Webhooks, &["delivery 1"]).await?;
    let long = Duration::from_secs(600);
    let first = t.ports.queue.receive(QueueName::Webhooks, 10, long).await?;
    assert_eq!(first.len(), 1);
    t.ports.queue.release(QueueName::Webhooks, &first[0].receipt, Duration::from_secs(3)).await?;
    t.pass(Duration::from_secs(1)).await;
    assert!(receive(&t, QueueName::Webhooks).await?.is_empty());
    t.pass(Duration::from_secs(3)).await;
    let second = t.ports.queue.receive(QueueName::Webhooks, 10, long).await?;
    assert_eq!(second.len(), 1);
    assert_eq!((&second[0].id, second[0].receive_count), (&first[0].id, 2));
    // Released with no delay, it is visible at once.
    t.ports.queue.release(QueueName::Webhooks, &second[0].receipt, Duration::ZERO).await?;
    let third = receive(&t, QueueName::Webhooks).await?;
    assert_eq!(third.len(), 1);
    assert_eq!((&third[0].id, third[0].receive_count), (&first[0].id, 3));
    Ok(())
}

pub async fn a_message_received_too_often_goes_to_the_dead_letter_queue(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["poison"]).await?;
    let mut id = None;
    for count in 1..=t.max_receives {
        let message = receive_one(&t).await?;
        assert_eq!(message.receive_count, count);
        assert_eq!(id.get_or_insert_with(|| message.id.clone()), &message.id);
        t.pass(PAST_VISIBILITY).await;
    }
    assert!(
        receive(&t, QueueName::Bulk).await?.is_empty(),
        "received more than {} times",
        t.max_receives
    );
    t.pass(PAST_VISIBILITY).await;
    assert!(receive(&t, QueueName::Bulk).await?.is_empty());
    // The queue still works for everything else.
    send(&t, QueueName::Bulk, &["healthy"]).await?;
    let healthy = receive_one(&t).await?;
    assert_eq!((healthy.body.as_str(), healthy.receive_count), ("healthy", 1));
    Ok(())
}

pub async fn receive_returns_at_most_max_messages(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["1", "2", "3", "4", "5"]).await?;
    let mut bodies = HashSet::new();
    let mut ids = HashSet::new();
    for _ in 0..10 {
        let batch = t.ports.queue.receive(QueueName::Bulk, 2, Duration::from_secs(600)).await?;
        assert!(batch.len() <= 2, "{batch:?}");
        for message in batch {
            assert!(ids.insert(message.id), "a hidden message was received again");
            bodies.insert(message.body);
        }
        if bodies.len() == 5 {
            break;
        }
    }
    assert_eq!(bodies.len(), 5);
    Ok(())
}

pub async fn queues_are_isolated(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    send(&t, QueueName::Bulk, &["bulk"]).await?;
    assert!(receive(&t, QueueName::Webhooks).await?.is_empty());
    send(&t, QueueName::Webhooks, &["webhook"]).await?;
    assert_eq!(receive_one(&t).await?.body, "bulk");
    let webhooks = receive(&t, QueueName::Webhooks).await?;
    assert_eq!(webhooks.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), vec!["webhook"]);
    Ok(())
}
