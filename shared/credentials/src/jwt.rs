//! VC-JWT, as Open Badges 3.0 §8.2 defines it: a compact JWS whose payload is the credential
//! itself plus the registered claims `iss` (issuer id), `jti` (credential id), `nbf`
//! (`validFrom`), `exp` (`validUntil`, when there is one) and `sub` (the subject id, when there
//! is one). Signing is EdDSA (Ed25519); verification accepts EdDSA and RS256.
//!
//! The JOSE work (header, base64url, signature algorithms) is done by `jsonwebtoken`; this
//! module adds the OB bindings: the claims must agree with the credential, and the key must
//! belong to the issuer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::did::KeyMaterial;
use crate::keys::{KeyPair, PublicKey};
use crate::{Error, Result};

/// The issuer id of a credential (`issuer` as a string or as a profile object).
pub fn issuer_id(credential: &Value) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(id) => Some(id),
        issuer => issuer.get("id")?.as_str(),
    }
}

/// Signs `credential` (without `proof`) as a VC-JWT with EdDSA, `kid` = the verification method.
pub fn sign(credential: &Value, key: &KeyPair, kid: &str) -> Result<String> {
    let Value::Object(object) = credential else {
        return Err(Error::Json("a credential must be a JSON object".into()));
    };
    if object.contains_key("proof") {
        return Err(Error::field("proof", "a VC-JWT carries no embedded proof"));
    }
    let mut payload = object.clone();
    let issuer =
        issuer_id(credential).ok_or_else(|| Error::field("issuer", "is required"))?.to_owned();
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::field("id", "is required"))?
        .to_owned();
    payload.insert("iss".into(), issuer.into());
    payload.insert("jti".into(), id.into());
    payload.insert(
        "nbf".into(),
        epoch_seconds(object, "validFrom")?
            .ok_or_else(|| Error::field("validFrom", "is required"))?
            .into(),
    );
    if let Some(exp) = epoch_seconds(object, "validUntil")? {
        payload.insert("exp".into(), exp.into());
    }
    if let Some(subject) =
        object.get("credentialSubject").and_then(|s| s.get("id")).and_then(Value::as_str)
    {
        payload.insert("sub".into(), subject.to_owned().into());
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header.typ = Some("JWT".into());
    let der = key.pkcs8_der()?;
    jsonwebtoken::encode(&header, &Value::Object(payload), &EncodingKey::from_ed_der(&der))
        .map_err(|e| Error::Jwt(e.to_string()))
}

fn epoch_seconds(object: &Map<String, Value>, field: &str) -> Result<Option<i64>> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|date| Some(date.timestamp()))
            .map_err(|_| Error::field(field, format!("`{text}` is not an RFC 3339 date-time"))),
        Some(_) => Err(Error::field(field, "must be a string")),
    }
}

/// Where the verifier must look for the key of a VC-JWT.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// `kid`: a verification method id, to resolve through the issuer's DID document.
    Kid(String),
    /// `jwk`: a public key embedded in the header, self-asserted.
    Jwk(Value),
}

/// The protected header and payload of a VC-JWT, decoded but not yet verified.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedJwt {
    /// `alg` (EdDSA or RS256; anything else is refused when decoding).
    pub algorithm: String,
    /// Where the key comes from.
    pub key_source: KeySource,
    /// The payload: the credential with its claims (or the `vc` claim, if the token has one).
    pub credential: Value,
    /// The whole payload, claims included.
    pub payload: Value,
}

