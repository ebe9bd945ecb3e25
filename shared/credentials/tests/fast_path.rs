//! Differential tests of the two canonicalization paths: whenever the fast path returns
//! N-Quads, they are byte for byte those of the general path (`oxjsonld` + `oxrdf`), and
//! whenever the general path refuses a document, the fast path declines it.
//!
//! The generated documents come from `support/generator.rs` (seeded, so a failure names its
//! case). `FAST_PATH_CASES` sets the number of cases (2,000 by default; the full run is
//! 100,000: `FAST_PATH_CASES=100000 cargo test -p credentials --test fast_path -- --nocapture`)
//! and `FAST_PATH_SEED` the first seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use credentials::canon;
use serde_json::{Value, json};
use support::generator::{Gen, SplitMix};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

fn vector(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap()).unwrap()
}

/// What the two paths did with one document.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Both returned the same N-Quads.
    Same,
    /// The fast path declined; the general path succeeded.
    DeclinedValid,
    /// The fast path declined; the general path refused the document.
    DeclinedInvalid,
}

/// Compares the paths on `document`; panics on any divergence.
fn compare(document: &Value, case: &str) -> Outcome {
    let general = canon::canonicalize_general(document);
    let fast = canon::canonicalize_fast(document);
    let combined = canon::canonicalize(document);
    match (&combined, &general) {
        (Ok(combined), Ok(general)) => {
            assert_eq!(combined, general, "{case}: canonicalize differs from the general path");
        }
        // The general path's messages depend on hash-map order (which protected term it
        // names first, for example), so only the kind of error is compared.
        (Err(combined), Err(general)) => assert_eq!(
            std::mem::discriminant(combined),
            std::mem::discriminant(general),
            "{case}: {combined} / {general}"
        ),
        _ => panic!("{case}: canonicalize gives {combined:?}, the general path {general:?}"),
    }
    if let Some(object) = document.as_object()
        && object.contains_key("proof")
    {
        let mut unsigned = object.clone();
        unsigned.shift_remove("proof");
        let expected = canon::canonicalize_general(&Value::Object(unsigned));
        let without = canon::canonicalize_without(object, "proof");
        match (&without, &expected) {
            (Ok(without), Ok(expected)) => assert_eq!(without, expected, "{case}: without proof"),
            (Err(_), Err(_)) => {}
            _ => panic!("{case}: without proof gives {without:?}, the general path {expected:?}"),
        }
    }
    match (fast, general) {
        (Some(fast), Ok(general)) => {
            assert!(
                fast == general,
                "{case}: the paths disagree on\n{}\n--- fast\n{fast}--- general\n{general}",
                serde_json::to_string_pretty(document).unwrap()
            );
            Outcome::Same
        }
        (Some(fast), Err(error)) => panic!(
            "{case}: the fast path accepted what the general path refuses ({error}):\n{}\n{fast}",
            serde_json::to_string_pretty(document).unwrap()
        ),
        (None, Ok(_)) => Outcome::DeclinedValid,
        (None, Err(_)) => Outcome::DeclinedInvalid,
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn generated_documents_canonicalize_identically_on_both_paths() {
    let cases = env_number("FAST_PATH_CASES", 2_000);
    let first_seed = env_number("FAST_PATH_SEED", 1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let counts = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];
    let quads = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let counts = &counts;
            let quads = &quads;
            scope.spawn(move || {
                let mut seed = first_seed + thread;
                while seed < first_seed + cases {
                    let mut generator = Gen::new(SplitMix(seed));
                    let document = generator.document();
                    let outcome = compare(&document, &format!("seed {seed}"));
                    if outcome == Outcome::Same {
                        let nquads = canon::canonicalize_fast(&document).unwrap_or_default();
                        quads.fetch_add(nquads.lines().count(), Ordering::Relaxed);
                    }
                    counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
                    seed += threads;
                }
            });
        }
    });
    let [same, declined_valid, declined_invalid] = counts.map(AtomicUsize::into_inner);
    println!(
        "{cases} cases in {:.1} s: {same} byte-identical ({} quads), {declined_valid} declined \
         (valid, general path), {declined_invalid} declined (refused by the general path)",
        started.elapsed().as_secs_f64(),
        quads.into_inner(),
    );
    // Most generated documents are plain credentials: the fast path must take them.
    assert!(same * 2 > cases as usize, "the fast path took only {same} of {cases}");
}

