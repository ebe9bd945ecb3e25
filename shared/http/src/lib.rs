//! The HTTP layer: the axum routers that the Lambdas (through `lambda_http`) and the local
//! server (through `axum::serve`) both mount, over a [`platform::App`] as router state.
//!
//! - [`management_router`]: workspaces, templates, webhooks, bulk issuance, drafts and their
//!   approval, API keys, users and sign-in (an API key or a user's session);
//! - [`issuance_router`]: issue, list, read, revoke, suspend, unsuspend (API key);
//! - [`public_router`]: the verification page and its downloads, DID documents, status
//!   lists, `POST /verify`, `/healthz`, the stylesheet;
//! - [`router`]: all three (what the local server serves);
//! - [`ReqwestTransport`]: the outbound webhook transport, with SSRF protection.
//!
//! Handlers are thin: parse, call one use case, shape the answer. Every failure, including
//! axum's own rejections, unknown routes and wrong methods, becomes an
//! `application/problem+json` response in one place ([`error::ApiError`]). This crate knows
//! nothing of the adapters behind the `App`.

mod audit;
pub mod badge;
pub mod drafts;
pub mod error;
pub mod extract;
mod issuance;
pub mod jwks;
mod management;
pub mod page;
mod public;
pub mod ratelimit;
mod recipients;
pub mod sso;
pub mod transport;
mod users;
pub mod views;

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use platform::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use audit::ClientAddress;
pub use error::{ApiError, Problem};
pub use transport::ReqwestTransport;

/// The largest JSON body of an ordinary route.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// The largest bulk issuance body (CSV or JSON rows).
pub const BULK_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The largest body of `POST /verify` (a baked image at most).
pub const VERIFY_BODY_LIMIT: usize = credentials::verify::MAX_IMAGE_BYTES;

/// The Content-Security-Policy of every response: nothing runs, nothing is framed, only our
/// stylesheet and images load. It matters for the HTML page and for SVG opened directly.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' https: data:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The management routes (API key): workspaces, templates, webhooks, bulk issuance, drafts.
pub fn management_router(app: App) -> Router {
    let routes = management::routes()
        .merge(audit::routes())
        .merge(recipients::routes())
        .merge(users::routes())
        .merge(drafts::routes());
    finish(audited(routes, &app), app)
}

/// The issuance routes (API key): credentials and their status.
pub fn issuance_router(app: App) -> Router {
    finish(audited(issuance::routes(), &app), app)
}

/// The public routes: verification page, downloads, DID documents, status lists, verify,
/// health, stylesheet.
pub fn public_router(app: App) -> Router {
    finish(limited_public(public::routes(), &app), app)
}

/// Every route: what the local server serves.
pub fn router(app: App) -> Router {
    let authenticated = management::routes()
        .merge(audit::routes())
        .merge(recipients::routes())
        .merge(users::routes())
        .merge(issuance::routes())
        .merge(drafts::routes());
    finish(audited(authenticated, &app).merge(limited_public(public::routes(), &app)), app)
}

/// The authenticated routes with the audit middleware (see [`audit`]) and, before it, the
/// rate limit per API key.
fn audited(routes: Router<App>, app: &App) -> Router<App> {
    let limiter = ratelimit::RateLimiter::new(
        ratelimit::Policy::ApiKey,
        app.settings().rate_limits.api_key_per_minute,
    );
    routes
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), audit::record))
        .route_layer(axum::middleware::from_fn_with_state(limiter, ratelimit::limit))
}

/// The public routes with the rate limit per client address.
fn limited_public(routes: Router<App>, app: &App) -> Router<App> {
    let limiter = ratelimit::RateLimiter::new(
        ratelimit::Policy::Public,
        app.settings().rate_limits.public_per_minute,
    );
    routes.route_layer(axum::middleware::from_fn_with_state(limiter, ratelimit::limit))
}

/// Adds what every router has: problem+json fallbacks for unknown routes and wrong methods,
/// the default body limit, security headers, a panic guard, and the state.
fn finish(routes: Router<App>, app: App) -> Router {
    with_common_layers(routes).with_state(app)
}

fn with_common_layers<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(not_found)
        // After every route, since it applies to the routes present when it is called.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(Problem::NotFound, format!("no route for `{}`", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    // axum adds the `Allow` header to 405 responses of a route's method router.
    ApiError::new(
        Problem::MethodNotAllowed,
        format!("`{method}` is not allowed on `{}`", uri.path()),
    )
}

/// A handler panicked: a bug. Logged; the client gets a generic 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::unexpected(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

/// A `Location` header value for a path we built from validated parts.
pub(crate) fn location(path: &str) -> HeaderValue {
    HeaderValue::from_str(path).unwrap_or_else(|_| HeaderValue::from_static("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde_json::Value;
    use tower::ServiceExt;

    #[test]
    fn every_route_string_is_valid() {
        // Building the routers panics on bad path syntax (`:param`) or overlapping routes.
        let all = management::routes()
            .merge(audit::routes())
            .merge(issuance::routes())
            .merge(users::routes())
            .merge(drafts::routes())
            .merge(public::routes());
        let _ = with_common_layers(all);
        let _ = with_common_layers(management::routes().merge(audit::routes()));
        let _ = with_common_layers(issuance::routes());
        let _ = with_common_layers(public::routes());
    }

    async fn call(
        router: Router,
        method: Method,
        path: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn boom() -> &'static str {
        panic!("secret detail")
    }

    fn sample() -> Router {
        with_common_layers(
            Router::new().route("/thing", get(|| async { "ok" })).route("/boom", get(boom)),
        )
    }

    #[tokio::test]
    async fn unknown_routes_are_404_problems() {
        let (status, headers, body) = call(sample(), Method::GET, "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["type"], "https://badges.invalid/problems/not-found");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
    }

    #[tokio::test]
    async fn wrong_methods_are_405_problems_with_allow() {
        let (status, headers, body) = call(sample(), Method::DELETE, "/thing").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["status"], 405);
        assert!(headers[header::ALLOW].to_str().unwrap().contains("GET"));
    }

    #[tokio::test]
    async fn a_panic_is_a_generic_500() {
        let (status, _, body) = call(sample(), Method::GET, "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret"));
    }
}
