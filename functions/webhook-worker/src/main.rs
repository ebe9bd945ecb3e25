//! Lambda consuming the webhook delivery queue: one signed delivery attempt per message; a
//! failed attempt is retried with backoff (the message's visibility) until it is given up.

use platform::ports::QueueName;

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_sqs(app, Some(QueueName::Webhooks), |app, body| async move {
        app.handle_webhook_message(&body).await
    })
    .await
}
