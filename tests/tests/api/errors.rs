//! Every error path answers a 4xx `application/problem+json` naming what is wrong; never a
//! 5xx, never a half-written record.

use serde_json::json;

use crate::helpers::{TOKEN, spawn_app};

#[tokio::test]
async fn requests_without_a_valid_api_key_are_401() {
    let app = spawn_app().await;
    let none = app.send(app.client.get(app.url("/v1/workspaces"))).await;
    none.problem(401);
    assert!(none.headers.get("www-authenticate").is_some());
    app.send(
        app.client
            .get(app.url("/v1/workspaces"))
            .bearer_auth("obk_wrong-token-that-is-long-enough"),
    )
    .await
    .problem(401);
    app.send(app.client.get(app.url("/v1/workspaces")).bearer_auth("short")).await.problem(401);
    app.send(app.client.get(app.url("/v1/workspaces")).header("authorization", "Basic YTpi"))
        .await
        .problem(401);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let cases = [
        (
            json!({"template_id": template, "recipient": {"email": "not-an-email", "name": "Ada"}}),
            "recipient.email",
        ),
        (
            json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "  "}}),
            "recipient.name",
        ),
        (
            json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "Tab\there"}}),
            "recipient.name",
        ),
        (
            json!({"template_id": "nope", "recipient": {"email": "ada@example.com", "name": "Ada"}}),
            "template_id",
        ),
        (
            json!({"template_id": uuid_like(), "recipient": {"email": "ada@example.com", "name": "Ada"}}),
            "template_id",
        ),
        (
            json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "Ada"}, "valid_until": "tomorrow"}),
            "valid_until",
        ),
        (
            json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "Ada"}, "valid_until": "2001-01-01T00:00:00Z"}),
            "valid_until",
        ),
        (
            json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "Ada"}, "evidence": [{"url": "javascript:alert(1)"}]}),
            "evidence[0].url",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/workspaces/acme/credentials", &body).await;
        let problem = reply.problem(400);
        assert_eq!(problem["field"], field, "{problem}");
    }
    let unknown = app.post("/v1/workspaces/acme/credentials", &json!({"template_id": template, "recipient": {"email": "a@b.example", "name": "A"}, "colour": "blue"})).await;
    let problem = unknown.problem(400);
    assert!(problem["detail"].as_str().unwrap().contains("colour"), "{problem}");
    let malformed = app
        .post_raw("/v1/workspaces/acme/credentials", "application/json", "{\"template_id\": ")
        .await;
    malformed.problem(400);
    let wrong_type = app.post_raw("/v1/workspaces/acme/credentials", "text/plain", "hello").await;
    wrong_type.problem(415);
    let list = app.get("/v1/workspaces/acme/credentials").await.json();
    assert!(list["items"].as_array().unwrap().is_empty(), "nothing was written: {list}");
}

fn uuid_like() -> String {
    "0190f5a1-0000-7000-8000-000000000000".into()
}

#[tokio::test]
async fn workspace_and_template_errors() {
    let app = spawn_app().await;
    app.workspace_with_template("acme").await;
    let taken = app
        .post("/v1/workspaces", &json!({"slug": "acme", "name": "Again", "issuer": {"name": "X"}}))
        .await;
    taken.problem(409);
    let bad_slug = app
        .post(
            "/v1/workspaces",
            &json!({"slug": "Not A Slug", "name": "X", "issuer": {"name": "X"}}),
        )
        .await;
    assert_eq!(bad_slug.problem(400)["field"], "slug");
    let bad_url = app
        .post(
            "/v1/workspaces",
            &json!({"slug": "beta", "name": "X", "issuer": {"name": "X", "url": "ftp://x"}}),
        )
        .await;
    assert_eq!(bad_url.problem(400)["field"], "issuer.url");
    app.get("/v1/workspaces/nope").await.problem(404);
    app.get("/v1/workspaces/acme/templates/0190f5a1-0000-7000-8000-000000000000")
        .await
        .problem(404);
    app.get("/v1/workspaces/acme/templates/not-a-uuid").await.problem(404);
    let bad_template = app.post("/v1/workspaces/acme/templates", &json!({"name": "X", "description": "Y", "criteria": {"narrative": "Z"}, "valid_for_days": 0})).await;
    assert_eq!(bad_template.problem(400)["field"], "valid_for_days");
    let bad_alignment = app
        .post(
            "/v1/workspaces/acme/templates",
            &json!({"name": "X", "description": "Y", "criteria": {"narrative": "Z"},
        "alignments": [{"target_name": "A", "target_url": "not a url"}]}),
        )
        .await;
    assert_eq!(bad_alignment.problem(400)["field"], "alignments[0].target_url");
    let missing = app.post("/v1/workspaces/acme/templates", &json!({"name": "X"})).await;
    missing.problem(400);
}

