//! Verification: one entry point that takes what a verifier is handed (credential JSON, a
//! VC-JWT, or a baked PNG/SVG) and returns a [`Report`] of named checks and one [`Verdict`].
//!
//! The checks run in order: `size` (before anything is parsed), `parse`, `structure`,
//! `issuer-key` (the signing key is an `assertionMethod` of the issuer's DID document),
//! `proof`, `dates` (against the instant the caller gives) and `status` (every
//! `BitstringStatusListEntry`, whose list must be signed by the same issuer). Anything the
//! outside world holds comes through the caller's [`Resolver`]. The verdict is never
//! [`Verdict::Valid`] when a status list cannot be resolved or checked.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::did::{DidDocument, KeyMaterial};
use crate::jwt::{self, KeySource, issuer_id};
use crate::keys::PublicKey;
use crate::status::{EntryRef, StatusPurpose};
use crate::{Error, bake, di, model};

/// Largest credential (JSON or JWT text) accepted, checked before parsing.
pub const MAX_CREDENTIAL_BYTES: usize = 512 * 1024;
/// Largest baked image accepted, checked before decoding.
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;

/// What the verifier needs from the outside world. Implementations fetch, cache or look up
/// locally; errors are one-line reasons.
pub trait Resolver {
    /// The DID document of a DID other than `did:key` (which is resolved locally).
    fn did_document(&self, did: &str) -> Result<Value, String>;
    /// The status list credential published at `url`.
    fn status_list(&self, url: &str) -> Result<Value, String>;
}

/// A resolver that knows nothing: every DID and status list is unresolvable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn did_document(&self, did: &str) -> Result<Value, String> {
        Err(format!("no resolver for `{did}`"))
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        Err(format!("no resolver for `{url}`"))
    }
}

/// Verification settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The instant dates are checked against.
    pub now: DateTime<Utc>,
    /// Limit for credential text.
    pub max_credential_bytes: usize,
    /// Limit for baked images.
    pub max_image_bytes: usize,
}

impl Options {
    /// Default limits, checked at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now, max_credential_bytes: MAX_CREDENTIAL_BYTES, max_image_bytes: MAX_IMAGE_BYTES }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "kebab-case")]
pub enum Verdict {
    /// Genuine, in its validity period, and not revoked or suspended.
    Valid,
    /// Genuine, but past `validUntil`.
    Expired,
    /// Genuine, but before `validFrom`.
    NotYetValid,
    /// Genuine, and revoked by its issuer.
    Revoked,
    /// Genuine, and suspended by its issuer.
    Suspended,
    /// Not a genuine, well-formed credential.
    Invalid(String),
    /// Genuine, but its status could not be established.
    StatusUnknown(String),
}

impl Verdict {
    /// The kebab-case name (`valid`, `not-yet-valid`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::Invalid(_) => "invalid",
            Self::StatusUnknown(_) => "status-unknown",
        }
    }
}

/// What was handed to the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Json,
    Jwt,
    Png,
    Svg,
}

/// The proof format found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    DataIntegrity,
    VcJwt,
}

/// Everything the verifier found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<String>,
    pub checks: Vec<Check>,
    /// The credential as found (the JWT payload for a VC-JWT).
    #[serde(skip)]
    pub credential: Option<Value>,
}

impl Report {
    fn new() -> Self {
        Self {
            verdict: Verdict::Invalid("not verified".into()),
            source: None,
            format: None,
            credential_id: None,
            issuer: None,
            verification_method: None,
            checks: Vec::new(),
            credential: None,
        }
    }

    /// Whether the verdict is [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    /// One readable line: the verdict, its reason, and what was verified. Reasons and ids
    /// can quote the input, so control characters are escaped (`\n`, `\u{1b}`): the line
    /// stays one line and cannot drive a terminal.
    pub fn summary(&self) -> String {
        let mut line = self.verdict.name().to_owned();
        if let Verdict::Invalid(reason) | Verdict::StatusUnknown(reason) = &self.verdict {
            line.push_str(": ");
            push_escaped(&mut line, reason);
        }
        if let Some(id) = &self.credential_id {
            line.push_str(" (");
            push_escaped(&mut line, id);
            if let Some(issuer) = &self.issuer {
                line.push_str(", issued by ");
                push_escaped(&mut line, issuer);
            }
            line.push(')');
        }
        line
    }

