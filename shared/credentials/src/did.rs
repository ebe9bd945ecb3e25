//! `did:web` identifiers and DID documents, and `did:key` for Ed25519.
//!
//! An issuer's DID document lists every key it has signed with: the current one and the
//! retired ones, all under `assertionMethod`, so a credential signed before a key rotation
//! still verifies. [`DidDocument::assertion_key`] is the one place that decides whether a
//! verification method may sign credentials for a DID.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::keys::PublicKey;
use crate::{Error, Result, contexts};

/// A `did:web` for a host (with an optional port) and an optional path:
/// `did_web("localhost:8080", &["ws", "acme"])` is `did:web:localhost%3A8080:ws:acme`.
pub fn did_web(host: &str, path: &[&str]) -> String {
    let mut did = format!("did:web:{}", host.replace(':', "%3A"));
    for segment in path {
        did.push(':');
        did.push_str(&segment.replace(':', "%3A"));
    }
    did
}

/// The URL a `did:web` document is served at, with the given scheme (`https` in production;
/// `http` for a local server): `did:web:h%3A8080:ws:acme` is `SCHEME://h:8080/ws/acme/did.json`,
/// and a bare host is `SCHEME://host/.well-known/did.json`.
pub fn did_web_document_url(did: &str, scheme: &str) -> Result<String> {
    let rest = did
        .strip_prefix("did:web:")
        .ok_or_else(|| Error::Did(format!("`{did}` is not a did:web")))?;
    let rest = rest.split('#').next().unwrap_or_default();
    let mut parts = rest.split(':');
    let host = parts
        .next()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::Did("did:web has no host".into()))?;
    let host = host.replace("%3A", ":").replace("%3a", ":");
    let path: Vec<String> = parts.map(|p| p.replace("%3A", ":").replace("%3a", ":")).collect();
    if path.iter().any(|p| p.is_empty() || p == ".." || p.contains('/')) {
        return Err(Error::Did(format!("`{did}` has an invalid path")));
    }
    Ok(if path.is_empty() {
        format!("{scheme}://{host}/.well-known/did.json")
    } else {
        format!("{scheme}://{host}/{}/did.json", path.join("/"))
    })
}

/// The `did:key` of an Ed25519 public key.
pub fn did_key(key: &PublicKey) -> String {
    format!("did:key:{}", key.to_multibase())
}

/// Key material a verification method can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An Ed25519 key (Multikey, Ed25519VerificationKey2020, or an OKP JWK).
    Ed25519(PublicKey),
    /// An RSA public key from a JWK (for RS256 VC-JWTs): base64url modulus and exponent.
    Rsa { n: String, e: String },
}

/// A verification method of a DID document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationMethod {
    /// The absolute id, `DID#fragment`.
    pub id: String,
    /// The DID that controls the key.
    pub controller: String,
    /// The key.
    pub key: KeyMaterial,
}

/// A DID document reduced to what verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidDocument {
    /// The DID.
    pub id: String,
    /// Every verification method, current and retired.
    pub verification_methods: Vec<VerificationMethod>,
    /// Absolute ids of the methods allowed to sign credentials.
    pub assertion_method: Vec<String>,
}

impl DidDocument {
    /// An empty document for `did`.
    pub fn new(did: impl Into<String>) -> Self {
        Self { id: did.into(), verification_methods: Vec::new(), assertion_method: Vec::new() }
    }

    /// Adds an Ed25519 key as a Multikey under `assertionMethod`; returns its id.
    pub fn add_ed25519_key(&mut self, fragment: &str, key: PublicKey) -> String {
        let id = format!("{}#{fragment}", self.id);
        self.verification_methods.push(VerificationMethod {
            id: id.clone(),
            controller: self.id.clone(),
            key: KeyMaterial::Ed25519(key),
        });
        self.assertion_method.push(id.clone());
        id
    }

