//! The audit trail of the authenticated routes, and the routes that read it.
//!
//! A middleware on the management and issuance routers authenticates the caller once (the
//! [`Authed`](crate::extract::Authed) extractor then reuses it) and, after the handler, appends
//! exactly one audit entry for every mutating call (any method but `GET` and `HEAD`) and every
//! read of personal data (credentials, bulk jobs, drafts, the audit log itself): the actor, the action
//! named after the route, the target, the outcome from the status (2xx/3xx `success`, 403
//! and 404 `denied`, anything else `failed`), the client's address, its `User-Agent` and the
//! request id. A call without valid credentials belongs to no organization, so no chain
//! records it (it is a 401, in the logs). If the entry cannot be written, the call has
//! already happened: the failure is logged as an error.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use platform::App;
use platform::app::{AuditCall, AuditFilter, AuditVerification, Caller};
use platform::audit::{AuditEntry, AuditOutcome};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, Query, bearer_token};
use crate::views::Items;

/// The client's address as the platform in front of us saw it (the Lambda glue sets it from
/// API Gateway's request context); the socket's peer address otherwise.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

/// The client's address: from the platform in front (Lambda), else the socket's peer.
pub(crate) fn client_address(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<ClientAddress>()
        .map(|a| a.0.clone())
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()))
}

/// Where a call comes from (address, user agent, request id), for entries that a use case
/// records itself (the sign-in steps, made before anyone is authenticated).
pub(crate) fn origin(extensions: &axum::http::Extensions, headers: &HeaderMap) -> AuditCall {
    AuditCall {
        ip: client_address(extensions),
        user_agent: header_text(headers, header::USER_AGENT.as_str(), 512),
        request_id: header_text(headers, "x-request-id", 128),
        ..AuditCall::default()
    }
}

/// The caller, authenticated once by the audit middleware for the handler.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub Caller);

/// The audit routes (API key, `audit_read`).
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/audit", get(list))
        .route("/v1/audit/export", get(export))
        .route("/v1/audit/verify", get(verify))
}

/// The action recorded for a route, `None` for reads that hold no personal data.
fn action(method: &Method, route: &str) -> Option<String> {
    let known = match (method.as_str(), route) {
        ("POST", "/v1/workspaces") => "workspace.create",
        ("PATCH", "/v1/workspaces/{ws}") => "workspace.update",
        ("POST", "/v1/workspaces/{ws}/drafts") => "draft.create",
        ("GET", "/v1/workspaces/{ws}/drafts") => "draft.list",
        ("GET", "/v1/workspaces/{ws}/drafts/{id}") => "draft.read",
        ("POST", "/v1/workspaces/{ws}/drafts/{id}/approve") => "draft.approve",
        ("POST", "/v1/workspaces/{ws}/drafts/{id}/reject") => "draft.reject",
        ("POST", "/v1/workspaces/{ws}/templates") => "template.create",
        ("PATCH", "/v1/workspaces/{ws}/templates/{id}") => "template.update",
        ("POST", "/v1/workspaces/{ws}/webhooks") => "webhook.create",
        ("DELETE", "/v1/workspaces/{ws}/webhooks/{id}") => "webhook.delete",
        ("POST", "/v1/workspaces/{ws}/bulk-issuances") => "bulk.submit",
        ("GET", "/v1/workspaces/{ws}/bulk-issuances/{job}") => "bulk.read",
        ("POST", "/v1/workspaces/{ws}/credentials") => "credential.issue",
        ("GET", "/v1/workspaces/{ws}/credentials") => "credential.list",
        ("GET", "/v1/workspaces/{ws}/credentials/{id}") => "credential.read",
        ("POST", "/v1/workspaces/{ws}/credentials/{id}/revoke") => "credential.revoke",
        ("POST", "/v1/workspaces/{ws}/credentials/{id}/suspend") => "credential.suspend",
        ("POST", "/v1/workspaces/{ws}/credentials/{id}/unsuspend") => "credential.unsuspend",
        ("POST", "/v1/api-keys") => "api_key.create",
        ("POST", "/v1/api-keys/{id}/revoke") => "api_key.revoke",
        ("POST", "/v1/recipients/export") => "recipient.export",
        ("POST", "/v1/recipients/erase") => "recipient.erase",
        ("POST", "/v1/users") => "user.create",
        ("GET", "/v1/users") => "user.list",
        ("PUT", "/v1/organization/sign-in-policy") => "organization.sign_in_policy",
        ("POST", "/v1/auth/logout") => "auth.logout",
        ("POST", "/v1/me/password") => "account.password_change",
        ("POST", "/v1/me/totp") => "account.totp_enrol",
        ("POST", "/v1/me/totp/confirm") => "account.totp_confirm",
        ("PUT", "/v1/organization/sso") => "sso.configure",
        ("DELETE", "/v1/organization/sso") => "sso.delete",
        ("GET", "/v1/audit") => "audit.list",
        ("GET", "/v1/audit/export") => "audit.export",
        ("GET", "/v1/audit/verify") => "audit.verify",
        (_, _) if matches!(*method, Method::GET | Method::HEAD) => return None,
        _ => return Some(format!("{} {route}", method.as_str().to_ascii_lowercase())),
    };
    Some(known.to_owned())
}

