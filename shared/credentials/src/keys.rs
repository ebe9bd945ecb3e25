//! Ed25519 keys, as Multikey (`z6Mk…` / `z3u2…`) and as JWK (RFC 8037).
//!
//! A [`KeyPair`] holds the 32-byte seed and is zeroized on drop; its `Debug` never prints it.
//! Multikey encodings follow W3C Controlled Identifiers: the public key is multicodec
//! `ed25519-pub` (0xed, varint `ed 01`) and the secret key multicodec `ed25519-priv` (0x1300,
//! varint `80 26`) followed by the 32-byte seed, both base58btc with the `z` prefix. The
//! 64-byte seed ‖ public key form some libraries write (`zrv…`) is read too, after checking
//! that its public half belongs to its seed.

use std::sync::{OnceLock, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::{Error, Result};

const ED25519_PUB: [u8; 2] = [0xed, 0x01];
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// An Ed25519 key pair. The seed is zeroized when the pair is dropped.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public_key().to_multibase()).finish()
    }
}

impl KeyPair {
    /// The key pair of a 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(seed) }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// The 32-byte seed; handle with care.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// `z3u2…`: multicodec `ed25519-priv` + seed, base58btc.
    pub fn secret_key_multibase(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(34));
        bytes.extend_from_slice(&ED25519_PRIV);
        bytes.extend_from_slice(self.seed().as_ref());
        Zeroizing::new(format!("z{}", bs58::encode(bytes.as_slice()).into_string()))
    }

    /// Reads `z3u2…` (seed) or `zrv…` (seed ‖ public key) secret key multibase.
    pub fn from_secret_key_multibase(encoded: &str) -> Result<Self> {
        let body = encoded.strip_prefix('z').ok_or_else(|| {
            Error::Key("secret key multibase must start with `z` (base58btc)".into())
        })?;
        let bytes = Zeroizing::new(
            bs58::decode(body)
                .into_vec()
                .map_err(|_| Error::Key("secret key multibase is not base58btc".into()))?,
        );
        let Some(rest) = bytes.strip_prefix(&ED25519_PRIV) else {
            return Err(Error::Key("secret key is not multicodec ed25519-priv".into()));
        };
        if rest.len() != 32 && rest.len() != 64 {
            let n = rest.len();
            return Err(Error::Key(format!("ed25519-priv holds {n} bytes, expected 32 or 64")));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&rest[..32]);
        let pair = Self::from_seed(&seed);
        if rest.len() == 64 && rest[32..] != pair.public_key().to_bytes() {
            return Err(Error::Key(
                "the public half of the 64-byte secret key does not match its seed".into(),
            ));
        }
        Ok(pair)
    }

    /// The private JWK (`kty` OKP, `crv` Ed25519, `d` = the seed).
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public_key().to_jwk();
        jwk["d"] = Value::String(URL_SAFE_NO_PAD.encode(self.seed().as_ref()));
        Zeroizing::new(jwk.to_string())
    }

    /// Reads a private Ed25519 JWK.
    pub fn from_private_jwk(jwk: &Value) -> Result<Self> {
        let public = PublicKey::from_jwk(jwk)?;
        let d = jwk
            .get("d")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Key("JWK has no `d`".into()))?;
        let seed = Zeroizing::new(
            URL_SAFE_NO_PAD.decode(d).map_err(|_| Error::Key("JWK `d` is not base64url".into()))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| Error::Key("JWK `d` must be 32 bytes".into()))?;
        let pair = Self::from_seed(seed);
        if pair.public_key() != public {
            return Err(Error::Key("JWK `x` does not match `d`".into()));
        }
        Ok(pair)
    }

    /// PKCS#8 DER of the private key, for the JOSE library.
    pub(crate) fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let der = self.signing.to_pkcs8_der().map_err(|e| Error::Key(e.to_string()))?;
        Ok(Zeroizing::new(der.as_bytes().to_vec()))
    }

    /// The key file this crate writes: `{"type":"Multikey","publicKeyMultibase",...,"secretKeyMultibase"}`.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        // Written by hand so that the secret is never copied into a buffer that is not
        // zeroized; base58 needs no JSON escaping.
        Zeroizing::new(format!(
            "{{\n  \"type\": \"Multikey\",\n  \"publicKeyMultibase\": \"{}\",\n  \"secretKeyMultibase\": \"{}\"\n}}\n",
            self.public_key().to_multibase(),
            self.secret_key_multibase().as_str()
        ))
    }

    /// Reads a key file: ours (`secretKeyMultibase`), or the vectors' `key.json`
    /// (`secret_key_multibase`). When the file also names the public key, it must match.
    pub fn from_key_file(json: &[u8]) -> Result<Self> {
        let file: KeyFile = serde_json::from_slice(json)
            .map_err(|e| Error::Key(format!("key file is not a Multikey JSON object: {e}")))?;
        let secret = file
            .secret_key_multibase
            .as_deref()
            .or(file.secret_key_multibase_snake.as_deref())
            .ok_or_else(|| Error::Key("key file has no secretKeyMultibase".into()))?;
        let pair = Self::from_secret_key_multibase(secret)?;
        if let Some(public) = &file.public_key_multibase
            && PublicKey::from_multibase(public)? != pair.public_key()
        {
            return Err(Error::Key("publicKeyMultibase does not match the secret key".into()));
        }
        Ok(pair)
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "publicKeyMultibase", alias = "public_key_multibase")]
    public_key_multibase: Option<String>,
    #[serde(rename = "secretKeyMultibase")]
    secret_key_multibase: Option<String>,
    #[serde(rename = "secret_key_multibase")]
    secret_key_multibase_snake: Option<String>,
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_multibase())
    }
}

