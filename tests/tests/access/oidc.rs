//! Single sign-on over HTTP, on both adapter sets: an identity provider of the test's own
//! (RSA keys, its key set served on loopback), set up through the API with the owner key;
//! then its tokens act with the grants their groups map to, and every bad token is a 401
//! saying why.

use std::sync::LazyLock;

use axum::Router;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde_json::{Value, json};

use super::{Body, Deployment, OWNER_TOKEN};

/// An RSA signing key and its public JWK.
struct Key {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl Key {
    fn generate() -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let encoding = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        Self { encoding, jwk }
    }
}

// RSA key generation is slow: each key is made once for the whole binary.
static IDP_KEY: LazyLock<Key> = LazyLock::new(Key::generate);
static FORGER_KEY: LazyLock<Key> = LazyLock::new(Key::generate);

/// A local identity provider: its issuer is its loopback address, its key set is at `/keys`,
/// its key id is unique (so a process-wide key set cache never confuses two of them).
struct Idp {
    issuer: String,
    kid: String,
}

impl Idp {
    async fn start() -> Self {
        let kid = format!("key-{}", uuid::Uuid::new_v4().simple());
        let set = Self::set_with(&kid);
        let app = Router::new().route("/keys", get(move || async move { axum::Json(set) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { issuer, kid }
    }

    fn set_with(kid: &str) -> Value {
        let mut jwk = IDP_KEY.jwk.clone();
        jwk.common.key_id = Some(kid.to_owned());
        serde_json::to_value(JwkSet { keys: vec![jwk] }).unwrap()
    }

    /// The key set, to configure statically.
    fn key_set(&self) -> Value {
        Self::set_with(&self.kid)
    }

    fn jwks_uri(&self) -> String {
        format!("{}/keys", self.issuer)
    }

    /// Claims of a token for `audience`, valid for ten minutes, with `groups`.
    fn claims(&self, subject: &str, audience: &str, groups: &[&str]) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": self.issuer, "aud": audience, "sub": subject, "iat": now,
            "exp": now + 600, "groups": groups})
    }

    fn sign(&self, claims: &Value) -> String {
        sign(&IDP_KEY, &self.kid, claims)
    }
}

