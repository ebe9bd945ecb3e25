//! `spawn_app()`: the real application on `127.0.0.1:0` with a fresh data directory, and a
//! small client for its API.

use std::time::Duration;

use badges::serve::{Config, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const TOKEN: &str = "test-owner-token-0123456789abcdefghij";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    // Held for the test's lifetime: the server runs until the runtime ends, and the data
    // directory is removed when the test ends.
    _server: Server,
    _data_dir: tempfile::TempDir,
}

/// Options of a test server.
pub struct Options {
    pub expiry_interval: Duration,
    pub rate_limits: platform::RateLimits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            expiry_interval: Duration::from_secs(3600),
            rate_limits: platform::RateLimits::default(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    start(data_dir, options).await
}

async fn start(data_dir: tempfile::TempDir, options: Options) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        data_dir: data_dir.path().to_path_buf(),
        listen: listener.local_addr().unwrap(),
        public_url: None,
        bootstrap_token: Some(TOKEN.into()),
        allow_internal_webhooks: true,
        webhook_backoff: Duration::from_millis(200),
        expiry_interval: options.expiry_interval,
        rate_limits: options.rate_limits,
    };
    let server = badges::serve::start(config, listener).await.unwrap();
    let base = server.public_url.as_str().trim_end_matches('/').to_owned();
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { base, client, _server: server, _data_dir: data_dir }
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an `application/problem+json` error with this status and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "{}: {}",
            self.content_type,
            self.text()
        );
        let body = self.json();
        assert_eq!(body["status"], status, "{body}");
        assert!(body["title"].is_string(), "{body}");
        body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.unwrap().to_vec();
        assert!(
            status.as_u16() < 500,
            "5xx from the server: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Reply { status, content_type, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(TOKEN)).await
    }

    pub async fn get_public(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).bearer_auth(TOKEN).json(body)).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(TOKEN)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// A workspace `slug` with one template; returns the template id.
    pub async fn workspace_with_template(&self, slug: &str) -> String {
        let reply = self
            .post("/v1/workspaces", &json!({"slug": slug, "name": "Acme Academy",
                "issuer": {"name": "Acme Academy", "url": "https://academy.example.com", "email": "badges@academy.example.com"}}))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        self.template(slug, "Cloud Security Practitioner").await
    }

    pub async fn template(&self, slug: &str, name: &str) -> String {
        let reply = self
            .post(&format!("/v1/workspaces/{slug}/templates"), &json!({
                "name": name,
                "description": "Awarded for passing the cloud security assessment.",
                "criteria": {"narrative": "1. Complete the course.\n2. Score at least 80%."},
                "achievement_type": "Certification",
                "alignments": [{"target_name": "Identity and Access Management", "target_url": "https://skills.example.org/iam",
                    "target_framework": "Example Skills", "target_code": "IAM-1"}],
                "tags": ["security", "cloud"],
                "valid_for_days": 365
            }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// Issues to `email`; returns the 201 body.
    pub async fn issue(&self, slug: &str, template: &str, email: &str) -> Value {
        let reply = self
            .post(
                &format!("/v1/workspaces/{slug}/credentials"),
                &json!({
                "template_id": template, "recipient": {"email": email, "name": "Ada Lovelace"}}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()
    }

    /// Polls `check` until it returns `Some`, for at most `seconds`.
    pub async fn eventually<T, F, Fut>(&self, seconds: u64, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "condition not met within {seconds} s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The bit at `index` of a status list credential.
pub fn status_bit(list: &Value, index: usize) -> bool {
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    credentials::status::StatusList::decode(encoded).unwrap().get(index).unwrap()
}
