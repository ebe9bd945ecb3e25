//! The verifier against the conformance vectors, VC-JWTs, baked images and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use credentials::did::DidDocument;
use credentials::keys::KeyPair;
use credentials::status::{StatusList, StatusPurpose, list_credential};
use credentials::verify::{self, NoResolver, Options, Outcome, Resolver, Verdict};
use credentials::{bake, di, qr};
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
const ISSUER: &str = "did:web:badges.example.com";
const METHOD: &str = "did:web:badges.example.com#key-1";
/// JSON cut short inside the context array.
const MALFORMED_JSON: &[u8] = b"{\"@context\": [\"https://www.w3.org/ns/credentials/v2\"";
const LIST_URL: &str = "https://badges.example.com/status/revocation/1";

fn json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap()).unwrap()
}

fn at(text: &str) -> Options {
    Options::at(DateTime::parse_from_rfc3339(text).unwrap().to_utc())
}

fn now() -> Options {
    at("2025-01-01T00:00:00Z")
}

fn vector_key() -> KeyPair {
    KeyPair::from_seed(
        &hex::decode(json("key.json")["seed_hex"].as_str().unwrap()).unwrap().try_into().unwrap(),
    )
}

/// Resolves the vectors' DID document and a status list of its issuer.
struct Vectors {
    status_list: Option<Value>,
}

impl Vectors {
    fn new() -> Self {
        Self { status_list: Some(json("status-list.json")) }
    }

    fn with_revoked(index: usize, purpose: StatusPurpose) -> Self {
        let mut list = StatusList::new(131_072).unwrap();
        list.set(index, true).unwrap();
        let unsigned = list_credential(LIST_URL, ISSUER, purpose, &list, created());
        let options = di::ProofOptions { verification_method: METHOD.into(), created: created() };
        Self { status_list: Some(di::sign(&unsigned, &vector_key(), &options).unwrap()) }
    }
}

impl Resolver for Vectors {
    fn did_document(&self, did: &str) -> Result<Value, String> {
        if did == ISSUER { Ok(json("did.json")) } else { Err(format!("unknown DID {did}")) }
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        match &self.status_list {
            Some(list) if url == LIST_URL => Ok(list.clone()),
            _ => Err(format!("unreachable {url}")),
        }
    }
}

fn verify_value(value: &Value, resolver: &dyn Resolver, options: &Options) -> verify::Report {
    verify::verify_bytes(value.to_string().as_bytes(), resolver, options)
}

#[test]
fn the_three_signed_vectors_are_valid() {
    for kind in ["minimal", "typical", "rich"] {
        let report = verify_value(&json(&format!("{kind}/signed.json")), &Vectors::new(), &now());
        assert_eq!(report.verdict, Verdict::Valid, "{kind}: {}", report.summary());
        assert_eq!(report.check("proof").unwrap().outcome, Outcome::Passed);
        assert_eq!(report.verification_method.as_deref(), Some(METHOD));
    }
}

#[test]
fn a_tampered_credential_is_invalid_with_the_proof_check_failed() {
    let mut credential = json("typical/signed.json");
    credential["credentialSubject"]["achievement"]["name"] = "Forged".into();
    let report = verify_value(&credential, &Vectors::new(), &now());
    assert!(matches!(report.verdict, Verdict::Invalid(_)));
    assert_eq!(report.check("proof").unwrap().outcome, Outcome::Failed);
}

#[test]
fn dates_are_checked_against_the_given_instant() {
    let typical = json("typical/signed.json");
    assert_eq!(
        verify_value(&typical, &Vectors::new(), &at("2100-01-01T00:00:00Z")).verdict,
        Verdict::Expired
    );
    assert_eq!(
        verify_value(&typical, &Vectors::new(), &at("2020-01-01T00:00:00Z")).verdict,
        Verdict::NotYetValid
    );
}

