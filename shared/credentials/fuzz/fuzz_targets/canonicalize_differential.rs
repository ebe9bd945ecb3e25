//! Differential fuzzing of the two canonicalization paths: whenever the fast path returns
//! N-Quads they must be the general path's (`oxjsonld` + `oxrdf`), byte for byte; whenever
//! the general path refuses a document, the fast path must decline it; `canonicalize` must
//! agree with the general path; nothing may panic.
//!
//! Inputs are read three ways:
//! - bytes that parse as JSON are the document (raw JSON, as the `canonicalize` target);
//! - otherwise the first byte chooses: an even byte makes the rest drive the generator of
//!   `tests/support/generator.rs` (a whole OB 3.0 document, possibly mutated: the fuzzer's
//!   mutations become structural changes); an odd byte takes one of the conformance vectors
//!   and lets the rest drive one to eight of the generator's mutations of it.

#![no_main]

use credentials::canon;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "../../tests/support/generator.rs"]
mod generator;

use generator::{Bytes, Gen};

const VECTORS: &[&str] = &[
    include_str!("../../tests/vectors/minimal/unsigned.json"),
    include_str!("../../tests/vectors/typical/unsigned.json"),
    include_str!("../../tests/vectors/rich/unsigned.json"),
    include_str!("../../tests/vectors/rich/signed.json"),
    include_str!("../../tests/vectors/typical/proof-config.json"),
    include_str!("../../tests/vectors/status-list.json"),
    include_str!("../../tests/vectors/did.json"),
];

fn compare(document: &Value) {
    let general = canon::canonicalize_general(document);
    if let Some(fast) = canon::canonicalize_fast(document) {
        match &general {
            Ok(general) => assert!(fast == *general, "the paths disagree:\n{fast}---\n{general}"),
            Err(error) => panic!("the fast path accepted what the general path refuses: {error}"),
        }
    }
    assert_eq!(canon::canonicalize(document).is_ok(), general.is_ok());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = serde_json::from_slice::<Value>(data) {
        compare(&document);
        return;
    }
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut generator = Gen::new(Bytes(rest));
    generator.mutation_percent = 50;
    let document = if selector % 2 == 0 {
        generator.document()
    } else {
        let index = usize::from(selector / 2) % VECTORS.len();
        let Ok(mut document) = serde_json::from_str::<Value>(VECTORS[index]) else {
            return;
        };
        let rounds = 1 + rest.first().map_or(0, |b| b % 8);
        for _ in 0..rounds {
            generator.mutate(&mut document);
        }
        document
    };
    compare(&document);
});
