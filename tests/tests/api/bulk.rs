//! Bulk issuance through the queue: one credential per good row, one error per bad row.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_bulk_csv_job_issues_one_credential_per_good_row_and_reports_each_bad_row() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let mut csv = String::from("email,name,valid_until,evidence_url\n");
    let mut bad_rows = Vec::new();
    for row in 1..=250u32 {
        match row % 50 {
            7 => {
                csv.push_str(&format!("broken-{row},Person {row},,\n"));
                bad_rows.push(row);
            }
            13 => {
                csv.push_str(&format!("user{row}@example.com,Person {row},yesterday,\n"));
                bad_rows.push(row);
            }
            21 => csv.push_str(&format!("user{row}@example.com,\"Doe, Person {row}\",2040-01-01T00:00:00Z,https://evidence.example/{row}\n")),
            _ => csv.push_str(&format!("user{row}@example.com,Person {row},,\n")),
        }
    }
    let reply = app
        .post_raw(
            &format!("/v1/workspaces/acme/bulk-issuances?template_id={template}"),
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let job = reply.json()["job_id"].as_str().unwrap().to_owned();
    let report = app
        .eventually(120, || async {
            let report = app.get(&format!("/v1/workspaces/acme/bulk-issuances/{job}")).await.json();
            (report["status"] == "completed").then_some(report)
        })
        .await;
    assert_eq!(report["total"], 250);
    assert_eq!(report["issued"], 250 - bad_rows.len());
    assert_eq!(report["failed"], bad_rows.len());
    let errors: Vec<u64> =
        report["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(errors, bad_rows.iter().map(|r| u64::from(*r)).collect::<Vec<_>>());
    assert!(report["errors"][0]["error"].as_str().unwrap().contains("email"), "{report}");

    // Exactly one credential per good row.
    let mut emails = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&format!("/v1/workspaces/acme/credentials?limit=200{cursor}")).await.json();
        for item in page["items"].as_array().unwrap() {
            emails.push(item["recipient"]["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let mut unique = emails.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), emails.len(), "no duplicates");
    assert_eq!(emails.len(), 250 - bad_rows.len());
}

#[tokio::test]
async fn a_bulk_json_job_works_too() {
    let app = spawn_app().await;
    let template = app.workspace_with_template("acme").await;
    let rows: Vec<Value> = (0..5)
        .map(|i| json!({"email": format!("j{i}@example.com"), "name": format!("J {i}")}))
        .collect();
    let reply = app
        .post(
            &format!("/v1/workspaces/acme/bulk-issuances?template_id={template}"),
            &json!({"rows": rows}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    let job = reply.json()["job_id"].as_str().unwrap().to_owned();
    let report = app
        .eventually(60, || async {
            let report = app.get(&format!("/v1/workspaces/acme/bulk-issuances/{job}")).await.json();
            (report["status"] == "completed").then_some(report)
        })
        .await;
    assert_eq!(report["issued"], 5);
}