#[test]
fn unmutated_credentials_take_the_fast_path() {
    let mut taken = 0;
    for seed in 0..300 {
        let mut generator = Gen::new(SplitMix(seed));
        generator.mutation_percent = 0;
        let document = generator.credential();
        if compare(&document, &format!("credential seed {seed}")) == Outcome::Same {
            taken += 1;
        }
    }
    // Some generated values are invalid on purpose (bad dates are fine, bad IRIs are not).
    assert!(taken > 240, "only {taken} of 300");
}

#[test]
fn the_vectors_take_the_fast_path() {
    for path in [
        "minimal/unsigned.json",
        "typical/unsigned.json",
        "rich/unsigned.json",
        "minimal/proof-config.json",
        "typical/proof-config.json",
        "rich/proof-config.json",
        "minimal/signed.json",
        "typical/signed.json",
        "rich/signed.json",
        "status-list.json",
        "did.json",
    ] {
        assert_eq!(compare(&vector(path), path), Outcome::Same, "{path}");
    }
    let nquads = canon::canonicalize_fast(&vector("typical/unsigned.json")).unwrap();
    assert_eq!(nquads, std::fs::read_to_string(format!("{VECTORS}/typical/document.nq")).unwrap());
}

fn credential_with(subject: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:web:example.com", "type": "Profile", "name": "Example"},
        "validFrom": "2024-01-01T00:00:00Z",
        "name": "Tie",
        "credentialSubject": subject
    })
}

#[test]
fn indistinguishable_blank_nodes_are_labelled_as_the_general_path_labels_them() {
    let alignment =
        json!({"type": "Alignment", "targetName": "Same", "targetUrl": "https://example.com/s"});
    let identity = json!({"type": "IdentityObject", "identityHash": "h", "identityType": "emailAddress", "hashed": false});
    let achievement = json!({
        "id": "https://example.com/a", "type": "Achievement", "name": "A", "description": "D",
        "criteria": {"narrative": "N"}
    });
    let subject = json!({
        "type": "AchievementSubject",
        "identifier": [identity.clone(), identity.clone()],
        "achievement": achievement.clone()
    });
    let documents = [
        // Identical siblings with no other distinction.
        credential_with(json!({
            "type": "AchievementSubject",
            "achievement": {
                "id": "https://example.com/a", "type": "Achievement", "name": "A",
                "description": "D", "criteria": {"narrative": "N"},
                "alignment": [alignment.clone(), alignment.clone(), alignment.clone()]
            }
        })),
        // Identical subjects, each with identical children: N-degree with recursion.
        credential_with(json!([subject.clone(), subject.clone(), subject])),
        // Identical subjects without an achievement id: deeper chains of blank nodes.
        credential_with(json!([
            {"type": "AchievementSubject", "achievement": {"type": "Achievement", "name": "A", "description": "D", "criteria": {"narrative": "N"}, "alignment": [alignment.clone(), alignment.clone()]}},
            {"type": "AchievementSubject", "achievement": {"type": "Achievement", "name": "A", "description": "D", "criteria": {"narrative": "N"}, "alignment": [alignment.clone(), alignment]}}
        ])),
        // Identical lists (`allowedValue` is an `@list`).
        credential_with(json!({
            "type": "AchievementSubject",
            "achievement": {
                "id": "https://example.com/a", "type": "Achievement", "name": "A",
                "description": "D", "criteria": {"narrative": "N"},
                "resultDescription": [
                    {"id": "urn:rd:1", "type": "ResultDescription", "name": "R", "resultType": "Status", "allowedValue": ["x", "x", "y"]},
                    {"id": "urn:rd:2", "type": "ResultDescription", "name": "R", "resultType": "Status", "allowedValue": ["x", "x", "y"]}
                ]
            },
            "result": [
                {"type": "Result", "status": "Completed"},
                {"type": "Result", "status": "Completed"},
                {"type": "Result", "status": "Completed"}
            ]
        })),
        // Empty nodes everywhere.
        credential_with(json!([
            {},
            {},
            {"type": "AchievementSubject", "achievement": {}},
            {"type": "AchievementSubject", "achievement": {}, "result": [{}, {}]}
        ])),
    ];
    for (index, document) in documents.iter().enumerate() {
        assert_eq!(compare(document, &format!("tie {index}")), Outcome::Same, "tie {index}");
    }
}

