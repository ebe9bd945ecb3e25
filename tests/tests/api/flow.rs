//! The credential life: issue, show, verify, revoke, suspend, expire, idempotency.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, spawn_app, spawn_app_with, status_bit};

fn verdict_of(html: &str) -> String {
    let start = html.find("data-verdict=\"").expect("the page has a data-verdict")
        + "data-verdict=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The one status entry (an object, as the OB 3.0 schema requires): its list and index.
fn status_list_url(credential: &Value) -> (String, usize) {
    let entry = &credential["credentialStatus"];
    assert_eq!(entry["type"], "BitstringStatusListEntry");
    assert_eq!(entry["statusPurpose"], "suspension");
    (
        entry["statusListCredential"].as_str().unwrap().to_owned(),
        entry["statusListIndex"].as_str().unwrap().parse().unwrap(),
    )
}

#[tokio::test]
async fn an_issued_credential_is_signed_shown_active_and_verifies() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let issued = app.issue("acme", &template, "ada@example.com").await;
    let id = issued["id"].as_str().unwrap();
    assert_eq!(issued["status"], "active");
    assert_eq!(issued["verification_url"], app.url(&format!("/credentials/{id}")));
    let credential = &issued["credential"];
    assert_eq!(credential["id"], format!("urn:uuid:{id}"));
    assert_eq!(credential["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
    assert!(credential["issuer"]["id"].as_str().unwrap().starts_with("did:web:127.0.0.1%3A"));
    // No personal data in clear in what is signed: the name is the issuer's to show (and
    // to erase), the email only a salted hash.
    assert!(credential["credentialSubject"].get("name").is_none());
    assert!(!credential.to_string().contains("ada@"));
    assert_eq!(issued["recipient"]["name"], "Ada Lovelace");
    assert!(
        credential["credentialSubject"]["identifier"][0]["identityHash"]
            .as_str()
            .unwrap()
            .starts_with("sha256$")
    );
    assert!(
        !credential.to_string().contains("ada@example.com"),
        "the email is only in hashed form"
    );

    let page = app.get_public(&format!("/credentials/{id}")).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(verdict_of(&html), "active");
    assert!(
        html.contains("Cloud Security Practitioner")
            && html.contains("Ada Lovelace")
            && html.contains("Acme Academy")
    );
    assert!(html.contains("Identity and Access Management"));
    assert!(html.contains("linkedin.com/profile/add"));
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");

    // Stored once, never re-signed: the download is byte-for-byte what issuance returned.
    let download = app.get_public(&format!("/credentials/{id}/credential.json")).await;
    assert_eq!(download.json(), *credential);
    let again = app.get_public(&format!("/credentials/{id}/credential.json")).await;
    assert_eq!(download.body, again.body);

    let report =
        app.send(app.client.post(app.url("/verify")).body(download.body.clone())).await.json();
    assert_eq!(report["verdict"], "valid", "{report}");

    for image in ["badge.png", "badge.svg"] {
        let baked = app.get_public(&format!("/credentials/{id}/{image}")).await;
        assert_eq!(baked.status, 200, "{image}");
        let unbaked: Value =
            serde_json::from_str(&credentials::bake::unbake(&baked.body).unwrap()).unwrap();
        assert_eq!(unbaked, *credential, "{image}");
        let report = app.send(app.client.post(app.url("/verify")).body(baked.body)).await.json();
        assert_eq!(report["verdict"], "valid", "{image}: {report}");
    }
    let qr = app.get_public(&format!("/credentials/{id}/qr.svg")).await;
    assert!(qr.text().contains("<svg"));

    let did = app.get_public("/ws/acme/did.json").await.json();
    assert_eq!(did["id"], credential["issuer"]["id"]);
    assert_eq!(did["assertionMethod"][0], credential["proof"][0]["verificationMethod"]);
}

#[tokio::test]
async fn a_revoked_credential_shows_revoked_with_its_reason_and_its_status_bit_is_set() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let issued = app.issue("acme", &template, "ada@example.com").await;
    let id = issued["id"].as_str().unwrap();
    let (list_url, index) = status_list_url(&issued["credential"]);
    let path = list_url.strip_prefix(&app.base).unwrap();
    let before = app.get_public(path).await;
    assert!(before.headers.get("cache-control").is_some());
    assert!(!status_bit(&before.json(), index));

    let revoked = app
        .post(
            &format!("/v1/workspaces/acme/credentials/{id}/revoke"),
            &json!({"reason": "Issued in error"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(revoked.json()["status"], "revoked");
    assert_eq!(revoked.json()["status_reason"], "Issued in error");

    let html = app.get_public(&format!("/credentials/{id}")).await.text();
    assert_eq!(verdict_of(&html), "revoked");
    assert!(html.contains("Issued in error"));
    let list = app.get_public(path).await.json();
    assert!(status_bit(&list, index));
    let report =
        app.send(app.client.post(app.url("/verify")).json(&issued["credential"])).await.json();
    assert_eq!(report["verdict"], "revoked", "{report}");

    let again = app
        .post(&format!("/v1/workspaces/acme/credentials/{id}/revoke"), &json!({"reason": "twice"}))
        .await;
    again.problem(409);
}

#[tokio::test]
async fn suspension_is_reflected_on_the_page_and_in_the_list_and_can_be_lifted() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let issued = app.issue("acme", &template, "ada@example.com").await;
    let id = issued["id"].as_str().unwrap();
    let (list_url, index) = status_list_url(&issued["credential"]);
    let path = list_url.strip_prefix(&app.base).unwrap().to_owned();

    let suspended =
        app.post(&format!("/v1/workspaces/acme/credentials/{id}/suspend"), &json!({})).await;
    assert_eq!(suspended.status, 200, "{}", suspended.text());
    assert_eq!(
        verdict_of(&app.get_public(&format!("/credentials/{id}")).await.text()),
        "suspended"
    );
    assert!(status_bit(&app.get_public(&path).await.json(), index));
    app.post(&format!("/v1/workspaces/acme/credentials/{id}/suspend"), &json!({}))
        .await
        .problem(409);

    let lifted =
        app.post(&format!("/v1/workspaces/acme/credentials/{id}/unsuspend"), &json!({})).await;
    assert_eq!(lifted.status, 200, "{}", lifted.text());
    assert_eq!(verdict_of(&app.get_public(&format!("/credentials/{id}")).await.text()), "active");
    assert!(!status_bit(&app.get_public(&path).await.json(), index));
    app.post(&format!("/v1/workspaces/acme/credentials/{id}/unsuspend"), &json!({}))
        .await
        .problem(409);
}

#[tokio::test]
async fn a_credential_past_valid_until_shows_expired_at_once_and_the_schedule_marks_it() {
    let app =
        spawn_app_with(Options { expiry_interval: Duration::from_secs(1), ..Options::default() })
            .await;
    let template = app.workspace_with_template("acme").await;
    let until = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let reply = app
        .post(
            "/v1/workspaces/acme/credentials",
            &json!({"template_id": template,
            "recipient": {"email": "ada@example.com", "name": "Ada"}, "valid_until": until}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.json()["credential"]["validUntil"], until);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(verdict_of(&app.get_public(&format!("/credentials/{id}")).await.text()), "expired");
    // The API shows it expired at once too; the schedule then records it (the filter reads
    // the stored status).
    let item = app.get(&format!("/v1/workspaces/acme/credentials/{id}")).await.json();
    assert_eq!(item["status"], "expired");
    assert!(item["status_at"].is_string());
    app.eventually(10, || async {
        let list = app.get("/v1/workspaces/acme/credentials?status=expired").await.json();
        (list["items"].as_array()?.iter().any(|i| i["id"] == id.as_str())).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_return_the_same_credential_and_another_body_conflicts() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let body =
        json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": "Ada"}});
    let request = |body: &Value| {
        app.client
            .post(app.url("/v1/workspaces/acme/credentials"))
            .bearer_auth(crate::helpers::TOKEN)
            .header("Idempotency-Key", "order-42")
            .json(body)
    };
    let first = app.send(request(&body)).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let second = app.send(request(&body)).await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(first.json()["credential"], second.json()["credential"]);
    let mut other = body.clone();
    other["recipient"]["name"] = "Bob".into();
    app.send(request(&other)).await.problem(409);
    let list = app.get("/v1/workspaces/acme/credentials").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn listing_filters_and_paginates_with_a_cursor() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let other = app.template("acme", "Other").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.issue("acme", &template, &format!("user{i}@example.com")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.issue("acme", &other, "user0@example.com").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?template_id={template}&limit=2&cursor={c}"),
            None => format!("?template_id={template}&limit=2"),
        };
        let page = app.get(&format!("/v1/workspaces/acme/credentials{query}")).await.json();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let by_email =
        app.get("/v1/workspaces/acme/credentials?recipient_email=USER0@example.com").await.json();
    assert_eq!(by_email["items"].as_array().unwrap().len(), 2);
    app.post(
        &format!("/v1/workspaces/acme/credentials/{}/revoke", ids[1]),
        &json!({"reason": "x"}),
    )
    .await;
    let revoked = app.get("/v1/workspaces/acme/credentials?status=revoked").await.json();
    assert_eq!(revoked["items"].as_array().unwrap().len(), 1);
    assert_eq!(revoked["items"][0]["id"], ids[1]);
}

#[tokio::test]
async fn templates_can_be_read_listed_and_patched() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let patched = app
        .send(
            app.client
                .patch(app.url(&format!("/v1/workspaces/acme/templates/{template}")))
                .bearer_auth(crate::helpers::TOKEN)
                .json(&json!({"name": "Cloud Security Expert", "valid_for_days": null})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["name"], "Cloud Security Expert");
    assert!(patched.json().get("valid_for_days").is_none_or(Value::is_null));
    let read = app.get(&format!("/v1/workspaces/acme/templates/{template}")).await.json();
    assert_eq!(read["name"], "Cloud Security Expert");
    assert_eq!(
        app.get("/v1/workspaces/acme/templates").await.json()["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(app.get("/v1/workspaces").await.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/v1/workspaces/acme").await.json()["slug"], "acme");
}
