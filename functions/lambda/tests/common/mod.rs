//! The handlers' test bed: an [`App`] on the embedded adapters (SQLite in a temporary
//! directory) with a settable clock, an owner key, and a workspace `acme` with one template.
//! The Lambda code paths are the same as on AWS; only the adapters differ.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use platform::app::{Caller, NewWorkspace, TemplateInput};
use platform::model::CredentialFilter;
use platform::ports::Clock;
use platform::{App, Settings};
use serde_json::{Value, json};

pub const OWNER_TOKEN: &str = "obk_testtest_0123456789abcdefghijklmnop";

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// An app with a workspace and a template.
pub struct Bed {
    pub app: App,
    pub clock: Arc<TestClock>,
    pub store: embedded::Embedded,
    pub caller: Caller,
    pub template_id: String,
    _dir: tempfile::TempDir,
}

pub const SLUG: &str = "acme";

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Bed {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(TestClock(Mutex::new(Utc::now().trunc_subsecs(0))));
        let store = embedded::Embedded::open(dir.path(), clock.clone()).unwrap();
        let transport =
            Arc::new(platform_http::ReqwestTransport::new(false, Duration::from_secs(2)).unwrap());
        let settings = Settings::new("https://badges.example.eu".parse().unwrap());
        let app = App::new(store.ports(transport), settings);
        app.bootstrap(Some(OWNER_TOKEN)).await.unwrap();
        let caller = app.authenticate(OWNER_TOKEN).await.unwrap();
        let workspace: NewWorkspace = serde_json::from_value(json!({
            "slug": SLUG, "name": "Acme Academy",
            "issuer": {"name": "Acme Academy", "url": "https://academy.example.com"}
        }))
        .unwrap();
        app.create_workspace(&caller, workspace).await.unwrap();
        let template: TemplateInput = serde_json::from_value(json!({
            "name": "Cloud Security Practitioner",
            "description": "Awarded for passing the cloud security assessment.",
            "criteria": {"narrative": "Score at least 80%."}
        }))
        .unwrap();
        let template = app.create_template(&caller, SLUG, template).await.unwrap();
        Self { app, clock, store, caller, template_id: template.id.to_string(), _dir: dir }
    }

    /// The workspace's credentials, newest first.
    pub async fn credentials(&self) -> Vec<platform::app::HeldCredential> {
        let (records, _) = self
            .app
            .list_credentials(&self.caller, SLUG, CredentialFilter::default(), None, None, 200)
            .await
            .unwrap();
        records
    }

    /// An inbound `credential.issue.requested` message for the bed's template.
    pub fn inbound(&self, key: &str, email: &str) -> String {
        json!({
            "type": "credential.issue.requested",
            "workspace": SLUG,
            "idempotency_key": key,
            "request": {
                "template_id": self.template_id,
                "recipient": {"email": email, "name": "Ada Lovelace"}
            }
        })
        .to_string()
    }
}

/// A JSON body as a value (for assertions).
pub fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}