#[tokio::test]
async fn credential_routes_answer_404_for_unknown_ids_and_409_for_wrong_transitions() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let id =
        app.issue("acme", &template, "ada@example.com").await["id"].as_str().unwrap().to_owned();
    let unknown = "0190f5a1-0000-7000-8000-000000000000";
    app.get(&format!("/v1/workspaces/acme/credentials/{unknown}")).await.problem(404);
    app.get_public(&format!("/credentials/{unknown}/credential.json")).await.problem(404);
    let page = app.get_public(&format!("/credentials/{unknown}")).await;
    assert_eq!(page.status, 404);
    app.get_public("/credentials/not-a-uuid/qr.svg").await.problem(404);
    app.post(&format!("/v1/workspaces/acme/credentials/{id}/unsuspend"), &json!({}))
        .await
        .problem(409);
    let no_reason =
        app.post(&format!("/v1/workspaces/acme/credentials/{id}/revoke"), &json!({})).await;
    no_reason.problem(400);
    app.get_public("/status/not-a-list").await.problem(404);
    app.get_public("/ws/nope/did.json").await.problem(404);
    app.get_public("/no/such/route").await.problem(404);
    app.send(app.client.delete(app.url("/healthz"))).await.problem(405);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_verify_answers_invalid_for_garbage() {
    let app = spawn_app().await;
    app.workspace_with_template("acme").await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    app.post_raw("/v1/workspaces/acme/templates", "application/json", huge).await.problem(413);
    let too_big = vec![b'a'; 17 * 1024 * 1024];
    app.send(app.client.post(app.url("/verify")).body(too_big)).await.problem(413);
    for garbage in [&b"hello"[..], b"{\"@context\": 1}", b"\x89PNG\r\n\x1a\nbroken", b"<svg"] {
        let reply = app.send(app.client.post(app.url("/verify")).body(garbage.to_vec())).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["verdict"], "invalid", "{}", reply.text());
    }
}

#[tokio::test]
async fn webhook_and_bulk_input_errors() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let bad_url = app
        .post(
            "/v1/workspaces/acme/webhooks",
            &json!({"url": "not a url", "events": ["credential.issued"]}),
        )
        .await;
    assert_eq!(bad_url.problem(400)["field"], "url");
    let bad_event = app
        .post(
            "/v1/workspaces/acme/webhooks",
            &json!({"url": "http://127.0.0.1:9/", "events": ["credential.eaten"]}),
        )
        .await;
    assert_eq!(bad_event.problem(400)["field"], "events");
    app.send(
        app.client
            .delete(app.url("/v1/workspaces/acme/webhooks/0190f5a1-0000-7000-8000-000000000000"))
            .bearer_auth(TOKEN),
    )
    .await
    .problem(404);
    let path = format!("/v1/workspaces/acme/bulk-issuances?template_id={template}");
    app.post_raw(&path, "text/csv", "mail,name\nx,y\n").await.problem(400);
    app.post_raw(&path, "text/csv", "email,name\n").await.problem(400);
    app.post_raw(&path, "application/xml", "<rows/>").await.problem(415);
    app.post_raw("/v1/workspaces/acme/bulk-issuances", "text/csv", "email,name\na@b.example,A\n")
        .await
        .problem(400);
    app.get("/v1/workspaces/acme/bulk-issuances/0190f5a1-0000-7000-8000-000000000000")
        .await
        .problem(404);
}
