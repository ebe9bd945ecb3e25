//! Lambda consuming the bulk issuance queue: each message is a chunk of rows of a bulk job,
//! issued idempotently (a redelivered chunk issues nothing twice).

use platform::ports::QueueName;

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_sqs(app, Some(QueueName::Bulk), |app, body| async move {
        app.handle_bulk_message(&body).await
    })
    .await
}
