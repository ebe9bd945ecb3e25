//! Property: changing any signed field of a signed credential makes the verifier reject it.
//!
//! Every leaf of the signed vectors (strings, numbers, booleans, including `@context` entries
//! and ids, excluding the proof itself) is a target; the strategy picks one, and a change of
//! it: another string, a flipped boolean, an altered number, a removed field or a type
//! change. Whatever the change, the verdict must not be `valid`.
//!
//! One kind of edit is not a change of the signed data: removing a statement that the same
//! credential makes again elsewhere about the same node. The typical vector names its issuer
//! (`did:web:badges.example.com`, "Example Corp Badges") both as `issuer` and as the
//! achievement's `creator`; in RDF those are one node and one `name` triple, so deleting one
//! of the two copies leaves the signed graph, and every conforming verifier's answer, as it
//! was. The property test therefore skips edits that leave the canonical N-Quads unchanged
//! (computed independently of the verifier's proof check).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use credentials::verify::{self, Options, Resolver, Verdict};
use proptest::prelude::*;
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

fn json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap()).unwrap()
}

struct Vectors;

impl Resolver for Vectors {
    fn did_document(&self, did: &str) -> Result<Value, String> {
        if did == "did:web:badges.example.com" { Ok(json("did.json")) } else { Err(did.into()) }
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        if url == "https://badges.example.com/status/revocation/1" {
            Ok(json("status-list.json"))
        } else {
            Err(url.into())
        }
    }
}

/// A JSON path: object keys and array indices.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn leaves(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                if path.is_empty() && key == "proof" {
                    continue;
                }
                path.push(Step::Key(key.clone()));
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at_mut<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |node, step| match step {
        Step::Key(key) => &mut node[key.as_str()],
        Step::Index(i) => &mut node[*i],
    })
}

#[derive(Debug, Clone)]
enum Change {
    Replace(String),
    AppendChar(char),
    FlipOrBump,
    Remove,
    ToNull,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(Change::Replace),
        any::<char>().prop_filter("visible", |c| !c.is_control()).prop_map(Change::AppendChar),
        Just(Change::FlipOrBump),
        Just(Change::Remove),
        Just(Change::ToNull),
    ]
}

/// Applies `change` at `path`; false when it would not change the document.
fn apply(document: &mut Value, path: &[Step], change: &Change) -> bool {
    let before = document.clone();
    match change {
        Change::Remove => {
            let (last, parent) = path.split_last().unwrap();
            match (at_mut(document, parent), last) {
                (Value::Object(object), Step::Key(key)) => {
                    object.shift_remove(key);
                }
                (Value::Array(items), Step::Index(i)) => {
                    items.remove(*i);
                }
                _ => unreachable!(),
            }
        }
        Change::ToNull => *at_mut(document, path) = Value::Null,
        Change::Replace(text) => *at_mut(document, path) = Value::String(text.clone()),
        Change::AppendChar(c) => {
            let leaf = at_mut(document, path);
            *leaf = match leaf.take() {
                Value::String(mut text) => {
                    text.push(*c);
                    Value::String(text)
                }
                other => Value::String(format!("{other}{c}")),
            }
        }
        Change::FlipOrBump => {
            let leaf = at_mut(document, path);
            *leaf = match leaf.take() {
                Value::Bool(b) => Value::Bool(!b),
                Value::Number(n) => Value::from(n.as_f64().unwrap_or(0.0) + 1.0),
                Value::String(text) if text.is_empty() => Value::String("x".into()),
                Value::String(text) => Value::String(text[1..].to_owned()),
                other => other,
            }
        }
    }
    *document != before
}

/// Whether the edit changes the signed data: the canonical N-Quads of the document without
/// its proof differ, or the edited document no longer canonicalizes at all.
fn signed_graph_changed(signed: &Value, tampered: &Value) -> bool {
    let without_proof = |value: &Value| {
        let mut value = value.clone();
        value.as_object_mut().map(|object| object.shift_remove("proof"));
        credentials::canon::canonicalize(&value)
    };
    match (without_proof(signed), without_proof(tampered)) {
        (Ok(before), Ok(after)) => before != after,
        _ => true,
    }
}

fn signed_vectors() -> Vec<(Value, Vec<Vec<Step>>)> {
    ["minimal", "typical", "rich"]
        .iter()
        .map(|kind| {
            let signed = json(&format!("{kind}/signed.json"));
            let mut paths = Vec::new();
            leaves(&signed, &mut Vec::new(), &mut paths);
            (signed, paths)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn changing_any_signed_field_makes_the_verifier_reject_the_credential(
        which in 0usize..3, leaf in any::<prop::sample::Index>(), change in change()
    ) {
        let vectors = signed_vectors();
        let (signed, paths) = &vectors[which];
        let path = leaf.get(paths);
        let mut tampered = signed.clone();
        prop_assume!(apply(&mut tampered, path, &change));
        prop_assume!(signed_graph_changed(signed, &tampered));
        let options = Options::at(DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc());
        let report = verify::verify_bytes(tampered.to_string().as_bytes(), &Vectors, &options);
        prop_assert_ne!(&report.verdict, &Verdict::Valid, "{:?} {:?}", path, change);
    }
}

/// The same, exhaustively for one change per leaf, so no field is left to chance.
#[test]
fn removing_a_statement_repeated_elsewhere_does_not_change_the_signed_graph() {
    let signed = json("typical/signed.json");
    let mut tampered = signed.clone();
    tampered["issuer"].as_object_mut().unwrap().shift_remove("name");
    assert!(!signed_graph_changed(&signed, &tampered));
    tampered["credentialSubject"]["achievement"]["creator"]
        .as_object_mut()
        .unwrap()
        .shift_remove("name");
    assert!(signed_graph_changed(&signed, &tampered));
    let options =
        Options::at(DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc());
    assert_ne!(
        verify::verify_bytes(tampered.to_string().as_bytes(), &Vectors, &options).verdict,
        Verdict::Valid
    );
}

#[test]
fn every_leaf_of_every_vector_is_covered_by_the_signature() {
    let options =
        Options::at(DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc());
    let mut checked = 0;
    for (signed, paths) in signed_vectors() {
        assert_eq!(
            verify::verify_bytes(signed.to_string().as_bytes(), &Vectors, &options).verdict,
            Verdict::Valid
        );
        for path in &paths {
            let mut tampered = signed.clone();
            assert!(apply(&mut tampered, path, &Change::AppendChar('x')));
            let report = verify::verify_bytes(tampered.to_string().as_bytes(), &Vectors, &options);
            assert_ne!(report.verdict, Verdict::Valid, "{path:?}");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} leaves");
}
