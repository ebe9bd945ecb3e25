//! [`JwksCache`] against a local identity provider: an RSA key set served on `127.0.0.1:0`
//! by a tiny axum app that counts its requests, and tokens signed with those keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::oidc::{JwksLocation, OidcConfig, OidcError};
use platform_http::ApiError;
use platform_http::jwks::{JwksCache, MAX_JWKS_BYTES, VerifyError};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde_json::{Value, json};

const ISSUER: &str = "https://login.example.com/tenant-1/v2.0";
const AUDIENCE: &str = "api://badges";
const NOW: i64 = 1_750_000_000;

/// An identity provider's signing key.
struct SigningKey {
    kid: &'static str,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn generate(kid: &'static str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let encoding = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
        // The public half, as the provider publishes it (`kty`, `n`, `e`, `alg`, `kid`).
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        Self { kid, encoding, jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.kid, claims)
    }

    /// Signs with this key but names another (`kid`).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

// RSA key generation is slow: each key is made once for the whole binary.
static KEY_A: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate("key-a"));
static KEY_B: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate("key-b"));

fn key_set(keys: &[&SigningKey]) -> Value {
    serde_json::to_value(JwkSet { keys: keys.iter().map(|k| k.jwk.clone()).collect() }).unwrap()
}

/// What the provider answers on `/keys`, and how often it was asked.
struct Served {
    answer: Mutex<(StatusCode, Vec<u8>)>,
    hits: AtomicUsize,
}

/// A local identity provider.
struct Idp {
    url: String,
    served: Arc<Served>,
}

impl Idp {
    async fn start(keys: &[&SigningKey]) -> Self {
        let served = Arc::new(Served {
            answer: Mutex::new((StatusCode::OK, key_set(keys).to_string().into_bytes())),
            hits: AtomicUsize::new(0),
        });
        let app = Router::new().route("/keys", get(serve_keys)).with_state(Arc::clone(&served));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url: format!("http://{address}/keys"), served }
    }

    fn publish(&self, keys: &[&SigningKey]) {
        self.answer(StatusCode::OK, key_set(keys).to_string().into_bytes());
    }

    fn answer(&self, status: StatusCode, body: Vec<u8>) {
        *self.served.answer.lock().unwrap() = (status, body);
    }

    fn hits(&self) -> usize {
        self.served.hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> OidcConfig {
        OidcConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks: JwksLocation::Url(self.url.clone()),
            role_claim: "roles".into(),
            leeway_seconds: 0,
        }
    }
}

async fn serve_keys(State(served): State<Arc<Served>>) -> impl IntoResponse {
    served.hits.fetch_add(1, Ordering::SeqCst);
    let (status, body) = served.answer.lock().unwrap().clone();
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "exp": NOW + 600,
        "iat": NOW - 5,
        "roles": ["Badges.Issuer"],
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn cache() -> JwksCache {
    JwksCache::new(true).unwrap()
}

#[tokio::test]
async fn a_valid_token_verifies_through_the_fetched_key_set() {
    let idp = Idp::start(&[&KEY_A]).await;
    let verified = cache().verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(verified.subject, "user-42");
    assert_eq!(verified.issuer, ISSUER);
    assert_eq!(verified.claim_values, vec!["Badges.Issuer".to_owned()]);
    assert_eq!(verified.expires_at, NOW + 600);
    assert_eq!(idp.hits(), 1);
}

#[tokio::test]
async fn the_key_set_is_not_refetched_within_its_ttl() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache();
    for _ in 0..3 {
        cache.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await.unwrap();
    }
    cache.jwks(&idp.url, false).await.unwrap();
    assert_eq!(idp.hits(), 1);
}

#[tokio::test]
async fn an_expired_cache_entry_is_refetched() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache().with_ttl(Duration::from_millis(50));
    cache.jwks(&idp.url, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    cache.jwks(&idp.url, false).await.unwrap();
    assert_eq!(idp.hits(), 2);
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_and_the_rotated_key_is_accepted() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache();
    cache.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(idp.hits(), 1);

    // The provider rotates: key B is published, and tokens signed by it arrive.
    idp.publish(&[&KEY_A, &KEY_B]);
    let verified = cache.verify(&KEY_B.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(verified.subject, "user-42");
    assert_eq!(idp.hits(), 2);

    // A made-up kid right after does not make the cache fetch again.
    let error = cache.verify(&KEY_A.sign_as("made-up", &claims()), &idp.config(), NOW).await;
    assert!(matches!(error, Err(VerifyError::Token(OidcError::UnknownKeyId(Some(_))))));
    assert_eq!(idp.hits(), 2);
    // And key B stays known.
    cache.verify(&KEY_B.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(idp.hits(), 2);
}

#[tokio::test]
async fn unknown_kid_refetches_resume_after_the_refresh_interval() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache().with_refresh_interval(Duration::from_millis(50));
    let token = KEY_A.sign_as("made-up", &claims());
    for expected_hits in [2, 2] {
        let error = cache.verify(&token, &idp.config(), NOW).await;
        assert!(matches!(error, Err(VerifyError::Token(OidcError::UnknownKeyId(_)))));
        assert_eq!(idp.hits(), expected_hits);
    }
    tokio::time::sleep(Duration::from_millis(80)).await;
    let _ = cache.verify(&token, &idp.config(), NOW).await;
    assert_eq!(idp.hits(), 3);
}

#[tokio::test]
async fn a_burst_of_requests_on_a_cold_cache_makes_one_fetch() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = Arc::new(cache());
    let token = KEY_A.sign(&claims());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (cache, token, config) = (Arc::clone(&cache), token.clone(), idp.config());
            tokio::spawn(async move { cache.verify(&token, &config, NOW).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(idp.hits(), 1);
}

#[tokio::test]
async fn a_failing_provider_leaves_the_cached_keys_in_use() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache().with_ttl(Duration::ZERO);
    cache.jwks(&idp.url, false).await.unwrap();
    idp.answer(StatusCode::INTERNAL_SERVER_ERROR, b"down".to_vec());
    // Expired, refetched, failed: the previous set is still answered...
    cache.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(idp.hits(), 2);
    // ...and the failure is not retried at once.
    cache.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await.unwrap();
    assert_eq!(idp.hits(), 2);
}

async fn fetch_error(status: StatusCode, body: Vec<u8>) -> String {
    let idp = Idp::start(&[]).await;
    idp.answer(status, body);
    let cache = cache();
    let fetch_error = cache.jwks(&idp.url, false).await.unwrap_err();
    // Through `verify`, the same failure is a 503 that does not show the cause.
    let verified = cache.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await;
    let Err(unavailable @ VerifyError::KeysUnavailable(_)) = verified else {
        panic!("expected KeysUnavailable, got {verified:?}");
    };
    let api = ApiError::from(unavailable);
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!api.body().to_string().contains("127.0.0.1"));
    format!("{fetch_error:#}")
}

