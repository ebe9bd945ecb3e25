//! Standard Webhooks to a local receiver: signed, retried with backoff, delivered once the
//! receiver is back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

/// A webhook receiver on `addr` (or a fresh port) recording every request.
async fn receiver(addr: Option<SocketAddr>) -> (SocketAddr, Received, tokio::task::JoinHandle<()>) {
    let received = Received::default();
    let store = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.0.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
    let bound = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (bound, received, handle)
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    let webhook = standardwebhooks::Webhook::new(secret).unwrap();
    webhook
        .verify(body, headers)
        .expect("the signature verifies with the Standard Webhooks library");
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn events_reach_a_local_receiver_signed_as_standard_webhooks() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let (addr, received, _server) = receiver(None).await;
    let created = app
        .post(
            "/v1/workspaces/acme/webhooks",
            &json!({"url": format!("http://{addr}/hook"),
            "events": ["credential.issued", "credential.revoked"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    let hook_id = created.json()["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = app.get("/v1/workspaces/acme/webhooks").await;
    assert!(!listed.text().contains(&secret), "the secret is shown once");

    let issued = app.issue("acme", &template, "ada@example.com").await;
    let id = issued["id"].as_str().unwrap();
    app.post(&format!("/v1/workspaces/acme/credentials/{id}/suspend"), &json!({})).await;
    app.post(&format!("/v1/workspaces/acme/credentials/{id}/revoke"), &json!({"reason": "test"}))
        .await;

    let events = app
        .eventually(20, || async {
            let events = received.0.lock().unwrap().clone();
            (events.len() >= 2).then_some(events)
        })
        .await;
    let payloads: Vec<Value> =
        events.iter().map(|(headers, body)| verify(&secret, headers, body)).collect();
    let kinds: Vec<&str> = payloads.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["credential.issued", "credential.revoked"], "suspension is not subscribed");
    assert_eq!(payloads[0]["data"]["credential_id"], id);
    assert!(
        !events[0].1.iter().as_slice().windows(15).any(|w| w == b"ada@example.com"),
        "no email in events"
    );

    let deliveries = app.get(&format!("/v1/workspaces/acme/webhooks/{hook_id}/deliveries")).await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.text());
    let body = deliveries.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|d| d["status"] == "delivered"), "{body}");
}

#[tokio::test]
async fn with_the_receiver_down_events_arrive_after_it_comes_back() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    // A port nobody listens on yet.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let created = app
        .post(
            "/v1/workspaces/acme/webhooks",
            &json!({"url": format!("http://{addr}/hook"), "events": ["credential.issued"]}),
        )
        .await;
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    let hook_id = created.json()["id"].as_str().unwrap().to_owned();
    app.issue("acme", &template, "ada@example.com").await;

    // Failed attempts are recorded while it is down.
    app.eventually(20, || async {
        let deliveries =
            app.get(&format!("/v1/workspaces/acme/webhooks/{hook_id}/deliveries")).await.json();
        let first = deliveries["items"].get(0)?.clone();
        (first["attempts"].as_u64()? >= 2 && first["status"] == "pending").then_some(())
    })
    .await;

    let (_, received, _server) = receiver(Some(addr)).await;
    let events = app
        .eventually(30, || async {
            let events = received.0.lock().unwrap().clone();
            (!events.is_empty()).then_some(events)
        })
        .await;
    assert_eq!(events.len(), 1);
    let payload = verify(&secret, &events[0].0, &events[0].1);
    assert_eq!(payload["type"], "credential.issued");
}
