//! The one place where failures become HTTP responses: RFC 9457 problem details
//! (`application/problem+json`).
//!
//! Every error a handler, an extractor or a fallback can produce is an [`ApiError`]; it
//! carries a stable problem `type` URI (clients branch on it), a fixed `title` per type, a
//! `detail` for this occurrence, and for validation errors a `field` member naming what is
//! wrong. Unexpected errors are logged with their whole source chain here and answered with a
//! generic 500 whose body says nothing about the internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Where the problem type URIs live. They are identifiers, not links: `.invalid` never
/// resolves, so nobody builds on fetching them.
pub const PROBLEM_BASE: &str = "https://badges.invalid/problems/";

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem this API reports; each has one `type` URI, one title and one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A field or parameter that does not parse or breaks a rule (400).
    Validation,
    /// A body that is not well-formed (not JSON, not CSV) (400).
    MalformedBody,
    /// No credentials, or invalid ones (401).
    Unauthorized,
    /// Known credentials, without the permission the route needs (403).
    Forbidden,
    /// A session that owes the second factor its organization requires: it may only enrol
    /// one (403).
    SecondFactorRequired,
    /// No such resource, or not the caller's (404).
    NotFound,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// The request conflicts with the current state (409).
    Conflict,
    /// Too many requests for the caller's rate limit (429).
    RateLimited,
    /// The body is larger than the route accepts (413).
    PayloadTooLarge,
    /// The body's `Content-Type` is not one the route accepts (415).
    UnsupportedMediaType,
    /// Something failed on our side; details are in the logs (500).
    Internal,
    /// A dependency (the store) does not answer (503).
    Unavailable,
}

impl Problem {
    /// The last segment of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::MalformedBody => "malformed-body",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::SecondFactorRequired => "second-factor-required",
            Self::RateLimited => "rate-limited",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation | Self::MalformedBody => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::SecondFactorRequired => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The short, fixed summary (RFC 9457 §3.1.4: the same for every occurrence).
    pub fn title(self) -> &'static str {
        match self {
            Self::Validation => "Invalid request",
            Self::MalformedBody => "Malformed request body",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::SecondFactorRequired => "Second factor required",
            Self::RateLimited => "Too many requests",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Internal => "Internal server error",
            Self::Unavailable => "Service unavailable",
        }
    }

    /// The full `type` URI.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    problem: Problem,
    detail: String,
    field: Option<String>,
    /// The cause of a 5xx, for the logs only.
    source: Option<anyhow::Error>,
}

impl ApiError {
    /// A problem of kind `problem` with `detail`.
    pub fn new(problem: Problem, detail: impl Into<String>) -> Self {
        Self { problem, detail: detail.into(), field: None, source: None }
    }

    /// A validation problem on `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(Problem::Validation, detail) }
    }

    /// A 500 caused by `source`, which is logged and never shown.
    pub fn unexpected(source: anyhow::Error) -> Self {
        Self {
            source: Some(source),
            ..Self::new(Problem::Internal, "An unexpected error occurred. It has been logged.")
        }
    }

    /// Names the field the problem is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The kind of problem.
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.problem.status()
    }

    /// The problem details object.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": self.problem.type_uri(),
            "title": self.problem.title(),
            "status": self.problem.status().as_u16(),
            "detail": self.detail,
        });
        if let Some(field) = &self.field {
            body["field"] = Value::String(field.clone());
        }
        body
    }
}

impl From<platform::Error> for ApiError {
    fn from(error: platform::Error) -> Self {
        use platform::Error;
        match error {
            Error::Validation { field, reason } => {
                let detail = format!("invalid `{field}`: {reason}");
                Self::invalid(field, detail)
            }
            Error::NotFound(what) => Self::new(Problem::NotFound, format!("{what} not found")),
            Error::Conflict(detail) => Self::new(Problem::Conflict, detail),
            Error::Unauthorized(detail) => Self::new(Problem::Unauthorized, detail),
            Error::Forbidden(detail) => Self::new(Problem::Forbidden, detail),
            error @ Error::SecondFactorRequired(_) => {
                Self::new(Problem::SecondFactorRequired, error.to_string())
            }
            Error::TooManyAttempts(detail) => Self::new(Problem::RateLimited, detail),
            Error::TooLarge(limit) => Self::new(
                Problem::PayloadTooLarge,
                format!("the request body exceeds {limit} bytes"),
            ),
            Error::Unexpected(source) => Self::unexpected(source),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(error = %format!("{source:#}"), "request failed unexpectedly");
        }
        // Serializing a `Value` cannot fail; the fallback only keeps this free of panics.
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.problem == Problem::Unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status().is_server_error() {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

/// The handlers' result type.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: impl Into<ApiError>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = error.into().into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_platform_error_maps_to_its_status_and_a_problem_document() {
        let cases: Vec<(platform::Error, u16, &str)> = vec![
            (platform::Error::invalid("recipient.email", "is not valid"), 400, "validation"),
            (platform::Error::NotFound("credential"), 404, "not-found"),
            (platform::Error::Conflict("already revoked".into()), 409, "conflict"),
            (platform::Error::Unauthorized("invalid API key".into()), 401, "unauthorized"),
            (platform::Error::TooLarge(16), 413, "payload-too-large"),
            (platform::Error::TooManyAttempts("locked".into()), 429, "rate-limited"),
            (platform::Error::Unexpected(anyhow::anyhow!("db down")), 500, "internal"),
        ];
        for (error, status, slug) in cases {
            let (got, headers, body) = answer(error).await;
            assert_eq!(got.as_u16(), status);
            assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
            assert_eq!(body["status"], status);
            assert_eq!(body["type"], format!("{PROBLEM_BASE}{slug}"));
            assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        }
    }

    #[tokio::test]
    async fn validation_problems_name_the_field() {
        let (_, _, body) = answer(platform::Error::invalid("recipient.email", "is bad")).await;
        assert_eq!(body["field"], "recipient.email");
        assert_eq!(body["detail"], "invalid `recipient.email`: is bad");
        let (_, _, body) = answer(platform::Error::NotFound("workspace")).await;
        assert!(body.get("field").is_none());
        assert_eq!(body["detail"], "workspace not found");
    }

    #[tokio::test]
    async fn unauthorized_asks_for_a_bearer_token() {
        let (_, headers, _) = answer(platform::Error::Unauthorized("invalid API key".into())).await;
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn a_500_hides_what_went_wrong() {
        let source = anyhow::anyhow!("password=hunter2 at /var/lib/badges/db.sqlite")
            .context("loading the credential");
        let (status, _, body) = answer(platform::Error::Unexpected(source)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = body.to_string();
        assert!(!text.contains("hunter2") && !text.contains("sqlite") && !text.contains("loading"));
        assert_eq!(body["detail"], "An unexpected error occurred. It has been logged.");
    }
}
