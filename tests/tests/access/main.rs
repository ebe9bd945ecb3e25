//! Tenancy and roles, over HTTP, on both adapter sets: every authenticated route × every role
//! × the caller's workspace, another workspace of its organization and a workspace of
//! another organization. A route answers 2xx exactly when the role's permission allows it
//! there; otherwise 403 (the caller holds grants there) or 404 (it holds none, or the
//! workspace belongs to another organization), and a refusal never shows the target's data.
//!
//! The route table below is the permission matrix of the HTTP API; a test reads the router
//! sources and fails when a route is added without an entry here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use platform::auth::{Permission, Role};
use platform::{App, Ports, Settings};
use reqwest::Method;
use serde_json::{Value, json};

const OWNER_TOKEN: &str = "access-test-owner-token-0123456789abcd";

/// Where a route acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The organization itself (no workspace in the path).
    Organization,
    /// The workspace in the path.
    Workspace,
}

/// One authenticated route: method, path (with `{placeholders}`), body, permission.
struct Route {
    method: Method,
    path: &'static str,
    body: fn() -> Option<Body>,
    permission: Permission,
    target: Target,
}

enum Body {
    Json(Value),
    Csv(&'static str),
}

fn none() -> Option<Body> {
    None
}

/// The permission matrix of the HTTP API, route by route.
fn routes() -> Vec<Route> {
    use Permission::*;
    use Target::*;
    let route = |method: Method, path, body, permission, target| Route {
        method,
        path,
        body,
        permission,
        target,
    };
    vec![
        route(
            Method::POST,
            "/v1/workspaces",
            || {
                Some(Body::Json(
                    json!({"slug": "{new_slug}", "name": "N", "issuer": {"name": "N"}}),
                ))
            },
            WorkspaceCreate,
            Organization,
        ),
        route(Method::GET, "/v1/workspaces/{ws}", none, WorkspaceRead, Workspace),
        route(
            Method::PATCH,
            "/v1/workspaces/{ws}",
            || Some(Body::Json(json!({"requires_approval": false}))),
            WorkspaceManage,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/drafts",
            || {
                Some(Body::Json(json!({"kind": "single", "request": {"template_id": "{template}",
                    "recipient": {"email": "dora@example.com", "name": "Dora"}}})))
            },
            CredentialDraft,
            Workspace,
        ),
        route(Method::GET, "/v1/workspaces/{ws}/drafts", none, CredentialRead, Workspace),
        route(
            Method::GET,
            "/v1/workspaces/{ws}/drafts/{fresh_draft}",
            none,
            CredentialRead,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/drafts/{fresh_draft}/approve",
            none,
            CredentialApprove,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/drafts/{fresh_draft}/reject",
            || Some(Body::Json(json!({"reason": "test"}))),
            CredentialApprove,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/templates",
            || {
                Some(Body::Json(json!({"name": "T", "description": "D",
                    "criteria": {"narrative": "C"}})))
            },
            TemplateWrite,
            Workspace,
        ),
        route(Method::GET, "/v1/workspaces/{ws}/templates", none, TemplateRead, Workspace),
        route(
            Method::GET,
            "/v1/workspaces/{ws}/templates/{template}",
            none,
            TemplateRead,
            Workspace,
        ),
        route(
            Method::PATCH,
            "/v1/workspaces/{ws}/templates/{template}",
            || Some(Body::Json(json!({"description": "Changed"}))),
            TemplateWrite,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/webhooks",
            || {
                Some(Body::Json(json!({"url": "https://hooks.example.com/in",
                    "events": ["credential.issued"]})))
            },
            WebhookManage,
            Workspace,
        ),
        route(Method::GET, "/v1/workspaces/{ws}/webhooks", none, WebhookRead, Workspace),
        route(
            Method::DELETE,
            "/v1/workspaces/{ws}/webhooks/{fresh_webhook}",
            none,
            WebhookManage,
            Workspace,
        ),
        route(
            Method::GET,
            "/v1/workspaces/{ws}/webhooks/{webhook}/deliveries",
            none,
            WebhookRead,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/bulk-issuances?template_id={template}",
            || Some(Body::Csv("email,name\nada@example.com,Ada\n")),
            CredentialIssue,
            Workspace,
        ),
        route(
            Method::GET,
            "/v1/workspaces/{ws}/bulk-issuances/{job}",
            none,
            CredentialRead,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/credentials",
            || {
                Some(Body::Json(json!({"template_id": "{template}",
                    "recipient": {"email": "grace@example.com", "name": "Grace"}})))
            },
            CredentialIssue,
            Workspace,
        ),
        route(Method::GET, "/v1/workspaces/{ws}/credentials", none, CredentialRead, Workspace),
        route(
            Method::GET,
            "/v1/workspaces/{ws}/credentials/{credential}",
            none,
            CredentialRead,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/credentials/{fresh_credential}/revoke",
            || Some(Body::Json(json!({"reason": "test"}))),
            CredentialRevoke,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/credentials/{fresh_credential}/suspend",
            none,
            CredentialRevoke,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/workspaces/{ws}/credentials/{suspended_credential}/unsuspend",
            none,
            CredentialRevoke,
            Workspace,
        ),
        route(
            Method::POST,
            "/v1/api-keys",
            || {
                Some(Body::Json(
                    json!({"name": "made", "role": "viewer", "workspace": "{ws_slug}"}),
                ))
            },
            ApiKeysManage,
            Workspace,
        ),
        route(Method::POST, "/v1/api-keys/{fresh_key}/revoke", none, ApiKeysManage, Workspace),
        route(
            Method::POST,
            "/v1/users",
            || {
                Some(Body::Json(json!({"email": "{new_slug}@example.com", "name": "Made",
                    "role": "viewer", "workspace": "{ws_slug}",
                    "password": "correct horse battery staple"})))
            },
            UsersManage,
            Workspace,
        ),
        route(Method::GET, "/v1/organization/sign-in-policy", none, OrganizationRead, Organization),
        route(
            Method::PUT,
            "/v1/organization/sign-in-policy",
            || Some(Body::Json(json!({"require_two_factor": false}))),
            OrganizationManage,
            Organization,
        ),
        route(Method::GET, "/v1/organization/summary", none, OrganizationRead, Organization),
        route(
            Method::POST,
            "/v1/recipients/export",
            || Some(Body::Json(json!({"email": "secret.person@example.com"}))),
            CredentialRead,
            Organization,
        ),
        route(
            Method::POST,
            "/v1/recipients/erase",
            || Some(Body::Json(json!({"email": "secret.person@example.com"}))),
            OrganizationManage,
            Organization,
        ),
        // In this order: each role's PUT sets up what its GET reads and its DELETE removes.
        route(
            Method::PUT,
            "/v1/organization/sso",
            || {
                Some(Body::Json(json!({"issuer": "https://idp.example.com",
                    "audience": "badges", "jwks_uri": "https://idp.example.com/keys",
                    "claim": "groups", "mappings": []})))
            },
            OrganizationManage,
            Organization,
        ),
        route(Method::GET, "/v1/organization/sso", none, OrganizationManage, Organization),
        route(Method::DELETE, "/v1/organization/sso", none, OrganizationManage, Organization),
        route(Method::GET, "/v1/audit", none, AuditRead, Organization),
        route(Method::GET, "/v1/audit/export", none, AuditRead, Organization),
        route(Method::GET, "/v1/audit/verify", none, AuditRead, Organization),
    ]
}

/// Routes that list what the caller may see rather than refuse: each is checked for what it
/// shows, not for its status.
const FILTERED: &[(&str, &str)] =
    &[("GET", "/v1/workspaces"), ("GET", "/v1/api-keys"), ("GET", "/v1/users")];

/// Routes of signing in and of one's own account: no permission, a session (or nothing, to
/// sign in); tested in [`users`].
const ACCOUNT: &[(&str, &str)] = &[
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/login/second-factor"),
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/me"),
    ("POST", "/v1/me/password"),
    ("POST", "/v1/me/totp"),
    ("POST", "/v1/me/totp/confirm"),
];

/// A deployment over one adapter set, served on loopback: two organizations, A with the
/// workspaces `alpha` and `beta`, B with `gamma`.
struct Deployment {
    app: App,
    base: String,
    client: reqwest::Client,
    other_owner: String,
    store: Store,
    _resources: Box<dyn std::any::Any + Send>,
}

/// Where the deployment keeps its records, to alter them behind the platform's back.
enum Store {
    Sqlite(std::path::PathBuf),
    Dynamo(aws_sdk_dynamodb::Client, String),
}

/// A workspace with one of each thing a route needs.
struct Fixture {
    slug: String,
    template: String,
    webhook: String,
    credential: String,
    job: String,
}

impl Deployment {
    /// Serves `ports` on loopback; `internal` allows internal addresses (webhooks and
    /// identity providers on loopback).
    async fn start(
        ports: Ports,
        store: Store,
        resources: Box<dyn std::any::Any + Send>,
        internal: bool,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = Settings::new(base.parse().unwrap());
        settings.allow_internal_webhooks = internal;
        let app = App::new(ports, settings);
        app.bootstrap(Some(OWNER_TOKEN)).await.unwrap();
        let (_, other_owner) = app.create_organization("Other").await.unwrap();
        let router = platform_http::router(app.clone());
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, service).await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("access-test/1.0")
            .build()
            .unwrap();
        Self { app, base, client, other_owner, store, _resources: resources }
    }

    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Body>,
    ) -> (u16, String) {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        request = match body {
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Csv(text)) => request.header("content-type", "text/csv").body(text),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Calls as `token`, and fails unless the answer is 2xx; returns the JSON body.
    async fn ok(&self, token: &str, method: Method, path: &str, body: Option<Body>) -> Value {
        let (status, text) = self.call(token, method.clone(), path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn fixture(&self, owner: &str, slug: &str) -> Fixture {
        self.ok(
            owner,
            Method::POST,
            "/v1/workspaces",
            Some(Body::Json(json!({"slug": slug, "name": slug, "issuer": {"name": slug}}))),
        )
        .await;
        let template = self
            .ok(
                owner,
                Method::POST,
                &format!("/v1/workspaces/{slug}/templates"),
                Some(Body::Json(json!({"name": format!("{slug} badge"), "description": "D",
                    "criteria": {"narrative": "C"}}))),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let webhook = self.webhook(owner, slug).await;
        let credential = self.credential(owner, slug, &template).await;
        let job = self
            .ok(
                owner,
                Method::POST,
                &format!("/v1/workspaces/{slug}/bulk-issuances?template_id={template}"),
                Some(Body::Csv("email,name\nbob@example.com,Bob\n")),
            )
            .await["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        Fixture { slug: slug.into(), template, webhook, credential, job }
    }

    async fn webhook(&self, owner: &str, slug: &str) -> String {
        let body =
            json!({"url": "https://hooks.example.com/fixture", "events": ["credential.issued"]});
        let path = format!("/v1/workspaces/{slug}/webhooks");
        self.ok(owner, Method::POST, &path, Some(Body::Json(body))).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn credential(&self, owner: &str, slug: &str, template: &str) -> String {
        let body = json!({"template_id": template,
            "recipient": {"email": "secret.person@example.com", "name": "Secret Person"}});
        let path = format!("/v1/workspaces/{slug}/credentials");
        self.ok(owner, Method::POST, &path, Some(Body::Json(body))).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn key(&self, owner: &str, role: Role, workspace: Option<&str>) -> (String, String) {
        let body = json!({"name": format!("{} key", role.as_str()), "role": role.as_str(),
            "workspace": workspace});
        let created = self.ok(owner, Method::POST, "/v1/api-keys", Some(Body::Json(body))).await;
        (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned())
    }

    /// The path and body of `route` on `fixture`, with fresh resources made by `owner` where
    /// the route consumes one.
    async fn instantiate(
        &self,
        route: &Route,
        owner: &str,
        fixture: &Fixture,
        n: usize,
    ) -> (String, Option<Body>) {
        let mut path = route.path.to_owned();
        if path.contains("{fresh_webhook}") {
            path = path.replace("{fresh_webhook}", &self.webhook(owner, &fixture.slug).await);
        }
        if path.contains("{fresh_credential}") {
            let id = self.credential(owner, &fixture.slug, &fixture.template).await;
            path = path.replace("{fresh_credential}", &id);
        }
        if path.contains("{suspended_credential}") {
            let id = self.credential(owner, &fixture.slug, &fixture.template).await;
            let suspend = format!("/v1/workspaces/{}/credentials/{id}/suspend", fixture.slug);
            self.ok(owner, Method::POST, &suspend, None).await;
            path = path.replace("{suspended_credential}", &id);
        }
        if path.contains("{fresh_draft}") {
            let body = json!({"kind": "single", "request": {"template_id": fixture.template,
                "recipient": {"email": "secret.person@example.com", "name": "Secret Person"}}});
            let drafts = format!("/v1/workspaces/{}/drafts", fixture.slug);
            let draft = self.ok(owner, Method::POST, &drafts, Some(Body::Json(body))).await;
            path = path.replace("{fresh_draft}", draft["id"].as_str().unwrap());
        }
        if path.contains("{fresh_key}") {
            let (_, id) = self.key(owner, Role::Viewer, Some(&fixture.slug)).await;
            path = path.replace("{fresh_key}", &id);
        }
        let path = path
            .replace("{ws}", &fixture.slug)
            .replace("{template}", &fixture.template)
            .replace("{webhook}", &fixture.webhook)
            .replace("{credential}", &fixture.credential)
            .replace("{job}", &fixture.job);
        let body = (route.body)().map(|body| match body {
            Body::Json(value) => {
                let text = value
                    .to_string()
                    .replace("{template}", &fixture.template)
                    .replace("{ws_slug}", &fixture.slug)
                    .replace("{new_slug}", &format!("made-{n}"));
                Body::Json(serde_json::from_str(&text).unwrap())
            }
            other => other,
        });
        (path, body)
    }
}

/// The key of each role in organization A: organization roles over the organization,
/// workspace roles over `alpha`.
async fn keys_by_role(deployment: &Deployment) -> Vec<(Role, String)> {
    let mut keys = Vec::new();
    for role in Role::ALL {
        let workspace = (!role.is_organization_role()).then_some("alpha");
        keys.push((role, deployment.key(OWNER_TOKEN, role, workspace).await.0));
    }
    keys
}

async fn the_matrix_holds(deployment: Deployment) {
    let alpha = deployment.fixture(OWNER_TOKEN, "alpha").await;
    let beta = deployment.fixture(OWNER_TOKEN, "beta").await;
    let gamma = deployment.fixture(&deployment.other_owner.clone(), "gamma").await;
    let keys = keys_by_role(&deployment).await;
    let (mut allowed, mut refused, mut n) = (0, 0, 0);
    for (role, token) in &keys {
        for route in routes() {
            for (fixture, owner, name) in [
                (&alpha, OWNER_TOKEN.to_owned(), "alpha"),
                (&beta, OWNER_TOKEN.to_owned(), "beta"),
                (&gamma, deployment.other_owner.clone(), "gamma"),
            ] {
                if route.target == Target::Organization && name != "alpha" {
                    continue;
                }
                n += 1;
                let (path, body) = deployment.instantiate(&route, &owner, fixture, n).await;
                let (status, text) =
                    deployment.call(token, route.method.clone(), &path, body).await;
                let case = format!(
                    "{} as {} on {name}: {} {path}",
                    role.as_str(),
                    role.as_str(),
                    route.method
                );
                let in_org = name != "gamma";
                let workspace_grant = !role.is_organization_role();
                let may = in_org
                    && role.allows(route.permission)
                    && match route.target {
                        Target::Organization => !workspace_grant,
                        Target::Workspace => !workspace_grant || name == "alpha",
                    }
                    && !(workspace_grant && route.permission.is_organization_wide());
                if may {
                    allowed += 1;
                    assert!(
                        (200..300).contains(&status),
                        "{case}: expected 2xx, got {status} {text}"
                    );
                } else {
                    refused += 1;
                    let sees_workspace = in_org && (!workspace_grant || name == "alpha");
                    let expected = if sees_workspace { 403 } else { 404 };
                    assert_eq!(status, expected, "{case}: {text}");
                    // A refusal shows nothing of the target.
                    for secret in
                        [&fixture.template, &fixture.credential, &fixture.webhook, &fixture.job]
                    {
                        assert!(!text.contains(secret.as_str()), "{case} leaks {secret}: {text}");
                    }
                    assert!(
                        !text.contains("Secret Person") && !text.contains("secret.person"),
                        "{case}: {text}"
                    );
                }
            }
        }
    }
    assert!(allowed > 100 && refused > 200, "{allowed} allowed, {refused} refused");

    // The listing routes show only what the caller may see.
    for (role, token) in &keys {
        let (status, text) = deployment.call(token, Method::GET, "/v1/workspaces", None).await;
        assert_eq!(status, 200, "{text}");
        let listed: Value = serde_json::from_str(&text).unwrap();
        let slugs: BTreeSet<&str> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["slug"].as_str().unwrap())
            .collect();
        let expected: BTreeSet<&str> = if role.is_organization_role() {
            ["alpha", "beta", "made-1"].into()
        } else {
            ["alpha"].into()
        };
        assert!(!slugs.contains("gamma"), "{role:?} sees another organization: {slugs:?}");
        assert!(
            slugs
                .iter()
                .all(|s| expected.contains(s)
                    || (role.is_organization_role() && s.starts_with("made-"))),
            "{role:?}: {slugs:?}"
        );
        assert!(slugs.contains("alpha"), "{role:?}: {slugs:?}");
        let (status, text) = deployment.call(token, Method::GET, "/v1/api-keys", None).await;
        if role.allows(Permission::ApiKeysManage) {
            assert_eq!(status, 200, "{role:?}: {text}");
            let listed: Value = serde_json::from_str(&text).unwrap();
            for key in listed["items"].as_array().unwrap() {
                assert!(key.get("hash").is_none() && key.get("key").is_none(), "{key}");
                if !role.is_organization_role() {
                    assert_eq!(key["workspace"], "alpha", "{role:?} lists {key}");
                }
            }
        } else {
            assert_eq!(status, 403, "{role:?}: {text}");
        }
    }
    // Another organization's owner sees nothing of A.
    let (_, text) =
        deployment.call(&deployment.other_owner, Method::GET, "/v1/workspaces", None).await;
    assert!(!text.contains("alpha") && !text.contains("beta"), "{text}");
    let (_, text) =
        deployment.call(&deployment.other_owner, Method::GET, "/v1/api-keys", None).await;
    // B made viewer keys of its own (for the revocation routes on gamma), never for A.
    assert!(!text.contains("designer key") && !text.contains("\"alpha\""), "{text}");
    assert!(text.contains("gamma"), "{text}");
}

async fn keys_are_limited_revocable_and_never_grant_more(deployment: Deployment) {
    let alpha = deployment.fixture(OWNER_TOKEN, "alpha").await;
    let d = &deployment;
    // Expiry must be in the future; an organization role cannot be limited to a workspace.
    let (status, text) = d
        .call(
            OWNER_TOKEN,
            Method::POST,
            "/v1/api-keys",
            Some(Body::Json(json!({"name": "x",
            "role": "issuer", "expires_at": "2001-01-01T00:00:00Z"}))),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("expires_at"), "{text}");
    let (status, text) = d
        .call(
            OWNER_TOKEN,
            Method::POST,
            "/v1/api-keys",
            Some(Body::Json(json!({"name": "x",
            "role": "auditor", "workspace": "alpha"}))),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    let (status, _) = d
        .call(
            OWNER_TOKEN,
            Method::POST,
            "/v1/api-keys",
            Some(Body::Json(json!({"name": "x",
            "role": "root"}))),
        )
        .await;
    assert_eq!(status, 400);

    // No escalation: an admin cannot make an owner, a workspace admin cannot reach the
    // organization.
    let (admin, _) = d.key(OWNER_TOKEN, Role::OrganizationAdmin, None).await;
    let (status, text) = d
        .call(
            &admin,
            Method::POST,
            "/v1/api-keys",
            Some(Body::Json(json!({"name": "x",
            "role": "organization_owner"}))),
        )
        .await;
    assert_eq!(status, 403, "{text}");
    let (ws_admin, _) = d.key(OWNER_TOKEN, Role::WorkspaceAdmin, Some("alpha")).await;
    let (status, _) = d
        .call(
            &ws_admin,
            Method::POST,
            "/v1/api-keys",
            Some(Body::Json(json!({"name": "x",
            "role": "issuer"}))),
        )
        .await;
    assert_eq!(status, 403);
    let (issuer, issuer_id) = d.key(&ws_admin, Role::Issuer, Some("alpha")).await;

    // The key works, is recorded as used, and stops working once revoked.
    let path = format!("/v1/workspaces/alpha/credentials/{}", alpha.credential);
    d.ok(&issuer, Method::GET, &path, None).await;
    let listed = d.ok(&ws_admin, Method::GET, "/v1/api-keys", None).await;
    let entry = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == issuer_id.as_str())
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert_eq!(entry["role"], "issuer");
    d.ok(&ws_admin, Method::POST, &format!("/v1/api-keys/{issuer_id}/revoke"), None).await;
    let (status, text) = d.call(&issuer, Method::GET, &path, None).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("revoked"), "{text}");
    let (status, _) =
        d.call(&ws_admin, Method::POST, &format!("/v1/api-keys/{issuer_id}/revoke"), None).await;
    assert_eq!(status, 409);
    // A workspace admin cannot revoke the organization admin's key, nor see it.
    let admin_id = d.ok(OWNER_TOKEN, Method::GET, "/v1/api-keys", None).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "organization_admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) =
        d.call(&ws_admin, Method::POST, &format!("/v1/api-keys/{admin_id}/revoke"), None).await;
    assert_eq!(status, 404);

    // An expired key is refused with the reason.
    let body = json!({"name": "short", "role": "viewer", "workspace": "alpha",
        "expires_at": (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339()});
    let short = d.ok(OWNER_TOKEN, Method::POST, "/v1/api-keys", Some(Body::Json(body))).await;
    let short = short["key"].as_str().unwrap().to_owned();
    d.ok(&short, Method::GET, "/v1/workspaces/alpha", None).await;
    // The platform's clock counts whole seconds.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, text) = d.call(&short, Method::GET, "/v1/workspaces/alpha", None).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("expired"), "{text}");
    drop(d.app.clone());
}

async fn each_role_is_held_to_its_limits(deployment: Deployment) {
    let alpha = deployment.fixture(OWNER_TOKEN, "alpha").await;
    let d = &deployment;
    let issue = json!({"template_id": alpha.template,
        "recipient": {"email": "ada@example.com", "name": "Ada"}});
    let issue_path = "/v1/workspaces/alpha/credentials";
    // A designer edits templates but cannot issue.
    let (designer, _) = d.key(OWNER_TOKEN, Role::Designer, Some("alpha")).await;
    let template_path = format!("/v1/workspaces/alpha/templates/{}", alpha.template);
    d.ok(&designer, Method::PATCH, &template_path, Some(Body::Json(json!({"description": "New"}))))
        .await;
    let (status, text) =
        d.call(&designer, Method::POST, issue_path, Some(Body::Json(issue.clone()))).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("credential_issue"), "{text}");
    // A draft manager cannot send: neither one credential nor a bulk job.
    let (drafts, _) = d.key(OWNER_TOKEN, Role::DraftManager, Some("alpha")).await;
    let (status, _) =
        d.call(&drafts, Method::POST, issue_path, Some(Body::Json(issue.clone()))).await;
    assert_eq!(status, 403);
    let bulk = format!("/v1/workspaces/alpha/bulk-issuances?template_id={}", alpha.template);
    let (status, _) = d
        .call(&drafts, Method::POST, &bulk, Some(Body::Csv("email,name\na@example.com,A\n")))
        .await;
    assert_eq!(status, 403);
    // An auditor reads everything and changes nothing.
    let (auditor, _) = d.key(OWNER_TOKEN, Role::Auditor, None).await;
    d.ok(
        &auditor,
        Method::GET,
        &format!("/v1/workspaces/alpha/credentials/{}", alpha.credential),
        None,
    )
    .await;
    // (A subject-access export is a POST that changes nothing: the auditor may run it.)
    for route in routes().iter().filter(|r| r.method != Method::GET && !r.path.ends_with("/export"))
    {
        let (path, body) = d.instantiate(route, OWNER_TOKEN, &alpha, 900).await;
        let (status, text) = d.call(&auditor, route.method.clone(), &path, body).await;
        assert_eq!(status, 403, "auditor {} {path}: {text}", route.method);
    }
    // Nothing was issued by the refused calls: only the fixture's credentials and the ones
    // made for the routes above exist, none for ada@example.com.
    let listed =
        d.ok(OWNER_TOKEN, Method::GET, "/v1/workspaces/alpha/credentials?limit=200", None).await;
    assert!(!listed.to_string().contains("ada@example.com"), "{listed}");
}

/// Every `.route(...)` of the authenticated routers has an entry in [`routes`] or
/// [`FILTERED`], with each of its methods.
#[test]
fn every_authenticated_route_has_a_permission() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/http/src");
    let mut declared = BTreeSet::new();
    // Every router module but the public one.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        if source.contains("fn routes() -> Router<App>") && !path.ends_with("public.rs") {
            files.push(source);
        }
    }
    assert!(files.len() >= 4, "router modules found: {}", files.len());
    for source in files {
        for segment in source.split(".route(").skip(1) {
            let path = segment.split('"').nth(1).unwrap().to_owned();
            // The handlers of this route: up to the next `.route(` or the end of `routes()`.
            let handlers = segment.split("\n}").next().unwrap();
            for method in ["get", "post", "patch", "put", "delete"] {
                if handlers.contains(&format!("{method}(")) {
                    declared.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    assert!(declared.len() >= 20, "{declared:?}");
    let normalize = |path: &str| {
        path.split('?')
            .next()
            .unwrap()
            .replace("{fresh_webhook}", "{id}")
            .replace("{webhook}", "{id}")
            .replace("{template}", "{id}")
            .replace("{fresh_credential}", "{id}")
            .replace("{suspended_credential}", "{id}")
            .replace("{credential}", "{id}")
            .replace("{fresh_key}", "{id}")
            .replace("{fresh_draft}", "{id}")
    };
    let mut covered: BTreeSet<(String, String)> =
        routes().iter().map(|r| (r.method.to_string(), normalize(r.path))).collect();
    covered.extend(FILTERED.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())));
    covered.extend(ACCOUNT.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())));
    for (method, path) in &declared {
        assert!(
            covered.contains(&(method.clone(), path.clone())),
            "{method} {path} has no entry in the permission matrix of tests/tests/access"
        );
    }
}

async fn embedded() -> Deployment {
    embedded_with(false).await
}

async fn aws() -> Deployment {
    aws_with(false).await
}

/// The embedded adapter set; `internal` allows internal addresses.
async fn embedded_with(internal: bool) -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    let adapters = embedded::Embedded::open(dir.path(), Arc::new(embedded::SystemClock)).unwrap();
    let transport = platform_http::ReqwestTransport::new(internal, Duration::from_secs(5)).unwrap();
    let ports = adapters.ports(Arc::new(transport));
    let store = Store::Sqlite(dir.path().join(embedded::DATABASE_FILE));
    Deployment::start(ports, store, Box::new((dir, adapters)), internal).await
}

