//! Lambda that EventBridge Scheduler invokes every few minutes: marks credentials past
//! `validUntil` expired (emitting `credential.expired`), then relays any outbox events the
//! stream-driven relay has not (its backstop).

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_scheduled(app).await
}
