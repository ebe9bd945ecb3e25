//! Cold start of every Lambda function, against a local Lambda Runtime API.
//!
//! For each function binary this starts a Runtime API on loopback (the protocol Lambda and
//! `cargo lambda watch` speak: `GET /2018-06-01/runtime/invocation/next`, then `POST
//! …/{id}/response` or `…/error`), spawns the binary the way Lambda does, with
//! `AWS_LAMBDA_RUNTIME_API` and the stack's environment (resources provisioned in the local
//! AWS emulator), and measures:
//!
//! - **init**: from spawn to the function's first `invocation/next` — what Lambda reports as
//!   the init duration (process start, configuration, SDK clients, bootstrap);
//! - **first invocation**: from handing out a fixture event to its response;
//! - **peak memory**: the process's `VmHWM` after that invocation.
//!
//! Each function is started `RUNS` times; the median is printed. The binaries must be built
//! first (host architecture, release):
//!
//! ```text
//! cargo build --release -p badges-issuance-api -p badges-public-api -p badges-management-api \
//!   -p badges-bulk-worker -p badges-webhook-worker -p badges-expiry-sweep \
//!   -p badges-inbound-events -p badges-outbox-relay
//! cargo bench -p acceptance --bench cold_start
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};

const RUNS: usize = 7;
const TOKEN: &str = "cold-start-owner-token-0123456789abcdef";

/// The functions and the fixture event each is invoked with.
const FUNCTIONS: [(&str, &str); 8] = [
    ("badges-public-api", "apigw-v2-healthz.json"),
    ("badges-issuance-api", "apigw-v2-issue-without-key.json"),
    ("badges-management-api", "apigw-v2-unknown-route.json"),
    ("badges-bulk-worker", "sqs-inbound-batch.json"),
    ("badges-webhook-worker", "sqs-inbound-batch.json"),
    ("badges-inbound-events", "sqs-inbound-batch.json"),
    ("badges-expiry-sweep", "scheduler-event.json"),
    ("badges-outbox-relay", "dynamodb-stream-outbox.json"),
];

#[derive(Default)]
struct Timeline {
    started: Option<Instant>,
    first_next: Option<Instant>,
    handed_out: Option<Instant>,
    responded: Option<(Instant, bool)>,
}

#[derive(Clone)]
struct Api {
    event: Arc<String>,
    timeline: Arc<Mutex<Timeline>>,
}

async fn next(State(api): State<Api>) -> impl IntoResponse {
    let first = {
        let mut t = api.timeline.lock().unwrap();
        let now = Instant::now();
        if t.first_next.is_none() {
            t.first_next = Some(now);
            t.handed_out = Some(now);
            true
        } else {
            false
        }
    };
    if !first {
        // One invocation per process: later polls wait, as on a frozen sandbox.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let deadline =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "cold-start-1".parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-central-1:000000000000:function:cold-start".parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    (headers, api.event.as_str().to_owned())
}

async fn response(State(api): State<Api>, UrlPath(_id): UrlPath<String>) -> &'static str {
    api.timeline.lock().unwrap().responded = Some((Instant::now(), true));
    "{}"
}

async fn error(State(api): State<Api>, body: String) -> &'static str {
    eprintln!("function error: {body}");
    api.timeline.lock().unwrap().responded = Some((Instant::now(), false));
    "{}"
}

struct Sample {
    init: Duration,
    invoke: Duration,
    peak_kib: u64,
    ok: bool,
}

async fn run_once(binary: &Path, event: &str, env: &[(String, String)]) -> Sample {
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let api = Api { event: Arc::new(event.to_owned()), timeline: timeline.clone() };
    let router = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    timeline.lock().unwrap().started = Some(Instant::now());
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if timeline.lock().unwrap().responded.is_some() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let t = timeline.lock().unwrap();
    let started = t.started.unwrap();
    let (responded, ok) = t.responded.unwrap_or((Instant::now(), false));
    Sample {
        init: t.first_next.map_or(Duration::MAX, |n| n - started),
        invoke: t.handed_out.map_or(Duration::MAX, |h| responded - h),
        peak_kib,
        ok,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        let bin_dir = std::env::var_os("BADGES_LAMBDA_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| target.join("release"));
        let fixtures =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/lambda/tests/fixtures");

        let emulator = acceptance::emulator::shared().unwrap();
        let sdk = emulator.sdk_config().await;
        let prefix = format!("cs{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let config = platform_aws::provision::provision(
            &sdk,
            &prefix,
            platform_aws::provision::Signing::Kms,
            5,
        )
        .await
        .unwrap();
        let mut env: Vec<(String, String)> = [
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_LAMBDA_FUNCTION_NAME", "cold-start"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold-start"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start"),
            ("BADGES_PUBLIC_URL", "https://badges.example.com"),
            ("BADGES_S3_PATH_STYLE", "true"),
            ("BADGES_BOOTSTRAP_TOKEN", TOKEN),
            ("BADGES_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.push(("AWS_ENDPOINT_URL".into(), emulator.endpoint.clone()));
        env.push(("BADGES_TABLE".into(), config.table.clone()));
        env.push(("BADGES_BUCKET".into(), config.bucket.clone()));
        env.push(("BADGES_BULK_QUEUE_URL".into(), config.bulk_queue_url.clone()));
        env.push(("BADGES_WEBHOOK_QUEUE_URL".into(), config.webhooks_queue_url.clone()));
        env.push(("BADGES_VAULT_KEY_ID".into(), config.vault_key_id.clone()));

        println!("| function | init (median of {RUNS}) | first invocation | peak RSS | size |");
        println!("|---|---|---|---|---|");
        for (name, fixture) in FUNCTIONS {
            let binary = bin_dir.join(name);
            let size = std::fs::metadata(&binary)
                .unwrap_or_else(|_| panic!("{} is missing: build it first", binary.display()))
                .len();
            let event = std::fs::read_to_string(fixtures.join(fixture)).unwrap();
            let mut samples = Vec::new();
            for _ in 0..RUNS {
                samples.push(run_once(&binary, &event, &env).await);
            }
            let ok = samples.iter().all(|s| s.ok);
            let init = median(samples.iter().map(|s| s.init).collect());
            let invoke = median(samples.iter().map(|s| s.invoke).collect());
            let peak = samples.iter().map(|s| s.peak_kib).max().unwrap_or(0);
            println!(
                "| `{name}` | {:.1} ms | {:.1} ms{} | {:.1} MiB | {:.1} MiB |",
                init.as_secs_f64() * 1e3,
                invoke.as_secs_f64() * 1e3,
                if ok { "" } else { " (error)" },
                peak as f64 / 1024.0,
                size as f64 / (1024.0 * 1024.0),
            );
        }
    });
}