#[tokio::test]
async fn an_oversize_key_set_is_an_error() {
    let padding = "x".repeat(MAX_JWKS_BYTES);
    let body = json!({"keys": [KEY_A.jwk], "padding": padding}).to_string().into_bytes();
    let error = fetch_error(StatusCode::OK, body).await;
    assert!(error.contains("larger than"), "{error}");
}

#[tokio::test]
async fn an_oversize_key_set_without_a_length_is_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    // A raw server: chunked transfer encoding, so the size is only known by reading.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        let chunk = "x".repeat(16 * 1024);
        for _ in 0..(MAX_JWKS_BYTES / chunk.len() + 2) {
            let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
            if socket.write_all(framed.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    let error = cache().jwks(&url, false).await.unwrap_err();
    assert!(format!("{error:#}").contains("larger than"), "{error:#}");
}

#[tokio::test]
async fn a_key_set_that_is_not_json_is_an_error() {
    let error = fetch_error(StatusCode::OK, b"<html>login</html>".to_vec()).await;
    assert!(error.contains("not a JSON key set"), "{error}");
}

#[tokio::test]
async fn an_error_status_is_an_error() {
    let error = fetch_error(StatusCode::NOT_FOUND, b"{}".to_vec()).await;
    assert!(error.contains("404"), "{error}");
}

#[tokio::test]
async fn plain_http_is_refused_unless_internal_targets_are_allowed() {
    let idp = Idp::start(&[&KEY_A]).await;
    let strict = JwksCache::new(false).unwrap();
    let error = strict.verify(&KEY_A.sign(&claims()), &idp.config(), NOW).await;
    assert!(matches!(error, Err(VerifyError::KeysUnavailable(_))), "{error:?}");
    assert_eq!(idp.hits(), 0);
}

#[tokio::test]
async fn a_static_key_set_needs_no_fetch() {
    let config = OidcConfig {
        jwks: JwksLocation::Static(serde_json::from_value(key_set(&[&KEY_A])).unwrap()),
        ..Idp::start(&[]).await.config()
    };
    config.validate().unwrap();
    let verified = cache().verify(&KEY_A.sign(&claims()), &config, NOW).await.unwrap();
    assert_eq!(verified.subject, "user-42");
    // A static set is never refreshed: an unknown kid is simply unknown.
    let error = cache().verify(&KEY_B.sign(&claims()), &config, NOW).await;
    assert!(matches!(error, Err(VerifyError::Token(OidcError::UnknownKeyId(_)))));
}

#[tokio::test]
async fn refused_tokens_are_401s_with_a_reason_and_without_the_token() {
    let idp = Idp::start(&[&KEY_A]).await;
    let cache = cache();
    let cases = [
        (KEY_A.sign(&with(claims(), "exp", json!(NOW - 1))), OidcError::Expired),
        (KEY_A.sign(&with(claims(), "aud", json!("api://other"))), OidcError::WrongAudience),
        (KEY_A.sign(&with(claims(), "iss", json!("https://evil.example"))), OidcError::WrongIssuer),
        (KEY_B.sign_as(KEY_A.kid, &claims()), OidcError::BadSignature),
        (KEY_B.sign(&claims()), OidcError::UnknownKeyId(Some(KEY_B.kid.into()))),
    ];
    for (token, expected) in cases {
        let error = cache.verify(&token, &idp.config(), NOW).await.unwrap_err();
        assert!(matches!(&error, VerifyError::Token(e) if *e == expected), "{error:?}");
        let api = ApiError::from(error);
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        let body = api.body();
        let detail = body["detail"].as_str().unwrap();
        assert_eq!(detail, expected.to_string());
        assert!(!detail.is_empty() && !body.to_string().contains(&token[token.len() - 20..]));
    }
    // One fetch, plus one refetch for the unknown kid (the bad signature's kid was known).
    assert_eq!(idp.hits(), 2);
}
