//! OpenID Connect single sign-on (Okta, Entra ID, Google, any compliant provider): checking
//! the bearer ID or access tokens an organization's identity provider issues.
//!
//! Each organization configures an [`OidcConfig`]: the issuer, the audience (the client id
//! or API identifier the tokens are minted for), where the issuer's public keys are (a
//! static JWK set, or the URL of one, fetched and cached by the HTTP layer), and the claim
//! that carries the caller's groups or roles. [`verify_token`] then checks one token against
//! that configuration and a key set, and answers the verified subject and the values of the
//! role claim; turning those values into platform roles is done elsewhere.
//!
//! This module is pure: no I/O and no clock. The caller passes the key set and the current
//! time (`now`), so expiry is judged by the platform's clock, not the machine's, and tests
//! are exact. What a token must satisfy:
//!
//! - a compact JWS (three parts) whose `alg` is one of [`ALLOWED_ALGORITHMS`]: `none` and
//!   the HMAC family are refused outright, since an HMAC check keyed with a *public* key is a
//!   signature anyone can forge;
//! - signed by the key its `kid` names (or, without a `kid`, by the only key of the set that
//!   fits its `alg`), a key meant for signatures whose type and `alg` fit the token's;
//! - `iss` equal to the configured issuer, `aud` (a string or an array) containing the
//!   configured audience, `exp` in the future and `nbf` and `iat` not in the future (each
//!   with the configured leeway), and a non-empty `sub`.
//!
//! Every refusal is an [`OidcError`] whose message can be shown to the caller (a 401 problem
//! detail): it says what was wrong and never repeats the token.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use jsonwebtoken::jwk::JwkSet;

/// The signature algorithms a token may use. `none` and HS256/384/512 are never accepted.
pub const ALLOWED_ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The longest token accepted, in bytes. Entra ID tokens carrying many groups are the
/// largest seen in practice, well under this.
pub const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// The clock skew tolerated when no leeway is configured.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;

/// The largest leeway a configuration may set: more would keep expired tokens alive.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The longest `sub` accepted (OpenID Connect Core 1.0, section 2: 255 ASCII characters).
const MAX_SUBJECT_CHARS: usize = 255;

/// The longest URL or claim name accepted in a configuration.
const MAX_CONFIG_TEXT: usize = 2048;

/// Where an issuer's public signing keys are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JwksLocation {
    /// A key set given in the configuration (an air-gapped IdP, or tests). It is never
    /// refreshed: rotating keys means updating the configuration.
    Static(JwkSet),
    /// The issuer's `jwks_uri`: an `https` URL (plain `http` only for a loopback host, for
    /// tests), fetched and cached by the HTTP layer.
    Url(String),
}

/// An organization's OpenID Connect settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConfig {
    /// The issuer identifier, compared byte for byte with a token's `iss`, e.g.
    /// `https://example.okta.com/oauth2/default`,
    /// `https://login.microsoftonline.com/{tenant}/v2.0`, `https://accounts.google.com`.
    pub issuer: String,
    /// The audience tokens must be minted for: the client id (ID tokens) or the API
    /// identifier (access tokens).
    pub audience: String,
    /// Where the issuer's public keys are.
    pub jwks: JwksLocation,
    /// The claim holding the caller's groups or roles (`groups`, `roles`, or a custom claim
    /// name, taken literally: a name with dots or slashes is one claim, not a path).
    pub role_claim: String,
    /// The clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (at most
    /// [`MAX_LEEWAY_SECONDS`]).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_leeway() -> u64 {
    DEFAULT_LEEWAY_SECONDS
}

/// Why an [`OidcConfig`] was refused; [`OidcConfigError::field`] names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcConfigError {
    /// The issuer is not an acceptable URL.
    #[error("the issuer {0}")]
    Issuer(&'static str),
    /// The audience is empty or has surrounding whitespace or control characters.
    #[error("the audience must be a non-empty client id or API identifier")]
    Audience,
    /// The JWKS URL is not an acceptable URL.
    #[error("the JWKS URL {0}")]
    JwksUrl(&'static str),
    /// A static key set has no key that can verify signatures.
    #[error("the key set has no RSA, P-256, P-384 or Ed25519 signing key")]
    NoSigningKey,
    /// A static key set holds a symmetric key: a shared secret that must not be stored as a
    /// public key, and that no accepted algorithm uses.
    #[error("the key set holds a symmetric (`oct`) key, which is never accepted")]
    SymmetricKey,
    /// The role claim is empty, too long, or has control characters.
    #[error("the role claim must be a claim name")]
    RoleClaim,
    /// The leeway is too large.
    #[error("the leeway must be at most {MAX_LEEWAY_SECONDS} seconds")]
    Leeway,
}

impl OidcConfigError {
    /// The configuration field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Issuer(_) => "issuer",
            Self::Audience => "audience",
            Self::JwksUrl(_) | Self::NoSigningKey | Self::SymmetricKey => "jwks",
            Self::RoleClaim => "role_claim",
            Self::Leeway => "leeway_seconds",
        }
    }
}