/// Whether `text` looks like a compact JWS (three base64url parts).
pub fn looks_like_jwt(text: &str) -> bool {
    let text = text.trim();
    text.split('.').count() == 3
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Decodes the header and payload without checking the signature.
pub fn decode(token: &str) -> Result<UnverifiedJwt> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Jwt("not a compact JWS (three dot-separated parts)".into()));
    };
    let part = |name: &str, text: &str| -> Result<Value> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| Error::Jwt(format!("{name} is not base64url")))?;
        serde_json::from_slice(&bytes).map_err(|_| Error::Jwt(format!("{name} is not JSON")))
    };
    let header = part("header", header)?;
    let payload = part("payload", payload)?;
    if !payload.is_object() {
        return Err(Error::Jwt("payload is not a JSON object".into()));
    }
    let algorithm = header.get("alg").and_then(Value::as_str).unwrap_or_default().to_owned();
    if algorithm != "EdDSA" && algorithm != "RS256" {
        return Err(Error::Jwt(format!(
            "unsupported alg `{algorithm}` (EdDSA and RS256 are accepted)"
        )));
    }
    let key_source = if let Some(kid) = header.get("kid").and_then(Value::as_str) {
        KeySource::Kid(kid.to_owned())
    } else if let Some(jwk) = header.get("jwk").filter(|jwk| jwk.is_object()) {
        if jwk.get("d").is_some() {
            return Err(Error::Jwt("header jwk contains a private key".into()));
        }
        KeySource::Jwk(jwk.clone())
    } else {
        return Err(Error::Jwt("header has neither kid nor jwk".into()));
    };
    let credential = match payload.get("vc") {
        Some(vc @ Value::Object(_)) => vc.clone(),
        _ => payload.clone(),
    };
    Ok(UnverifiedJwt { algorithm, key_source, credential, payload })
}

/// Checks the signature of `token` with `key`, which must fit the token's `alg`.
pub fn verify_signature(token: &str, algorithm: &str, key: &KeyMaterial) -> Result<()> {
    let (algorithm, decoding_key) = match (algorithm, key) {
        ("EdDSA", KeyMaterial::Ed25519(public)) => {
            (Algorithm::EdDSA, DecodingKey::from_ed_der(&public.to_bytes()))
        }
        ("RS256", KeyMaterial::Rsa { n, e }) => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(n, e)
                .map_err(|e| Error::Jwt(format!("RSA key: {e}")))?,
        ),
        (alg, _) => return Err(Error::Jwt(format!("the key does not fit alg `{alg}`"))),
    };
    let mut validation = Validation::new(algorithm);
    // Dates are the verifier's business, against the instant it is given.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token.trim(), &decoding_key, &validation)
        .map(|_| ())
        .map_err(|e| Error::Jwt(format!("signature: {e}")))
}

/// Key material from a JWK in a header (Ed25519 OKP or RSA).
pub fn key_from_jwk(jwk: &Value) -> Result<KeyMaterial> {
    match jwk.get("kty").and_then(Value::as_str) {
        Some("OKP") => PublicKey::from_jwk(jwk).map(KeyMaterial::Ed25519),
        Some("RSA") => {
            let text = |name: &str| jwk.get(name).and_then(Value::as_str).map(str::to_owned);
            match (text("n"), text("e")) {
                (Some(n), Some(e)) => Ok(KeyMaterial::Rsa { n, e }),
                _ => Err(Error::Key("RSA JWK needs n and e".into())),
            }
        }
        _ => Err(Error::Key("JWK kty must be OKP or RSA".into())),
    }
}