    /// The JSON form, with the DID v1 and Multikey v1 contexts. Methods keep their order;
    /// every assertion method is also an authentication method.
    pub fn to_json(&self) -> Value {
        let methods: Vec<Value> = self
            .verification_methods
            .iter()
            .map(|method| match &method.key {
                KeyMaterial::Ed25519(key) => json!({
                    "id": method.id, "type": "Multikey", "controller": method.controller,
                    "publicKeyMultibase": key.to_multibase(),
                }),
                KeyMaterial::Rsa { n, e } => json!({
                    "id": method.id, "type": "JsonWebKey", "controller": method.controller,
                    "publicKeyJwk": {"kty": "RSA", "n": n, "e": e},
                }),
            })
            .collect();
        json!({
            "@context": [contexts::DID_V1, contexts::MULTIKEY_V1],
            "id": self.id,
            "verificationMethod": methods,
            "authentication": self.assertion_method,
            "assertionMethod": self.assertion_method,
        })
    }

    /// Reads a DID document. Relative method ids (`#key-1`) are made absolute; methods of a
    /// type this crate cannot use are skipped; embedded `assertionMethod` entries count too.
    pub fn from_json(document: &Value) -> Result<Self> {
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Did("DID document has no `id`".into()))?
            .to_owned();
        let absolute = |reference: &str| {
            if reference.starts_with('#') {
                format!("{id}{reference}")
            } else {
                reference.to_owned()
            }
        };
        let parse_method = |method: &Value| -> Option<VerificationMethod> {
            let method_id = absolute(method.get("id")?.as_str()?);
            let controller =
                method.get("controller").and_then(Value::as_str).unwrap_or(&id).to_owned();
            let key = parse_key(method)?;
            Some(VerificationMethod { id: method_id, controller, key })
        };
        let mut verification_methods: Vec<VerificationMethod> = document
            .get("verificationMethod")
            .and_then(Value::as_array)
            .map(|methods| methods.iter().filter_map(parse_method).collect())
            .unwrap_or_default();
        let mut assertion_method = Vec::new();
        for entry in document.get("assertionMethod").and_then(Value::as_array).into_iter().flatten()
        {
            match entry {
                Value::String(reference) => assertion_method.push(absolute(reference)),
                Value::Object(_) => {
                    if let Some(method) = parse_method(entry) {
                        assertion_method.push(method.id.clone());
                        verification_methods.push(method);
                    }
                }
                _ => {}
            }
        }
        Ok(Self { id, verification_methods, assertion_method })
    }

    /// The key of `method_id` if, and only if, it is listed under `assertionMethod` and
    /// controlled by this DID.
    pub fn assertion_key(&self, method_id: &str) -> Result<&KeyMaterial> {
        if !self.assertion_method.iter().any(|m| m == method_id) {
            return Err(Error::Did(format!(
                "`{method_id}` is not an assertionMethod of `{}`",
                self.id
            )));
        }
        let method = self
            .verification_methods
            .iter()
            .find(|m| m.id == method_id)
            .ok_or_else(|| Error::Did(format!("`{method_id}` not found in `{}`", self.id)))?;
        if method.controller != self.id {
            return Err(Error::Did(format!("`{method_id}` is not controlled by `{}`", self.id)));
        }
        Ok(&method.key)
    }

    /// The DID document of a `did:key` (Ed25519 only), computed locally.
    pub fn from_did_key(did: &str) -> Result<Self> {
        let did = did.split('#').next().unwrap_or_default();
        let multibase = did
            .strip_prefix("did:key:")
            .ok_or_else(|| Error::Did(format!("`{did}` is not a did:key")))?;
        let key = PublicKey::from_multibase(multibase)?;
        let mut document = Self::new(did);
        document.add_ed25519_key(multibase, key);
        Ok(document)
    }
}

