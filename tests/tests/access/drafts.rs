//! Four-eyes approval over HTTP, on both adapter sets: the approval policy of templates and
//! workspaces turns issuance into drafts, nobody approves their own draft, an approval issues
//! exactly once, a rejection is final, and another organization's drafts are not found.

use std::time::Duration;

use platform::auth::Role;
use platform::ports::QueueName;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Body, Deployment, OWNER_TOKEN, aws, embedded};

fn issue_body(template: &str, email: &str) -> Body {
    Body::Json(json!({"template_id": template, "recipient": {"email": email, "name": "Ada"}}))
}

/// How many credentials of `ws` were issued to `email`.
async fn issued_to(d: &Deployment, ws: &str, email: &str) -> usize {
    let path = format!("/v1/workspaces/{ws}/credentials?recipient_email={email}&limit=200");
    d.ok(OWNER_TOKEN, Method::GET, &path, None).await["items"].as_array().unwrap().len()
}

/// Calls with an `Idempotency-Key`.
async fn call_with_key(
    d: &Deployment,
    token: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let response = d
        .client
        .post(format!("{}{path}", d.base))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn an_issue_under_a_template_policy_waits_for_another_approver(deployment: Deployment) {
    let d = &deployment;
    d.fixture(OWNER_TOKEN, "alpha").await;
    let template = d
        .ok(
            OWNER_TOKEN,
            Method::POST,
            "/v1/workspaces/alpha/templates",
            Some(Body::Json(json!({"name": "Audited", "description": "D",
                "criteria": {"narrative": "C"}, "requires_approval": true}))),
        )
        .await;
    assert_eq!(template["requires_approval"], true, "{template}");
    let template = template["id"].as_str().unwrap().to_owned();
    let (issuer, issuer_id) = d.key(OWNER_TOKEN, Role::Issuer, Some("alpha")).await;
    let (approver, approver_id) = d.key(OWNER_TOKEN, Role::Approver, Some("alpha")).await;

    // The issuer's call is accepted as a draft: nothing is issued.
    let body = json!({"template_id": template,
        "recipient": {"email": "ada@example.com", "name": "Ada"}});
    let path = "/v1/workspaces/alpha/credentials";
    let (status, draft) = call_with_key(d, &issuer, path, "order-1", body.clone()).await;
    assert_eq!(status, 202, "{draft}");
    assert_eq!(
        (draft["status"].as_str(), draft["kind"].as_str()),
        (Some("pending"), Some("single"))
    );
    assert_eq!(draft["author"], format!("api_key:{issuer_id}"));
    assert!(draft.get("request").is_none(), "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(issued_to(d, "alpha", "ada@example.com").await, 0);
    // A retry with the same key is the same draft; with another body, a conflict.
    let (status, again) = call_with_key(d, &issuer, path, "order-1", body.clone()).await;
    assert_eq!((status, again["id"].as_str()), (202, Some(id.as_str())), "{again}");
    let mut other = body.clone();
    other["recipient"]["name"] = json!("Eve");
    let (status, _) = call_with_key(d, &issuer, path, "order-1", other).await;
    assert_eq!(status, 409);

    // Anyone with credential_read sees the pending request.
    let (viewer, _) = d.key(OWNER_TOKEN, Role::Viewer, Some("alpha")).await;
    let draft_path = format!("/v1/workspaces/alpha/drafts/{id}");
    let read = d.ok(&viewer, Method::GET, &draft_path, None).await;
    assert_eq!(read["request"]["recipient"]["email"], "ada@example.com", "{read}");
    let pending =
        d.ok(&viewer, Method::GET, "/v1/workspaces/alpha/drafts?status=pending", None).await;
    let listed: Vec<&str> =
        pending["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id.as_str()]);
    // An issuer may not approve at all.
    let (status, _) = d.call(&issuer, Method::POST, &format!("{draft_path}/approve"), None).await;
    assert_eq!(status, 403);

    // The approver sends it: one active credential, the draft says so, its request is gone.
    let approved = d.ok(&approver, Method::POST, &format!("{draft_path}/approve"), None).await;
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(approved["decided_by"], format!("api_key:{approver_id}"));
    let credential = approved["credential_id"].as_str().unwrap().to_owned();
    let issued = d
        .ok(&viewer, Method::GET, &format!("/v1/workspaces/alpha/credentials/{credential}"), None)
        .await;
    assert_eq!(issued["status"], "active", "{issued}");
    let read = d.ok(&viewer, Method::GET, &draft_path, None).await;
    assert_eq!(
        (read["status"].as_str(), read["credential_id"].as_str()),
        (Some("approved"), Some(credential.as_str()))
    );
    assert!(read.get("request").is_none(), "the request is erased once decided: {read}");

    // Approving twice is a conflict and issues nothing more.
    let (status, text) =
        d.call(&approver, Method::POST, &format!("{draft_path}/approve"), None).await;
    assert_eq!(status, 409, "{text}");
    assert_eq!(issued_to(d, "alpha", "ada@example.com").await, 1);
    let approved_list =
        d.ok(&viewer, Method::GET, "/v1/workspaces/alpha/drafts?status=approved", None).await;
    assert_eq!(approved_list["items"].as_array().unwrap().len(), 1, "{approved_list}");
    let (status, _) =
        d.call(&viewer, Method::GET, "/v1/workspaces/alpha/drafts?status=maybe", None).await;
    assert_eq!(status, 400);
}

async fn nobody_decides_their_own_draft_and_a_rejection_is_final(deployment: Deployment) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let drafts = "/v1/workspaces/alpha/drafts";
    let single = |email: &str| {
        Body::Json(json!({"kind": "single", "request": {"template_id": alpha.template,
            "recipient": {"email": email, "name": "Ada"}}}))
    };

    // A workspace admin may draft and approve, but not its own draft.
    let (admin, _) = d.key(OWNER_TOKEN, Role::WorkspaceAdmin, Some("alpha")).await;
    let own = d.ok(&admin, Method::POST, drafts, Some(single("own@example.com"))).await;
    let own_path = format!("{drafts}/{}", own["id"].as_str().unwrap());
    let (status, text) = d.call(&admin, Method::POST, &format!("{own_path}/approve"), None).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("four-eyes"), "{text}");
    let reject = Some(Body::Json(json!({"reason": "mine"})));
    let (status, _) = d.call(&admin, Method::POST, &format!("{own_path}/reject"), reject).await;
    assert_eq!(status, 403);
    assert_eq!(issued_to(d, "alpha", "own@example.com").await, 0);
    // Another approver may.
    let (approver, approver_id) = d.key(OWNER_TOKEN, Role::Approver, Some("alpha")).await;
    d.ok(&approver, Method::POST, &format!("{own_path}/approve"), None).await;
    assert_eq!(issued_to(d, "alpha", "own@example.com").await, 1);

    // A draft manager cannot issue, but can always draft.
    let (manager, _) = d.key(OWNER_TOKEN, Role::DraftManager, Some("alpha")).await;
    let (status, _) = d
        .call(
            &manager,
            Method::POST,
            "/v1/workspaces/alpha/credentials",
            Some(issue_body(&alpha.template, "bea@example.com")),
        )
        .await;
    assert_eq!(status, 403);
    let draft = d.ok(&manager, Method::POST, drafts, Some(single("bea@example.com"))).await;
    let path = format!("{drafts}/{}", draft["id"].as_str().unwrap());
    // Bad input is refused when drafting, not when approving.
    let (status, text) = d.call(&manager, Method::POST, drafts, Some(single("not-an-email"))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("recipient.email"), "{text}");
    let (status, _) =
        d.call(&manager, Method::POST, drafts, Some(Body::Json(json!({"kind": "other"})))).await;
    assert_eq!(status, 400);

    // A rejection needs a reason, and is final.
    let (status, _) = d
        .call(
            &approver,
            Method::POST,
            &format!("{path}/reject"),
            Some(Body::Json(json!({"reason": " "}))),
        )
        .await;
    assert_eq!(status, 400);
    let rejected = d
        .ok(
            &approver,
            Method::POST,
            &format!("{path}/reject"),
            Some(Body::Json(json!({"reason": "wrong cohort"}))),
        )
        .await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["reason"], "wrong cohort");
    assert_eq!(rejected["decided_by"], format!("api_key:{approver_id}"));
    let (status, text) = d.call(&approver, Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(status, 409, "{text}");
    let (status, _) = d
        .call(
            &approver,
            Method::POST,
            &format!("{path}/reject"),
            Some(Body::Json(json!({"reason": "again"}))),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(issued_to(d, "alpha", "bea@example.com").await, 0);
    let read = d.ok(&manager, Method::GET, &path, None).await;
    assert!(read.get("request").is_none(), "{read}");
}

async fn a_workspace_policy_drafts_bulk_rows_and_approval_issues_the_good_ones(
    deployment: Deployment,
) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let (admin, _) = d.key(OWNER_TOKEN, Role::WorkspaceAdmin, Some("alpha")).await;
    let (issuer, _) = d.key(OWNER_TOKEN, Role::Issuer, Some("alpha")).await;
    let (approver, _) = d.key(OWNER_TOKEN, Role::Approver, Some("alpha")).await;
    let policy = |on: bool| Some(Body::Json(json!({"requires_approval": on})));
    let (status, _) = d.call(&issuer, Method::PATCH, "/v1/workspaces/alpha", policy(true)).await;
    assert_eq!(status, 403);
    let changed = d.ok(&admin, Method::PATCH, "/v1/workspaces/alpha", policy(true)).await;
    assert_eq!(changed["requires_approval"], true, "{changed}");
    let read = d.ok(&issuer, Method::GET, "/v1/workspaces/alpha", None).await;
    assert_eq!(read["requires_approval"], true, "{read}");
    let (status, _) = d
        .call(&admin, Method::PATCH, "/v1/workspaces/alpha", Some(Body::Json(json!({"slug": "x"}))))
        .await;
    assert_eq!(status, 400);

    // Under the workspace's policy, one credential is a draft too.
    let (status, text) = d
        .call(
            &issuer,
            Method::POST,
            "/v1/workspaces/alpha/credentials",
            Some(issue_body(&alpha.template, "solo@example.com")),
        )
        .await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(issued_to(d, "alpha", "solo@example.com").await, 0);

    // A bulk submission of three rows, one bad, is a draft that reports the bad row.
    let bulk = format!("/v1/workspaces/alpha/bulk-issuances?template_id={}", alpha.template);
    let csv = "email,name\nrow1@example.com,One\nnot-an-email,Two\nrow3@example.com,Three\n";
    let (status, text) = d.call(&issuer, Method::POST, &bulk, Some(Body::Csv(csv))).await;
    assert_eq!(status, 202, "{text}");
    let draft: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((draft["kind"].as_str(), draft["total"].as_u64()), (Some("bulk"), Some(3)));
    let errors = draft["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{draft}");
    assert_eq!(errors[0]["row"], 2);
    assert!(errors[0]["error"].as_str().unwrap().contains("email"), "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/workspaces/alpha/drafts/{id}");
    let read = d.ok(&approver, Method::GET, &path, None).await;
    assert_eq!(read["rows"][0]["email"], "row1@example.com", "{read}");

    // Approved: the job (named after the draft) runs and issues the two good rows.
    let approved = d.ok(&approver, Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(approved["bulk_job_id"], id.as_str());
    let job_path = format!("/v1/workspaces/alpha/bulk-issuances/{id}");
    let mut job = Value::Null;
    for _ in 0..100 {
        d.app.work_queue(QueueName::Bulk, 10, Duration::from_secs(30)).await.unwrap();
        job = d.ok(&approver, Method::GET, &job_path, None).await;
        if job["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!((job["issued"].as_u64(), job["failed"].as_u64()), (Some(2), Some(1)), "{job}");
    let (status, _) = d.call(&approver, Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(status, 409);
    d.app.work_queue(QueueName::Bulk, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(issued_to(d, "alpha", "row1@example.com").await, 1);
    assert_eq!(issued_to(d, "alpha", "row3@example.com").await, 1);

    // Policy off: the issuer issues directly again.
    d.ok(&admin, Method::PATCH, "/v1/workspaces/alpha", policy(false)).await;
    let (status, _) = d
        .call(
            &issuer,
            Method::POST,
            "/v1/workspaces/alpha/credentials",
            Some(issue_body(&alpha.template, "direct@example.com")),
        )
        .await;
    assert_eq!(status, 201);
}

async fn drafts_of_another_workspace_or_organization_are_not_found(deployment: Deployment) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    d.fixture(OWNER_TOKEN, "beta").await;
    let other = d.other_owner.clone();
    d.fixture(&other, "gamma").await;
    let body = json!({"kind": "single", "request": {"template_id": alpha.template,
        "recipient": {"email": "secret.person@example.com", "name": "Secret Person"}}});
    let draft = d
        .ok(OWNER_TOKEN, Method::POST, "/v1/workspaces/alpha/drafts", Some(Body::Json(body)))
        .await;
    let id = draft["id"].as_str().unwrap().to_owned();
    let (beta_approver, _) = d.key(OWNER_TOKEN, Role::Approver, Some("beta")).await;
    let (admin, _) = d.key(OWNER_TOKEN, Role::OrganizationAdmin, None).await;
    let cases = [
        // Another organization's owner, through the draft's own workspace.
        (other.as_str(), format!("/v1/workspaces/alpha/drafts/{id}")),
        // Another organization's owner, through its own workspace.
        (other.as_str(), format!("/v1/workspaces/gamma/drafts/{id}")),
        // An approver of another workspace of the organization.
        (beta_approver.as_str(), format!("/v1/workspaces/alpha/drafts/{id}")),
        (beta_approver.as_str(), format!("/v1/workspaces/beta/drafts/{id}")),
        // The organization's admin, through the wrong workspace.
        (admin.as_str(), format!("/v1/workspaces/beta/drafts/{id}")),
    ];
    for (token, path) in &cases {
        for (method, suffix) in [(Method::GET, ""), (Method::POST, "/approve")] {
            let (status, text) =
                d.call(token, method.clone(), &format!("{path}{suffix}"), None).await;
            assert_eq!(status, 404, "{method} {path}{suffix}: {text}");
            assert!(!text.contains("secret.person"), "{text}");
        }
    }
    let (_, text) = d.call(&other, Method::GET, "/v1/workspaces/gamma/drafts", None).await;
    assert!(!text.contains(&id), "{text}");
    // Still pending, and visible where it belongs.
    let read = d.ok(&admin, Method::GET, &format!("/v1/workspaces/alpha/drafts/{id}"), None).await;
    assert_eq!(read["status"], "pending", "{read}");
}

on_both!(
    an_issue_under_a_template_policy_waits_for_another_approver,
    nobody_decides_their_own_draft_and_a_rejection_is_final,
    a_workspace_policy_drafts_bulk_rows_and_approval_issues_the_good_ones,
    drafts_of_another_workspace_or_organization_are_not_found,
);
