//! Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite.
//!
//! Signing, per the W3C cryptosuite: the proof configuration (the proof options plus the
//! document's `@context`) and the document without its proof are each canonicalized with
//! RDFC-1.0 and hashed with SHA-256; Ed25519 signs `hash(proof config) ‖ hash(document)`;
//! `proofValue` is `z` + base58btc(signature). The proof is emitted inside an array, as the
//! 1EdTech JSON Schema requires.
//!
//! [`sign_batch`] and [`prepare_batch`] do the same per credential for many at once, spread
//! over the cores (rayon's global pool).

use chrono::{DateTime, SecondsFormat, Utc};
use rayon::prelude::*;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::{KeyPair, PublicKey};
use crate::{Error, Result, canon};

/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";
/// The proof type.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The only proof purpose credentials are signed and accepted with.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// What a new proof says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// The absolute id of the signing key, `DID#fragment`.
    pub verification_method: String,
    /// When the proof was made (whole seconds, UTC).
    pub created: DateTime<Utc>,
}

/// The intermediate values of a proof: what was hashed, and the 64 bytes that were signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashData {
    /// Canonical N-Quads of the proof configuration.
    pub proof_config_nquads: String,
    /// Canonical N-Quads of the document without its proof.
    pub document_nquads: String,
    /// `sha256(proof config) ‖ sha256(document)`.
    pub hash: [u8; 64],
}

/// The proof configuration for `document` (without `proofValue`): the options with the
/// document's `@context`.
pub fn proof_config(document: &Value, options: &ProofOptions) -> Result<Value> {
    let context =
        document.get("@context").cloned().ok_or_else(|| Error::field("@context", "is required"))?;
    let mut config = Map::new();
    config.insert("@context".into(), context);
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert(
        "created".into(),
        options.created.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
    );
    config.insert("verificationMethod".into(), options.verification_method.clone().into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    config.insert("proofPurpose".into(), ASSERTION_METHOD.into());
    Ok(Value::Object(config))
}

/// Canonicalizes and hashes a document (without proof) and a proof configuration.
pub fn hash_data(document: &Value, proof_config: &Value) -> Result<HashData> {
    let proof_config_nquads = canon::canonicalize(proof_config)?;
    let document_nquads = canon::canonicalize(document)?;
    let mut hash = [0u8; 64];
    hash[..32].copy_from_slice(&Sha256::digest(proof_config_nquads.as_bytes()));
    hash[32..].copy_from_slice(&Sha256::digest(document_nquads.as_bytes()));
    Ok(HashData { proof_config_nquads, document_nquads, hash })
}

/// Signs `unsigned` (a JSON object without `proof`) and returns it with `"proof": [...]`.
pub fn sign(unsigned: &Value, key: &KeyPair, options: &ProofOptions) -> Result<Value> {
    let prepared = prepare(unsigned, options)?;
    let signature = key.sign(prepared.hash_data());
    prepared.finish(&signature)
}

/// [`sign`] for every credential of `unsigned`, with the same key and options, spread over
/// the cores. The result at each position is that credential's, signed or refused; the work
/// per credential is exactly [`sign`]'s.
///
/// This blocks until the whole batch is signed: from an async runtime, call it inside
/// `spawn_blocking`.
pub fn sign_batch(unsigned: &[Value], key: &KeyPair, options: &ProofOptions) -> Vec<Result<Value>> {
    unsigned.par_iter().map(|credential| sign(credential, key, options)).collect()
}

/// [`prepare`] for every credential of `unsigned`, spread over the cores: canonicalization
/// and hashing in parallel, for a key held elsewhere (a KMS) to sign each
/// [`Prepared::hash_data`] afterwards. The result at each position is that credential's.
///
/// This blocks until the whole batch is prepared: from an async runtime, call it inside
/// `spawn_blocking`.
pub fn prepare_batch(unsigned: &[Value], options: &ProofOptions) -> Vec<Result<Prepared>> {
    unsigned.par_iter().map(|credential| prepare(credential, options)).collect()
}

/// A document ready to be signed by a key held elsewhere (a KMS, an HSM): the 64 bytes to
/// sign, and what to assemble once the signature comes back.
#[derive(Debug, Clone)]
pub struct Prepared {
    document: Map<String, Value>,
    proof: Map<String, Value>,
    hash: [u8; 64],
}

impl Prepared {
    /// The bytes Ed25519 must sign: `sha256(proof config) ‖ sha256(document)`.
    pub fn hash_data(&self) -> &[u8; 64] {
        &self.hash
    }

    /// The signed document, with `signature` (64 bytes) as the proof value.
    pub fn finish(self, signature: &[u8]) -> Result<Value> {
        if signature.len() != 64 {
            return Err(Error::Proof(format!(
                "an Ed25519 signature is 64 bytes, not {}",
                signature.len()
            )));
        }
        let Self { mut document, mut proof, .. } = self;
        proof.insert(
            "proofValue".into(),
            format!("z{}", bs58::encode(signature).into_string()).into(),
        );
        document.insert("proof".into(), Value::Array(vec![Value::Object(proof)]));
        Ok(Value::Object(document))
    }
}

/// Canonicalizes and hashes `unsigned` for a proof with `options`, without signing.
pub fn prepare(unsigned: &Value, options: &ProofOptions) -> Result<Prepared> {
    let Value::Object(object) = unsigned else {
        return Err(Error::Json("a credential must be a JSON object".into()));
    };
    if object.contains_key("proof") {
        return Err(Error::field("proof", "the document is already signed"));
    }
    let config = proof_config(unsigned, options)?;
    let hashes = hash_data(unsigned, &config)?;
    let Value::Object(mut proof) = config else {
        return Err(Error::Proof("proof configuration is not an object".into()));
    };
    proof.shift_remove("@context");
    Ok(Prepared { document: object.clone(), proof, hash: hashes.hash })
}

/// A proof that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The verification method that signed.
    pub verification_method: String,
    /// The proof's `created`.
    pub created: Option<String>,
}

