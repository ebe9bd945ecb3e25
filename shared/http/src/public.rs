//! The public routes (no API key): the verification page and its images and downloads, the
//! issuers' DID documents, the status lists, `POST /verify`, `/healthz` and the stylesheet.
//!
//! Downloads serve the stored, signed credential byte for byte; badge images have it baked in
//! as stored. Nothing here signs anything.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform::App;
use platform::app::PublicCredential;
use serde_json::{Value, json};

use crate::VERIFY_BODY_LIMIT;
use crate::badge::badge_svg;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{PathParams, RawBody};
use crate::page::{base_path, render_credential, render_message};

/// The public routes, without state, fallbacks or middleware.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/credentials/{id}", get(page))
        .route("/credentials/{id}/credential.json", get(download_credential))
        .route("/credentials/{id}/badge.png", get(badge_png))
        .route("/credentials/{id}/badge.svg", get(badge_svg_route))
        .route("/credentials/{id}/qr.svg", get(qr_svg))
        .route("/verify", post(verify).layer(DefaultBodyLimit::max(VERIFY_BODY_LIMIT)))
        .route("/ws/{slug}/did.json", get(did_document))
        .route("/status/{list}", get(status_list))
        .route("/healthz", get(healthz))
        .route("/assets/site.css", get(stylesheet))
}

/// Pixels per module of the PNG badge's QR code: big enough to print and scan.
const QR_MODULE_PX: u32 = 8;

/// How long caches may keep what changes rarely (DID documents, status lists, images).
const CACHE_SHORT: &str = "public, max-age=300";

const STYLESHEET: &str = include_str!("../assets/site.css");

async fn page(State(app): State<App>, PathParams(id): PathParams<String>) -> Response {
    let base = base_path(&app);
    let rendered = match app.verification(&id).await {
        Ok(verification) => {
            let url = app.verification_url(verification.credential.record.id);
            render_credential(&base, url, &verification).map(|html| (StatusCode::OK, html))
        }
        Err(platform::Error::NotFound(_)) => render_message(
            &base,
            "not-found",
            "Credential not found",
            "There is no credential at this address. Check the link, or ask the person who shared it.",
        )
        .map(|html| (StatusCode::NOT_FOUND, html)),
        Err(error) => {
            // Logged (and hidden) the same way as any API error.
            let status = ApiError::from(error).into_response().status();
            render_message(
                &base,
                "error",
                "Something went wrong",
                "The credential could not be checked right now. Please try again later.",
            )
            .map(|html| (status, html))
        }
    };
    match rendered {
        Ok((status, html)) => html_response(status, html),
        Err(error) => ApiError::unexpected(anyhow::Error::from(error).context("rendering a page"))
            .into_response(),
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        // The verdict can change at any time (a revocation): always revalidate.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (status, headers, html).into_response()
}

/// `Content-Disposition: attachment; filename="…"` for a download of credential `id`.
fn attachment(name: &str) -> HeaderValue {
    // The name is built from a UUID and a fixed suffix: always a valid header value.
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

async fn download_credential(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let credential = app.public_credential(&id).await?;
    let record = credential.record;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/ld+json")),
        (header::CONTENT_DISPOSITION, attachment(&format!("credential-{}.json", record.id))),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
    ];
    Ok((headers, record.document).into_response())
}

/// The names on the badge: from the signed document, else the template and workspace.
fn badge_names(credential: &PublicCredential) -> (String, String) {
    let document: Value = serde_json::from_str(&credential.record.document).unwrap_or(Value::Null);
    let subject = match document.get("credentialSubject") {
        Some(Value::Array(items)) => items.first().cloned().unwrap_or(Value::Null),
        Some(subject) => subject.clone(),
        None => Value::Null,
    };
    let name = subject
        .pointer("/achievement/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| credential.template.as_ref().map(|t| t.name.clone()))
        .unwrap_or_else(|| "Credential".into());
    let issuer = document
        .pointer("/issuer/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| credential.workspace.issuer.name.clone());
    (name, issuer)
}

/// A failure of the credential core on data we stored and generated ourselves is ours, not
/// the client's: a 500, not the validation error it would otherwise map to.
fn internal(what: &'static str) -> impl FnOnce(credentials::Error) -> ApiError {
    move |error| ApiError::unexpected(anyhow::Error::from(error).context(what))
}

async fn badge_svg_route(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let credential = app.public_credential(&id).await?;
    let (name, issuer) = badge_names(&credential);
    let svg = badge_svg(&name, &issuer);
    let baked = credentials::bake::bake_svg(&svg, &credential.record.document)
        .map_err(internal("baking the SVG badge"))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
        (header::CONTENT_DISPOSITION, attachment(&format!("badge-{}.svg", credential.record.id))),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_SHORT)),
    ];
    Ok((headers, baked).into_response())
}

async fn badge_png(
    State(app): State<App>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let credential = app.public_credential(&id).await?;
    let url = app.verification_url(credential.record.id);
    let png =
        credentials::qr::qr_png(&url, QR_MODULE_PX).map_err(internal("drawing the PNG badge"))?;
    let baked = credentials::bake::bake_png(&png, &credential.record.document)
        .map_err(internal("baking the PNG badge"))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
        (header::CONTENT_DISPOSITION, attachment(&format!("badge-{}.png", credential.record.id))),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_SHORT)),
    ];
    Ok((headers, baked).into_response())
}

async fn qr_svg(State(app): State<App>, PathParams(id): PathParams<String>) -> ApiResult<Response> {
    let credential = app.public_credential(&id).await?;
    let svg = credentials::qr::qr_svg(&app.verification_url(credential.record.id))
        .map_err(internal("drawing the QR code"))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
    ];
    Ok((headers, svg).into_response())
}

/// Verifies whatever is posted (credential JSON, a VC-JWT, a baked PNG or SVG). The answer
/// is the report, 200 whatever the verdict: a verdict is not an HTTP error.
async fn verify(
    State(app): State<App>,
    RawBody(body): RawBody,
) -> Json<credentials::verify::Report> {
    Json(app.verify_bytes(&body).await)
}

async fn did_document(
    State(app): State<App>,
    PathParams(slug): PathParams<String>,
) -> ApiResult<Response> {
    let document = app.did_document(&slug).await?;
    let body = serde_json::to_vec(&document).map_err(|e| ApiError::unexpected(e.into()))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/did+json")),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_SHORT)),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
    ];
    Ok((headers, body).into_response())
}

async fn status_list(
    State(app): State<App>,
    PathParams(list): PathParams<String>,
) -> ApiResult<Response> {
    let document = app.status_list(&list).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_SHORT)),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
    ];
    Ok((headers, document).into_response())
}

async fn healthz(State(app): State<App>) -> Response {
    match app.health().await {
        Ok(()) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(json!({ "status": "ok" })),
        )
            .into_response(),
        Err(error) => {
            // Logged in full; the probe only needs to know the store does not answer.
            match error {
                platform::Error::Unexpected(source) => {
                    tracing::error!(error = %format!("{source:#}"), "health check failed");
                }
                other => tracing::error!(error = %other, "health check failed"),
            }
            ApiError::new(Problem::Unavailable, "the store does not answer").into_response()
        }
    }
}

async fn stylesheet() -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
    ];
    (headers, STYLESHEET).into_response()
}
