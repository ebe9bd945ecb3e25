//! The scheduled sweep (EventBridge Scheduler) and the outbox relay (DynamoDB stream): their
//! fixture events are accepted as they come, and each invocation does what is due.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Bed, fixture};
use lambda_support::{Context, LambdaEvent, SweepSummary};
use platform::model::StatusKind;

fn invocation(name: &str, seconds_left: u64) -> LambdaEvent<serde_json::Value> {
    let payload = serde_json::from_str(&fixture(name)).unwrap();
    let mut context = Context::default();
    let deadline = std::time::SystemTime::now() + Duration::from_secs(seconds_left);
    context.deadline =
        deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis().try_into().unwrap();
    LambdaEvent::new(payload, context)
}

#[tokio::test]
async fn the_scheduled_sweep_expires_what_is_due_and_relays_the_events() {
    let bed = Bed::new().await;
    let message = serde_json::json!({
        "type": "credential.issue.requested", "workspace": common::SLUG, "idempotency_key": "k1",
        "request": {"template_id": bed.template_id, "valid_until": (bed.app.now() + chrono::Duration::hours(1)).to_rfc3339(),
            "recipient": {"email": "ada@example.org", "name": "Ada Lovelace"}}
    });
    bed.app.handle_inbound_message(&message.to_string()).await.unwrap();
    bed.app.handle_inbound_message(&bed.inbound("k2", "grace@example.org")).await.unwrap();

    // Nothing is due yet; the issuance events are relayed.
    let summary =
        lambda_support::handle_scheduled(&bed.app, invocation("scheduler-event.json", 60)).await;
    assert_eq!(summary.unwrap(), SweepSummary { expired: 0, dispatched: 2, complete: true });

    bed.clock.advance(chrono::Duration::hours(2));
    let summary =
        lambda_support::handle_scheduled(&bed.app, invocation("scheduler-event.json", 60)).await;
    assert_eq!(summary.unwrap(), SweepSummary { expired: 1, dispatched: 1, complete: true });
    let statuses: Vec<StatusKind> =
        bed.credentials().await.iter().map(|c| c.record.status.kind()).collect();
    assert!(statuses.contains(&StatusKind::Expired) && statuses.contains(&StatusKind::Active));

    // Idempotent: a second run finds nothing.
    let summary =
        lambda_support::handle_scheduled(&bed.app, invocation("scheduler-event.json", 60)).await;
    assert_eq!(summary.unwrap(), SweepSummary { expired: 0, dispatched: 0, complete: true });
}

#[tokio::test]
async fn any_json_starts_a_sweep_and_an_expired_deadline_still_does_one_unit() {
    let bed = Bed::new().await;
    let mut event = invocation("scheduler-event.json", 0);
    event.payload = serde_json::json!(["anything", 1, null]);
    let summary = lambda_support::handle_scheduled(&bed.app, event).await.unwrap();
    assert!(summary.complete);
}

#[tokio::test]
async fn the_outbox_relay_counts_the_stream_records_and_drains_the_outbox() {
    let bed = Bed::new().await;
    bed.app.handle_inbound_message(&bed.inbound("k1", "ada@example.org")).await.unwrap();
    let summary = lambda_support::handle_outbox_relay(
        &bed.app,
        invocation("dynamodb-stream-outbox.json", 60),
    )
    .await
    .unwrap();
    assert_eq!((summary.records, summary.dispatched, summary.complete), (2, 1, true));

    let mut empty = invocation("dynamodb-stream-outbox.json", 60);
    empty.payload = serde_json::json!({});
    let summary = lambda_support::handle_outbox_relay(&bed.app, empty).await.unwrap();
    assert_eq!((summary.records, summary.dispatched), (0, 0));
}