/// Verifies every `eddsa-rdfc-2022` proof of `signed` (an object or an array of them).
///
/// `resolve_key` maps a verification method id to the public key it designates; it is where
/// the caller checks that the method belongs to the issuer. At least one proof must be
/// present and every one must verify.
pub fn verify(
    signed: &Value,
    mut resolve_key: impl FnMut(&str) -> Result<PublicKey>,
) -> Result<Vec<VerifiedProof>> {
    let Value::Object(object) = signed else {
        return Err(Error::Json("a credential must be a JSON object".into()));
    };
    let proofs: Vec<&Value> = match object.get("proof") {
        None | Some(Value::Null) => return Err(Error::Proof("the credential has no proof".into())),
        Some(Value::Array(proofs)) => proofs.iter().collect(),
        Some(proof) => vec![proof],
    };
    if proofs.is_empty() {
        return Err(Error::Proof("the credential has no proof".into()));
    }
    let context =
        object.get("@context").cloned().ok_or_else(|| Error::field("@context", "is required"))?;
    // The document (without its proofs) is canonicalized once, whatever the number of proofs.
    let document_hash: [u8; 32] =
        Sha256::digest(canon::canonicalize_without(object, "proof")?.as_bytes()).into();

    let mut verified = Vec::with_capacity(proofs.len());
    for proof in proofs {
        let Value::Object(proof) = proof else {
            return Err(Error::Proof("a proof must be an object".into()));
        };
        let text = |name: &str| proof.get(name).and_then(Value::as_str);
        if text("type") != Some(PROOF_TYPE) || text("cryptosuite") != Some(CRYPTOSUITE) {
            return Err(Error::Proof(format!(
                "unsupported proof type {:?} / cryptosuite {:?} (expected {PROOF_TYPE} / {CRYPTOSUITE})",
                text("type").unwrap_or("none"),
                text("cryptosuite").unwrap_or("none"),
            )));
        }
        if text("proofPurpose") != Some(ASSERTION_METHOD) {
            return Err(Error::Proof("proofPurpose must be assertionMethod".into()));
        }
        if let Some(created) = proof.get("created") {
            let created =
                created.as_str().ok_or_else(|| Error::Proof("created must be a string".into()))?;
            DateTime::parse_from_rfc3339(created)
                .map_err(|_| Error::Proof(format!("created `{created}` is not a date-time")))?;
        }
        let method = text("verificationMethod")
            .ok_or_else(|| Error::Proof("no verificationMethod".into()))?;
        let proof_value = text("proofValue").ok_or_else(|| Error::Proof("no proofValue".into()))?;
        let signature = proof_value
            .strip_prefix('z')
            .and_then(|b58| bs58::decode(b58).into_vec().ok())
            .ok_or_else(|| Error::Proof("proofValue is not base58btc multibase".into()))?;

        let mut config = proof.clone();
        config.shift_remove("proofValue");
        config.insert("@context".into(), context.clone());
        let config_hash = Sha256::digest(canon::canonicalize(&Value::Object(config))?.as_bytes());
        let mut hash = [0u8; 64];
        hash[..32].copy_from_slice(&config_hash);
        hash[32..].copy_from_slice(&document_hash);

        let key = resolve_key(method)?;
        key.verify(&hash, &signature)?;
        verified.push(VerifiedProof {
            verification_method: method.to_owned(),
            created: text("created").map(str::to_owned),
        });
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

    fn read(path: &str) -> String {
        std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap()
    }

    fn json(path: &str) -> Value {
        serde_json::from_str(&read(path)).unwrap()
    }

    fn key() -> KeyPair {
        let key = json("key.json");
        KeyPair::from_seed(
            &hex::decode(key["seed_hex"].as_str().unwrap()).unwrap().try_into().unwrap(),
        )
    }

    fn options() -> ProofOptions {
        ProofOptions {
            verification_method: "did:web:badges.example.com#key-1".into(),
            created: DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z").unwrap().to_utc(),
        }
    }

    #[test]
    fn the_three_vectors_reproduce_byte_for_byte() {
        for kind in ["minimal", "typical", "rich"] {
            let unsigned = json(&format!("{kind}/unsigned.json"));
            let config = proof_config(&unsigned, &options()).unwrap();
            assert_eq!(config, json(&format!("{kind}/proof-config.json")), "{kind} proof config");
            let hashes = hash_data(&unsigned, &config).unwrap();
            assert_eq!(
                hashes.document_nquads,
                read(&format!("{kind}/document.nq")),
                "{kind} document N-Quads"
            );
            assert_eq!(
                hashes.proof_config_nquads,
                read(&format!("{kind}/proof-config.nq")),
                "{kind} proof N-Quads"
            );
            let expected = json(&format!("{kind}/hashes.json"));
            assert_eq!(
                hex::encode(hashes.hash),
                expected["hash_data_hex"].as_str().unwrap(),
                "{kind} hash data"
            );
            let signed = sign(&unsigned, &key(), &options()).unwrap();
            assert_eq!(
                signed["proof"][0]["proofValue"], expected["proof_value"],
                "{kind} proofValue"
            );
            assert_eq!(signed, json(&format!("{kind}/signed.json")), "{kind} signed credential");
            // Same key order as the reference signer, so the files are identical too.
            let keys: Vec<&String> = signed["proof"][0].as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "type",
                    "created",
                    "verificationMethod",
                    "cryptosuite",
                    "proofPurpose",
                    "proofValue"
                ]
            );
        }
    }

    #[test]
    fn the_vectors_signed_credentials_verify_and_a_tampered_one_does_not() {
        let public = key().public_key();
        for kind in ["minimal", "typical", "rich"] {
            let signed = json(&format!("{kind}/signed.json"));
            let proofs = verify(&signed, |_| Ok(public)).unwrap();
            assert_eq!(proofs[0].verification_method, "did:web:badges.example.com#key-1");
            let mut tampered = signed.clone();
            tampered["validFrom"] = "2024-06-02T00:00:00Z".into();
            assert!(verify(&tampered, |_| Ok(public)).is_err(), "{kind}");
        }
    }

    #[test]
    fn the_signed_status_list_vector_verifies() {
        let public = key().public_key();
        verify(&json("status-list.json"), |_| Ok(public)).unwrap();
    }

    #[test]
    fn a_credential_without_proof_or_with_a_wrong_key_is_refused() {
        let unsigned = json("typical/unsigned.json");
        assert!(matches!(verify(&unsigned, |_| Ok(key().public_key())), Err(Error::Proof(_))));
        let signed = json("typical/signed.json");
        let other = KeyPair::from_seed(&[9; 32]).public_key();
        assert!(matches!(verify(&signed, |_| Ok(other)), Err(Error::Proof(_))));
    }

    #[test]
    fn a_batch_signs_each_credential_as_sign_does() {
        let mut batch: Vec<Value> = ["minimal", "typical", "rich"]
            .iter()
            .map(|kind| json(&format!("{kind}/unsigned.json")))
            .collect();
        batch.push(json("typical/signed.json")); // already signed: refused, alone
        let signed = sign_batch(&batch, &key(), &options());
        assert_eq!(signed.len(), 4);
        for (index, kind) in ["minimal", "typical", "rich"].iter().enumerate() {
            assert_eq!(signed[index].as_ref().unwrap(), &json(&format!("{kind}/signed.json")));
        }
        assert!(signed[3].is_err());
        let prepared = prepare_batch(&batch, &options());
        for (index, kind) in ["minimal", "typical", "rich"].iter().enumerate() {
            let expected = json(&format!("{kind}/hashes.json"));
            let hash = prepared[index].as_ref().unwrap().hash_data();
            assert_eq!(hex::encode(hash), expected["hash_data_hex"].as_str().unwrap());
        }
        assert!(prepared[3].is_err());
    }

    #[test]
    fn signing_twice_is_refused() {
        let signed = json("typical/signed.json");
        assert!(sign(&signed, &key(), &options()).is_err());
    }
}
