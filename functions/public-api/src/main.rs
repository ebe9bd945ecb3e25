//! Lambda for the public routes behind API Gateway (no API key): the verification page and
//! its downloads and QR code, DID documents, status lists, `POST /verify`, `/healthz`, the
//! stylesheet, and the problem+json 404 of every unknown path (the API's `$default` route).

#[tokio::main]
async fn main() -> Result<(), lambda_support::Error> {
    lambda_support::init_tracing();
    let app = lambda_support::app_from_env().await?;
    lambda_support::run_http(platform_http::public_router(app)).await
}