impl From<OidcConfigError> for crate::Error {
    fn from(error: OidcConfigError) -> Self {
        crate::Error::invalid(error.field(), error.to_string())
    }
}

impl OidcConfig {
    /// Checks the configuration: an `https` issuer without query or fragment, a non-empty
    /// audience, an `https` JWKS URL or a static set with a signing key and no secret key, a
    /// claim name, a bounded leeway. Plain `http` URLs are accepted only for loopback hosts.
    pub fn validate(&self) -> Result<(), OidcConfigError> {
        let issuer = check_url(&self.issuer).map_err(OidcConfigError::Issuer)?;
        if issuer.query().is_some() {
            return Err(OidcConfigError::Issuer("must not have a query"));
        }
        if !is_clean_text(&self.audience) {
            return Err(OidcConfigError::Audience);
        }
        match &self.jwks {
            JwksLocation::Url(url) => {
                check_url(url).map_err(OidcConfigError::JwksUrl)?;
            }
            JwksLocation::Static(set) => {
                if set.keys.iter().any(|k| matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
                {
                    return Err(OidcConfigError::SymmetricKey);
                }
                if !set.keys.iter().any(|k| is_signing_key(k) && key_kind(k).is_some()) {
                    return Err(OidcConfigError::NoSigningKey);
                }
            }
        }
        if !is_clean_text(&self.role_claim) {
            return Err(OidcConfigError::RoleClaim);
        }
        if self.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(OidcConfigError::Leeway);
        }
        Ok(())
    }
}

/// Non-empty, bounded, no surrounding whitespace, no control characters.
fn is_clean_text(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_CONFIG_TEXT
        && text.trim() == text
        && !text.chars().any(char::is_control)
}

/// An absolute `https` URL (or `http` on a loopback host) with a host, no credentials and no
/// fragment; the error completes "the issuer …" or "the JWKS URL …".
fn check_url(text: &str) -> Result<url::Url, &'static str> {
    if !is_clean_text(text) {
        return Err("must be a URL without spaces or control characters");
    }
    let url = url::Url::parse(text).map_err(|_| "must be an absolute https URL")?;
    let host = url.host().ok_or("must have a host")?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => return Err("must use https (plain http only for localhost)"),
        _ => return Err("must be an absolute https URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    Ok(url)
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `sub`: the user's stable identifier at the issuer.
    pub subject: String,
    /// `iss`: the issuer (the configured one).
    pub issuer: String,
    /// `email`, unless absent or marked unverified (`email_verified: false`). Entra ID does
    /// not send `email_verified`, so its `email` is whatever the directory holds.
    pub email: Option<String>,
    /// The values of the configured role claim: a string is one value, an array of strings
    /// is its values, an absent claim is none (providers omit it for users in no group).
    pub claim_values: Vec<String>,
    /// `exp`, in Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused. Every variant is a 401; the message says why without repeating
/// the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// Not a well-formed signed JWT (or too large, or encrypted, or with a claim of the wrong
    /// type).
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header's `alg` is not in [`ALLOWED_ALGORITHMS`] (`none`, HMAC, unknown).
    #[error(
        "tokens signed with `{0}` are not accepted (accepted: RS256, RS384, RS512, PS256, ES256, ES384, EdDSA)"
    )]
    UnsupportedAlgorithm(String),
    /// The key the token names is not in the issuer's key set (`None`: the token names no
    /// key and the set has none that fits). The caller may refresh the key set once and retry.
    #[error("{}", unknown_key_message(.0.as_deref()))]
    UnknownKeyId(Option<String>),
    /// The signature does not verify with the key the token names (or that key cannot verify
    /// the token's algorithm).
    #[error("the token's signature is not valid")]
    BadSignature,
    /// The issuer's key is unusable (too short, or not a valid key): a provider or
    /// configuration problem rather than the token's.
    #[error("the issuer's signing key cannot be used: {0}")]
    InvalidKey(&'static str),
    /// `iss` is not the configured issuer.
    #[error("the token was not issued by this organization's identity provider")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token was not issued for this application (audience mismatch)")]
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
}

fn unknown_key_message(kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!("the token's signing key `{kid}` is not one of the issuer's keys"),
        None => "the token names no signing key and none of the issuer's keys fits it".to_owned(),
    }
}

impl From<OidcError> for crate::Error {
    fn from(error: OidcError) -> Self {
        crate::Error::Unauthorized(error.to_string())
    }
}

fn malformed(reason: impl Into<String>) -> OidcError {
    OidcError::Malformed(reason.into())
}

/// A value from the token that may go into a message: short printable ASCII, else a
/// placeholder (so a message never carries arbitrary token bytes).
fn printable(text: &str) -> String {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_graphic() && b != b'`' && b != b'"');
    if ok { text.to_owned() } else { "(unprintable)".to_owned() }
}

