//! Extractors whose rejections are [`ApiError`]s, so that a bad body, query, path or API key
//! is answered with a problem document that names what is wrong, never with axum's plain-text
//! rejections.
//!
//! - [`JsonBody`]: `Content-Type: application/json` (or `…+json`), the body within the route's
//!   [`DefaultBodyLimit`](axum::extract::DefaultBodyLimit), deserialized with the failing field
//!   named; it keeps the raw bytes (idempotency hashes the body as sent);
//! - [`Query`] and [`PathParams`]: axum's, with mapped rejections;
//! - [`Authed`]: the caller behind `Authorization: Bearer <API key or OIDC token>`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use platform::App;
use platform::app::Caller;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Problem};

/// A JSON body, deserialized, with the bytes it came from.
#[derive(Debug, Clone)]
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                Problem::UnsupportedMediaType,
                "expected a JSON body with `Content-Type: application/json`",
            ));
        }
        let raw = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&raw).map_err(json_rejection)?;
        Ok(Self { value, raw })
    }
}

/// The raw body, within the route's limit (a too-large body is a 413 problem).
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(Self).map_err(body_rejection)
    }
}

/// The essence of the `Content-Type` (`text/csv` from `text/csv; charset=utf-8`), lower-cased.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// Whether the body is declared JSON: `application/json` or any `application/…+json`.
pub fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// A body that could not be read: too large (413) or cut off (400).
pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Problem::PayloadTooLarge,
            "the request body is larger than this route accepts",
        )
    } else {
        ApiError::new(Problem::MalformedBody, "the request body could not be read")
    }
}

/// A JSON body that does not parse, or does not have the expected shape.
pub fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(error) => {
            let text = error.body_text();
            let message = after_prefix(&text);
            let (field, reason) = split_path(message);
            ApiError::invalid(field, format!("invalid JSON body: {reason}"))
        }
        JsonRejection::JsonSyntaxError(error) => {
            let text = error.body_text();
            let (_, reason) = split_path(after_prefix(&text));
            ApiError::new(Problem::MalformedBody, format!("the body is not valid JSON: {reason}"))
                .with_field("body")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            Problem::UnsupportedMediaType,
            "expected a JSON body with `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(error) => body_rejection(error),
        other => ApiError::new(Problem::MalformedBody, other.body_text()),
    }
}

/// axum's messages start with a fixed sentence, then `: `, then the serde error.
fn after_prefix(text: &str) -> &str {
    const PREFIXES: [&str; 3] = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to parse the request body as JSON: ",
        "Failed to deserialize query string: ",
    ];
    PREFIXES.iter().find_map(|prefix| text.strip_prefix(prefix)).unwrap_or(text)
}

/// Splits a serde error (`recipient: missing field `email` at line 1 column 30`) into the
/// dotted path of the offending field and the reason. The path comes from
/// `serde_path_to_error` (`.` for the root); a missing or unknown field is named by the
/// message itself, below that path.
fn split_path(message: &str) -> (String, &str) {
    let (path, reason) = match message.split_once(": ") {
        Some((path, reason)) if is_path(path) => (path, reason),
        _ => (".", message),
    };
    let named = ["missing field `", "unknown field `"].iter().find_map(|start| {
        let rest = reason.strip_prefix(start)?;
        rest.split_once('`').map(|(name, _)| name)
    });
    let field = match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // An unknown field is already the last segment of the path; a missing one is not.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    };
    (field, reason)
}

fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-' | '?'))
}

/// A query string, deserialized; failures are 400 problems naming the parameter.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let (field, reason) = split_path(after_prefix(&text));
                let field = if field == "body" { "query".to_owned() } else { field };
                Err(ApiError::invalid(field, format!("invalid query string: {reason}")))
            }
        }
    }
}

/// Path parameters; a segment that does not decode is a 400 problem.
#[derive(Debug, Clone)]
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid("path", rejection.body_text())),
        }
    }
}

/// The caller authenticated by `Authorization: Bearer <API key or OIDC token>`.
#[derive(Debug, Clone)]
pub struct Authed(pub Caller);

impl FromRequestParts<App> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // Already authenticated by the audit middleware: not twice.
        if let Some(crate::audit::Authenticated(caller)) = parts.extensions.get() {
            return Ok(Self(caller.clone()));
        }
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::new(
                Problem::Unauthorized,
                "send an API key or an OpenID Connect token in the `Authorization: Bearer <token>` header",
            )
        })?;
        Ok(Self(authenticate(app, token).await?))
    }
}

/// The caller behind a bearer token, for the [`Authed`] extractor and the audit middleware
/// alike: a JWT is an OpenID Connect token ([`crate::sso`]), anything else an API key.
pub(crate) async fn authenticate(app: &App, token: &str) -> Result<Caller, ApiError> {
    if crate::sso::is_jwt(token) {
        crate::sso::authenticate(app, token).await
    } else {
        Ok(app.authenticate(token).await?)
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;
    use serde::Deserialize;
    use serde_json::Value;
    use tower::ServiceExt;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        recipient: Recipient,
        count: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Recipient {
        email: String,
    }

    fn app() -> Router {
        Router::new()
            .route("/", post(|JsonBody { value, .. }: JsonBody<Input>| async move { value.name }))
            .layer(DefaultBodyLimit::max(64))
    }

    async fn send(content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::post("/");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response =
            app().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    const JSON: Option<&str> = Some("application/json");

    #[tokio::test]
    async fn a_well_formed_body_is_accepted() {
        let (status, _) = send(JSON, r#"{"name":"a","recipient":{"email":"x"}}"#).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = send(
            Some("application/merge-patch+json; charset=utf-8"),
            r#"{"name":"a","recipient":{"email":"x"}}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn body_problems_name_the_field() {
        let (status, body) = send(JSON, r#"{"name":"a"}"#).await;
        assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("recipient")));
        let (_, body) = send(JSON, r#"{"name":"a","recipient":{}}"#).await;
        assert_eq!(body["field"], "recipient.email");
        let (_, body) = send(JSON, r#"{"name":"a","recipient":{"email":"x","evil":1}}"#).await;
        assert_eq!(body["field"], "recipient.evil");
        let (_, body) = send(JSON, r#"{"name":"a","recipient":{"email":"x"},"count":"7"}"#).await;
        assert_eq!(body["field"], "count");
        assert_eq!(body["type"], "https://badges.invalid/problems/validation");
        let (_, body) = send(JSON, r#"{"nme":"a"}"#).await;
        assert_eq!(body["field"], "nme");
    }

    #[tokio::test]
    async fn malformed_json_wrong_content_types_and_big_bodies_are_problems() {
        let (status, body) = send(JSON, "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["type"], "https://badges.invalid/problems/malformed-body");
        let (status, body) = send(JSON, "").await;
        assert_eq!((status, body["status"].as_u64()), (StatusCode::BAD_REQUEST, Some(400)));
        let (status, _) = send(None, "{}").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (status, _) = send(Some("text/plain"), "{}").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(100));
        let (status, body) = send(JSON, &big).await;
        assert_eq!((status, body["status"].as_u64()), (StatusCode::PAYLOAD_TOO_LARGE, Some(413)));
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "bearer  obk_abc ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("obk_abc"));
        headers.insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