#[test]
fn revocation_and_suspension_come_from_the_signed_status_list() {
    let rich = json("rich/signed.json");
    let revoked =
        verify_value(&rich, &Vectors::with_revoked(94567, StatusPurpose::Revocation), &now());
    assert_eq!(revoked.verdict, Verdict::Revoked);
    // A suspension list for a revocation entry is not the right list: status unknown.
    let wrong_purpose =
        verify_value(&rich, &Vectors::with_revoked(94567, StatusPurpose::Suspension), &now());
    assert!(matches!(wrong_purpose.verdict, Verdict::StatusUnknown(_)));
    // Another bit set: still active.
    assert_eq!(
        verify_value(&rich, &Vectors::with_revoked(1, StatusPurpose::Revocation), &now()).verdict,
        Verdict::Valid
    );
}

#[test]
fn an_unresolvable_or_forged_status_list_never_gives_valid() {
    let rich = json("rich/signed.json");
    let unresolvable = verify_value(&rich, &Vectors { status_list: None }, &now());
    assert!(
        matches!(unresolvable.verdict, Verdict::StatusUnknown(_)),
        "{}",
        unresolvable.summary()
    );
    // A list signed by someone else.
    let mut list = json("status-list.json");
    list["credentialSubject"]["encodedList"] = StatusList::new(131_072).unwrap().encode().into();
    let forged = verify_value(&rich, &Vectors { status_list: Some(list) }, &now());
    assert!(matches!(forged.verdict, Verdict::StatusUnknown(_)), "{}", forged.summary());
}

#[test]
fn a_key_that_is_not_the_issuers_is_refused() {
    let unsigned = json("typical/unsigned.json");
    let options = di::ProofOptions { verification_method: METHOD.into(), created: created() };
    let wrong_key = di::sign(&unsigned, &KeyPair::from_seed(&[1; 32]), &options).unwrap();
    let report = verify_value(&wrong_key, &Vectors::new(), &now());
    assert_eq!(report.check("proof").unwrap().outcome, Outcome::Failed);
    let other_did = di::ProofOptions {
        verification_method: "did:web:evil.example#key-1".into(),
        created: created(),
    };
    let report = verify_value(
        &di::sign(&unsigned, &vector_key(), &other_did).unwrap(),
        &Vectors::new(),
        &now(),
    );
    assert_eq!(report.check("issuer-key").unwrap().outcome, Outcome::Failed);
    let report = verify_value(&json("typical/signed.json"), &NoResolver, &now());
    assert_eq!(report.check("issuer-key").unwrap().outcome, Outcome::Failed);
}

#[test]
fn a_retired_key_still_verifies_after_rotation() {
    let mut did = DidDocument::new(ISSUER);
    did.add_ed25519_key("key-2", KeyPair::from_seed(&[2; 32]).public_key());
    did.add_ed25519_key("key-1", vector_key().public_key());
    struct Rotated(Value);
    impl Resolver for Rotated {
        fn did_document(&self, _: &str) -> Result<Value, String> {
            Ok(self.0.clone())
        }
        fn status_list(&self, url: &str) -> Result<Value, String> {
            Err(url.into())
        }
    }
    let report = verify_value(&json("typical/signed.json"), &Rotated(did.to_json()), &now());
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.summary());
}

#[test]
fn a_vc_jwt_from_the_independent_harness_verifies_and_a_tampered_one_does_not() {
    let token =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/typical.jwt"))
            .unwrap();
    let report = verify::verify_jwt(&token, &Vectors::new(), &now());
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.summary());
    assert_eq!(report.format, Some(verify::Format::VcJwt));
    let mut parts: Vec<String> = token.trim().split('.').map(str::to_owned).collect();
    parts[2] = format!("{}A", &parts[2][..parts[2].len() - 1]);
    let tampered = verify::verify_jwt(&parts.join("."), &Vectors::new(), &now());
    assert!(matches!(tampered.verdict, Verdict::Invalid(_)));
}

#[test]
fn our_own_vc_jwt_verifies_through_the_did_document() {
    let token =
        credentials::jwt::sign(&json("typical/unsigned.json"), &vector_key(), METHOD).unwrap();
    let report = verify::verify_jwt(&token, &Vectors::new(), &now());
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.summary());
}