/// Verifies `token` (the bearer string, without `Bearer `) against `config`, with the
/// issuer's keys `jwks` and the current time `now` (Unix seconds, from the caller's clock).
///
/// The checks, in order: shape and size; `alg`; the key (`kid`); the signature; `iss`;
/// `aud`; `exp`, `nbf` and `iat` with `config.leeway_seconds`; `sub`. The first failure is
/// the answer. On [`OidcError::UnknownKeyId`] the caller may refresh a fetched key set once
/// and call again (the issuer may have rotated its keys).
pub fn verify_token(
    token: &str,
    config: &OidcConfig,
    jwks: &JwkSet,
    now: i64,
) -> Result<VerifiedToken, OidcError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed(format!("the token is longer than {MAX_TOKEN_BYTES} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(malformed("encrypted tokens (JWE) are not accepted")),
        _ => return Err(malformed("a JWT has three base64url parts separated by dots")),
    }
    let header = decode_object(parts[0])
        .ok_or_else(|| malformed("the header is not base64url-encoded JSON"))?;
    // Checked before the signature so that the answer names the actual defect.
    if decode_object(parts[1]).is_none() {
        return Err(malformed("the payload is not base64url-encoded JSON"));
    }
    if URL_SAFE_NO_PAD.decode(parts[2]).is_err() {
        return Err(malformed("the signature is not base64url"));
    }

    let algorithm = match header.get("alg") {
        Some(Value::String(name)) => allowed_algorithm(name)
            .ok_or_else(|| OidcError::UnsupportedAlgorithm(printable(name)))?,
        _ => return Err(malformed("the header has no `alg`")),
    };
    // RFC 7515 section 4.1.11: extensions marked critical must be understood; we know none.
    if header.contains_key("crit") {
        return Err(malformed("critical header extensions are not supported"));
    }
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(malformed("`kid` is not a string")),
    };

    let jwk = select_key(jwks, kid, algorithm)?;
    let key = decoding_key(jwk)?;

    // Only the signature is checked here: the claims are checked below against `now`, which
    // `jsonwebtoken` cannot do (it reads the system clock).
    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(from_jwt_error)?;

    check_claims(&data.claims, config, now)
}

/// The claims of `token` **without verifying anything**: only to find which configuration
/// to verify it against (its `iss` and `aud`). Refuses what [`verify_token`] would refuse as
/// malformed before looking at the signature (size, shape, encoding).
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, OidcError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed(format!("the token is longer than {MAX_TOKEN_BYTES} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(malformed("encrypted tokens (JWE) are not accepted")),
        _ => return Err(malformed("a JWT has three base64url parts separated by dots")),
    }
    if decode_object(parts[0]).is_none() {
        return Err(malformed("the header is not base64url-encoded JSON"));
    }
    decode_object(parts[1]).ok_or_else(|| malformed("the payload is not base64url-encoded JSON"))
}

/// Base64url (no padding) JSON object.
fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn allowed_algorithm(name: &str) -> Option<Algorithm> {
    ALLOWED_ALGORITHMS.into_iter().find(|a| algorithm_name(*a) == name)
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

/// The kinds of public key we verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

fn key_kind(jwk: &Jwk) -> Option<KeyKind> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(KeyKind::Rsa),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(KeyKind::P256),
            EllipticCurve::P384 => Some(KeyKind::P384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => {
            (okp.curve == EllipticCurve::Ed25519).then_some(KeyKind::Ed25519)
        }
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// A key published for signatures: not `use: enc`, and `verify` among its `key_ops` if it
/// lists any.
fn is_signing_key(jwk: &Jwk) -> bool {
    let usable = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
    let operations = jwk
        .common
        .key_operations
        .as_ref()
        .is_none_or(|ops| ops.iter().any(|op| matches!(op, KeyOperations::Verify)));
    usable && operations
}

/// Whether `jwk` can verify `algorithm`: its type matches, and so does its `alg` if it
/// declares one.
fn fits(jwk: &Jwk, algorithm: Algorithm) -> bool {
    let kind_fits = match key_kind(jwk) {
        Some(KeyKind::Rsa) => matches!(
            algorithm,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        Some(KeyKind::P256) => algorithm == Algorithm::ES256,
        Some(KeyKind::P384) => algorithm == Algorithm::ES384,
        Some(KeyKind::Ed25519) => algorithm == Algorithm::EdDSA,
        None => false,
    };
    let alg_fits = match jwk.common.key_algorithm {
        None | Some(KeyAlgorithm::UNKNOWN_ALGORITHM) => true,
        Some(declared) => declared.to_string() == algorithm_name(algorithm),
    };
    kind_fits && alg_fits
}

fn select_key<'a>(
    jwks: &'a JwkSet,
    kid: Option<&str>,
    algorithm: Algorithm,
) -> Result<&'a Jwk, OidcError> {
    let signing = jwks.keys.iter().filter(|k| is_signing_key(k));
    match kid {
        Some(kid) => {
            let mut named = signing.filter(|k| k.common.key_id.as_deref() == Some(kid)).peekable();
            if named.peek().is_none() {
                return Err(OidcError::UnknownKeyId(Some(printable(kid))));
            }
            // Several keys may share a `kid` (one per algorithm); a named key that cannot
            // verify this `alg` means the token was not made with it.
            named.find(|k| fits(k, algorithm)).ok_or(OidcError::BadSignature)
        }
        None => {
            let mut candidates = signing.filter(|k| fits(k, algorithm));
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Ok(only),
                (None, _) => Err(OidcError::UnknownKeyId(None)),
                (Some(_), Some(_)) => Err(malformed(
                    "the token names no signing key (`kid`) and the issuer has several",
                )),
            }
        }
    }
}

