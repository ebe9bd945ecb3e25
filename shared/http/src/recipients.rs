//! The data subject's rights over a recipient's personal data: access (an export of
//! everything held about them) and erasure (their data key destroyed). The email travels in
//! the body, never in a URL, so that it stays out of access logs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use platform::App;
use platform::app::{Erasure, RecipientExport};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Authed, JsonBody};
use crate::views::{CredentialView, RecipientView};

/// The recipient routes (API key).
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/recipients/export", post(export))
        .route("/v1/recipients/erase", post(erase))
}

/// Names the recipient.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientRequest {
    email: String,
}

/// `POST /v1/recipients/export`: everything held about the recipient.
#[derive(Debug, Serialize)]
struct ExportView {
    recipient_id: String,
    /// Their email and name, or `{"erased": true}`.
    recipient: RecipientView,
    /// Their credentials in every workspace, with the signed documents.
    credentials: Vec<ExportedCredential>,
}

#[derive(Debug, Serialize)]
struct ExportedCredential {
    workspace: String,
    #[serde(flatten)]
    credential: CredentialView,
}

async fn export(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<RecipientRequest>,
) -> ApiResult<Json<ExportView>> {
    let RecipientExport { recipient_id, recipient, credentials } =
        app.export_recipient(&caller, &value.email).await?;
    let recipient = match recipient {
        Some(data) => platform::personal::Recipient::Known(data),
        None => platform::personal::Recipient::Erased,
    };
    let credentials = credentials
        .iter()
        .map(|(workspace, held)| {
            Ok(ExportedCredential {
                workspace: workspace.clone(),
                credential: CredentialView::full(&app, held).map_err(|e| {
                    ApiError::unexpected(e.context("stored document of an exported credential"))
                })?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(ExportView {
        recipient_id: recipient_id.to_string(),
        recipient: RecipientView::new(&recipient),
        credentials,
    }))
}

async fn erase(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody { value, .. }: JsonBody<RecipientRequest>,
) -> ApiResult<Json<Erasure>> {
    Ok(Json(app.erase_recipient(&caller, &value.email).await?))
}
