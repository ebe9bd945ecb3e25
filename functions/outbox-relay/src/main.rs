//! Lambda that the table's stream invokes when outbox event items are written: it relays
//! pending events to webhook deliveries (one queue message each) until the outbox is empty.

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_outbox_relay(app).await
}