/// The key as `jsonwebtoken` wants it, after the checks it does not make (RSA size, Ed25519
/// length: a short Ed25519 key would make it panic).
fn decoding_key(jwk: &Jwk) -> Result<DecodingKey, OidcError> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| OidcError::InvalidKey("the RSA modulus is not base64url"))?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant * 8 < MIN_RSA_BITS {
                return Err(OidcError::InvalidKey("the RSA key is shorter than 2048 bits"));
            }
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            let x = URL_SAFE_NO_PAD
                .decode(&okp.x)
                .map_err(|_| OidcError::InvalidKey("the Ed25519 key is not base64url"))?;
            if x.len() != 32 {
                return Err(OidcError::InvalidKey("the Ed25519 key is not 32 bytes"));
            }
        }
        AlgorithmParameters::EllipticCurve(_) => {}
        AlgorithmParameters::OctetKey(_) => {
            return Err(OidcError::InvalidKey("symmetric keys are never accepted"));
        }
    }
    DecodingKey::from_jwk(jwk).map_err(|_| OidcError::InvalidKey("the key is not valid"))
}

fn from_jwt_error(error: jsonwebtoken::errors::Error) -> OidcError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => OidcError::BadSignature,
        ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat => OidcError::InvalidKey("the key is not valid"),
        ErrorKind::Base64(_) => malformed("a part is not base64url"),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => malformed("the payload is not a JSON object"),
        _ => malformed("the token could not be decoded"),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    config: &OidcConfig,
    now: i64,
) -> Result<VerifiedToken, OidcError> {
    let issuer = string_claim(claims, "iss")?.ok_or_else(|| missing("iss"))?;
    if !issuer_matches(issuer, &config.issuer) {
        return Err(OidcError::WrongIssuer);
    }

    let audience_ok = match claims.get("aud") {
        None | Some(Value::Null) => return Err(missing("aud")),
        Some(Value::String(aud)) => *aud == config.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&config.audience)),
        Some(_) => return Err(malformed("`aud` is not a string or an array of strings")),
    };
    // An empty configured audience must never match an empty `aud`.
    if !audience_ok || config.audience.is_empty() {
        return Err(OidcError::WrongAudience);
    }

    let leeway = i64::try_from(config.leeway_seconds).unwrap_or(i64::MAX);
    let expires_at = time_claim(claims, "exp")?.ok_or_else(|| missing("exp"))?;
    // RFC 7519 section 4.1.4: the current time must be before `exp`.
    if now >= expires_at.saturating_add(leeway) {
        return Err(OidcError::Expired);
    }
    let earliest = now.saturating_add(leeway);
    if let Some(not_before) = time_claim(claims, "nbf")?
        && not_before > earliest
    {
        return Err(OidcError::NotYetValid);
    }
    if let Some(issued_at) = time_claim(claims, "iat")?
        && issued_at > earliest
    {
        return Err(OidcError::NotYetValid);
    }

    let subject =
        string_claim(claims, "sub")?.filter(|s| !s.is_empty()).ok_or_else(|| missing("sub"))?;
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(malformed(format!("`sub` is longer than {MAX_SUBJECT_CHARS} characters")));
    }

    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        // Some providers (Cognito) send the boolean as a string.
        Some(Value::String(text)) => text != "false",
        _ => true,
    };
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|email| email_verified && !email.is_empty())
        .map(str::to_owned);

    let claim_values = match claims.get(&config.role_claim) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(value)) => vec![value.clone()],
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| not_strings(&config.role_claim))?,
        Some(_) => return Err(not_strings(&config.role_claim)),
    };

    Ok(VerifiedToken {
        subject: subject.to_owned(),
        issuer: issuer.to_owned(),
        email,
        claim_values,
        expires_at,
    })
}

/// Exact comparison, plus the one documented exception: Google may send its ID tokens with
/// `iss: accounts.google.com` (no scheme) for the issuer `https://accounts.google.com`.
fn issuer_matches(claimed: &str, configured: &str) -> bool {
    claimed == configured
        || (configured == "https://accounts.google.com" && claimed == "accounts.google.com")
}

fn missing(name: &str) -> OidcError {
    OidcError::MissingClaim(name.to_owned())
}