/// The AWS adapter set on the emulator; `internal` allows internal addresses.
async fn aws_with(internal: bool) -> Deployment {
    let emulator = acceptance::emulator::shared().unwrap();
    let sdk = emulator.sdk_config().await;
    let prefix = format!("a{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let config =
        platform_aws::provision::provision(&sdk, &prefix, platform_aws::provision::Signing::Kms, 5)
            .await
            .unwrap();
    let store = Store::Dynamo(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
    let aws = platform_aws::Aws::connect(config, &sdk, Arc::new(embedded::SystemClock));
    let transport = platform_http::ReqwestTransport::new(internal, Duration::from_secs(5)).unwrap();
    Deployment::start(aws.ports(Arc::new(transport)), store, Box::new(()), internal).await
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod embedded_adapters {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::embedded().await).await;
            })*
        }
        mod aws_adapters {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::aws().await).await;
            })*
        }
    };
}

mod drafts;
mod oidc;
mod personal;
mod users;

/// Each audited call leaves exactly one entry, with its actor, address and user agent; an
/// edited or a deleted entry makes verification fail and name where.
async fn every_call_leaves_one_audit_entry_and_tampering_is_found(deployment: Deployment) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let (issuer, issuer_id) = d.key(OWNER_TOKEN, Role::Issuer, Some("alpha")).await;
    let issue = json!({"template_id": alpha.template,
        "recipient": {"email": "ada@example.com", "name": "Ada"}});
    let issued = d
        .ok(
            &issuer,
            Method::POST,
            "/v1/workspaces/alpha/credentials",
            Some(Body::Json(issue.clone())),
        )
        .await;
    let id = issued["id"].as_str().unwrap().to_owned();
    let revoke = format!("/v1/workspaces/alpha/credentials/{id}/revoke");
    d.ok(&issuer, Method::POST, &revoke, Some(Body::Json(json!({"reason": "error"})))).await;
    let (status, _) =
        d.call(&issuer, Method::POST, &revoke, Some(Body::Json(json!({"reason": "again"})))).await;
    assert_eq!(status, 409);
    d.ok(&issuer, Method::GET, &format!("/v1/workspaces/alpha/credentials/{id}"), None).await;
    d.ok(&issuer, Method::GET, "/v1/workspaces/alpha/templates", None).await; // no personal data
    let (status, _) = d
        .call(
            &issuer,
            Method::POST,
            "/v1/workspaces",
            Some(Body::Json(json!({
        "slug": "nope", "name": "N", "issuer": {"name": "N"}}))),
        )
        .await;
    assert_eq!(status, 403);

    let actor = format!("api_key:{issuer_id}");
    let listed = d.ok(OWNER_TOKEN, Method::GET, &format!("/v1/audit?actor={actor}"), None).await;
    let entries = listed["items"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("credential.issue", "success"),
            ("credential.revoke", "success"),
            ("credential.revoke", "failed"),
            ("credential.read", "success"),
            ("workspace.create", "denied"),
        ]
    );
    for entry in entries {
        assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
        assert_eq!(entry["user_agent"], "access-test/1.0", "{entry}");
        assert_eq!(entry["actor"], actor.as_str());
    }
    assert_eq!(entries[0]["target"], id.as_str(), "a creation's target is what it created");
    assert_eq!(entries[1]["target"], id.as_str());
    assert!(entries[0]["workspace"].is_string(), "{}", entries[0]);
    // Filters.
    let denied =
        d.ok(OWNER_TOKEN, Method::GET, "/v1/audit?outcome=denied&workspace=alpha", None).await;
    assert!(denied["items"].as_array().unwrap().iter().all(|e| e["outcome"] == "denied"));
    let (status, text) = d.call(OWNER_TOKEN, Method::GET, "/v1/audit?outcome=maybe", None).await;
    assert_eq!(status, 400, "{text}");

    // Intact, online and offline.
    let verdict = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit/verify", None).await;
    assert_eq!(verdict["intact"], true, "{verdict}");
    let (status, export) = d.call(OWNER_TOKEN, Method::GET, "/v1/audit/export", None).await;
    assert_eq!(status, 200);
    let summary = platform::audit::verify_jsonl(export.as_bytes()).unwrap();
    assert!(summary.entries >= 10, "{summary:?}");
    let lines: Vec<Value> = export.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let organization = lines[0]["organization"].as_str().unwrap().to_owned();

    // Edit the third entry: found at that position, by id.
    let edited = 2;
    let mut changed = lines[edited].clone();
    changed["action"] = json!("credential.read");
    d.store.put_entry(&organization, edited, &changed).await;
    let verdict = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit/verify", None).await;
    assert_eq!(verdict["intact"], false, "{verdict}");
    assert_eq!(verdict["problem"]["position"], edited, "{verdict}");
    assert_eq!(verdict["problem"]["id"], lines[edited]["id"], "{verdict}");
    assert!(verdict["problem"]["reason"].as_str().unwrap().contains("altered"), "{verdict}");
    // Put it back and delete the fifth instead: the sixth no longer follows its predecessor.
    d.store.put_entry(&organization, edited, &lines[edited]).await;
    assert_eq!(d.ok(OWNER_TOKEN, Method::GET, "/v1/audit/verify", None).await["intact"], true);
    d.store.delete_entry(&organization, 4).await;
    let verdict = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit/verify", None).await;
    assert_eq!(verdict["intact"], false, "{verdict}");
    assert_eq!(verdict["problem"]["id"], lines[5]["id"], "{verdict}");
    assert!(verdict["problem"]["reason"].as_str().unwrap().contains("previous"), "{verdict}");
}

