//! Inbound integration events (`credential.issue.requested` on the ingest queue): issued once
//! as the workspace's organization, replayed on redelivery, and dropped (acknowledged, not
//! retried) when they can never succeed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Bed, SLUG};
use platform::app::HandleOutcome;
use serde_json::json;

#[tokio::test]
async fn an_inbound_event_issues_one_credential_to_its_recipient() {
    let bed = Bed::new().await;
    let outcome = bed.app.handle_inbound_message(&bed.inbound("lms-1", "ada@example.org")).await;
    assert_eq!(outcome.unwrap(), HandleOutcome::Done);
    let issued = bed.credentials().await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].recipient.data().unwrap().email.as_str(), "ada@example.org");
    assert_eq!(issued[0].record.template_id.to_string(), bed.template_id);
    // A real, signed credential.
    let document: serde_json::Value = serde_json::from_str(&issued[0].record.document).unwrap();
    assert!(document.to_string().contains("eddsa-rdfc-2022"), "{document}");
}

#[tokio::test]
async fn a_redelivered_event_issues_nothing_new() {
    let bed = Bed::new().await;
    let message = bed.inbound("lms-2", "ada@example.org");
    for _ in 0..3 {
        assert_eq!(bed.app.handle_inbound_message(&message).await.unwrap(), HandleOutcome::Done);
    }
    assert_eq!(bed.credentials().await.len(), 1);
    // Another key is another credential.
    bed.app.handle_inbound_message(&bed.inbound("lms-3", "ada@example.org")).await.unwrap();
    assert_eq!(bed.credentials().await.len(), 2);
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_dropped() {
    let bed = Bed::new().await;
    bed.app.handle_inbound_message(&bed.inbound("lms-4", "ada@example.org")).await.unwrap();
    let other = bed.inbound("lms-4", "grace@example.org");
    assert_eq!(bed.app.handle_inbound_message(&other).await.unwrap(), HandleOutcome::Done);
    let issued = bed.credentials().await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].recipient.data().unwrap().email.as_str(), "ada@example.org");
}

#[tokio::test]
async fn events_that_can_never_succeed_are_dropped_without_issuing() {
    let bed = Bed::new().await;
    let valid = |patch: serde_json::Value| {
        let mut message: serde_json::Value =
            serde_json::from_str(&bed.inbound("lms-5", "ada@example.org")).unwrap();
        for (key, value) in patch.as_object().unwrap() {
            message[key] = value.clone();
        }
        message.to_string()
    };
    let template = bed.template_id.clone();
    let dropped = [
        "".to_owned(),
        "{not json".to_owned(),
        "[]".to_owned(),
        valid(json!({"type": "credential.revoke.requested"})),
        valid(json!({"workspace": "nobody-here"})),
        valid(json!({"workspace": "Not A Slug"})),
        valid(json!({"idempotency_key": ""})),
        valid(json!({"idempotency_key": "bulk:reserved"})),
        valid(json!({"idempotency_key": "k".repeat(250)})),
        valid(
            json!({"request": {"template_id": template, "recipient": {"email": "not-an-email", "name": "Ada"}}}),
        ),
        valid(
            json!({"request": {"template_id": uuid::Uuid::now_v7().to_string(), "recipient": {"email": "ada@example.org", "name": "Ada"}}}),
        ),
        valid(
            json!({"request": {"template_id": template, "recipient": {"email": "ada@example.org", "name": "Ada"}, "extra": 1}}),
        ),
        valid(json!({"request": "not an object"})),
        valid(json!({"unexpected": true})),
        json!({"type": "credential.issue.requested", "workspace": SLUG, "request": {}}).to_string(),
    ];
    for message in &dropped {
        let outcome = bed.app.handle_inbound_message(message).await;
        assert_eq!(outcome.unwrap(), HandleOutcome::Done, "{message}");
    }
    assert!(bed.credentials().await.is_empty());
}

#[tokio::test]
async fn an_event_acts_only_within_its_workspace() {
    // The workspace named in the event decides the organization; a template of another
    // workspace is not found there.
    let bed = Bed::new().await;
    let other: platform::app::NewWorkspace = serde_json::from_value(json!({
        "slug": "globex", "name": "Globex", "issuer": {"name": "Globex"}
    }))
    .unwrap();
    bed.app.create_workspace(&bed.caller, other).await.unwrap();
    let mut message: serde_json::Value =
        serde_json::from_str(&bed.inbound("lms-6", "ada@example.org")).unwrap();
    message["workspace"] = json!("globex");
    assert_eq!(
        bed.app.handle_inbound_message(&message.to_string()).await.unwrap(),
        HandleOutcome::Done
    );
    assert!(bed.credentials().await.is_empty());
}
