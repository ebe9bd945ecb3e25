//! Local users and signing in:
//!
//! - `/v1/users` (`users_manage`) and `/v1/organization/sign-in-policy` (`organization_read`
//!   to read, `organization_manage` to change), like every management route;
//! - `/v1/auth/login` and `/v1/auth/login/second-factor`: no credentials, the answer is a
//!   session token (or a challenge for the second step); the use case records each step in
//!   the audit log, since nobody is authenticated yet;
//! - `/v1/auth/logout` and `/v1/me…`: the signed-in user's own account, with a session token
//!   only ([`SignedInUser`]); a session that owes its organization a second factor may use
//!   these (to enrol one) and nothing else.
//!
//! Every answer that carries a token or a secret is `Cache-Control: no-store`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform::App;
use platform::app::{NewUser, UserSession, UserView};
use platform::model::SignInPolicy;
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Authed, JsonBody, bearer_token};
use crate::location;
use crate::views::Items;

/// The routes, without state, fallbacks or middleware.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/users", post(create_user).get(list_users))
        .route("/v1/organization/sign-in-policy", get(read_policy).put(set_policy))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/login/second-factor", post(second_factor))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/me/password", post(change_password))
        .route("/v1/me/totp", post(begin_totp))
        .route("/v1/me/totp/confirm", post(confirm_totp))
}

/// The signed-in user behind `Authorization: Bearer <session token>`, also while a second
/// factor is pending.
#[derive(Debug, Clone)]
pub struct SignedInUser(pub UserSession);

impl FromRequestParts<App> for SignedInUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::new(
                Problem::Unauthorized,
                "send a session token (from POST /v1/auth/login) in the `Authorization: Bearer <token>` header",
            )
        })?;
        Ok(Self(app.user_session(token).await?))
    }
}

async fn create_user(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<NewUser>,
) -> ApiResult<Response> {
    let user = app.create_user(&caller, value).await?;
    let path = format!("/v1/users/{}", user.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location(&path))], Json(user)).into_response())
}

async fn list_users(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<Items<UserView>>> {
    Ok(Json(Items::all(app.users(&caller).await?)))
}

async fn read_policy(
    State(app): State<App>,
    Authed(caller): Authed,
) -> ApiResult<Json<SignInPolicy>> {
    Ok(Json(app.sign_in_policy(&caller).await?))
}

/// `PUT /v1/organization/sign-in-policy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyInput {
    require_two_factor: bool,
}

async fn set_policy(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<PolicyInput>,
) -> ApiResult<Json<SignInPolicy>> {
    Ok(Json(app.set_sign_in_policy(&caller, value.require_two_factor).await?))
}

/// `POST /v1/auth/login`. No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    parts: Parts,
    JsonBody { value, .. }: JsonBody<Login>,
) -> ApiResult<Response> {
    let origin = crate::audit::origin(&parts.extensions, &parts.headers);
    let answer = app.sign_in(&value.email, &value.password, origin).await?;
    Ok(no_store(Json(answer)))
}

/// `POST /v1/auth/login/second-factor`: `code` is the authenticator's 6 digits or a recovery
/// code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondFactor {
    challenge: String,
    code: String,
}

async fn second_factor(
    State(app): State<App>,
    parts: Parts,
    JsonBody { value, .. }: JsonBody<SecondFactor>,
) -> ApiResult<Response> {
    let origin = crate::audit::origin(&parts.extensions, &parts.headers);
    let answer = app.sign_in_second_factor(&value.challenge, &value.code, origin).await?;
    Ok(no_store(Json(answer)))
}

async fn logout(
    State(app): State<App>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<StatusCode> {
    app.sign_out(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(app): State<App>, SignedInUser(session): SignedInUser) -> ApiResult<Response> {
    let user = app.me(&session).await?;
    let body = json!({
        "user": user,
        "session": {
            "expires_at": session.session.expires_at,
            "two_factor": session.session.two_factor,
        },
        "two_factor_enrolment_required": session.second_factor_pending,
    });
    Ok(no_store(Json(body)))
}

/// `POST /v1/me/password`. No `Debug`: it holds passwords.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(app): State<App>,
    SignedInUser(session): SignedInUser,
    JsonBody { value, .. }: JsonBody<PasswordChange>,
) -> ApiResult<Response> {
    let answer =
        app.change_password(&session, &value.current_password, &value.new_password).await?;
    Ok(no_store(Json(answer)))
}

async fn begin_totp(
    State(app): State<App>,
    SignedInUser(session): SignedInUser,
) -> ApiResult<Response> {
    Ok(no_store(Json(app.begin_totp(&session).await?)))
}

/// `POST /v1/me/totp/confirm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

async fn confirm_totp(
    State(app): State<App>,
    SignedInUser(session): SignedInUser,
    JsonBody { value, .. }: JsonBody<Confirm>,
) -> ApiResult<Response> {
    let (recovery_codes, signed_in) = app.confirm_totp(&session, &value.code).await?;
    let mut body = serde_json::to_value(&signed_in).map_err(|e| ApiError::unexpected(e.into()))?;
    body["recovery_codes"] = json!(recovery_codes);
    Ok(no_store(Json(body)))
}

/// An answer that must not be cached (it carries a token or a secret).
fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