impl Store {
    /// Replaces the stored entry at `position` of the organization's chain.
    async fn put_entry(&self, organization: &str, position: usize, entry: &Value) {
        match self {
            Self::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let changed = connection
                    .execute(
                        "UPDATE audit_log SET entry = ?1 WHERE organization_id = ?2 AND position = ?3",
                        rusqlite::params![entry.to_string(), organization, i64::try_from(position).unwrap()],
                    )
                    .unwrap();
                assert_eq!(changed, 1);
            }
            Self::Dynamo(client, table) => {
                use aws_sdk_dynamodb::types::AttributeValue;
                client
                    .update_item()
                    .table_name(table)
                    .key("PK", AttributeValue::S(format!("AUDIT#{organization}")))
                    .key("SK", AttributeValue::S(format!("E#{position:012}")))
                    .update_expression("SET #doc = :doc")
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_names("#doc", "doc")
                    .expression_attribute_values(":doc", AttributeValue::S(entry.to_string()))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Deletes the stored entry at `position`.
    async fn delete_entry(&self, organization: &str, position: usize) {
        match self {
            Self::Sqlite(path) => {
                let connection = rusqlite::Connection::open(path).unwrap();
                let deleted = connection
                    .execute(
                        "DELETE FROM audit_log WHERE organization_id = ?1 AND position = ?2",
                        rusqlite::params![organization, i64::try_from(position).unwrap()],
                    )
                    .unwrap();
                assert_eq!(deleted, 1);
            }
            Self::Dynamo(client, table) => {
                use aws_sdk_dynamodb::types::AttributeValue;
                client
                    .delete_item()
                    .table_name(table)
                    .key("PK", AttributeValue::S(format!("AUDIT#{organization}")))
                    .key("SK", AttributeValue::S(format!("E#{position:012}")))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// The organization summary adds up every workspace and lists every key, user and single
/// sign-on group with its role, never a secret or an email.
async fn the_governance_summary_covers_every_workspace_and_member(deployment: Deployment) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    d.fixture(OWNER_TOKEN, "beta").await;
    d.fixture(&d.other_owner.clone(), "gamma").await;
    // alpha: the fixture's credential and one more, revoked; beta: its fixture's.
    let id = d.credential(OWNER_TOKEN, "alpha", &alpha.template).await;
    let revoke = format!("/v1/workspaces/alpha/credentials/{id}/revoke");
    d.ok(OWNER_TOKEN, Method::POST, &revoke, Some(Body::Json(json!({"reason": "r"})))).await;
    let (auditor, _) = d.key(OWNER_TOKEN, Role::Auditor, None).await;
    d.key(OWNER_TOKEN, Role::Designer, Some("beta")).await;
    // A local user and a single sign-on group hold roles too.
    let user = json!({"email": "grace.hopper@example.com", "name": "Grace", "role": "approver",
        "workspace": "alpha", "password": "correct horse battery staple"});
    d.ok(OWNER_TOKEN, Method::POST, "/v1/users", Some(Body::Json(user))).await;
    let sso = json!({"issuer": "https://idp.example.com", "audience": "badges",
        "jwks_uri": "https://idp.example.com/keys", "claim": "groups",
        "mappings": [{"value": "badge-admins", "role": "workspace_admin", "workspace": "beta"}]});
    d.ok(OWNER_TOKEN, Method::PUT, "/v1/organization/sso", Some(Body::Json(sso))).await;
    let summary = d.ok(&auditor, Method::GET, "/v1/organization/summary", None).await;
    let workspaces = summary["workspaces"].as_array().unwrap();
    let slugs: Vec<&str> = workspaces.iter().map(|w| w["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["alpha", "beta"], "{summary}");
    assert_eq!(workspaces[0]["issued"], 2, "{summary}");
    assert_eq!(workspaces[0]["credentials"]["revoked"], 1);
    assert_eq!(workspaces[0]["credentials"]["active"], 1);
    assert_eq!(workspaces[0]["templates"], 1);
    assert_eq!(summary["totals"]["issued"], 3);
    assert_eq!(summary["totals"]["workspaces"], 2);
    let members = summary["members"].as_array().unwrap();
    assert!(
        members.iter().any(|m| m["role"] == "designer" && m["workspace"] == "beta"),
        "{summary}"
    );
    assert!(members.iter().any(|m| m["role"] == "organization_owner"), "{summary}");
    assert!(
        members.iter().any(|m| m["kind"] == "user"
            && m["name"] == "Grace"
            && m["role"] == "approver"
            && m["workspace"] == "alpha"
            && m["active"] == true
            && m["two_factor"] == false),
        "{summary}"
    );
    assert!(
        members.iter().any(|m| m["kind"] == "sso_group"
            && m["name"] == "badge-admins"
            && m["role"] == "workspace_admin"
            && m["workspace"] == "beta"),
        "{summary}"
    );
    assert_eq!(members.len(), 5, "owner, auditor, designer, user, group: {summary}");
    let text = summary.to_string();
    assert!(
        !text.contains("gamma")
            && !text.contains("obk_")
            && !text.contains("grace.hopper")
            && !text.contains("argon2"),
        "{summary}"
    );
    // An issuer may not see it.
    let (issuer, _) = d.key(OWNER_TOKEN, Role::Issuer, Some("alpha")).await;
    let (status, _) = d.call(&issuer, Method::GET, "/v1/organization/summary", None).await;
    assert_eq!(status, 403);
}

on_both!(
    the_governance_summary_covers_every_workspace_and_member,
    the_matrix_holds,
    keys_are_limited_revocable_and_never_grant_more,
    each_role_is_held_to_its_limits,
    every_call_leaves_one_audit_entry_and_tampering_is_found,
);