/// The OB 3.0 §8.2 bindings between the claims and the credential: `iss` is the issuer,
/// `jti` the credential id, `nbf` is present, and a DID `kid` belongs to the issuer.
pub fn check_claims(jwt: &UnverifiedJwt) -> Result<()> {
    let issuer = issuer_id(&jwt.credential)
        .ok_or_else(|| Error::Jwt("the credential has no issuer".into()))?;
    let claim = |name: &str| jwt.payload.get(name);
    if claim("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(Error::Jwt(format!("iss does not match the issuer `{issuer}`")));
    }
    if claim("jti").and_then(Value::as_str) != jwt.credential.get("id").and_then(Value::as_str) {
        return Err(Error::Jwt("jti does not match the credential id".into()));
    }
    if !claim("nbf").is_some_and(Value::is_number) {
        return Err(Error::Jwt("nbf claim missing".into()));
    }
    if let KeySource::Kid(kid) = &jwt.key_source
        && kid.starts_with("did:")
        && kid.split('#').next() != Some(issuer)
    {
        return Err(Error::Jwt(format!("kid `{kid}` is not a key of the issuer `{issuer}`")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyPair {
        KeyPair::from_seed(&[5; 32])
    }

    fn credential() -> Value {
        serde_json::from_slice(include_bytes!("../tests/vectors/typical/unsigned.json")).unwrap()
    }

    #[test]
    fn a_signed_vc_jwt_carries_the_ob_claims_and_verifies() {
        let token = sign(&credential(), &key(), "did:web:badges.example.com#key-1").unwrap();
        assert!(looks_like_jwt(&token));
        let jwt = decode(&token).unwrap();
        assert_eq!(jwt.algorithm, "EdDSA");
        assert_eq!(jwt.key_source, KeySource::Kid("did:web:badges.example.com#key-1".into()));
        assert_eq!(jwt.payload["iss"], "did:web:badges.example.com");
        assert_eq!(jwt.payload["jti"], credential()["id"]);
        assert_eq!(jwt.payload["nbf"], 1_717_200_000);
        assert_eq!(jwt.payload["exp"], 4_102_444_799_i64);
        check_claims(&jwt).unwrap();
        verify_signature(&token, "EdDSA", &KeyMaterial::Ed25519(key().public_key())).unwrap();
    }

    #[test]
    fn a_tampered_payload_or_a_wrong_key_fails() {
        let token = sign(&credential(), &key(), "did:web:badges.example.com#key-1").unwrap();
        let other = KeyMaterial::Ed25519(KeyPair::from_seed(&[6; 32]).public_key());
        assert!(verify_signature(&token, "EdDSA", &other).is_err());
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload = decode(&token).unwrap().payload;
        payload["name"] = "Forged".into();
        let forged =
            format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
        assert!(
            verify_signature(&forged, "EdDSA", &KeyMaterial::Ed25519(key().public_key())).is_err()
        );
    }

    #[test]
    fn claims_that_disagree_with_the_credential_fail() {
        let token = sign(&credential(), &key(), "did:web:someone-else.example#key-1").unwrap();
        assert!(check_claims(&decode(&token).unwrap()).is_err());
        let mut jwt =
            decode(&sign(&credential(), &key(), "did:web:badges.example.com#key-1").unwrap())
                .unwrap();
        jwt.payload["jti"] = "urn:uuid:other".into();
        assert!(check_claims(&jwt).is_err());
    }

    #[test]
    fn rs256_tokens_verify_with_an_rsa_jwk() {
        let der = include_bytes!("../tests/fixtures/rsa-test-key.pkcs1.der");
        let public: Value = serde_json::from_slice(include_bytes!(
            "../tests/fixtures/rsa-test-key.public.jwk.json"
        ))
        .unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("did:web:badges.example.com#rsa-1".into());
        let token =
            jsonwebtoken::encode(&header, &credential(), &EncodingKey::from_rsa_der(der)).unwrap();
        let key = key_from_jwk(&public).unwrap();
        verify_signature(&token, "RS256", &key).unwrap();
        assert!(verify_signature(&token, "EdDSA", &key).is_err());
        assert!(
            verify_signature(&token, "RS256", &KeyMaterial::Ed25519(key_pair_public())).is_err()
        );
    }

    fn key_pair_public() -> PublicKey {
        key().public_key()
    }

    #[test]
    fn malformed_tokens_are_typed_errors() {
        for token in
            ["", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig", "eyJhbGciOiJub25lIn0.e30.x"]
        {
            assert!(matches!(decode(token), Err(Error::Jwt(_))), "{token}");
        }
        // A short Ed25519 x in a header jwk must not panic inside the JOSE library.
        assert!(
            key_from_jwk(&serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}))
                .is_err()
        );
    }
}