fn parse_key(method: &Value) -> Option<KeyMaterial> {
    if let Some(multibase) = method.get("publicKeyMultibase").and_then(Value::as_str) {
        return PublicKey::from_multibase(multibase).ok().map(KeyMaterial::Ed25519);
    }
    let jwk = method.get("publicKeyJwk")?;
    match jwk.get("kty")?.as_str()? {
        "OKP" => PublicKey::from_jwk(jwk).ok().map(KeyMaterial::Ed25519),
        "RSA" => {
            let n = jwk.get("n")?.as_str()?;
            let e = jwk.get("e")?.as_str()?;
            // Reject what is not base64url here, so the JOSE library never sees it.
            URL_SAFE_NO_PAD.decode(n).ok()?;
            URL_SAFE_NO_PAD.decode(e).ok()?;
            Some(KeyMaterial::Rsa { n: n.to_owned(), e: e.to_owned() })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    #[test]
    fn did_web_encodes_the_port_and_path_and_maps_back_to_a_url() {
        let did = did_web("127.0.0.1:8080", &["ws", "acme"]);
        assert_eq!(did, "did:web:127.0.0.1%3A8080:ws:acme");
        assert_eq!(
            did_web_document_url(&did, "http").unwrap(),
            "http://127.0.0.1:8080/ws/acme/did.json"
        );
        assert_eq!(
            did_web_document_url("did:web:badges.example.com", "https").unwrap(),
            "https://badges.example.com/.well-known/did.json"
        );
        assert!(did_web_document_url("did:web:host:..:x", "https").is_err());
        assert!(did_web_document_url("did:key:z6Mk", "https").is_err());
    }

    #[test]
    fn the_vectors_did_document_is_read_and_its_key_found() {
        let document: Value =
            serde_json::from_slice(include_bytes!("../tests/vectors/did.json")).unwrap();
        let did = DidDocument::from_json(&document).unwrap();
        let key = did.assertion_key("did:web:badges.example.com#key-1").unwrap();
        assert_eq!(
            key,
            &KeyMaterial::Ed25519(
                PublicKey::from_multibase("z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")
                    .unwrap()
            )
        );
        assert!(did.assertion_key("did:web:badges.example.com#key-2").is_err());
    }

    #[test]
    fn a_rotated_document_keeps_the_retired_key_usable() {
        let mut did = DidDocument::new("did:web:example.com");
        did.add_ed25519_key("key-1", KeyPair::from_seed(&[1; 32]).public_key());
        did.add_ed25519_key("key-2", KeyPair::from_seed(&[2; 32]).public_key());
        let parsed = DidDocument::from_json(&did.to_json()).unwrap();
        assert_eq!(parsed, did);
        assert!(parsed.assertion_key("did:web:example.com#key-1").is_ok());
        assert!(parsed.assertion_key("did:web:example.com#key-2").is_ok());
    }

    #[test]
    fn a_method_controlled_by_someone_else_or_not_for_assertion_is_refused() {
        let key = KeyPair::from_seed(&[3; 32]).public_key();
        let document = json!({
            "id": "did:web:a.example",
            "verificationMethod": [
                {"id": "#k1", "type": "Multikey", "controller": "did:web:b.example", "publicKeyMultibase": key.to_multibase()},
                {"id": "#k2", "type": "Multikey", "controller": "did:web:a.example", "publicKeyMultibase": key.to_multibase()}
            ],
            "assertionMethod": ["#k1"],
            "authentication": ["#k2"]
        });
        let did = DidDocument::from_json(&document).unwrap();
        assert!(did.assertion_key("did:web:a.example#k1").is_err());
        assert!(did.assertion_key("did:web:a.example#k2").is_err());
    }

    #[test]
    fn did_key_resolves_locally() {
        let key = KeyPair::from_seed(&[4; 32]).public_key();
        let did = did_key(&key);
        let document = DidDocument::from_did_key(&did).unwrap();
        let method = format!("{did}#{}", key.to_multibase());
        assert_eq!(document.assertion_key(&method).unwrap(), &KeyMaterial::Ed25519(key));
    }
}
