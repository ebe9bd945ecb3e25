//! Lambda for the issuance routes behind API Gateway: issue, list and read credentials, and
//! revoke, suspend or unsuspend them (`/v1/workspaces/{ws}/credentials…`, API key).

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_http(platform_http::issuance_router(app)).await
}
