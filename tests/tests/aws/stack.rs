//! One deployment's worth of AWS resources in the emulator, the application over them, its
//! routers on a loopback port, a webhook receiver, and the Lambda-style queue drain.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use platform::app::HandleOutcome;
use platform::ports::QueueName;
use platform::{App, Settings};
use platform_aws::provision::Signing;
use serde_json::Value;

pub const TOKEN: &str = "aws-flow-owner-token-0123456789abcdef";

/// Webhook requests received: headers and body.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

pub struct Stack {
    pub app: App,
    pub base: String,
    pub client: reqwest::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub config: platform_aws::AwsConfig,
    pub hook: SocketAddr,
    pub received: Received,
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Stack {
    /// Provisions fresh resources (queues dead-letter after `max_receives`) and starts
    /// everything.
    pub async fn start(signing: Signing) -> Stack {
        let emulator = acceptance::emulator::shared().unwrap();
        let sdk = emulator.sdk_config().await;
        let prefix = format!("f{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let config = platform_aws::provision::provision(&sdk, &prefix, signing, 5).await.unwrap();
        let aws = platform_aws::Aws::connect(config.clone(), &sdk, Arc::new(SystemClock));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let transport = platform_http::ReqwestTransport::new(true, Duration::from_secs(5)).unwrap();
        let mut settings = Settings::new(base.parse().unwrap());
        settings.allow_internal_webhooks = true;
        settings.webhook_backoff = Duration::from_secs(1);
        let app = App::new(aws.ports(Arc::new(transport)), settings);
        app.bootstrap(Some(TOKEN)).await.unwrap();
        let router = platform_http::router(app.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let received = Received::default();
        let store = received.clone();
        let hooks = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let store = store.clone();
                async move {
                    store.0.lock().unwrap().push((headers, body));
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = hook_listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(hook_listener, hooks).await;
        });

        Stack {
            app,
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            config,
            hook,
            received,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        Reply { status, body: response.bytes().await.unwrap().to_vec() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base)).bearer_auth(TOKEN)).await
    }

    pub async fn get_public(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.base)).bearer_auth(TOKEN).json(body))
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: String) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(TOKEN)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    fn queue_url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Bulk => &self.config.bulk_queue_url,
            QueueName::Webhooks => &self.config.webhooks_queue_url,
        }
    }

    /// What Lambda's event source mapping does, until the queue stays empty for `quiet`:
    /// receive a batch of up to 10, invoke the function's handler with it — `1 + redeliveries`
    /// times, as if every message were delivered again — and delete the messages the last
    /// invocation did not report as failed. Returns how many distinct messages were handled.
    pub async fn drain(&self, queue: QueueName, redeliveries: usize, quiet: Duration) -> usize {
        let url = self.queue_url(queue).to_owned();
        let mut seen = HashSet::new();
        let mut idle_since = tokio::time::Instant::now();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                if idle_since.elapsed() >= quiet {
                    return seen.len();
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            idle_since = tokio::time::Instant::now();
            let records: Vec<SqsMessage> = messages
                .iter()
                .map(|m| {
                    seen.insert(m.message_id.clone().unwrap());
                    let mut record = SqsMessage::default();
                    record.message_id = m.message_id.clone();
                    record.receipt_handle = m.receipt_handle.clone();
                    record.body = m.body.clone();
                    record.event_source = Some("aws:sqs".into());
                    record
                })
                .collect();
            let mut failed = HashSet::new();
            for _ in 0..=redeliveries {
                let mut event = SqsEvent::default();
                event.records = records.clone();
                let response = lambda_support::process_sqs_batch(
                    &self.app,
                    Some(queue),
                    event,
                    move |app, body| async move { handle(&app, queue, &body).await },
                )
                .await;
                failed =
                    response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
            }
            for message in &messages {
                if !failed.contains(message.message_id.as_deref().unwrap()) {
                    self.sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle.clone().unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }
}

async fn handle(app: &App, queue: QueueName, body: &str) -> platform::Result<HandleOutcome> {
    match queue {
        QueueName::Bulk => app.handle_bulk_message(body).await,
        QueueName::Webhooks => app.handle_webhook_message(body).await,
    }
}

#[derive(Debug)]
struct SystemClock;

impl platform::ports::Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// Runs the independent verifier on `file` with `base` as the did:web / https host, off the
/// async runtime that serves its requests.
pub async fn ob3_verify(base: &str, file: PathBuf) -> (Option<i32>, String) {
    let base = base.to_owned();
    tokio::task::spawn_blocking(move || acceptance::conformance::ob3_verify(&base, &file))
        .await
        .unwrap()
}

/// The bit at `index` of a status list credential.
pub fn status_bit(list: &Value, index: usize) -> bool {
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    credentials::status::StatusList::decode(encoded).unwrap().get(index).unwrap()
}
