//! The issuance routes (API key): issue a credential (idempotently with an
//! `Idempotency-Key`), list and read credentials, and change their status.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform::App;
use platform::app::{HeldCredential, Issuance, IssueRequest, request_hash};
use platform::ids::{Email, IdempotencyKey, TemplateId};
use platform::model::{CredentialFilter, StatusKind};
use serde::Deserialize;

use crate::drafts::DraftView;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, JsonBody, PathParams, Query};
use crate::location;
use crate::views::{CredentialView, Items};

/// The issuance routes, without state, fallbacks or middleware.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/workspaces/{ws}/credentials", post(issue).get(list))
        .route("/v1/workspaces/{ws}/credentials/{id}", get(read))
        .route("/v1/workspaces/{ws}/credentials/{id}/revoke", post(revoke))
        .route("/v1/workspaces/{ws}/credentials/{id}/suspend", post(suspend))
        .route("/v1/workspaces/{ws}/credentials/{id}/unsuspend", post(unsuspend))
}

/// The header name, as clients send it.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

async fn issue(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    headers: HeaderMap,
    JsonBody { value, raw }: JsonBody<IssueRequest>,
) -> ApiResult<Response> {
    let idempotency = idempotency(&headers, &raw)?;
    let issued = match app.issue(&caller, &ws, value, idempotency).await? {
        Issuance::Issued(issued) => issued,
        // Approval required: nothing issued, a draft for an approver.
        Issuance::Drafted(draft) => return Ok(DraftView::accepted(&ws, *draft)),
    };
    let held = HeldCredential { record: issued.record, recipient: issued.recipient };
    let view = full_view(&app, &held)?;
    let path = format!("/v1/workspaces/{ws}/credentials/{}", held.record.id);
    let (status, replayed) =
        if issued.created { (StatusCode::CREATED, "false") } else { (StatusCode::OK, "true") };
    let headers = [
        (header::LOCATION, location(&path)),
        (
            header::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static(replayed),
        ),
    ];
    Ok((status, headers, Json(view)).into_response())
}

/// The `Idempotency-Key` of a request, if it has one, with the hash of its body.
pub(crate) fn idempotency(
    headers: &HeaderMap,
    raw: &[u8],
) -> ApiResult<Option<(IdempotencyKey, String)>> {
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| {
                ApiError::invalid("Idempotency-Key", "`Idempotency-Key` must be visible ASCII")
            })?;
            Ok(Some((IdempotencyKey::parse(text)?, request_hash(raw))))
        }
    }
}

/// `GET …/credentials` filters and paging.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    template_id: Option<String>,
    recipient_email: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// Items per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

impl ListQuery {
    fn filter(&self) -> ApiResult<(CredentialFilter, Option<Email>)> {
        let status = self
            .status
            .as_deref()
            .map(|s| {
                StatusKind::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        "`status` must be active, suspended, revoked or expired",
                    )
                })
            })
            .transpose()?;
        let template_id = self.template_id.as_deref().map(TemplateId::parse).transpose()?;
        let recipient_email = self
            .recipient_email
            .as_deref()
            .map(|e| Email::parse("recipient_email", e))
            .transpose()?;
        Ok((CredentialFilter { status, template_id, recipient: None }, recipient_email))
    }

    fn limit(&self) -> ApiResult<usize> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => {
                text.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(
                    || ApiError::invalid("limit", format!("`limit` must be 1 to {MAX_LIMIT}")),
                )
            }
        }
    }
}

async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Items<CredentialView>>> {
    let ((filter, recipient), limit) = (query.filter()?, query.limit()?);
    let (records, next) = app
        .list_credentials(&caller, &ws, filter, recipient, query.cursor.as_deref(), limit)
        .await?;
    let items = records.iter().map(|record| CredentialView::item(&app, record)).collect();
    Ok(Json(Items::page(items, next)))
}

async fn read(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    let record = app.credential(&caller, &ws, &id).await?;
    Ok(Json(full_view(&app, &record)?))
}

/// `POST …/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    reason: String,
}

async fn revoke(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
    JsonBody { value, .. }: JsonBody<RevokeRequest>,
) -> ApiResult<Json<CredentialView>> {
    let record = app.revoke(&caller, &ws, &id, &value.reason).await?;
    Ok(Json(CredentialView::item(&app, &record)))
}

async fn suspend(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    let record = app.suspend(&caller, &ws, &id).await?;
    Ok(Json(CredentialView::item(&app, &record)))
}

async fn unsuspend(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    let record = app.unsuspend(&caller, &ws, &id).await?;
    Ok(Json(CredentialView::item(&app, &record)))
}

fn full_view(app: &App, held: &HeldCredential) -> ApiResult<CredentialView> {
    CredentialView::full(app, held).map_err(|e| {
        ApiError::unexpected(e.context(format!("stored document of credential {}", held.record.id)))
    })
}