impl PublicKey {
    /// From the raw 32 bytes; fails on a point that is not on the curve.
    ///
    /// Decompressing the point costs a field exponentiation (several microseconds, a good
    /// share of a verification), and a verifier sees the same few issuer keys again and
    /// again: the last keys decoded are remembered.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| {
            Error::Key(format!("an Ed25519 public key is 32 bytes, not {}", bytes.len()))
        })?;
        static RECENT: OnceLock<RwLock<Vec<PublicKey>>> = OnceLock::new();
        const REMEMBERED: usize = 64;
        let recent = RECENT.get_or_init(RwLock::default);
        if let Ok(keys) = recent.read()
            && let Some(key) = keys.iter().find(|key| key.0.as_bytes() == bytes)
        {
            return Ok(*key);
        }
        let key = VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::Key("not a valid Ed25519 public key".into()))?;
        if let Ok(mut keys) = recent.write() {
            if keys.len() >= REMEMBERED {
                keys.remove(0);
            }
            keys.push(key);
        }
        Ok(key)
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// `z6Mk…`: multicodec `ed25519-pub` + key, base58btc.
    pub fn to_multibase(&self) -> String {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&ED25519_PUB);
        bytes.extend_from_slice(self.0.as_bytes());
        format!("z{}", bs58::encode(bytes).into_string())
    }

    /// Reads `z6Mk…`.
    pub fn from_multibase(encoded: &str) -> Result<Self> {
        let body = encoded.strip_prefix('z').ok_or_else(|| {
            Error::Key("publicKeyMultibase must start with `z` (base58btc)".into())
        })?;
        let bytes = bs58::decode(body)
            .into_vec()
            .map_err(|_| Error::Key("publicKeyMultibase is not base58btc".into()))?;
        let key = bytes
            .strip_prefix(&ED25519_PUB)
            .ok_or_else(|| Error::Key("publicKeyMultibase is not multicodec ed25519-pub".into()))?;
        Self::from_bytes(key)
    }

    /// The public JWK (`kty` OKP, `crv` Ed25519).
    pub fn to_jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(self.0.as_bytes())})
    }

    /// Reads a public Ed25519 JWK (a private one's `d` is ignored).
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
            || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
        {
            return Err(Error::Key("JWK is not kty OKP, crv Ed25519".into()));
        }
        let x = jwk
            .get("x")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Key("JWK has no `x`".into()))?;
        let bytes =
            URL_SAFE_NO_PAD.decode(x).map_err(|_| Error::Key("JWK `x` is not base64url".into()))?;
        Self::from_bytes(&bytes)
    }

    /// Verifies an Ed25519 signature (strict: no small-order keys, no malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let signature = Signature::from_slice(signature).map_err(|_| {
            Error::Proof(format!("an Ed25519 signature is 64 bytes, not {}", signature.len()))
        })?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| Error::Proof("signature does not verify".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 §7.1 TEST 1 (public test key, as in the conformance vectors).
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
    const SECRET_64: &str = "zrv3nQ3vxUrShebtbJeB42niZe1oGRnFzGPusycqLLtiJEeSFbDjwS6rvt6uMYYkjGuZMTsqb6mzCgG19WbjcNNsvxq";

    fn pair() -> KeyPair {
        KeyPair::from_seed(&hex::decode(SEED).unwrap().try_into().unwrap())
    }

    #[test]
    fn the_rfc8032_key_has_the_known_multikey() {
        assert_eq!(pair().public_key().to_multibase(), PUBLIC);
        assert_eq!(PublicKey::from_multibase(PUBLIC).unwrap(), pair().public_key());
    }

    #[test]
    fn the_32_byte_secret_multibase_round_trips_and_starts_with_z3u2() {
        let secret = pair().secret_key_multibase();
        assert!(secret.starts_with("z3u2"), "{}", secret.as_str());
        assert_eq!(
            KeyPair::from_secret_key_multibase(&secret).unwrap().public_key(),
            pair().public_key()
        );
    }

    #[test]
    fn the_64_byte_secret_form_is_read_and_checked() {
        assert_eq!(
            KeyPair::from_secret_key_multibase(SECRET_64).unwrap().public_key(),
            pair().public_key()
        );
        // Flip a character of the public half: the seed no longer matches.
        let mut tampered = SECRET_64.to_string();
        tampered.replace_range(80..81, if &SECRET_64[80..81] == "a" { "b" } else { "a" });
        assert!(KeyPair::from_secret_key_multibase(&tampered).is_err());
    }

    #[test]
    fn key_files_round_trip_and_the_vectors_key_json_is_read() {
        let file = pair().to_key_file();
        let parsed: Value = serde_json::from_str(&file).unwrap();
        assert_eq!(parsed["type"], "Multikey");
        assert_eq!(parsed["publicKeyMultibase"], PUBLIC);
        assert_eq!(
            KeyPair::from_key_file(file.as_bytes()).unwrap().public_key(),
            pair().public_key()
        );
        let vectors = include_bytes!("../tests/vectors/key.json");
        assert_eq!(KeyPair::from_key_file(vectors).unwrap().public_key(), pair().public_key());
    }

    #[test]
    fn a_key_file_whose_public_key_does_not_match_is_refused() {
        let other = KeyPair::from_seed(&[7; 32]);
        let file = json!({"type": "Multikey", "publicKeyMultibase": other.public_key().to_multibase(),
            "secretKeyMultibase": pair().secret_key_multibase().as_str()});
        assert!(KeyPair::from_key_file(file.to_string().as_bytes()).is_err());
        assert!(KeyPair::from_key_file(b"not json").is_err());
    }

    #[test]
    fn jwk_round_trips_with_d_as_the_seed() {
        let jwk: Value = serde_json::from_str(&pair().to_private_jwk()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(jwk["d"].as_str().unwrap()).unwrap(),
            hex::decode(SEED).unwrap()
        );
        assert_eq!(KeyPair::from_private_jwk(&jwk).unwrap().public_key(), pair().public_key());
        assert!(
            PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})).is_err()
        );
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let signature = pair().sign(b"hello");
        pair().public_key().verify(b"hello", &signature).unwrap();
        assert!(pair().public_key().verify(b"hellp", &signature).is_err());
        assert!(pair().public_key().verify(b"hello", &signature[..10]).is_err());
    }

    #[test]
    fn debug_never_prints_the_seed() {
        assert!(!format!("{:?}", pair()).contains("9d61"));
    }
}
