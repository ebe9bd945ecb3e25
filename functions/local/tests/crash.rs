//! `badges serve` as a real process: a 10,000-row bulk job survives SIGKILL mid-way. After a
//! restart on the same data directory the job completes with exactly one credential per good
//! row and one error per bad row: nothing lost, nothing duplicated.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "crash-test-owner-token-0123456789abcdef";
const ROWS: u32 = 10_000;

struct Serve {
    child: Child,
    base: String,
}

/// Starts `badges serve` on a free port and waits until it says it is serving.
fn serve(data_dir: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_badges"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("BADGES_DATA_DIR", data_dir)
        // A fixed public URL: the did:web ids in the credentials must survive the restart.
        .env("BADGES_PUBLIC_URL", "http://badges.test")
        .env("BADGES_BOOTSTRAP_TOKEN", TOKEN)
        .env("BADGES_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("badges serve exited before serving").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the logs so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve { child, base: format!("http://{addr}") }
}

fn request(method: &str, url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let builder = match method {
        "POST" => client.post(url).header("content-type", content_type).body(body.to_owned()),
        _ => client.get(url),
    };
    let response = builder.bearer_auth(TOKEN).timeout(Duration::from_secs(30)).send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn report(base: &str, job: &str) -> Value {
    request("GET", &format!("{base}/v1/workspaces/acme/bulk-issuances/{job}"), "", "").1
}

#[test]
fn a_bulk_job_killed_mid_way_completes_after_restart_with_no_credential_lost_or_duplicated() {
    let data = tempfile::tempdir().unwrap();
    let first = serve(data.path());
    let (status, _) = request(
        "POST",
        &format!("{}/v1/workspaces", first.base),
        "application/json",
        &json!({"slug": "acme", "name": "Acme", "issuer": {"name": "Acme"}}).to_string(),
    );
    assert_eq!(status, 201);
    let (status, template) = request("POST", &format!("{}/v1/workspaces/acme/templates", first.base), "application/json",
        &json!({"name": "Bulk badge", "description": "Issued in bulk.", "criteria": {"narrative": "Be in the CSV."}}).to_string());
    assert_eq!(status, 201, "{template}");
    let template = template["id"].as_str().unwrap().to_owned();

    let mut csv = String::from("email,name\n");
    let mut bad = Vec::new();
    for row in 1..=ROWS {
        if row % 97 == 0 {
            csv.push_str(&format!("not-an-email-{row},Person {row}\n"));
            bad.push(u64::from(row));
        } else {
            csv.push_str(&format!("person{row}@example.com,Person {row}\n"));
        }
    }
    let (status, job) = request(
        "POST",
        &format!("{}/v1/workspaces/acme/bulk-issuances?template_id={template}", first.base),
        "text/csv",
        &csv,
    );
    assert_eq!(status, 202, "{job}");
    let job = job["job_id"].as_str().unwrap().to_owned();

    // Kill it hard once a good part of the job is done, but not all of it.
    let mut first = first;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let progress = report(&first.base, &job);
        let done = progress["issued"].as_u64().unwrap() + progress["failed"].as_u64().unwrap();
        if done >= u64::from(ROWS) / 5 {
            assert_ne!(
                progress["status"], "completed",
                "the job finished before it could be killed; make it larger"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {progress}");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();

    let second = serve(data.path());
    let deadline = Instant::now() + Duration::from_secs(900);
    let done = loop {
        let progress = report(&second.base, &job);
        if progress["status"] == "completed" {
            break progress;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not complete after the restart: {progress}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(done["total"], ROWS);
    assert_eq!(done["failed"].as_u64().unwrap(), bad.len() as u64, "{done}");
    assert_eq!(done["issued"].as_u64().unwrap(), u64::from(ROWS) - bad.len() as u64);
    let error_rows: Vec<u64> =
        done["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(error_rows, bad);

    // Exactly one credential per good row: count and de-duplicate what the store holds.
    let mut emails = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = request(
            "GET",
            &format!("{}/v1/workspaces/acme/credentials?limit=200{cursor}", second.base),
            "",
            "",
        );
        assert_eq!(status, 200);
        for item in page["items"].as_array().unwrap() {
            emails.push(item["recipient"]["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let unique: HashSet<&String> = emails.iter().collect();
    assert_eq!(unique.len(), emails.len(), "a credential was duplicated");
    assert_eq!(emails.len(), ROWS as usize - bad.len(), "a credential was lost");

    let mut second = second;
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
