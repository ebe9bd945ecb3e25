//! Rate limits: per client address on the public routes, per API key on the others, with
//! `RateLimit` fields on every answer and a 429 problem with `Retry-After` past the quota.

use serde_json::json;

use crate::helpers::{Options, TOKEN, spawn_app_with};

fn field<'a>(reply: &'a crate::helpers::Reply, name: &str) -> &'a str {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn each_client_and_each_key_get_their_quota_then_a_429() {
    let rate_limits = platform::RateLimits { public_per_minute: 5, api_key_per_minute: 7 };
    let app = spawn_app_with(Options { rate_limits, ..Options::default() }).await;

    // Public routes: five answers with the remaining count going down, then 429.
    for remaining in (0..5).rev() {
        let reply = app.get_public("/healthz").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(field(&reply, "ratelimit-policy"), "\"public\";q=5;w=60");
        assert!(
            field(&reply, "ratelimit").starts_with(&format!("\"public\";r={remaining};t=")),
            "{:?}",
            reply.headers
        );
    }
    let refused = app.get_public("/healthz").await;
    let problem = refused.problem(429);
    assert_eq!(problem["type"], "https://badges.invalid/problems/rate-limited");
    let retry: u64 = field(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(field(&refused, "ratelimit").starts_with("\"public\";r=0;"));

    // The owner key has its own quota, apart from the public one.
    let created =
        app.post("/v1/api-keys", &json!({"name": "second", "role": "organization_admin"})).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let second = created.json()["key"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        let reply = app.get("/v1/workspaces").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(field(&reply, "ratelimit-policy").starts_with("\"api-key\";q=7"));
    }
    app.get("/v1/workspaces").await.problem(429);
    // Refused before any work: nothing was created.
    let refused = app
        .post("/v1/workspaces", &json!({"slug": "late", "name": "L", "issuer": {"name": "L"}}))
        .await;
    refused.problem(429);
    // Another key is counted apart, and sees that nothing was created.
    let other = app.send(app.client.get(app.url("/v1/workspaces")).bearer_auth(&second)).await;
    assert_eq!(other.status, 200, "{}", other.text());
    assert_eq!(other.json()["items"].as_array().unwrap().len(), 0);
    assert_ne!(second, TOKEN);
}