    /// The outcome of the check `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    fn pass(&mut self, name: &'static str, detail: Option<String>) {
        self.checks.push(Check { name, outcome: Outcome::Passed, detail });
    }

    /// Records a failed check and makes the verdict invalid.
    fn fail(mut self, name: &'static str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.checks.push(Check { name, outcome: Outcome::Failed, detail: Some(reason.clone()) });
        self.verdict = Verdict::Invalid(format!("{name}: {reason}"));
        self
    }
}

/// Appends `text` with its control characters escaped as Rust escapes them.
fn push_escaped(line: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
}

/// Verifies whatever was handed over: credential JSON, a VC-JWT, or a baked PNG or SVG.
pub fn verify_bytes(input: &[u8], resolver: &dyn Resolver, options: &Options) -> Report {
    let mut report = Report::new();
    let kind = bake::sniff(input);
    let limit = if kind.is_some() { options.max_image_bytes } else { options.max_credential_bytes };
    if input.len() > limit {
        return report.fail("size", Error::TooLarge { size: input.len(), limit }.to_string());
    }
    let text = match kind {
        Some(bake::ImageKind::Png) => {
            report.source = Some(Source::Png);
            match bake::unbake_png(input) {
                Ok(text) => text,
                Err(e) => return report.fail("parse", e.to_string()),
            }
        }
        Some(bake::ImageKind::Svg) => {
            report.source = Some(Source::Svg);
            let unbaked =
                std::str::from_utf8(input).map_err(|_| Error::Bake("SVG is not UTF-8".into()));
            match unbaked.and_then(bake::unbake_svg) {
                Ok(text) => text,
                Err(e) => return report.fail("parse", e.to_string()),
            }
        }
        None => match std::str::from_utf8(input) {
            Ok(text) => text.to_owned(),
            Err(_) => {
                return report.fail("parse", "input is neither a PNG, an SVG, nor UTF-8 text");
            }
        },
    };
    if text.len() > options.max_credential_bytes {
        let error = Error::TooLarge { size: text.len(), limit: options.max_credential_bytes };
        return report.fail("size", error.to_string());
    }
    report.pass("size", None);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('{') {
        report.source.get_or_insert(Source::Json);
        match serde_json::from_str::<Value>(trimmed) {
            Ok(value) => {
                report.pass("parse", None);
                verify_data_integrity(report, value, resolver, options)
            }
            Err(e) => report.fail("parse", Error::Json(e.to_string()).to_string()),
        }
    } else if jwt::looks_like_jwt(trimmed) {
        report.source.get_or_insert(Source::Jwt);
        verify_jwt_report(report, trimmed, resolver, options)
    } else {
        report.fail("parse", "input is not credential JSON, a VC-JWT, or a baked PNG/SVG")
    }
}

/// Verifies a credential with an embedded Data Integrity proof.
pub fn verify_credential(credential: &Value, resolver: &dyn Resolver, options: &Options) -> Report {
    let mut report = Report::new();
    report.source = Some(Source::Json);
    let size = serde_json::to_vec(credential).map(|bytes| bytes.len()).unwrap_or(usize::MAX);
    if size > options.max_credential_bytes {
        return report.fail(
            "size",
            Error::TooLarge { size, limit: options.max_credential_bytes }.to_string(),
        );
    }
    report.pass("size", None);
    report.pass("parse", None);
    verify_data_integrity(report, credential.clone(), resolver, options)
}

/// Verifies a VC-JWT.
pub fn verify_jwt(token: &str, resolver: &dyn Resolver, options: &Options) -> Report {
    verify_bytes(token.as_bytes(), resolver, options)
}

fn describe(report: &mut Report, credential: &Value) {
    report.credential_id = credential.get("id").and_then(Value::as_str).map(str::to_owned);
    report.issuer = issuer_id(credential).map(str::to_owned);
}

fn verify_data_integrity(
    report: Report,
    credential: Value,
    resolver: &dyn Resolver,
    options: &Options,
) -> Report {
    // The report keeps the credential; it is moved in once the checks are done with it.
    let mut report = check_data_integrity(report, &credential, resolver, options);
    report.credential = Some(credential);
    report
}