/// The middleware; see the module docs.
pub(crate) async fn record(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path().to_owned(), |m| m.as_str().to_owned());
    // Without valid credentials, the handler's extractor answers the 401 with its reason. A
    // session that owes a second factor is recorded, but not authenticated for the handler.
    let caller = match bearer_token(request.headers()) {
        Some(token) if crate::sso::is_jwt(token) => {
            crate::sso::authenticate(&app, token).await.ok().map(|caller| (caller, true))
        }
        Some(key) => match app.authenticate(key).await {
            Ok(caller) => Some((caller, true)),
            Err(platform::Error::SecondFactorRequired(caller)) => Some((*caller, false)),
            Err(_) => None,
        },
        None => None,
    };
    let Some((caller, authenticated)) = caller else { return next.run(request).await };
    if authenticated {
        request.extensions_mut().insert(Authenticated(caller.clone()));
    }
    let Some(action) = action(&method, &route) else { return next.run(request).await };

    let headers = request.headers().clone();
    let address = client_address(request.extensions());
    let (workspace, target) = path_ids(request.uri().path(), &route);
    let response = next.run(request).await;

    let status = response.status();
    let outcome = if status.is_success() || status.is_redirection() {
        AuditOutcome::Success
    } else if status.as_u16() == 403 || status.as_u16() == 404 {
        AuditOutcome::Denied
    } else {
        AuditOutcome::Failed
    };
    // A creation's target is what it created.
    let target = target.or_else(|| {
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned)
    });
    let call = AuditCall {
        action,
        workspace,
        target,
        outcome: Some(outcome),
        ip: address,
        user_agent: header_text(&headers, header::USER_AGENT.as_str(), 512),
        request_id: header_text(&headers, "x-request-id", 128),
    };
    if let Err(error) = app.record_call(&caller, call).await {
        tracing::error!(error = %error, "a call could not be recorded in the audit log");
    }
    response
}

/// The workspace slug and the last id of a path, by the route's placeholders.
fn path_ids(path: &str, route: &str) -> (Option<String>, Option<String>) {
    let mut workspace = None;
    let mut target = None;
    for (segment, pattern) in path.split('/').zip(route.split('/')) {
        match pattern {
            "{ws}" => workspace = Some(segment.to_owned()),
            "{id}" | "{job}" => target = Some(segment.to_owned()),
            _ => {}
        }
    }
    (workspace, target)
}

/// A header as text, cut to `max` characters, without control characters.
fn header_text(headers: &HeaderMap, name: &str, max: usize) -> Option<String> {
    let text = headers.get(name)?.to_str().ok()?;
    Some(text.chars().filter(|c| !c.is_control()).take(max).collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    workspace: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

fn date(field: &str, text: Option<&str>) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.to_utc())
            .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 date-time"))
    })
    .transpose()
}

async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Items<AuditEntry>>> {
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 500"))?,
    };
    let outcome = query
        .outcome
        .as_deref()
        .map(|o| {
            AuditOutcome::parse(o)
                .ok_or_else(|| ApiError::invalid("outcome", "must be success, denied or failed"))
        })
        .transpose()?;
    let filter = AuditFilter {
        workspace: query.workspace,
        actor: query.actor,
        action: query.action,
        outcome,
        from: date("from", query.from.as_deref())?,
        to: date("to", query.to.as_deref())?,
    };
    let (items, next) = app.audit_log(&caller, &filter, query.cursor.as_deref(), limit).await?;
    Ok(Json(Items::page(items, next)))
}

/// The whole log as JSON Lines, for `badges audit verify`.
async fn export(State(app): State<App>, Authed(caller): Authed) -> ApiResult<Response> {
    let entries = app.audit_export(&caller).await?;
    let mut body = String::new();
    for entry in &entries {
        let line = serde_json::to_string(entry).map_err(|e| ApiError::unexpected(e.into()))?;
        body.push_str(&line);
        body.push('\n');
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn verify(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(app.audit_verify(&caller).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mutating_route_and_personal_data_read_has_an_action() {
        assert_eq!(
            action(&Method::POST, "/v1/workspaces/{ws}/credentials").as_deref(),
            Some("credential.issue")
        );
        assert_eq!(action(&Method::GET, "/v1/workspaces/{ws}/templates"), None);
        assert_eq!(action(&Method::PUT, "/v1/new").as_deref(), Some("put /v1/new"));
    }

    #[test]
    fn ids_come_from_the_route_placeholders() {
        let (ws, id) = path_ids(
            "/v1/workspaces/acme/credentials/123/revoke",
            "/v1/workspaces/{ws}/credentials/{id}/revoke",
        );
        assert_eq!((ws.as_deref(), id.as_deref()), (Some("acme"), Some("123")));
        assert_eq!(path_ids("/v1/api-keys", "/v1/api-keys"), (None, None));
    }
}
