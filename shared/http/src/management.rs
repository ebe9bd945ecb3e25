//! The management routes (API key): workspaces, templates, webhook subscriptions and bulk
//! issuance jobs. Handlers parse the request, call one use case, and shape the answer.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use platform::App;
use platform::app::{
    ApiKeyView, BulkSubmission, NewApiKey, NewWorkspace, OrganizationSummary, SsoInput, SsoView,
    TemplateInput, TemplatePatch, WorkspacePatch, parse_bulk_csv, parse_bulk_json,
};
use platform::auth::Permission;
use serde::Deserialize;
use serde_json::json;

use crate::drafts::DraftView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Authed, JsonBody, PathParams, Query, RawBody, is_json, media_type};
use crate::views::{BulkJobView, DeliveryView, Items, TemplateView, WebhookView, WorkspaceView};
use crate::{BULK_BODY_LIMIT, location};

/// The management routes, without state, fallbacks or middleware.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/workspaces", post(create_workspace).get(list_workspaces))
        .route("/v1/workspaces/{ws}", get(read_workspace).patch(update_workspace))
        .route("/v1/workspaces/{ws}/templates", post(create_template).get(list_templates))
        .route("/v1/workspaces/{ws}/templates/{id}", get(read_template).patch(update_template))
        .route("/v1/workspaces/{ws}/webhooks", post(create_webhook).get(list_webhooks))
        .route("/v1/workspaces/{ws}/webhooks/{id}", axum::routing::delete(delete_webhook))
        .route("/v1/workspaces/{ws}/webhooks/{id}/deliveries", get(list_deliveries))
        .route(
            "/v1/workspaces/{ws}/bulk-issuances",
            post(submit_bulk).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route("/v1/workspaces/{ws}/bulk-issuances/{job}", get(read_bulk))
        .route("/v1/organization/summary", get(organization_summary))
        .route("/v1/organization/sso", put(configure_sso).get(read_sso).delete(delete_sso))
        .route("/v1/api-keys", post(create_api_key).get(list_api_keys))
        .route("/v1/api-keys/{id}/revoke", post(revoke_api_key))
}