fn check_data_integrity(
    mut report: Report,
    credential: &Value,
    resolver: &dyn Resolver,
    options: &Options,
) -> Report {
    report.format = Some(Format::DataIntegrity);
    describe(&mut report, credential);
    if let Err(e) = model::check_credential_json(credential) {
        return report.fail("structure", e.to_string());
    }
    report.pass("structure", None);
    let Some(issuer) = report.issuer.clone() else {
        return report.fail("structure", "no issuer id");
    };
    let mut key_error = None;
    let mut method = None;
    let proof = di::verify(credential, |vm| {
        method = Some(vm.to_owned());
        issuer_key(&issuer, vm, resolver).inspect_err(|e| key_error = Some(e.to_string()))
    });
    report.verification_method = method;
    match proof {
        Err(e) => {
            if let Some(reason) = key_error {
                return report.fail("issuer-key", reason);
            }
            if report.verification_method.is_some() {
                report.pass("issuer-key", report.verification_method.clone());
            }
            report.fail("proof", e.to_string())
        }
        Ok(proofs) => {
            report.pass("issuer-key", report.verification_method.clone());
            report.pass("proof", Some(format!("{} {} proof(s)", proofs.len(), di::CRYPTOSUITE)));
            finish(report, credential, resolver, options)
        }
    }
}

fn verify_jwt_report(
    mut report: Report,
    token: &str,
    resolver: &dyn Resolver,
    options: &Options,
) -> Report {
    report.format = Some(Format::VcJwt);
    let decoded = match jwt::decode(token) {
        Ok(decoded) => decoded,
        Err(e) => return report.fail("parse", e.to_string()),
    };
    report.pass("parse", None);
    describe(&mut report, &decoded.credential);
    report.credential = Some(decoded.credential.clone());
    if let Err(e) = model::check_credential_json(&decoded.credential) {
        return report.fail("structure", e.to_string());
    }
    if let Err(e) = jwt::check_claims(&decoded) {
        return report.fail("structure", e.to_string());
    }
    report.pass("structure", None);
    let issuer = report.issuer.clone().unwrap_or_default();
    let key = match &decoded.key_source {
        KeySource::Kid(kid) => {
            report.verification_method = Some(kid.clone());
            resolve_method(&issuer, kid, resolver)
        }
        KeySource::Jwk(jwk) => jwt::key_from_jwk(jwk).and_then(|key| bound_to_issuer(&issuer, key)),
    };
    let key = match key {
        Ok(key) => key,
        Err(e) => return report.fail("issuer-key", e.to_string()),
    };
    report.pass("issuer-key", report.verification_method.clone());
    if let Err(e) = jwt::verify_signature(token, &decoded.algorithm, &key) {
        return report.fail("proof", e.to_string());
    }
    report.pass("proof", Some(format!("VC-JWT {}", decoded.algorithm)));
    finish(report, &decoded.credential, resolver, options)
}

/// An embedded JWK is self-asserted: it only speaks for an issuer that is that very key.
fn bound_to_issuer(issuer: &str, key: KeyMaterial) -> crate::Result<KeyMaterial> {
    if let KeyMaterial::Ed25519(public) = &key
        && issuer == crate::did::did_key(public)
    {
        return Ok(key);
    }
    Err(Error::Did(format!("the header's embedded JWK is not bound to the issuer `{issuer}`")))
}

/// The Ed25519 key of verification method `vm`, which must belong to `issuer`.
fn issuer_key(issuer: &str, vm: &str, resolver: &dyn Resolver) -> crate::Result<PublicKey> {
    match resolve_method(issuer, vm, resolver)? {
        KeyMaterial::Ed25519(key) => Ok(key),
        KeyMaterial::Rsa { .. } => Err(Error::Did(format!("`{vm}` is not an Ed25519 key"))),
    }
}