#[test]
fn baked_png_and_svg_verify_like_the_credential_inside() {
    let credential = json("typical/signed.json").to_string();
    let png =
        bake::bake_png(&qr::qr_png("https://badges.example.com/c/1", 4).unwrap(), &credential)
            .unwrap();
    let report = verify::verify_bytes(&png, &Vectors::new(), &now());
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.summary());
    assert_eq!(report.source, Some(verify::Source::Png));
    let svg = bake::bake_svg(&qr::qr_svg("https://badges.example.com/c/1").unwrap(), &credential)
        .unwrap();
    let report = verify::verify_bytes(svg.as_bytes(), &Vectors::new(), &now());
    assert_eq!(report.verdict, Verdict::Valid, "{}", report.summary());
}

#[test]
fn bad_input_gives_a_failed_check_and_an_invalid_verdict_never_a_panic() {
    let mut oversized = json("typical/signed.json");
    oversized["description"] = "x".repeat(verify::MAX_CREDENTIAL_BYTES).into();
    let mut no_proof = json("typical/signed.json");
    no_proof.as_object_mut().unwrap().remove("proof");
    let mut unknown_context = json("typical/signed.json");
    unknown_context["@context"]
        .as_array_mut()
        .unwrap()
        .push("https://evil.example/context.json".into());
    let mut undefined_term = json("typical/signed.json");
    undefined_term["credentialSubject"]["favouriteColour"] = "blue".into();
    let png = qr::qr_png("https://x.example", 2).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed JSON", MALFORMED_JSON.to_vec(), "parse"),
        ("not a credential", b"hello".to_vec(), "parse"),
        ("binary", vec![0xff, 0xfe, 0x00, 0x81], "parse"),
        ("oversized", oversized.to_string().into_bytes(), "size"),
        ("no proof", no_proof.to_string().into_bytes(), "proof"),
        ("unknown context", unknown_context.to_string().into_bytes(), "proof"),
        ("undefined term", undefined_term.to_string().into_bytes(), "proof"),
        ("PNG without credential", png.clone(), "parse"),
        ("truncated PNG", png[..png.len() / 2].to_vec(), "parse"),
        (
            "SVG without credential",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            "parse",
        ),
        ("broken SVG", b"<svg><openbadges:credential>".to_vec(), "parse"),
    ];
    for (name, input, failed_check) in cases {
        let report = verify::verify_bytes(&input, &Vectors::new(), &now());
        assert!(matches!(report.verdict, Verdict::Invalid(_)), "{name}: {}", report.summary());
        let check = report.checks.last().unwrap();
        assert_eq!(
            (check.name, check.outcome),
            (failed_check, Outcome::Failed),
            "{name}: {}",
            report.summary()
        );
        assert!(!report.summary().contains('\n'), "{name}: one line");
    }
}

#[test]
fn the_summary_stays_one_line_whatever_the_input_quotes() {
    // Found by the fuzzer: reasons and ids quote the input.
    for input in [&b"<svg></\n>"[..], br#"{"id":"a\nb"}"#, br#"{"id":"a\u001b[31mred"}"#] {
        let summary = verify::verify_bytes(input, &Vectors::new(), &now()).summary();
        assert!(!summary.chars().any(char::is_control), "{summary:?}");
    }
    let mut credential = json("typical/signed.json");
    credential["issuer"]["id"] = "did:web:badges.ex\napls".into();
    let summary = verify_value(&credential, &Vectors::new(), &now()).summary();
    assert!(!summary.contains('\n') && summary.contains("\\n"), "{summary:?}");
}

#[test]
fn the_report_serializes_with_the_verdict_and_checks() {
    let report = verify_value(&json("rich/signed.json"), &Vectors::new(), &now());
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["verdict"], "valid");
    assert_eq!(value["checks"].as_array().unwrap().len(), 7);
    assert_eq!(value["checks"][6]["name"], "status");
    assert_eq!(value["checks"][6]["detail"], "active");
}

fn created() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-12-01T00:00:00Z").unwrap().to_utc()
}