async fn organization_summary(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<OrganizationSummary>> {
    Ok(Json(app.organization_summary(&caller).await?))
}

async fn configure_sso(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<SsoInput>,
) -> ApiResult<Json<SsoView>> {
    Ok(Json(app.configure_sso(&caller, value).await?))
}

async fn read_sso(State(app): State<App>, Authed(caller): Authed) -> ApiResult<Json<SsoView>> {
    Ok(Json(app.sso(&caller).await?))
}

async fn delete_sso(State(app): State<App>, Authed(caller): Authed) -> ApiResult<StatusCode> {
    app.delete_sso(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_api_key(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<NewApiKey>,
) -> ApiResult<Response> {
    let (view, key) = app.create_api_key(&caller, value).await?;
    let mut body = serde_json::to_value(&view).map_err(|e| ApiError::unexpected(e.into()))?;
    // The only time the key is shown.
    body["key"] = key.into();
    let mut response = created(&format!("/v1/api-keys/{}", view.id), body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn list_api_keys(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<Items<ApiKeyView>>> {
    Ok(Json(Items::all(app.api_keys(&caller).await?)))
}

async fn revoke_api_key(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ApiKeyView>> {
    Ok(Json(app.revoke_api_key(&caller, &id).await?))
}

async fn create_workspace(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<NewWorkspace>,
) -> ApiResult<Response> {
    let workspace = app.create_workspace(&caller, value).await?;
    let path = format!("/v1/workspaces/{}", workspace.slug);
    Ok(created(&path, WorkspaceView::new(&app, workspace)))
}

async fn list_workspaces(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<Items<WorkspaceView>>> {
    let workspaces = app.workspaces(&caller).await?;
    Ok(Json(Items::all(workspaces.into_iter().map(|w| WorkspaceView::new(&app, w)).collect())))
}

async fn read_workspace(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
) -> ApiResult<Json<WorkspaceView>> {
    let workspace = app.workspace(&caller, &ws, Permission::WorkspaceRead).await?;
    Ok(Json(WorkspaceView::new(&app, workspace)))
}

async fn update_workspace(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    JsonBody { value, .. }: JsonBody<WorkspacePatch>,
) -> ApiResult<Json<WorkspaceView>> {
    let workspace = app.update_workspace(&caller, &ws, value).await?;
    Ok(Json(WorkspaceView::new(&app, workspace)))
}

async fn create_template(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    JsonBody { value, .. }: JsonBody<TemplateInput>,
) -> ApiResult<Response> {
    let template = app.create_template(&caller, &ws, value).await?;
    let path = format!("/v1/workspaces/{ws}/templates/{}", template.id);
    Ok(created(&path, TemplateView::from(template)))
}

async fn list_templates(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
) -> ApiResult<Json<Items<TemplateView>>> {
    let templates = app.templates(&caller, &ws).await?;
    Ok(Json(Items::all(templates.into_iter().map(TemplateView::from).collect())))
}

async fn read_template(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.template(&caller, &ws, &id).await?.into()))
}

async fn update_template(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
    JsonBody { value, .. }: JsonBody<TemplatePatch>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.update_template(&caller, &ws, &id, value).await?.into()))
}

/// `POST …/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
}

async fn create_webhook(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    JsonBody { value, .. }: JsonBody<NewWebhook>,
) -> ApiResult<Response> {
    let (webhook, secret) = app.create_webhook(&caller, &ws, &value.url, &value.events).await?;
    let path = format!("/v1/workspaces/{ws}/webhooks/{}", webhook.id);
    Ok(created(&path, WebhookView::new(&webhook, Some(secret))))
}

async fn list_webhooks(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
) -> ApiResult<Json<Items<WebhookView>>> {
    let webhooks = app.webhooks(&caller, &ws).await?;
    Ok(Json(Items::all(webhooks.iter().map(|w| WebhookView::new(w, None)).collect())))
}

async fn delete_webhook(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<StatusCode> {
    app.delete_webhook(&caller, &ws, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_deliveries(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, id)): PathParams<(String, String)>,
) -> ApiResult<Json<Items<DeliveryView>>> {
    let deliveries = app.deliveries(&caller, &ws, &id).await?;
    Ok(Json(Items::all(deliveries.iter().map(DeliveryView::from).collect())))
}

/// `?template_id=` of a bulk submission (and of a bulk draft sent as CSV).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkQuery {
    pub(crate) template_id: Option<String>,
}

async fn submit_bulk(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams(ws): PathParams<String>,
    Query(query): Query<BulkQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let template_id = query
        .template_id
        .ok_or_else(|| ApiError::invalid("template_id", "`template_id` is required"))?;
    let rows = if media_type(&headers).as_deref() == Some("text/csv") {
        parse_bulk_csv(&body)?
    } else if is_json(&headers) {
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(Problem::MalformedBody, format!("the body is not valid JSON: {e}"))
                .with_field("body")
        })?;
        parse_bulk_json(&value)?
    } else {
        return Err(ApiError::new(
            Problem::UnsupportedMediaType,
            "send the rows as `Content-Type: text/csv` or `application/json`",
        ));
    };
    let job = match app.submit_bulk(&caller, &ws, &template_id, rows).await? {
        BulkSubmission::Started(job) => job,
        // Approval required: nothing issued, a draft for an approver.
        BulkSubmission::Drafted(draft) => return Ok(DraftView::accepted(&ws, *draft)),
    };
    let path = format!("/v1/workspaces/{ws}/bulk-issuances/{}", job.id);
    let body = json!({ "job_id": job.id.to_string(), "status": job.status, "total": job.total });
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location(&path))], Json(body)).into_response())
}

async fn read_bulk(
    State(app): State<App>,
    Authed(caller): Authed,
    PathParams((ws, job)): PathParams<(String, String)>,
) -> ApiResult<Json<BulkJobView>> {
    let report = app.bulk_report(&caller, &ws, &job).await?;
    Ok(Json(BulkJobView::new(&report.job, report.errors)))
}

/// A 201 with `Location` and a JSON body.
fn created(path: &str, body: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, [(header::LOCATION, location(path))], Json(body)).into_response()
}