fn sign(key: &Key, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

/// A setup of `idp` for `audience`: `badge-issuers` issue in `alpha`.
fn setup(idp: &Idp, audience: &str) -> Value {
    json!({"issuer": idp.issuer, "audience": audience, "jwks_uri": idp.jwks_uri(),
        "claim": "groups", "leeway_seconds": 0,
        "mappings": [{"value": "badge-issuers", "role": "issuer", "workspace": "alpha"}]})
}

async fn configure(d: &Deployment, token: &str, body: Value) -> Value {
    d.ok(token, Method::PUT, "/v1/organization/sso", Some(Body::Json(body))).await
}

/// The problem of a refused call, which must have `status`.
async fn refused(d: &Deployment, token: &str, method: Method, path: &str, status: u16) -> Value {
    let (got, text) = d.call(token, method.clone(), path, None).await;
    assert_eq!(got, status, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn issue(template: &str) -> Option<Body> {
    Some(Body::Json(json!({"template_id": template,
        "recipient": {"email": "ada@example.com", "name": "Ada"}})))
}

/// A token whose group maps to `issuer` on `alpha` issues there, sees nothing else, and its
/// calls are audited under `oidc:<sub>`; a group mapped to nothing holds nothing.
async fn a_mapped_group_acts_in_its_workspace_only_and_is_audited(d: Deployment) {
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let beta = d.fixture(OWNER_TOKEN, "beta").await;
    let idp = Idp::start().await;
    let shown = configure(&d, OWNER_TOKEN, setup(&idp, "badges")).await;
    assert_eq!(shown["mappings"][0]["workspace"], "alpha", "{shown}");
    assert_eq!(shown["jwks_uri"], idp.jwks_uri(), "{shown}");
    assert_eq!(d.ok(OWNER_TOKEN, Method::GET, "/v1/organization/sso", None).await, shown);

    let token = idp.sign(&idp.claims("00u-ada", "badges", &["everyone", "badge-issuers"]));
    let issued = d
        .ok(&token, Method::POST, "/v1/workspaces/alpha/credentials", issue(&alpha.template))
        .await;
    let id = issued["id"].as_str().unwrap().to_owned();
    d.ok(&token, Method::GET, &format!("/v1/workspaces/alpha/credentials/{id}"), None).await;
    // Another workspace is not there for it, nor are the organization's own routes.
    refused(&d, &token, Method::GET, "/v1/workspaces/beta", 404).await;
    let (status, text) = d
        .call(&token, Method::POST, "/v1/workspaces/beta/credentials", issue(&beta.template))
        .await;
    assert_eq!(status, 404, "{text}");
    refused(&d, &token, Method::GET, "/v1/organization/summary", 403).await;
    refused(&d, &token, Method::GET, "/v1/organization/sso", 403).await;
    let listed = d.ok(&token, Method::GET, "/v1/workspaces", None).await;
    let slugs: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|w| w["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["alpha"]);

    // The audit log names the caller by its subject.
    let entries = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit?actor=oidc:00u-ada", None).await;
    let actions: Vec<(&str, &str)> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("credential.issue", "success"),
            ("credential.read", "success"),
            ("credential.issue", "denied")
        ]
    );
    assert_eq!(entries["items"][0]["target"], id.as_str());
    let configured = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit?action=sso.configure", None).await;
    assert_eq!(configured["items"].as_array().unwrap().len(), 1, "{configured}");

    // The same token with a group mapped to nothing: no grant, so nothing anywhere.
    let nobody = idp.sign(&idp.claims("00u-bob", "badges", &["everyone"]));
    for path in ["/v1/workspaces/alpha", "/v1/workspaces/beta", "/v1/workspaces/alpha/templates"] {
        refused(&d, &nobody, Method::GET, path, 404).await;
    }
    let (status, text) = d
        .call(&nobody, Method::POST, "/v1/workspaces/alpha/credentials", issue(&alpha.template))
        .await;
    assert_eq!(status, 404, "{text}");
    refused(&d, &nobody, Method::GET, "/v1/organization/summary", 403).await;
    let listed = d.ok(&nobody, Method::GET, "/v1/workspaces", None).await;
    assert_eq!(listed["items"], json!([]), "{listed}");
}

/// Every bad token is a 401 problem whose detail says what was wrong.
async fn refused_tokens_are_401_with_the_reason(d: Deployment) {
    d.fixture(OWNER_TOKEN, "alpha").await;
    let idp = Idp::start().await;
    configure(&d, OWNER_TOKEN, setup(&idp, "badges")).await;
    let claims = idp.claims("00u-ada", "badges", &["badge-issuers"]);
    let path = "/v1/workspaces/alpha";
    d.ok(&idp.sign(&claims), Method::GET, path, None).await;

    let now = chrono::Utc::now().timestamp();
    let stranger = Idp::start().await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", idp.sign(&with(claims.clone(), "exp", json!(now - 5))), "expired"),
        (
            "not yet valid",
            idp.sign(&with(claims.clone(), "nbf", json!(now + 120))),
            "not valid yet",
        ),
        (
            "wrong audience",
            idp.sign(&with(claims.clone(), "aud", json!("someone-else"))),
            "audience",
        ),
        (
            "unknown issuer",
            stranger.sign(&stranger.claims("00u-ada", "badges", &["badge-issuers"])),
            "issuer",
        ),
        ("bad signature", sign(&FORGER_KEY, &idp.kid, &claims), "signature is not valid"),
        ("unknown key id", sign(&IDP_KEY, "rotated-away", &claims), "`rotated-away` is not one of"),
        ("malformed", "eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln".to_owned(), "malformed"),
        (
            "unsigned",
            {
                let token = idp.sign(&claims);
                let cut = token.rfind('.').unwrap();
                token[..=cut].to_owned()
            },
            "signature",
        ),
    ];
    for (case, token, reason) in cases {
        let (status, text) = d.call(&token, Method::GET, path, None).await;
        assert_eq!(status, 401, "{case}: {text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["type"], "https://badges.invalid/problems/unauthorized", "{case}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{case}: {detail}");
        assert!(!detail.contains(&token[..30]), "{case} echoes the token: {detail}");
    }
    // A refused token leaves no audit entry (it belongs to no organization).
    let entries = d.ok(OWNER_TOKEN, Method::GET, "/v1/audit?actor=oidc:00u-ada", None).await;
    assert_eq!(entries["items"], json!([]), "{entries}");
}

/// A provider with a static key set works without any fetch; another organization's
/// provider (same issuer, its own audience) cannot reach this one, nor take its audience.
async fn a_static_key_set_works_and_another_organization_cannot_reach_in(d: Deployment) {
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let other = d.other_owner.clone();
    d.fixture(&other, "gamma").await;
    let idp = Idp::start().await;
    let mut ours = setup(&idp, "badges-a");
    ours.as_object_mut().unwrap().remove("jwks_uri");
    ours["jwks"] = idp.key_set();
    let shown = configure(&d, OWNER_TOKEN, ours).await;
    assert_eq!(shown["jwks_uri"], Value::Null, "{shown}");
    assert_eq!(shown["jwks"]["keys"][0]["kid"], idp.kid.as_str(), "{shown}");
    let token = idp.sign(&idp.claims("00u-ada", "badges-a", &["badge-issuers"]));
    d.ok(&token, Method::POST, "/v1/workspaces/alpha/credentials", issue(&alpha.template)).await;

    // The other organization: the same identity provider, its own client, a group mapped to
    // its whole organization.
    let (status, text) = d
        .call(
            &other,
            Method::PUT,
            "/v1/organization/sso",
            Some(Body::Json(setup(&idp, "badges-a"))),
        )
        .await;
    assert_eq!(status, 400, "alpha is not a workspace of B: {text}");
    let mut theirs = setup(&idp, "badges-a");
    theirs["mappings"] = json!([{"value": "badge-issuers", "role": "organization_admin"}]);
    let (status, text) =
        d.call(&other, Method::PUT, "/v1/organization/sso", Some(Body::Json(theirs.clone()))).await;
    assert_eq!(status, 409, "the pair is A's: {text}");
    theirs["audience"] = json!("badges-b");
    configure(&d, &other, theirs).await;
    let admin_of_b = idp.sign(&idp.claims("00u-eve", "badges-b", &["badge-issuers"]));
    d.ok(&admin_of_b, Method::GET, "/v1/workspaces/gamma", None).await;
    refused(&d, &admin_of_b, Method::GET, "/v1/workspaces/alpha", 404).await;
    let (status, _) = d
        .call(&admin_of_b, Method::POST, "/v1/workspaces/alpha/credentials", issue(&alpha.template))
        .await;
    assert_eq!(status, 404);
    let listed = d.ok(&admin_of_b, Method::GET, "/v1/workspaces", None).await;
    assert!(!listed.to_string().contains("alpha"), "{listed}");
    // A's setup is not B's to read, and A's token does not reach gamma.
    let theirs = d.ok(&admin_of_b, Method::GET, "/v1/organization/sso", None).await;
    assert_eq!(theirs["audience"], "badges-b");
    refused(&d, &token, Method::GET, "/v1/workspaces/gamma", 404).await;
    // A token for both audiences is refused rather than guessed.
    let both = idp.sign(&with(
        idp.claims("00u-ada", "badges-a", &["badge-issuers"]),
        "aud",
        json!(["badges-a", "badges-b"]),
    ));
    let problem = refused(&d, &both, Method::GET, "/v1/workspaces/alpha", 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("several"), "{problem}");
}

/// The setup is checked field by field, managed by owners and admins only, and nobody maps
/// a group to more than they hold; once removed, its tokens are refused.
async fn the_setup_is_validated_and_managed_by_organization_managers(d: Deployment) {
    d.fixture(OWNER_TOKEN, "alpha").await;
    let idp = Idp::start().await;
    let good = setup(&idp, "badges");
    let change = |name: &str, value: Value| {
        let mut body = good.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(name);
        } else {
            body[name] = value;
        }
        body
    };
    let mapping = |m: Value| change("mappings", json!([m]));
    let cases: Vec<(Value, &str)> = vec![
        (change("issuer", json!("not a url")), "issuer"),
        (change("issuer", json!("http://idp.example.com")), "issuer"),
        (change("issuer", json!("ftp://idp.example.com")), "issuer"),
        (change("audience", json!("")), "audience"),
        (change("jwks_uri", json!("http://idp.example.com/keys")), "jwks_uri"),
        (change("jwks_uri", Value::Null), "jwks_uri"),
        (change("jwks", json!({"keys": []})), "jwks"),
        (change("claim", json!("")), "claim"),
        (change("leeway_seconds", json!(301)), "leeway_seconds"),
        (change("surprise", json!(1)), "surprise"),
        (mapping(json!({"value": "g", "role": "root"})), "mappings[0].role"),
        (
            mapping(json!({"value": "g", "role": "issuer", "workspace": "nowhere"})),
            "mappings[0].workspace",
        ),
        (
            mapping(json!({"value": "g", "role": "auditor", "workspace": "alpha"})),
            "mappings[0].workspace",
        ),
        (mapping(json!({"value": "", "role": "viewer"})), "mappings[0].value"),
    ];
    for (body, field) in cases {
        let (status, text) =
            d.call(OWNER_TOKEN, Method::PUT, "/v1/organization/sso", Some(Body::Json(body))).await;
        assert_eq!(status, 400, "{field}: {text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["field"], field, "{text}");
    }
    // Nothing was written by the refused calls.
    refused(&d, OWNER_TOKEN, Method::GET, "/v1/organization/sso", 404).await;
    refused(&d, OWNER_TOKEN, Method::DELETE, "/v1/organization/sso", 404).await;

    // An admin manages it, but cannot map to owner, nor replace an owner's mapping.
    let (admin, _) = d.key(OWNER_TOKEN, platform::auth::Role::OrganizationAdmin, None).await;
    let owners = mapping(json!({"value": "root-group", "role": "organization_owner"}));
    let (status, text) =
        d.call(&admin, Method::PUT, "/v1/organization/sso", Some(Body::Json(owners.clone()))).await;
    assert_eq!(status, 403, "{text}");
    configure(&d, OWNER_TOKEN, owners).await;
    let (status, _) =
        d.call(&admin, Method::PUT, "/v1/organization/sso", Some(Body::Json(good.clone()))).await;
    assert_eq!(status, 403);
    refused(&d, &admin, Method::DELETE, "/v1/organization/sso", 403).await;
    configure(&d, OWNER_TOKEN, good.clone()).await;
    configure(&d, &admin, good).await;
    // Workspace roles never manage it.
    let (ws_admin, _) =
        d.key(OWNER_TOKEN, platform::auth::Role::WorkspaceAdmin, Some("alpha")).await;
    refused(&d, &ws_admin, Method::GET, "/v1/organization/sso", 403).await;

    // Removed: its tokens are refused as of an unknown issuer.
    let token = idp.sign(&idp.claims("00u-ada", "badges", &["badge-issuers"]));
    d.ok(&token, Method::GET, "/v1/workspaces/alpha", None).await;
    let (status, _) = d.call(&admin, Method::DELETE, "/v1/organization/sso", None).await;
    assert_eq!(status, 204);
    let problem = refused(&d, &token, Method::GET, "/v1/workspaces/alpha", 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("issuer"), "{problem}");
    let deleted =
        d.ok(OWNER_TOKEN, Method::GET, "/v1/audit?action=sso.delete&outcome=success", None).await;
    assert_eq!(deleted["items"].as_array().unwrap().len(), 1, "{deleted}");
}

on_both!(
    a_mapped_group_acts_in_its_workspace_only_and_is_audited,
    refused_tokens_are_401_with_the_reason,
    a_static_key_set_works_and_another_organization_cannot_reach_in,
    the_setup_is_validated_and_managed_by_organization_managers,
);

/// The deployments of [`super::embedded`] and [`super::aws`], allowing internal addresses
/// (`allow_internal_webhooks`): the test identity provider is on loopback.
async fn embedded() -> Deployment {
    super::embedded_with(true).await
}

async fn aws() -> Deployment {
    super::aws_with(true).await
}

/// Where internal addresses are not allowed (the default), a provider on loopback or over
/// plain http is refused.
mod strict {
    use super::super::{aws, embedded};
    use super::*;

    async fn loopback_providers_need_internal_addresses_allowed(d: Deployment) {
        let idp = Idp::start().await;
        let (status, text) = d
            .call(
                OWNER_TOKEN,
                Method::PUT,
                "/v1/organization/sso",
                Some(Body::Json(setup(&idp, "b"))),
            )
            .await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("\"field\":\"issuer\""), "{text}");
        let mut body = setup(&idp, "b");
        body["issuer"] = json!("https://idp.example.com");
        body["mappings"] = json!([]);
        let (status, text) =
            d.call(OWNER_TOKEN, Method::PUT, "/v1/organization/sso", Some(Body::Json(body))).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("\"field\":\"jwks_uri\""), "{text}");
    }

    on_both!(loopback_providers_need_internal_addresses_allowed);
}
