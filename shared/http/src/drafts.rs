//! The draft routes (API key): prepare drafts of issuance, list and read them, and approve
//! or reject them (four-eyes approval). `POST …/credentials` and `POST …/bulk-issuances`
//! answer `202` with a draft ([`DraftView`]) where approval is required.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform::App;
use platform::app::{DraftInput, DraftPayload, IssueRequest, parse_bulk_csv, parse_bulk_json};
use platform::model::{BulkRow, Draft, DraftKind, DraftStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Authed, JsonBody, PathParams, Query, RawBody, is_json, media_type};
use crate::issuance::idempotency;
use crate::views::{Items, RowError, date};
use crate::{BULK_BODY_LIMIT, location};

/// The draft routes, without state, fallbacks or middleware.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/workspaces/{ws}/drafts",
            post(create).get(list).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route("/v1/workspaces/{ws}/drafts/{id}", get(read))
        .route("/v1/workspaces/{ws}/drafts/{id}/approve", post(approve))
        .route("/v1/workspaces/{ws}/drafts/{id}/reject", post(reject))
}

/// A draft as the API shows it. `request` (single) or `rows` (bulk) hold the recipients'
/// personal data: only the read of one undecided draft shows them.
#[derive(Debug, Serialize)]
pub struct DraftView {
    pub id: String,
    /// `single` or `bulk`.
    pub kind: DraftKind,
    pub template_id: String,
    /// `pending`, `approving`, `approved` or `rejected`.
    pub status: DraftStatus,
    /// Who prepared it (`api_key:<id>`, ...).
    pub author: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The credential its approval issued (single).
    pub credential_id: Option<String>,
    /// The bulk job its approval started (bulk).
    pub bulk_job_id: Option<String>,
    /// Bulk: how many rows, and those that do not parse (they fail when the job runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowError>>,
    /// The request of an undecided single draft (the body of `POST …/credentials`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<IssueRequest>,
    /// The rows of an undecided bulk draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<Value>>,
}

impl DraftView {
    /// The view of `draft`, with its opened request when given.
    pub fn new(draft: Draft, payload: Option<DraftPayload>) -> Self {
        let bulk = draft.kind == DraftKind::Bulk;
        let (request, rows) = match payload {
            Some(DraftPayload::Single { request }) => (Some(request), None),
            Some(DraftPayload::Bulk { rows }) => (None, Some(rows.iter().map(row_view).collect())),
            None => (None, None),
        };
        Self {
            id: draft.id.to_string(),
            kind: draft.kind,
            template_id: draft.template_id.to_string(),
            status: draft.status,
            author: draft.author,
            created_at: date(draft.created_at),
            decided_by: draft.decided_by,
            decided_at: draft.decided_at.map(date),
            reason: draft.reason,
            credential_id: draft.credential_id.map(|id| id.to_string()),
            bulk_job_id: draft.bulk_job_id.map(|id| id.to_string()),
            total: bulk.then_some(draft.rows),
            errors: bulk.then(|| {
                draft.row_errors.into_iter().map(|(row, error)| RowError { row, error }).collect()
            }),
            request,
            rows,
        }
    }

    /// The `202` of an issuance route that made a draft instead, with its `Location`.
    pub fn accepted(ws: &str, draft: Draft) -> Response {
        let path = format!("/v1/workspaces/{ws}/drafts/{}", draft.id);
        (StatusCode::ACCEPTED, [(header::LOCATION, location(&path))], Json(Self::new(draft, None)))
            .into_response()
    }
}

fn row_view(row: &BulkRow) -> Value {
    match &row.input {
        Ok(input) => json!({
            "row": row.row,
            "email": input.email.as_str(),
            "name": input.name,
            "valid_until": input.valid_until.map(date),
            "evidence_url": input.evidence_url.as_ref().map(|u| u.as_str()),
        }),
        Err(error) => json!({"row": row.row, "error": error}),
    }
}

/// `POST …/drafts` as JSON.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum NewDraft {
    Single { request: IssueRequest },
    Bulk { template_id: String, rows: Value },
}

async fn create(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    Query(query): Query<crate::management::BulkQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let input = if media_type(&headers).as_deref() == Some("text/csv") {
        let template_id = query
            .template_id
            .ok_or_else(|| ApiError::invalid("template_id", "`template_id` is required"))?;
        DraftInput::Bulk { template_id, rows: parse_bulk_csv(&body)? }
    } else if is_json(&headers) {
        if query.template_id.is_some() {
            return Err(ApiError::invalid(
                "template_id",
                "`template_id` goes in the JSON body; the query parameter is for CSV",
            ));
        }
        let draft: NewDraft = serde_json::from_slice(&body).map_err(|e| {
            let problem = if e.is_data() { Problem::Validation } else { Problem::MalformedBody };
            ApiError::new(problem, format!("the body is not a draft: {e}")).with_field("body")
        })?;
        match draft {
            NewDraft::Single { request } => DraftInput::Single(request),
            NewDraft::Bulk { template_id, rows } => {
                DraftInput::Bulk { template_id, rows: parse_bulk_json(&rows)? }
            }
        }
    } else {
        return Err(ApiError::new(
            Problem::UnsupportedMediaType,
            "send a draft as `application/json`, or bulk rows as `text/csv`",
        ));
    };
    let idempotency = idempotency(&headers, &body)?;
    let (draft, created) = app.create_draft(&caller, &ws, input, idempotency).await?;
    let path = format!("/v1/workspaces/{ws}/drafts/{}", draft.id);
    let (status, replayed) =
        if created { (StatusCode::CREATED, "false") } else { (StatusCode::OK, "true") };
    let headers = [
        (header::LOCATION, location(&path)),
        (
            header::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static(replayed),
        ),
    ];
    Ok((status, headers, Json(DraftView::new(draft, None))).into_response())
}

/// `GET …/drafts` filters and paging.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Items<DraftView>>> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            DraftStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "`status` must be pending, approving, approved or rejected",
                )
            })
        })
        .transpose()?;
    let limit = match query.limit.as_deref() {
        None => 50,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "`limit` must be 1 to 200"))?,
    };
    let (drafts, next) = app.drafts(&caller, &ws, status, query.cursor.as_deref(), limit).await?;
    let items = drafts.into_iter().map(|d| DraftView::new(d, None)).collect();
    Ok(Json(Items::page(items, next)))
}

async fn read(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<DraftView>> {
    let (draft, payload) = app.draft(&caller, &ws, &id).await?;
    Ok(Json(DraftView::new(draft, payload)))
}

async fn approve(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<DraftView>> {
    let draft = app.approve_draft(&caller, &ws, &id).await?;
    Ok(Json(DraftView::new(draft, None)))
}

/// `POST …/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    reason: String,
}

async fn reject(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
    JsonBody { value, .. }: JsonBody<RejectRequest>,
) -> ApiResult<Json<DraftView>> {
    let draft = app.reject_draft(&caller, &ws, &id, &value.reason).await?;
    Ok(Json(DraftView::new(draft, None)))
}
