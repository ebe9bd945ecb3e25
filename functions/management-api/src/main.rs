//! Lambda for the management routes behind API Gateway: workspaces, templates, webhooks and
//! bulk issuance (`/v1/…`, API key). It alone gets `BADGES_BOOTSTRAP_TOKEN`, so it creates
//! the first organization and its owner key on an empty table.

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_http(platform_http::management_router(app)).await
}
