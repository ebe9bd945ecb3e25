//! Errors of the use cases: expected outcomes, each with a meaning a client can act on, and
//! [`Error::Unexpected`] for everything else (a store that is down), whose details are logged
//! and never shown.

/// What a use case can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse or breaks a rule; names the field.
    #[error("invalid `{field}`: {reason}")]
    Validation { field: String, reason: String },
    /// No such thing, or not visible to the caller (the two are not told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (a taken slug, a reused idempotency key
    /// with another body, a transition from the wrong status).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials were presented.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but its grants do not allow this here; names the permission.
    #[error("{0}")]
    Forbidden(String),
    /// A signed-in user whose organization requires a second factor has not given one: the
    /// session may only enrol one. Carries the caller, for the audit log.
    #[error(
        "your organization requires two-factor authentication: enrol a TOTP authenticator (POST /v1/me/totp, then /v1/me/totp/confirm)"
    )]
    SecondFactorRequired(Box<crate::auth::Principal>),
    /// Too many failed attempts: refused until the time given.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The body was too large.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// Anything else; the source chain is for logs only.
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl Error {
    /// The caller lacks `permission`.
    pub fn forbidden(permission: crate::auth::Permission) -> Self {
        Self::Forbidden(format!(
            "your role does not allow this here (it needs the `{}` permission)",
            permission.as_str()
        ))
    }

    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), reason: reason.into() }
    }
}

impl From<credentials::Error> for Error {
    fn from(error: credentials::Error) -> Self {
        match error {
            credentials::Error::InvalidField { field, reason } => {
                Self::Validation { field, reason }
            }
            other => Self::Validation { field: "credential".into(), reason: other.to_string() },
        }
    }
}

/// The use cases' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