#[test]
fn literal_forms_match_the_general_path() {
    let numbers = [
        json!(0),
        json!(-0.0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(2.0),
        json!(0.1),
        json!(1e21),
        json!(1e20),
        json!(123456789012345678u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e-7),
        json!(5e-324),
        json!(f64::MAX),
        json!(-12.5e3),
        json!(true),
        json!(false),
        json!(
            "text with \"quotes\", \\ and \u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}\u{80}\u{fffe}\u{ffff}"
        ),
        json!("e\u{301} العربية 😀 \u{202e}"),
    ];
    for (index, value) in numbers.iter().enumerate() {
        // Untyped (`value`), `xsd:float` (`creditsAvailable`), `xsd:boolean` (`hashed`),
        // `xsd:dateTime` (`validFrom`), `xsd:integer` (`statusSize`), and `@id` (`image`,
        // for non-strings: a string would be an IRI).
        let mut document = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": "did:web:example.com",
            "validFrom": value,
            "image": value,
            "credentialSubject": {
                "type": "AchievementSubject",
                "creditsEarned": value,
                "identifier": {"type": "IdentityObject", "hashed": value, "identityHash": value},
                "result": {"type": "Result", "value": value},
                "achievement": {"id": "https://example.com/a", "type": "Achievement", "creditsAvailable": value, "tag": [value, value]}
            },
            "credentialStatus": {
                "id": "https://example.com/s#1", "type": "BitstringStatusListEntry",
                "statusSize": value, "statusListIndex": value
            }
        });
        if value.is_string() {
            document.as_object_mut().unwrap().remove("image");
        }
        let outcome = compare(&document, &format!("literal {index}"));
        assert_ne!(outcome, Outcome::DeclinedValid, "literal {index} should take the fast path");
    }
}

#[test]
fn what_the_general_path_refuses_the_fast_path_declines() {
    let base = credential_with(
        json!({"type": "AchievementSubject", "achievement": {"id": "https://example.com/a", "type": "Achievement", "name": "A"}}),
    );
    let edits: Vec<(&str, Value)> = vec![
        ("/credentialSubject/achievement/favouriteColour", json!("blue")),
        ("/credentialSubject/achievement/id", json!("achievements/1")),
        ("/credentialSubject/achievement/id", json!("urn:x-undefined-term:x")),
        ("/credentialSubject/achievement/id", json!("https://relative-iri.invalid/x")),
        ("/credentialSubject/achievement/type", json!("Fancy")),
        ("/credentialSubject/achievement/@foo", json!("x")),
        ("/credentialSubject/achievement/@context", json!("https://attacker.example/ctx")),
        ("/@context/1", json!("https://attacker.example/ctx")),
        ("/issuer/id", json!(5)),
        ("/type", json!(7)),
    ];
    for (pointer, value) in edits {
        let mut document = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = document.pointer_mut(parent).unwrap();
        match target {
            Value::Object(object) => {
                object.insert(key.to_owned(), value);
            }
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
            _ => unreachable!(),
        }
        assert_eq!(
            compare(&document, pointer),
            Outcome::DeclinedInvalid,
            "{pointer} should be refused"
        );
    }
}

/// Replays fuzz inputs the way the `canonicalize_differential` target reads them, and says
/// how many the fast path took: by default every file under `tests/vectors` (the JSON
/// documents as they are, the N-Quads and the rest as generator bytes); with
/// `FAST_PATH_CORPUS=fuzz/corpus/canonicalize_differential` (or an artifact directory), a
/// fuzz corpus.
#[test]
fn replay_a_fuzz_corpus() {
    use support::generator::Bytes;
    let directory = std::env::var("FAST_PATH_CORPUS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors").to_owned());
    let vectors: Vec<Value> = [
        "minimal/unsigned.json",
        "typical/unsigned.json",
        "rich/unsigned.json",
        "rich/signed.json",
        "typical/proof-config.json",
        "status-list.json",
        "did.json",
    ]
    .iter()
    .map(|path| vector(path))
    .collect();
    let mut counts = [0usize; 3];
    let mut files = Vec::new();
    let mut directories = vec![std::path::PathBuf::from(&directory)];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { directories.push(path) } else { files.push(path) }
        }
    }
    assert!(!files.is_empty(), "no input under {directory}");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let document = if let Ok(document) = serde_json::from_slice::<Value>(&data) {
            document
        } else if let Some((&selector, rest)) = data.split_first() {
            let mut generator = Gen::new(Bytes(rest));
            generator.mutation_percent = 50;
            if selector % 2 == 0 {
                generator.document()
            } else {
                let mut document = vectors[usize::from(selector / 2) % vectors.len()].clone();
                for _ in 0..1 + rest.first().map_or(0, |b| b % 8) {
                    generator.mutate(&mut document);
                }
                document
            }
        } else {
            continue;
        };
        counts[compare(&document, &path.display().to_string()) as usize] += 1;
    }
    println!(
        "{} inputs: {} byte-identical, {} declined (valid), {} declined (refused)",
        counts.iter().sum::<usize>(),
        counts[0],
        counts[1],
        counts[2]
    );
}
