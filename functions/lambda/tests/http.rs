//! API Gateway HTTP API (payload format 2.0) events through `lambda_http`'s conversion into
//! the same routers the local server mounts: paths, methods, base64 bodies and problem+json
//! answers survive the trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use common::{Bed, fixture, json_of};
use tower::ServiceExt as _;

async fn call(router: axum::Router, event: &str) -> (StatusCode, Response<()>, serde_json::Value) {
    let request = lambda_http::request::from_str(&fixture(event)).unwrap();
    let response: Response<Body> = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts.status, Response::from_parts(parts, ()), json_of(&bytes))
}

#[tokio::test]
async fn a_health_probe_through_api_gateway_reaches_the_public_router() {
    let bed = Bed::new().await;
    let (status, response, body) =
        call(platform_http::public_router(bed.app.clone()), "apigw-v2-healthz.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn an_unknown_path_on_the_default_route_is_a_problem_not_a_crash() {
    let bed = Bed::new().await;
    let (status, response, body) =
        call(platform_http::public_router(bed.app.clone()), "apigw-v2-unknown-route.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["status"], 404);
    assert!(body["detail"].as_str().unwrap().contains("/wp-admin/setup.php"), "{body}");
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn an_issuance_request_without_a_key_is_refused_by_the_issuance_router() {
    // The event's body is base64 (`{}`) as API Gateway sends binary-safe bodies.
    let bed = Bed::new().await;
    let (status, response, body) =
        call(platform_http::issuance_router(bed.app.clone()), "apigw-v2-issue-without-key.json")
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["status"], 401);
    assert!(bed.credentials().await.is_empty());
}
