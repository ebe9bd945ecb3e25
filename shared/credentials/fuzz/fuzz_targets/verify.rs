//! Arbitrary bytes into `credentials::verify::verify_bytes`, with a resolver that knows the
//! conformance vectors' DID document and status list, at a fixed instant.
//!
//! Invariants: no panic; the summary is one line with no control character (it quotes the
//! input); a `Valid` verdict only comes with every check passed or skipped.

#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use credentials::verify::{self, Options, Outcome, Resolver, Verdict};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "did:web:badges.example.com";
const LIST_URL: &str = "https://badges.example.com/status/revocation/1";

static DID_DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../tests/vectors/did.json")).expect("did.json")
});
static STATUS_LIST: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../tests/vectors/status-list.json"))
        .expect("status-list.json")
});
static OPTIONS: LazyLock<Options> = LazyLock::new(|| {
    let now: DateTime<Utc> =
        DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").expect("instant").to_utc();
    Options::at(now)
});

struct Vectors;

impl Resolver for Vectors {
    fn did_document(&self, did: &str) -> Result<Value, String> {
        if did == ISSUER { Ok(DID_DOCUMENT.clone()) } else { Err(format!("unknown DID {did}")) }
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        if url == LIST_URL { Ok(STATUS_LIST.clone()) } else { Err(format!("unreachable {url}")) }
    }
}

fuzz_target!(|data: &[u8]| {
    let report = verify::verify_bytes(data, &Vectors, &OPTIONS);

    let summary = report.summary();
    assert!(!summary.chars().any(char::is_control), "summary is not a single clean line: {summary:?}");

    if report.verdict == Verdict::Valid {
        for check in &report.checks {
            assert!(
                matches!(check.outcome, Outcome::Passed | Outcome::Skipped),
                "Valid verdict with check {check:?}; report: {report:?}"
            );
        }
    }
});
