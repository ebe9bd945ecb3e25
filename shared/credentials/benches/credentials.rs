//! Criterion benchmarks of the credential core on the conformance "typical" vector:
//! canonicalization (the fast path, and the general path it replaces), full `eddsa-rdfc-2022`
//! sign and verify, the proof check alone, raw Ed25519, VC-JWT sign and verify, and bulk
//! signing of 1,000 credentials over every core. Run with `cargo bench -p credentials`;
//! results and the JavaScript baseline are in `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use chrono::DateTime;
use credentials::keys::KeyPair;
use credentials::verify::{self, Options, Resolver};
use credentials::{canon, di, jwt};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

const TYPICAL_UNSIGNED: &str = include_str!("../tests/vectors/typical/unsigned.json");
const TYPICAL_SIGNED: &str = include_str!("../tests/vectors/typical/signed.json");
const DID: &str = include_str!("../tests/vectors/did.json");
const KEY: &str = include_str!("../tests/vectors/key.json");
const METHOD: &str = "did:web:badges.example.com#key-1";

struct Vectors(Value);

impl Resolver for Vectors {
    fn did_document(&self, _: &str) -> Result<Value, String> {
        Ok(self.0.clone())
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        Err(url.into())
    }
}

fn key() -> KeyPair {
    KeyPair::from_key_file(KEY.as_bytes()).unwrap()
}

fn benches(c: &mut Criterion) {
    let unsigned: Value = serde_json::from_str(TYPICAL_UNSIGNED).unwrap();
    let signed_text = TYPICAL_SIGNED.as_bytes();
    let key = key();
    let options = di::ProofOptions {
        verification_method: METHOD.into(),
        created: DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z").unwrap().to_utc(),
    };
    let resolver = Vectors(serde_json::from_str(DID).unwrap());
    let verify_options =
        Options::at(DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc());
    let token = jwt::sign(&unsigned, &key, METHOD).unwrap();
    let hash = [7u8; 64];

    let mut group = c.benchmark_group("typical");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canonicalize", |b| {
        b.iter(|| canon::canonicalize(black_box(&unsigned)).unwrap())
    });
    group.bench_function("sign eddsa-rdfc-2022", |b| {
        b.iter(|| di::sign(black_box(&unsigned), &key, &options).unwrap())
    });
    group.bench_function("verify eddsa-rdfc-2022", |b| {
        b.iter(|| {
            let report = verify::verify_bytes(black_box(signed_text), &resolver, &verify_options);
            assert!(report.is_valid());
        })
    });
    group.bench_function("ed25519 sign (raw)", |b| b.iter(|| key.sign(black_box(&hash))));
    let signed: Value = serde_json::from_slice(signed_text).unwrap();
    let public = key.public_key();
    group.bench_function("verify proof only (di::verify)", |b| {
        b.iter(|| di::verify(black_box(&signed), |_| Ok(public)).unwrap())
    });
    let signature = key.sign(&hash);
    group.bench_function("ed25519 verify (raw)", |b| {
        b.iter(|| public.verify(black_box(&hash), &signature).unwrap())
    });
    group.bench_function("vc-jwt sign", |b| {
        b.iter(|| jwt::sign(black_box(&unsigned), &key, METHOD).unwrap())
    });
    group.bench_function("vc-jwt verify", |b| {
        b.iter(|| {
            let report = verify::verify_jwt(black_box(&token), &resolver, &verify_options);
            assert!(report.is_valid());
        })
    });
    group.finish();

    // The general path alone (oxjsonld + oxrdf), which the fast path replaces: for the record.
    let mut general = c.benchmark_group("typical general path");
    general.throughput(Throughput::Elements(1));
    general.sample_size(20);
    general.bench_function("canonicalize (oxjsonld + oxrdf)", |b| {
        b.iter(|| canon::canonicalize_general(black_box(&unsigned)).unwrap())
    });
    general.finish();

    // Bulk signing over every core (rayon): 1,000 copies of the typical credential.
    let batch: Vec<Value> = (0..1000)
        .map(|n| {
            let mut credential = unsigned.clone();
            credential["id"] = format!("urn:uuid:6f2d8a55-1b9a-4c1e-9f7a-{n:012}").into();
            credential
        })
        .collect();
    let mut bulk = c.benchmark_group("bulk");
    bulk.throughput(Throughput::Elements(batch.len() as u64));
    bulk.sample_size(20);
    bulk.bench_function("sign_batch 1000 typical", |b| {
        b.iter(|| di::sign_batch(black_box(&batch), &key, &options))
    });
    bulk.finish();
}

criterion_group!(credentials_benches, benches);
criterion_main!(credentials_benches);