/// The key of verification method `vm` from the issuer's DID document, if it is one of the
/// issuer's assertion methods.
fn resolve_method(issuer: &str, vm: &str, resolver: &dyn Resolver) -> crate::Result<KeyMaterial> {
    let did = vm.split('#').next().unwrap_or_default();
    if did != issuer {
        return Err(Error::Did(format!(
            "verification method `{vm}` does not belong to the issuer `{issuer}`"
        )));
    }
    let document = if did.starts_with("did:key:") {
        DidDocument::from_did_key(did)?
    } else {
        let json = resolver
            .did_document(did)
            .map_err(|reason| Error::Did(format!("cannot resolve `{did}`: {reason}")))?;
        DidDocument::from_json(&json)?
    };
    if document.id != did {
        return Err(Error::Did(format!("the DID document of `{did}` names `{}`", document.id)));
    }
    document.assertion_key(vm).cloned()
}

/// Dates, then status; sets the verdict of a credential whose proof verified.
fn finish(
    mut report: Report,
    credential: &Value,
    resolver: &dyn Resolver,
    options: &Options,
) -> Report {
    let date = |field: &str| {
        credential
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|d| d.to_utc())
    };
    let valid_from = date("validFrom").or_else(|| date("issuanceDate"));
    let valid_until = date("validUntil").or_else(|| date("expirationDate"));
    let mut date_verdict = None;
    if valid_from.is_some_and(|from| from > options.now) {
        date_verdict = Some(Verdict::NotYetValid);
        report.checks.push(Check {
            name: "dates",
            outcome: Outcome::Failed,
            detail: Some("not yet valid".into()),
        });
    } else if valid_until.is_some_and(|until| until <= options.now) {
        date_verdict = Some(Verdict::Expired);
        report.checks.push(Check {
            name: "dates",
            outcome: Outcome::Failed,
            detail: Some("expired".into()),
        });
    } else {
        report.pass("dates", None);
    }

    let (status_verdict, status_check) =
        check_status(credential, report.issuer.as_deref().unwrap_or_default(), resolver);
    report.checks.push(status_check);
    report.verdict = match (status_verdict, date_verdict) {
        (Some(revoked @ (Verdict::Revoked | Verdict::Suspended)), _) => revoked,
        (_, Some(dated)) => dated,
        (Some(other), None) => other,
        (None, None) => Verdict::Valid,
    };
    report
}

fn check_status(
    credential: &Value,
    issuer: &str,
    resolver: &dyn Resolver,
) -> (Option<Verdict>, Check) {
    let entries: Vec<&Value> = match credential.get("credentialStatus") {
        None => {
            let check = Check {
                name: "status",
                outcome: Outcome::Skipped,
                detail: Some("no credentialStatus".into()),
            };
            return (None, check);
        }
        Some(Value::Array(entries)) => entries.iter().collect(),
        Some(entry) => vec![entry],
    };
    let unknown = |reason: String| {
        (
            Some(Verdict::StatusUnknown(reason.clone())),
            Check { name: "status", outcome: Outcome::Failed, detail: Some(reason) },
        )
    };
    let mut found = None;
    for entry in entries {
        let parsed = match EntryRef::parse(entry) {
            Ok(parsed) => parsed,
            Err(e) => return unknown(e.to_string()),
        };
        let list = match resolver.status_list(&parsed.list_url) {
            Ok(list) => list,
            Err(reason) => {
                return unknown(format!(
                    "cannot resolve status list `{}`: {reason}",
                    parsed.list_url
                ));
            }
        };
        if issuer_id(&list) != Some(issuer) {
            return unknown(format!(
                "status list `{}` is not issued by the credential's issuer",
                parsed.list_url
            ));
        }
        if let Err(e) = di::verify(&list, |vm| issuer_key(issuer, vm, resolver)) {
            return unknown(format!("status list `{}` does not verify: {e}", parsed.list_url));
        }
        match parsed.is_set_in(&list) {
            Ok(true) => {
                let verdict = match parsed.purpose {
                    StatusPurpose::Revocation => Verdict::Revoked,
                    StatusPurpose::Suspension => Verdict::Suspended,
                };
                // Revocation wins over suspension.
                if found != Some(Verdict::Revoked) {
                    found = Some(verdict);
                }
            }
            Ok(false) => {}
            Err(e) => return unknown(e.to_string()),
        }
    }
    let detail = found.as_ref().map_or("active", Verdict::name).to_owned();
    let outcome = if found.is_some() { Outcome::Failed } else { Outcome::Passed };
    (found, Check { name: "status", outcome, detail: Some(detail) })
}
