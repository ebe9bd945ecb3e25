//! What the server issues passes the independent OB 3.0 verifier against the running server
//! (its did:web documents and status lists), and fails it once revoked.

use std::path::PathBuf;

use crate::helpers::spawn_app;

/// Runs the harness on `file` with the server as its did:web / https host; blocking, so it
/// runs off the async runtime that serves the requests.
async fn ob3_verify(base: &str, file: PathBuf) -> (Option<i32>, String) {
    let base = base.to_owned();
    tokio::task::spawn_blocking(move || acceptance::conformance::ob3_verify(&base, &file))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_issued_through_the_api_pass_the_independent_verifier_until_revoked() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..3 {
        let issued = app.issue("acme", &template, &format!("learner{i}@example.com")).await;
        let id = issued["id"].as_str().unwrap().to_owned();
        let download = app.get_public(&format!("/credentials/{id}/credential.json")).await;
        let path = dir.path().join(format!("{id}.json"));
        std::fs::write(&path, &download.body).unwrap();
        files.push((id, path));
    }
    for (_, path) in &files {
        let (code, output) = ob3_verify(&app.base, path.clone()).await;
        assert_eq!(code, Some(0), "{output}");
    }
    let (id, path) = &files[0];
    let revoked = app
        .post(
            &format!("/v1/workspaces/acme/credentials/{id}/revoke"),
            &serde_json::json!({"reason": "test"}),
        )
        .await;
    assert_eq!(revoked.status, 200);
    let (code, output) = ob3_verify(&app.base, path.clone()).await;
    assert_eq!(code, Some(1), "{output}");
    // The one status entry the OB 3.0 schema allows points at the suspension list, where a
    // revocation is a bit that is never cleared (see platform::model::STATUS_PURPOSE).
    assert!(output.contains("\"result\":\"suspended\""), "{output}");
}
