//! Lambda consuming the inbound integration events queue: `credential.issue.requested`
//! messages from an LMS, a CRM or an HR system become credentials, idempotently. The queue's
//! policy decides who may send; malformed or invalid events are dropped with a warning.

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_sqs(app, None, |app, body| async move {
        app.handle_inbound_message(&body).await
    })
    .await
}
