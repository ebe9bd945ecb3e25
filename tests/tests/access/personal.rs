//! Recipients' personal data: encrypted at rest, exported on request, erased for good, with
//! the credentials still valid: on the page, in the API and for the independent verifier.

use std::time::Duration;

use platform::ports::QueueName;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Body, Deployment, OWNER_TOKEN, Store, aws, embedded};

const EMAIL: &str = "erin.subject@example.org";
const NAME: &str = "Erin Quillfeather";

impl Store {
    /// Whether `needle` appears anywhere in the stored records (SQLite: the database file and
    /// its write-ahead log, byte for byte; DynamoDB: every attribute of every item).
    async fn holds(&self, needle: &str) -> bool {
        match self {
            Self::Sqlite(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                [path.clone(), wal.into()].iter().any(|file| {
                    std::fs::read(file).is_ok_and(|bytes| {
                        bytes.windows(needle.len()).any(|window| window == needle.as_bytes())
                    })
                })
            }
            Self::Dynamo(client, table) => {
                let mut start = None;
                loop {
                    let page = client
                        .scan()
                        .table_name(table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .unwrap();
                    if page.items().iter().any(|item| format!("{item:?}").contains(needle)) {
                        return true;
                    }
                    match page.last_evaluated_key() {
                        Some(key) => start = Some(key.clone()),
                        None => return false,
                    }
                }
            }
        }
    }
}

impl Deployment {
    async fn page(&self, id: &str) -> String {
        let response = self.client.get(format!("{}/credentials/{id}", self.base)).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

/// After erasure the recipient's name and email are gone from the store, the API and the
/// export; the credentials still verify with `ob3` and their pages say the data was erased.
async fn an_erased_recipient_is_gone_and_their_credentials_still_verify(deployment: Deployment) {
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let beta = d.fixture(OWNER_TOKEN, "beta").await;
    let mut ids = Vec::new();
    for fixture in [&alpha, &beta] {
        let body = json!({"template_id": fixture.template,
            "recipient": {"email": EMAIL.to_uppercase(), "name": NAME}});
        let path = format!("/v1/workspaces/{}/credentials", fixture.slug);
        let issued = d.ok(OWNER_TOKEN, Method::POST, &path, Some(Body::Json(body))).await;
        assert_eq!(issued["recipient"], json!({"email": EMAIL, "name": NAME}));
        let document = issued["credential"].to_string();
        assert!(!document.contains(NAME) && !document.contains("erin"), "{document}");
        ids.push(issued["id"].as_str().unwrap().to_owned());
    }
    // Encrypted at rest from the start: neither the email nor the name is in the store.
    assert!(!d.store.holds(EMAIL).await && !d.store.holds(NAME).await);
    assert!(d.page(&ids[0]).await.contains(NAME));
    let listed = d
        .ok(
            OWNER_TOKEN,
            Method::GET,
            &format!("/v1/workspaces/alpha/credentials?recipient_email={EMAIL}"),
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Subject access: everything held, across the organization's workspaces.
    let ask = || Some(Body::Json(json!({"email": EMAIL})));
    let export = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/export", ask()).await;
    assert_eq!(export["recipient"], json!({"email": EMAIL, "name": NAME}), "{export}");
    let exported: Vec<&str> = export["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(exported, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(export["credentials"][1]["workspace"], "beta");
    let signed = &export["credentials"][0]["credential"];
    assert_eq!(signed["id"], format!("urn:uuid:{}", ids[0]));
    assert!(signed["credentialSubject"]["identifier"][0]["hashed"] == true, "{signed}");
    // The other organization knows nothing of them.
    let theirs = d.ok(&d.other_owner, Method::POST, "/v1/recipients/export", ask()).await;
    assert_eq!(theirs["credentials"], json!([]), "{theirs}");
    assert_eq!(theirs["recipient"], json!({"erased": true}));
    assert_ne!(theirs["recipient_id"], export["recipient_id"], "ids link tenants");
    // An auditor may read it; an issuer may not, nor erase; an admin of the organization may.
    let (issuer, _) = d.key(OWNER_TOKEN, platform::auth::Role::Issuer, Some("alpha")).await;
    assert_eq!(d.call(&issuer, Method::POST, "/v1/recipients/export", ask()).await.0, 403);
    assert_eq!(d.call(&issuer, Method::POST, "/v1/recipients/erase", ask()).await.0, 403);
    let bad = d
        .call(
            OWNER_TOKEN,
            Method::POST,
            "/v1/recipients/erase",
            Some(Body::Json(json!({"email": "nope"}))),
        )
        .await;
    assert_eq!(bad.0, 400, "{}", bad.1);

    // Erasure.
    let erased = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/erase", ask()).await;
    assert_eq!(erased["erased"], true, "{erased}");
    assert_eq!(erased["credentials"], 2);
    assert_eq!(erased["recipient_id"], export["recipient_id"]);
    let again = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/erase", ask()).await;
    assert_eq!(again["erased"], false, "{again}");

    // Gone from the store, the export and the API.
    assert!(!d.store.holds(EMAIL).await && !d.store.holds(NAME).await);
    let export = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/export", ask()).await;
    let text = export.to_string();
    assert!(!text.contains(EMAIL) && !text.contains(NAME), "{text}");
    assert_eq!(export["recipient"], json!({"erased": true}));
    assert_eq!(export["credentials"].as_array().unwrap().len(), 2);
    let read = d
        .ok(OWNER_TOKEN, Method::GET, &format!("/v1/workspaces/alpha/credentials/{}", ids[0]), None)
        .await;
    assert_eq!(read["recipient"], json!({"erased": true}));
    assert_eq!(read["status"], "active");
    // Other recipients are untouched.
    let other = d
        .ok(
            OWNER_TOKEN,
            Method::GET,
            &format!("/v1/workspaces/alpha/credentials/{}", alpha.credential),
            None,
        )
        .await;
    assert_eq!(other["recipient"]["name"], "Secret Person");

    // The page says so, and still shows the credential as valid.
    let page = d.page(&ids[0]).await;
    assert!(page.contains("personal data was erased"), "{page}");
    assert!(!page.contains(NAME) && page.contains("data-verdict=\"active\""));

    // The signed credential still verifies with the independent verifier.
    let document = d
        .client
        .get(format!("{}/credentials/{}/credential.json", d.base, ids[1]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _: Value = serde_json::from_str(&document).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credential.json");
    std::fs::write(&file, &document).unwrap();
    let base = d.base.clone();
    let (code, output) =
        tokio::task::spawn_blocking(move || acceptance::conformance::ob3_verify(&base, &file))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{output}");

    // Issuing to the same address again starts afresh; the old credentials stay erased.
    let body =
        json!({"template_id": alpha.template, "recipient": {"email": EMAIL, "name": "Erin Q."}});
    let fresh = d
        .ok(OWNER_TOKEN, Method::POST, "/v1/workspaces/alpha/credentials", Some(Body::Json(body)))
        .await;
    assert_eq!(fresh["recipient"]["name"], "Erin Q.");
    let export = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/export", ask()).await;
    assert_eq!(export["recipient"]["name"], "Erin Q.");
    for credential in export["credentials"].as_array().unwrap() {
        let id = credential["id"].as_str().unwrap();
        if id == fresh["id"] {
            assert_eq!(credential["recipient"]["email"], EMAIL);
        } else {
            assert!(ids.iter().any(|old| old == id), "{export}");
            assert_eq!(credential["recipient"], json!({"erased": true}));
        }
    }
    assert_eq!(export["credentials"].as_array().unwrap().len(), 3);
}

/// A bulk job's rows hold their recipients' emails and names in clear only until each row is
/// recorded, issued or failed: after the job and an erasure, neither the erased recipient nor
/// the recipient of a failed row is anywhere in the store.
async fn a_bulk_job_keeps_no_personal_data_once_its_rows_are_done(deployment: Deployment) {
    const BULK_EMAIL: &str = "bulk.subject@example.org";
    const BULK_NAME: &str = "Bastian Quillwright";
    const FAILED_EMAIL: &str = "late.subject@example.org";
    const FAILED_NAME: &str = "Lotte Overdue";
    let d = &deployment;
    let alpha = d.fixture(OWNER_TOKEN, "alpha").await;
    let csv = "email,name,valid_until,evidence_url\n\
        bulk.subject@example.org,Bastian Quillwright,,\n\
        late.subject@example.org,Lotte Overdue,2001-01-01T00:00:00Z,\n";
    assert!([BULK_EMAIL, BULK_NAME, FAILED_EMAIL, FAILED_NAME].iter().all(|v| csv.contains(v)));
    let path = format!("/v1/workspaces/alpha/bulk-issuances?template_id={}", alpha.template);
    let (status, text) = d.call(OWNER_TOKEN, Method::POST, &path, Some(Body::Csv(csv))).await;
    assert_eq!(status, 202, "{text}");
    let job: Value = serde_json::from_str(&text).unwrap();
    let job_path =
        format!("/v1/workspaces/alpha/bulk-issuances/{}", job["job_id"].as_str().unwrap());
    let mut report = Value::Null;
    for _ in 0..100 {
        d.app.work_queue(QueueName::Bulk, 10, Duration::from_secs(30)).await.unwrap();
        report = d.ok(OWNER_TOKEN, Method::GET, &job_path, None).await;
        if report["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(report["status"], "completed", "{report}");
    assert_eq!((report["issued"].as_u64(), report["failed"].as_u64()), (Some(1), Some(1)));

    let ask = Some(Body::Json(json!({"email": BULK_EMAIL})));
    let erased = d.ok(OWNER_TOKEN, Method::POST, "/v1/recipients/erase", ask).await;
    assert_eq!((erased["erased"].as_bool(), erased["credentials"].as_u64()), (Some(true), Some(1)));
    for needle in [BULK_EMAIL, BULK_NAME, FAILED_EMAIL, FAILED_NAME] {
        assert!(!d.store.holds(needle).await, "the store still holds {needle}");
    }
    // The job's report still says what happened to each row.
    let report = d.ok(OWNER_TOKEN, Method::GET, &job_path, None).await;
    assert_eq!(report["errors"][0]["row"], 2, "{report}");
}

on_both!(
    an_erased_recipient_is_gone_and_their_credentials_still_verify,
    a_bulk_job_keeps_no_personal_data_once_its_rows_are_done
);
