//! SQS batches with partial failures: the response names exactly the records to receive
//! again, by their real message ids; nothing panics on a bad record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use common::{Bed, fixture};
use platform::app::HandleOutcome;
use platform::ports::QueueName;
use serde_json::json;

fn event(records: serde_json::Value) -> SqsEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<&str> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

#[tokio::test]
async fn a_batch_reports_exactly_the_failing_message_and_handles_the_valid_one() {
    let bed = Bed::new().await;
    // The fixture's first record has no body (malformed); the second is a valid event.
    let text = fixture("sqs-inbound-batch.json").replace("{{TEMPLATE_ID}}", &bed.template_id);
    let event: SqsEvent = serde_json::from_str(&text).unwrap();

    let response =
        lambda_support::process_sqs_batch(&bed.app, None, event, |app, body| async move {
            app.handle_inbound_message(&body).await
        })
        .await;

    assert_eq!(failures(&response), ["2e1424d4-f796-459a-8184-9c92662be6da"]);
    let issued = bed.credentials().await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].recipient.data().unwrap().email.as_str(), "ada@example.org");
    // The response is what Lambda expects.
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
}

#[tokio::test]
async fn errors_and_retries_are_reported_and_done_messages_are_not() {
    let bed = Bed::new().await;
    let event = event(json!([
        {"messageId": "m-done", "receiptHandle": "r1", "body": "done"},
        {"messageId": "m-error", "receiptHandle": "r2", "body": "error"},
        {"messageId": "m-retry", "receiptHandle": "r3", "body": "retry"},
        {"receiptHandle": "r4", "body": "no id: skipped"},
        {"messageId": "", "receiptHandle": "r5", "body": "empty id: skipped"},
    ]));
    let response = lambda_support::process_sqs_batch(
        &bed.app,
        Some(QueueName::Webhooks),
        event,
        |_app, body| async move {
            match body.as_str() {
                "error" => Err(platform::Error::Unexpected(anyhow::anyhow!("store down"))),
                "retry" => Ok(HandleOutcome::Retry(Duration::from_secs(30))),
                _ => Ok(HandleOutcome::Done),
            }
        },
    )
    .await;
    assert_eq!(failures(&response), ["m-error", "m-retry"]);
}

#[tokio::test]
async fn a_retry_hides_the_message_for_its_delay() {
    use platform::ports::Queue as _;

    let bed = Bed::new().await;
    let queue = bed.store.store().clone();
    queue.send(QueueName::Webhooks, &[("payload".into(), Duration::ZERO)]).await.unwrap();
    // Received with no visibility timeout: visible again at once, unless released for longer.
    let received = queue.receive(QueueName::Webhooks, 1, Duration::ZERO).await.unwrap();
    let message = &received[0];
    let event = event(json!([
        {"messageId": message.id, "receiptHandle": message.receipt, "body": message.body},
    ]));

    let response = lambda_support::process_sqs_batch(
        &bed.app,
        Some(QueueName::Webhooks),
        event,
        |_app, _body| async move { Ok(HandleOutcome::Retry(Duration::from_secs(60))) },
    )
    .await;

    assert_eq!(failures(&response), [message.id.as_str()]);
    assert!(queue.receive(QueueName::Webhooks, 1, Duration::ZERO).await.unwrap().is_empty());
    bed.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(queue.receive(QueueName::Webhooks, 1, Duration::ZERO).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_bulk_message_that_is_not_json_is_dropped_not_retried_forever() {
    let bed = Bed::new().await;
    let event = event(json!([{"messageId": "m1", "receiptHandle": "r1", "body": "{not json"}]));
    let response = lambda_support::process_sqs_batch(
        &bed.app,
        Some(QueueName::Bulk),
        event,
        |app, body| async move { app.handle_bulk_message(&body).await },
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
}
