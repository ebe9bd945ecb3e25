//! Bulk issuance on the embedded default, end to end: `badges serve`'s `start` in-process on
//! a fresh data directory, one CSV job of N rows over HTTP, timed from the POST until the job
//! reports completed; then every credential is checked to be stored once and a sample is
//! verified through `POST /verify`.
//!
//! `cargo bench -p badges --bench bulk -- [ROWS]` (default 100000). Results go in
//! `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "bulk-bench-owner-token-0123456789abcdef";

#[tokio::main]
async fn main() {
    let rows: u32 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = badges::serve::Config {
        data_dir: data.path().to_path_buf(),
        listen: listener.local_addr().unwrap(),
        public_url: None,
        bootstrap_token: Some(TOKEN.into()),
        allow_internal_webhooks: false,
        webhook_backoff: Duration::from_secs(5),
        expiry_interval: Duration::from_secs(3600),
        // The benchmark pages through 100,000 credentials as fast as it can.
        rate_limits: platform::RateLimits { public_per_minute: 0, api_key_per_minute: 0 },
    };
    let server = badges::serve::start(config, listener).await.unwrap();
    let base = server.public_url.as_str().trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client.post(format!("{base}{path}")).bearer_auth(TOKEN).json(&body).send()
    };
    assert_eq!(
        post(
            "/v1/workspaces",
            json!({"slug": "bench", "name": "Bench", "issuer": {"name": "Bench"}})
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let template: Value = post("/v1/workspaces/bench/templates", json!({"name": "Bulk badge", "description": "Issued in bulk.",
        "criteria": {"narrative": "Be in the CSV."}, "achievement_type": "Badge", "valid_for_days": 365}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let template = template["id"].as_str().unwrap();

    let mut csv = String::with_capacity(rows as usize * 48);
    csv.push_str("email,name\n");
    for row in 1..=rows {
        csv.push_str(&format!("person{row}@example.com,Person {row}\n"));
    }
    let started = Instant::now();
    let response = client
        .post(format!("{base}/v1/workspaces/bench/bulk-issuances?template_id={template}"))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted = started.elapsed();
    let job: Value = response.json().await.unwrap();
    let job = job["job_id"].as_str().unwrap().to_owned();
    let report = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let report: Value = client
            .get(format!("{base}/v1/workspaces/bench/bulk-issuances/{job}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if report["status"] == "completed" {
            break report;
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(report["issued"].as_u64().unwrap(), u64::from(rows), "{report}");

    // Stored once each, and verifiable: page through everything, verify a sample.
    let mut ids = std::collections::HashSet::new();
    let mut cursor = String::new();
    let mut sample = Vec::new();
    loop {
        let page: Value = client
            .get(format!("{base}/v1/workspaces/bench/credentials?limit=200{cursor}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            if ids.len() % 10_000 == 0 {
                sample.push(id.clone());
            }
            assert!(ids.insert(id), "duplicate credential");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), rows as usize);
    for id in &sample {
        let document = client
            .get(format!("{base}/credentials/{id}/credential.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let report: Value = client
            .post(format!("{base}/verify"))
            .body(document)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["verdict"], "valid", "{report}");
    }
    println!(
        "bulk: {rows} rows accepted in {:.2} s, signed and stored in {:.1} s ({:.0} credentials/s, {} workers); {} stored once each; {} sampled verify valid",
        accepted.as_secs_f64(),
        elapsed.as_secs_f64(),
        f64::from(rows) / elapsed.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, usize::from),
        ids.len(),
        sample.len()
    );
    server.shutdown().await.unwrap();
}
