//! The verification page in a real browser (headless Chromium): the verdict is visible, and
//! a `<script>` in an achievement name is shown as text, never run.

use std::process::Command;

use serde_json::json;

use crate::helpers::spawn_app;

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("headless Chromium is required (Debian package `chromium`; .ci/run installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_verdict_in_chromium_and_never_runs_an_injected_script() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/workspaces",
            &json!({"slug": "acme", "name": "Acme", "issuer": {"name": "Acme <b>Academy</b>"}}),
        )
        .await;
    assert_eq!(created.status, 201);
    let payload = "<script>document.title='pwned';document.documentElement.setAttribute('data-pwned','yes')</script><img src=x onerror=\"document.title='pwned'\">";
    let template = app
        .post(
            "/v1/workspaces/acme/templates",
            &json!({"name": format!("Rust {payload}"), "description": payload,
            "criteria": {"narrative": payload}}),
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.text());
    let template = template.json()["id"].as_str().unwrap().to_owned();
    let issued = app
        .post("/v1/workspaces/acme/credentials", &json!({"template_id": template, "recipient": {"email": "ada@example.com", "name": payload}}))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let url = issued.json()["verification_url"].as_str().unwrap().to_owned();

    let profile = tempfile::tempdir().unwrap();
    let dom = tokio::task::spawn_blocking(move || {
        let output = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=3000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap();

    assert!(dom.contains("id=\"verdict\""), "{dom}");
    assert!(dom.contains("data-verdict=\"active\""), "{dom}");
    // Had the script run, the root element would carry the attribute (the payload's own text,
    // escaped, mentions it too, so look for the attribute form).
    assert!(!dom.contains("data-pwned=\"yes\""), "the injected script ran: {dom}");
    assert!(!dom.contains("<title>pwned</title>"), "the injected handler ran: {dom}");
    assert!(dom.contains("&lt;script&gt;document.title"), "the payload is shown as text: {dom}");
    assert!(!dom.contains("<b>Academy</b>"), "issuer markup is escaped: {dom}");
}
