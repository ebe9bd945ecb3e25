//! The one error type of the crate.
//!
//! Every variant is an *expected* outcome of bad input (a malformed document, an unknown
//! context, a wrong key): callers map them to a 4xx or a one-line CLI reason. Messages never
//! contain secrets, and name the field or term at fault where there is one.

/// What went wrong while building, canonicalizing, signing, verifying, baking or encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed JSON (or not the JSON shape expected).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// The input is larger than the limit it is checked against, before any parsing.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A required field is missing or a field holds an invalid value.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField { field: String, reason: String },
    /// A JSON-LD context that is not bundled (nothing is ever fetched).
    #[error("unknown JSON-LD context `{0}` (only bundled contexts are used; nothing is fetched)")]
    UnknownContext(String),
    /// A term or type that no context defines: it would be silently dropped from the signed data.
    #[error("term `{0}` is not defined by any context")]
    UndefinedTerm(String),
    /// A relative IRI, which would be silently dropped from the signed data.
    #[error("relative IRI `{0}` cannot be converted to RDF")]
    RelativeIri(String),
    /// An IRI, blank node identifier or language tag that RDF does not allow: a JSON-LD
    /// processor would leave its statement out of the signed data without a word.
    #[error("`{0}` is not a valid IRI, blank node identifier or language tag in RDF")]
    InvalidRdfTerm(String),
    /// Any other JSON-LD processing error.
    #[error("JSON-LD: {0}")]
    JsonLd(String),
    /// A bundled context no longer matches its pinned SHA-256.
    #[error("bundled context `{0}` does not match its pinned SHA-256")]
    ContextIntegrity(String),
    /// A key that cannot be decoded or does not fit.
    #[error("key: {0}")]
    Key(String),
    /// A proof that is missing, malformed or does not verify.
    #[error("proof: {0}")]
    Proof(String),
    /// A VC-JWT that is malformed or does not verify.
    #[error("VC-JWT: {0}")]
    Jwt(String),
    /// A status list that is malformed or too small.
    #[error("status list: {0}")]
    StatusList(String),
    /// A DID or DID document that is malformed or does not hold the key.
    #[error("DID: {0}")]
    Did(String),
    /// An image that cannot be baked or unbaked (corrupted PNG/SVG, no credential inside).
    #[error("baking: {0}")]
    Bake(String),
    /// A QR code that cannot be made (for example, data too long).
    #[error("QR code: {0}")]
    Qr(String),
}

impl Error {
    pub(crate) fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), reason: reason.into() }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