fn not_strings(name: &str) -> OidcError {
    malformed(format!("the `{}` claim is not a string or an array of strings", printable(name)))
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(malformed(format!("`{name}` is not a string"))),
    }
}

/// A NumericDate (RFC 7519 section 2): seconds, possibly fractional (truncated towards the
/// past, which is the strict side for `exp` and the lenient side for `nbf` by under a second).
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => {
            if let Some(seconds) = number.as_i64() {
                Ok(Some(seconds))
            } else {
                match number.as_f64() {
                    // `as` saturates at the i64 bounds.
                    Some(seconds) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
                    _ => Err(malformed(format!("`{name}` is not a number of seconds"))),
                }
            }
        }
        Some(_) => Err(malformed(format!("`{name}` is not a number of seconds"))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use jsonwebtoken::jwk::{CommonParameters, OctetKeyPairParameters, OctetKeyPairType};
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://idp.example.com/oauth2/default";
    const AUDIENCE: &str = "client-123";
    const NOW: i64 = 1_750_000_000;

    /// A signing key and its public JWK.
    struct TestKey {
        encoding: EncodingKey,
        jwk: Jwk,
    }

    fn rsa_key(kid: &str) -> TestKey {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let jwk = Jwk {
            common: CommonParameters { key_id: Some(kid.into()), ..Default::default() },
            algorithm: AlgorithmParameters::RSA(jsonwebtoken::jwk::RSAKeyParameters {
                key_type: Default::default(),
                n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            }),
        };
        TestKey { encoding: EncodingKey::from_rsa_der(der.as_bytes()), jwk }
    }

    fn ed25519_key(kid: &str) -> TestKey {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let der = signing.to_pkcs8_der().unwrap();
        let jwk = Jwk {
            common: CommonParameters { key_id: Some(kid.into()), ..Default::default() },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
            }),
        };
        TestKey { encoding: EncodingKey::from_ed_der(der.as_bytes()), jwk }
    }

    /// RSA generation is slow unoptimized: the keys are made once for all tests.
    static RSA: LazyLock<TestKey> = LazyLock::new(|| rsa_key("rsa-1"));
    /// Another RSA key published under the same `kid` by nobody: a forger's key.
    static FORGER: LazyLock<TestKey> = LazyLock::new(|| rsa_key("rsa-1"));
    static ED: LazyLock<TestKey> = LazyLock::new(|| ed25519_key("ed-1"));

    fn jwks() -> JwkSet {
        JwkSet { keys: vec![RSA.jwk.clone(), ED.jwk.clone()] }
    }

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks: JwksLocation::Static(jwks()),
            role_claim: "groups".into(),
            leeway_seconds: 0,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "00u1abcd",
            "email": "ada@example.com",
            "iat": NOW - 10,
            "exp": NOW + 300,
            "groups": ["badge-admins", "staff"],
        })
    }

    fn sign_with(key: &TestKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }

    fn sign(claims: &Value) -> String {
        sign_with(&RSA, Algorithm::RS256, Some("rsa-1"), claims)
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: Value, name: &str) -> Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    fn verify(token: &str) -> Result<VerifiedToken, OidcError> {
        verify_token(token, &config(), &jwks(), NOW)
    }

    /// A token assembled from raw parts (for headers `jsonwebtoken` will not produce).
    fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!("{}.{}.{}", encode(header), encode(claims), URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn a_valid_rs256_token_gives_the_subject_email_and_groups() {
        let verified = verify(&sign(&claims())).unwrap();
        assert_eq!(
            verified,
            VerifiedToken {
                subject: "00u1abcd".into(),
                issuer: ISSUER.into(),
                email: Some("ada@example.com".into()),
                claim_values: vec!["badge-admins".into(), "staff".into()],
                expires_at: NOW + 300,
            }
        );
    }

    #[test]
    fn every_accepted_rsa_algorithm_verifies() {
        for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
            let token = sign_with(&RSA, alg, Some("rsa-1"), &claims());
            assert!(verify(&token).is_ok(), "{alg:?}");
        }
    }

    #[test]
    fn a_valid_eddsa_token_verifies() {
        let token = sign_with(&ED, Algorithm::EdDSA, Some("ed-1"), &claims());
        assert_eq!(verify(&token).unwrap().subject, "00u1abcd");
    }

    #[test]
    fn a_token_without_kid_uses_the_only_key_that_fits_its_algorithm() {
        let token = sign_with(&ED, Algorithm::EdDSA, None, &claims());
        assert!(verify(&token).is_ok());
        let rsa_only = JwkSet { keys: vec![RSA.jwk.clone()] };
        let token = sign_with(&ED, Algorithm::EdDSA, None, &claims());
        assert_eq!(
            verify_token(&token, &config(), &rsa_only, NOW),
            Err(OidcError::UnknownKeyId(None))
        );
    }

    #[test]
    fn an_audience_array_containing_ours_is_accepted() {
        let token = sign(&with(claims(), "aud", json!(["other", AUDIENCE])));
        assert!(verify(&token).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = sign(&with(claims(), "exp", json!(NOW - 1)));
        assert_eq!(verify(&token), Err(OidcError::Expired));
        // `exp` is the first instant the token is no longer valid.
        let token = sign(&with(claims(), "exp", json!(NOW)));
        assert_eq!(verify(&token), Err(OidcError::Expired));
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let token = sign(&with(claims(), "nbf", json!(NOW + 30)));
        assert_eq!(verify(&token), Err(OidcError::NotYetValid));
        let token = sign(&with(claims(), "iat", json!(NOW + 30)));
        assert_eq!(verify(&token), Err(OidcError::NotYetValid));
    }

    #[test]
    fn the_leeway_is_honoured_on_both_sides() {
        let config = OidcConfig { leeway_seconds: 60, ..config() };
        for (name, value) in [("exp", NOW - 59), ("nbf", NOW + 60), ("iat", NOW + 60)] {
            let token = sign(&with(claims(), name, json!(value)));
            assert!(verify_token(&token, &config, &jwks(), NOW).is_ok(), "{name}");
        }
        let token = sign(&with(claims(), "exp", json!(NOW - 60)));
        assert_eq!(verify_token(&token, &config, &jwks(), NOW), Err(OidcError::Expired));
        let token = sign(&with(claims(), "nbf", json!(NOW + 61)));
        assert_eq!(verify_token(&token, &config, &jwks(), NOW), Err(OidcError::NotYetValid));
    }

    #[test]
    fn the_callers_clock_is_used_not_the_system_clock() {
        // Valid in 2001 by the caller's clock, long expired by the machine's.
        let now = 1_000_000_000;
        let claims = with(with(claims(), "exp", json!(now + 60)), "iat", json!(now));
        assert!(verify_token(&sign(&claims), &config(), &jwks(), now).is_ok());
        assert_eq!(verify(&sign(&claims)), Err(OidcError::Expired));
    }

    #[test]
    fn fractional_times_are_accepted() {
        let token = sign(&with(claims(), "exp", json!(NOW as f64 + 0.5)));
        assert_eq!(verify(&token), Err(OidcError::Expired));
        let token = sign(&with(claims(), "exp", json!(NOW as f64 + 10.5)));
        assert_eq!(verify(&token).unwrap().expires_at, NOW + 10);
    }

    #[test]
    fn a_wrong_audience_is_refused() {
        let token = sign(&with(claims(), "aud", json!("someone-else")));
        assert_eq!(verify(&token), Err(OidcError::WrongAudience));
        let token = sign(&with(claims(), "aud", json!(["a", "b"])));
        assert_eq!(verify(&token), Err(OidcError::WrongAudience));
    }

    #[test]
    fn a_wrong_issuer_is_refused() {
        let token = sign(&with(claims(), "iss", json!("https://evil.example.com")));
        assert_eq!(verify(&token), Err(OidcError::WrongIssuer));
        // No normalization: a trailing slash is another issuer.
        let token = sign(&with(claims(), "iss", json!(format!("{ISSUER}/"))));
        assert_eq!(verify(&token), Err(OidcError::WrongIssuer));
    }

    #[test]
    fn googles_schemeless_issuer_is_accepted_for_google_only() {
        let google = OidcConfig { issuer: "https://accounts.google.com".into(), ..config() };
        let token = sign(&with(claims(), "iss", json!("accounts.google.com")));
        assert!(verify_token(&token, &google, &jwks(), NOW).is_ok());
        assert_eq!(verify(&token), Err(OidcError::WrongIssuer));
    }

    #[test]
    fn missing_required_claims_are_named() {
        for name in ["iss", "aud", "exp", "sub"] {
            let token = sign(&without(claims(), name));
            assert_eq!(verify(&token), Err(OidcError::MissingClaim(name.into())), "{name}");
        }
        let token = sign(&with(claims(), "sub", json!("")));
        assert_eq!(verify(&token), Err(OidcError::MissingClaim("sub".into())));
    }

    #[test]
    fn a_signature_by_another_key_with_the_same_kid_is_refused() {
        let token = sign_with(&FORGER, Algorithm::RS256, Some("rsa-1"), &claims());
        assert_eq!(verify(&token), Err(OidcError::BadSignature));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let token = sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&with(claims(), "sub", json!("admin"))).unwrap());
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(verify(&tampered), Err(OidcError::BadSignature));
    }

    #[test]
    fn an_unknown_kid_is_reported_for_a_refresh() {
        let token = sign_with(&RSA, Algorithm::RS256, Some("rotated-2"), &claims());
        assert_eq!(verify(&token), Err(OidcError::UnknownKeyId(Some("rotated-2".into()))));
    }

    #[test]
    fn a_key_of_another_type_than_the_algorithm_is_a_bad_signature() {
        // The Ed25519 key's `kid` on an RS256 token: the named key cannot verify it.
        let token = sign_with(&RSA, Algorithm::RS256, Some("ed-1"), &claims());
        assert_eq!(verify(&token), Err(OidcError::BadSignature));
    }

    #[test]
    fn encryption_keys_are_not_used_for_signatures() {
        let mut jwk = RSA.jwk.clone();
        jwk.common.public_key_use = Some(PublicKeyUse::Encryption);
        let set = JwkSet { keys: vec![jwk] };
        let token = sign(&claims());
        assert_eq!(
            verify_token(&token, &config(), &set, NOW),
            Err(OidcError::UnknownKeyId(Some("rsa-1".into())))
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let header = json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"});
        let token = raw_token(&header, &claims(), b"");
        assert!(token.ends_with('.'), "an unsigned token has an empty signature");
        assert_eq!(verify(&token), Err(OidcError::UnsupportedAlgorithm("none".into())));
    }

    #[test]
    fn hs256_keyed_with_the_public_key_is_refused() {
        // The classic confusion attack: HMAC with the RSA public key as the secret.
        let AlgorithmParameters::RSA(public) = &RSA.jwk.algorithm else { unreachable!() };
        let secret = public.n.as_bytes();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        let token =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(verify(&token), Err(OidcError::UnsupportedAlgorithm("HS256".into())));
    }

    #[test]
    fn unknown_algorithms_are_refused_without_echoing_them() {
        let header = json!({"alg": "X".repeat(500), "kid": "rsa-1"});
        let error = verify(&raw_token(&header, &claims(), b"sig")).unwrap_err();
        assert_eq!(error, OidcError::UnsupportedAlgorithm("(unprintable)".into()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let valid = sign(&claims());
        let header = valid.split('.').next().unwrap();
        for token in [
            "",
            "not-a-jwt",
            "a.b",
            "a.b.c.d",
            "!!!.e30.sig",
            "e30.e30.sig",
            &format!("{header}.!!!.sig"),
            &format!("{header}.e30.!!!"),
            &raw_token(&json!("just a string"), &claims(), b""),
        ] {
            assert!(matches!(verify(token), Err(OidcError::Malformed(_))), "{token:?}");
        }
        let five = format!("{valid}.x.y");
        assert!(
            matches!(verify(&five), Err(OidcError::Malformed(reason)) if reason.contains("JWE"))
        );
        let huge = format!("{header}.{}.sig", "A".repeat(MAX_TOKEN_BYTES));
        assert!(matches!(verify(&huge), Err(OidcError::Malformed(_))));
    }

    #[test]
    fn critical_header_extensions_are_refused() {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]});
        let token = raw_token(&header, &claims(), b"sig");
        assert!(matches!(verify(&token), Err(OidcError::Malformed(_))));
    }

    #[test]
    fn claim_values_come_from_a_string_an_array_or_nothing() {
        let token = sign(&with(claims(), "groups", json!("badge-admins")));
        assert_eq!(verify(&token).unwrap().claim_values, vec!["badge-admins".to_owned()]);
        let token = sign(&without(claims(), "groups"));
        assert!(verify(&token).unwrap().claim_values.is_empty());
        let roles = OidcConfig { role_claim: "roles".into(), ..config() };
        let token = sign(&with(claims(), "roles", json!(["Badge.Issuer"])));
        let verified = verify_token(&token, &roles, &jwks(), NOW).unwrap();
        assert_eq!(verified.claim_values, vec!["Badge.Issuer".to_owned()]);
        let custom = OidcConfig { role_claim: "https://example.com/roles".into(), ..config() };
        let token = sign(&with(claims(), "https://example.com/roles", json!(["a"])));
        assert_eq!(verify_token(&token, &custom, &jwks(), NOW).unwrap().claim_values, ["a"]);
    }

    #[test]
    fn a_role_claim_of_another_type_is_malformed() {
        for value in [json!(42), json!(["ok", 1]), json!({"a": "b"})] {
            let token = sign(&with(claims(), "groups", value.clone()));
            assert!(matches!(verify(&token), Err(OidcError::Malformed(_))), "{value}");
        }
    }

    #[test]
    fn an_unverified_email_is_dropped() {
        let token = sign(&with(claims(), "email_verified", json!(false)));
        assert_eq!(verify(&token).unwrap().email, None);
        let token = sign(&with(claims(), "email_verified", json!(true)));
        assert_eq!(verify(&token).unwrap().email.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn short_or_broken_keys_are_refused_without_panicking() {
        let mut short_ed = ED.jwk.clone();
        if let AlgorithmParameters::OctetKeyPair(okp) = &mut short_ed.algorithm {
            okp.x = URL_SAFE_NO_PAD.encode([1u8; 4]);
        }
        let set = JwkSet { keys: vec![short_ed] };
        let token = sign_with(&ED, Algorithm::EdDSA, Some("ed-1"), &claims());
        assert!(matches!(
            verify_token(&token, &config(), &set, NOW),
            Err(OidcError::InvalidKey(_))
        ));

        let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let small_jwk = Jwk {
            common: CommonParameters { key_id: Some("small".into()), ..Default::default() },
            algorithm: AlgorithmParameters::RSA(jsonwebtoken::jwk::RSAKeyParameters {
                key_type: Default::default(),
                n: URL_SAFE_NO_PAD.encode(small.n().to_bytes_be()),
                e: URL_SAFE_NO_PAD.encode(small.e().to_bytes_be()),
            }),
        };
        let encoding = EncodingKey::from_rsa_der(small.to_pkcs1_der().unwrap().as_bytes());
        let small_key = TestKey { encoding, jwk: small_jwk.clone() };
        let token = sign_with(&small_key, Algorithm::RS256, Some("small"), &claims());
        let set = JwkSet { keys: vec![small_jwk] };
        assert!(matches!(
            verify_token(&token, &config(), &set, NOW),
            Err(OidcError::InvalidKey(_))
        ));
    }

    #[test]
    fn error_messages_never_contain_the_token() {
        let token = sign(&with(claims(), "exp", json!(NOW - 1)));
        let message = verify(&token).unwrap_err().to_string();
        assert!(!message.contains(&token[..20]), "{message}");
        for error in [
            OidcError::Malformed("x".into()),
            OidcError::UnsupportedAlgorithm("none".into()),
            OidcError::UnknownKeyId(None),
            OidcError::BadSignature,
            OidcError::WrongIssuer,
            OidcError::WrongAudience,
            OidcError::Expired,
            OidcError::NotYetValid,
            OidcError::MissingClaim("sub".into()),
        ] {
            assert!(!error.to_string().is_empty());
            assert!(matches!(crate::Error::from(error), crate::Error::Unauthorized(_)));
        }
    }

    #[test]
    fn a_sound_configuration_validates_and_round_trips() {
        let config = config();
        config.validate().unwrap();
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<OidcConfig>(&text).unwrap(), config);
        let url = OidcConfig {
            jwks: JwksLocation::Url("https://idp.example.com/oauth2/default/v1/keys".into()),
            ..config
        };
        url.validate().unwrap();
        let value = serde_json::to_value(&url).unwrap();
        assert_eq!(value["jwks"], json!({"url": "https://idp.example.com/oauth2/default/v1/keys"}));
        // The leeway defaults when absent.
        let mut value = value;
        value.as_object_mut().unwrap().remove("leeway_seconds");
        let parsed: OidcConfig = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.leeway_seconds, DEFAULT_LEEWAY_SECONDS);
    }

    #[test]
    fn loopback_http_is_accepted_for_tests_only() {
        for url in ["http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]/jwks"] {
            let config = OidcConfig { jwks: JwksLocation::Url(url.into()), ..config() };
            assert_eq!(config.validate(), Ok(()), "{url}");
        }
        let config = OidcConfig {
            jwks: JwksLocation::Url("http://idp.example.com/jwks".into()),
            ..config()
        };
        assert!(matches!(config.validate(), Err(OidcConfigError::JwksUrl(_))));
    }

    #[test]
    fn bad_configurations_are_refused_with_the_field() {
        let cases: Vec<(OidcConfig, &str)> = vec![
            (OidcConfig { issuer: "idp.example.com".into(), ..config() }, "issuer"),
            (OidcConfig { issuer: "http://idp.example.com".into(), ..config() }, "issuer"),
            (OidcConfig { issuer: "https://idp.example.com/?x=1".into(), ..config() }, "issuer"),
            (OidcConfig { issuer: "https://idp.example.com/#x".into(), ..config() }, "issuer"),
            (OidcConfig { issuer: "https://u:p@idp.example.com".into(), ..config() }, "issuer"),
            (OidcConfig { issuer: " https://idp.example.com".into(), ..config() }, "issuer"),
            (OidcConfig { audience: String::new(), ..config() }, "audience"),
            (OidcConfig { audience: " client".into(), ..config() }, "audience"),
            (OidcConfig { jwks: JwksLocation::Url("ftp://x/keys".into()), ..config() }, "jwks"),
            (
                OidcConfig { jwks: JwksLocation::Static(JwkSet { keys: vec![] }), ..config() },
                "jwks",
            ),
            (OidcConfig { role_claim: String::new(), ..config() }, "role_claim"),
            (OidcConfig { leeway_seconds: MAX_LEEWAY_SECONDS + 1, ..config() }, "leeway_seconds"),
        ];
        for (config, field) in cases {
            let error = config.validate().unwrap_err();
            assert_eq!(error.field(), field, "{error}");
            assert!(matches!(
                crate::Error::from(error),
                crate::Error::Validation { field: f, .. } if f == field
            ));
        }
    }

    #[test]
    fn a_static_set_with_a_symmetric_key_is_refused() {
        let set: JwkSet = serde_json::from_value(json!({
            "keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]
        }))
        .unwrap();
        let config = OidcConfig { jwks: JwksLocation::Static(set), ..config() };
        assert_eq!(config.validate(), Err(OidcConfigError::SymmetricKey));
    }
}
