//! Issue, page, revoke, status list, bulk and webhooks on the AWS adapters; every SQS
//! message handled three times; what is issued passes the independent verifier.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use platform::ports::QueueName;
use platform_aws::provision::Signing;
use serde_json::{Value, json};

use crate::stack::{Stack, ob3_verify, status_bit};

async fn workspace_with_template(stack: &Stack, slug: &str) -> String {
    let reply = stack
        .post(
            "/v1/workspaces",
            &json!({"slug": slug, "name": "Acme Academy",
            "issuer": {"name": "Acme Academy", "url": "https://academy.example.com"}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = stack
        .post(
            &format!("/v1/workspaces/{slug}/templates"),
            &json!({
                "name": "Cloud Security Practitioner",
                "description": "Awarded for passing the cloud security assessment.",
                "criteria": {"narrative": "Score at least 80%."},
                "achievement_type": "Certification",
                "valid_for_days": 365
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// Every credential of a workspace, through the API's pages: (id, email).
async fn all_credentials(stack: &Stack, slug: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            stack.get(&format!("/v1/workspaces/{slug}/credentials?limit=100{cursor}")).await.json();
        for item in page["items"].as_array().unwrap() {
            all.push((
                item["id"].as_str().unwrap().to_owned(),
                item["recipient"]["email"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

/// The events the outbox relay function would fan out now (it runs on the table's stream and
/// on the schedule); run twice, as a redelivered stream batch would.
async fn relay(stack: &Stack) {
    for _ in 0..2 {
        lambda_support::relay(&stack.app, 1, Duration::from_secs(60)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_runs_on_the_aws_adapters_and_redelivery_duplicates_nothing() {
    let stack = Stack::start(Signing::Kms).await;
    let template = workspace_with_template(&stack, "acme").await;
    let hook = stack
        .post(
            "/v1/workspaces/acme/webhooks",
            &json!({"url": format!("http://{}/hook", stack.hook),
                "events": ["credential.issued", "credential.revoked", "bulk_issuance.completed"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text());
    let secret = hook.json()["secret"].as_str().unwrap().to_owned();

    // Issue, idempotently.
    let request = json!({"template_id": template,
        "recipient": {"email": "ada@example.com", "name": "Ada Lovelace"}});
    let issue = || {
        stack
            .client
            .post(format!("{}/v1/workspaces/acme/credentials", stack.base))
            .bearer_auth(crate::stack::TOKEN)
            .header("idempotency-key", "order-1")
            .json(&request)
    };
    let first = stack.send(issue()).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = stack.send(issue()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    let id = first.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(again.json()["id"], id.as_str());

    // The page, the document from S3, and the independent verifier (KMS-signed).
    let page = stack.get_public(&format!("/credentials/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("data-verdict=\"active\""), "{}", page.text());
    let document = stack.get_public(&format!("/credentials/{id}/credential.json")).await;
    assert_eq!(document.status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credential.json");
    std::fs::write(&file, &document.body).unwrap();
    let (code, output) = ob3_verify(&stack.base, file.clone()).await;
    assert_eq!(code, Some(0), "{output}");

    // Revoke: the page says so, the status list bit is set, and the verifier refuses it.
    let revoked = stack
        .post(&format!("/v1/workspaces/acme/credentials/{id}/revoke"), &json!({"reason": "test"}))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let page = stack.get_public(&format!("/credentials/{id}")).await;
    assert!(page.text().contains("data-verdict=\"revoked\""), "{}", page.text());
    let credential: Value = serde_json::from_slice(&document.body).unwrap();
    let status = &credential["credentialStatus"];
    let list_url = status["statusListCredential"].as_str().unwrap();
    let list_path = list_url.strip_prefix(&stack.base).unwrap();
    let list = stack.get_public(list_path).await;
    assert_eq!(list.status, 200);
    let index: usize = status["statusListIndex"].as_str().unwrap().parse().unwrap();
    assert!(status_bit(&list.json(), index));
    let (code, output) = ob3_verify(&stack.base, file).await;
    assert_eq!(code, Some(1), "{output}");

    // Bulk: every queue message is handled three times (two redeliveries).
    let rows = 120u32;
    let bad = [17u32, 64];
    let mut csv = String::from("email,name\n");
    for row in 1..=rows {
        if bad.contains(&row) {
            csv.push_str(&format!("not-an-email-{row},Person {row}\n"));
        } else {
            csv.push_str(&format!("learner{row}@example.com,Person {row}\n"));
        }
    }
    let job = stack
        .post_raw(
            &format!("/v1/workspaces/acme/bulk-issuances?template_id={template}"),
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(job.status, 202, "{}", job.text());
    let job = job.json()["job_id"].as_str().unwrap().to_owned();
    let handled = stack.drain(QueueName::Bulk, 2, Duration::from_secs(2)).await;
    assert_eq!(handled, 2, "120 rows are two chunk messages");
    let report = stack.get(&format!("/v1/workspaces/acme/bulk-issuances/{job}")).await.json();
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!(report["issued"], rows - 2);
    assert_eq!(report["failed"], 2);
    let credentials = all_credentials(&stack, "acme").await;
    let ids: HashSet<&String> = credentials.iter().map(|(id, _)| id).collect();
    let emails: HashSet<&String> = credentials.iter().map(|(_, email)| email).collect();
    assert_eq!(credentials.len(), rows as usize - 2 + 1, "one credential per good row, plus Ada");
    assert_eq!((ids.len(), emails.len()), (credentials.len(), credentials.len()), "no duplicate");

    // Webhooks: relayed twice, each delivery message handled three times; every event arrives
    // exactly once, signed.
    relay(&stack).await;
    stack.drain(QueueName::Webhooks, 2, Duration::from_secs(2)).await;
    let received = stack.received.0.lock().unwrap().clone();
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for (headers, body) in &received {
        verifier.verify(body, headers).expect("a Standard Webhooks signature");
        let id = headers["webhook-id"].to_str().unwrap().to_owned();
        *by_id.entry(id).or_default() += 1;
        let event: Value = serde_json::from_slice(body).unwrap();
        *kinds.entry(event["type"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let repeated: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "events delivered more than once: {repeated:?}");
    assert_eq!(kinds.get("credential.issued"), Some(&(rows as usize - 2 + 1)), "{kinds:?}");
    assert_eq!(kinds.get("credential.revoked"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("bulk_issuance.completed"), Some(&1), "{kinds:?}");
}
