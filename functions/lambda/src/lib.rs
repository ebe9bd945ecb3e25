//! The Lambda glue, written once for every function under `functions/`:
//!
//! - [`init_tracing`]: plain-text logs for CloudWatch, filtered by `BADGES_LOG`;
//! - [`app_from_env`]: the [`App`] on the AWS adapters (DynamoDB, S3, KMS, SQS), configured
//!   from the environment the SAM template sets, built once per cold start;
//! - [`run_http`]: an axum router (the same ones `badges serve` mounts) behind API Gateway;
//! - [`run_sqs`] / [`process_sqs_batch`]: an SQS consumer with partial batch failures;
//! - [`run_scheduled`] / [`sweep`]: the EventBridge Scheduler expiry sweep;
//! - [`run_outbox_relay`] / [`relay`]: the outbox relay the table's stream invokes.
//!
//! A function's `main.rs` picks one of these. The handlers are plain async functions over an
//! [`App`], so the tests run them on the embedded adapters without AWS. Nothing here panics on
//! a bad event, and no log line carries recipient data.
//!
//! This crate must not depend on `embedded` (rusqlite) outside its tests.

mod schedule;
mod sqs;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, SubsecRound as _, Utc};
use platform::ports::Clock;
use platform::{App, Settings};

pub use lambda_runtime::Error;
pub use lambda_runtime::{Context, LambdaEvent};
pub use schedule::{
    RelaySummary, SweepSummary, handle_outbox_relay, handle_scheduled, relay, run_outbox_relay,
    run_scheduled, sweep,
};
pub use sqs::{process_sqs_batch, run_sqs};

/// Logs to stderr (CloudWatch) without colours, at the level `BADGES_LOG` sets (`info` by
/// default; `tracing-subscriber` filter syntax).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BADGES_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        // CloudWatch stamps every line itself.
        .without_time()
        .with_writer(std::io::stderr)
        .try_init();
}

/// The operating system's time in whole seconds, like the embedded adapters' clock: a stored
/// record must equal the one that was signed, and credentials show times to the second.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(0)
    }
}

/// The application on the AWS adapters, from the environment: the SDK's default chain
/// (region, credentials), the resources of [`platform_aws::AwsConfig::from_env`], and the
/// settings of [`settings_from_lookup`]. When `BADGES_BOOTSTRAP_TOKEN` is set (the template
/// gives it to the management function only), the first organization is created with that
/// owner key if the store is empty; that is a no-op afterwards.
pub async fn app_from_env() -> anyhow::Result<App> {
    let lookup = |name: &str| std::env::var(name).ok();
    let settings = settings_from_lookup(lookup)?;
    let config = platform_aws::AwsConfig::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let aws = platform_aws::Aws::connect(config, &sdk, Arc::new(SystemClock));
    let transport = Arc::new(platform_http::ReqwestTransport::new(
        settings.allow_internal_webhooks,
        Duration::from_secs(10),
    )?);
    let app = App::new(aws.ports(transport), settings);
    if let Some(token) = lookup("BADGES_BOOTSTRAP_TOKEN").filter(|t| !t.is_empty()) {
        app.bootstrap(Some(&token)).await.map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
    }
    Ok(app)
}

/// The settings, from `BADGES_PUBLIC_URL` (required: the template sets the custom domain or
/// the API's URL), `BADGES_ALLOW_INTERNAL_WEBHOOKS` (`true` for labs) and
/// `BADGES_WEBHOOK_BACKOFF_MS` (the first retry delay of a webhook delivery), the names
/// `badges serve` reads.
pub fn settings_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
    let text = lookup("BADGES_PUBLIC_URL")
        .filter(|v| !v.trim().is_empty())
        .context("BADGES_PUBLIC_URL is not set")?;
    let public_url = parse_public_url(text.trim())?;
    let mut settings = Settings::new(public_url);
    settings.allow_internal_webhooks = match lookup("BADGES_ALLOW_INTERNAL_WEBHOOKS").as_deref() {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => bail!("BADGES_ALLOW_INTERNAL_WEBHOOKS must be true or false, not `{other}`"),
    };
    if let Some(ms) = lookup("BADGES_WEBHOOK_BACKOFF_MS").filter(|v| !v.trim().is_empty()) {
        let ms: u64 = ms.trim().parse().with_context(|| {
            format!("BADGES_WEBHOOK_BACKOFF_MS must be a number of milliseconds, not `{ms}`")
        })?;
        settings.webhook_backoff = Duration::from_millis(ms);
    }
    let per_minute = |name: &str, default: u32| -> anyhow::Result<u32> {
        match lookup(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(text) => text.trim().parse().with_context(|| {
                format!("{name} must be a number of requests a minute, not `{text}`")
            }),
        }
    };
    let defaults = settings.rate_limits;
    settings.rate_limits.public_per_minute =
        per_minute("BADGES_RATE_LIMIT_PUBLIC", defaults.public_per_minute)?;
    settings.rate_limits.api_key_per_minute =
        per_minute("BADGES_RATE_LIMIT_API_KEY", defaults.api_key_per_minute)?;
    Ok(settings)
}

/// An http(s) origin with no path, query or fragment (`did:web` ids are derived from it); a
/// trailing slash is allowed.
fn parse_public_url(text: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(text)
        .with_context(|| format!("BADGES_PUBLIC_URL `{text}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("BADGES_PUBLIC_URL `{text}` must be an http(s) URL with a host");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!("BADGES_PUBLIC_URL `{text}` must have no path, query or fragment");
    }
    Ok(url)
}

/// An error for the logs: an unexpected error's whole source chain (adapters name resources
/// and ids in it, never message content), or an expected error's message.
pub(crate) fn error_detail(error: &platform::Error) -> String {
    match error {
        platform::Error::Unexpected(source) => format!("{source:#}"),
        other => other.to_string(),
    }
}

/// Serves `router` (one of `platform_http`'s) to API Gateway HTTP API requests (payload
/// format 2.0) until the Lambda runtime stops.
pub async fn run_http(router: axum::Router) -> Result<(), Error> {
    lambda_http::run(router.layer(axum::middleware::map_request(with_client_address))).await
}

/// The client's address from API Gateway's request context, for the audit log.
async fn with_client_address(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::RequestExt as _;
    use lambda_http::request::RequestContext;
    let address = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(address) = address {
        request.extensions_mut().insert(platform_http::ClientAddress(address));
    }
    request
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_need_a_bare_public_origin() {
        let settings = settings_from_lookup(env(&[(
            "BADGES_PUBLIC_URL",
            "https://x.execute-api.eu-central-1.amazonaws.com/",
        )]))
        .unwrap();
        assert_eq!(settings.base(), "https://x.execute-api.eu-central-1.amazonaws.com");
        assert!(!settings.allow_internal_webhooks);
        for bad in ["", "ftp://x.example", "https://x.example/prod", "nope"] {
            assert!(settings_from_lookup(env(&[("BADGES_PUBLIC_URL", bad)])).is_err(), "{bad}");
        }
        assert!(settings_from_lookup(env(&[])).is_err());
    }

    #[test]
    fn rate_limits_are_read_with_their_defaults() {
        let origin = ("BADGES_PUBLIC_URL", "https://x.example");
        let settings = settings_from_lookup(env(&[origin])).unwrap();
        assert_eq!(settings.rate_limits, platform::RateLimits::default());
        let settings = settings_from_lookup(env(&[
            origin,
            ("BADGES_RATE_LIMIT_PUBLIC", "0"),
            ("BADGES_RATE_LIMIT_API_KEY", " 50 "),
        ]))
        .unwrap();
        assert_eq!(settings.rate_limits.public_per_minute, 0);
        assert_eq!(settings.rate_limits.api_key_per_minute, 50);
        let error =
            settings_from_lookup(env(&[origin, ("BADGES_RATE_LIMIT_PUBLIC", "lots")])).unwrap_err();
        assert!(error.to_string().contains("BADGES_RATE_LIMIT_PUBLIC"), "{error}");
    }

    #[test]
    fn webhook_settings_are_read_like_the_local_server_reads_them() {
        let settings = settings_from_lookup(env(&[
            ("BADGES_PUBLIC_URL", "https://badges.example.eu"),
            ("BADGES_ALLOW_INTERNAL_WEBHOOKS", "true"),
            ("BADGES_WEBHOOK_BACKOFF_MS", "250"),
        ]))
        .unwrap();
        assert!(settings.allow_internal_webhooks);
        assert_eq!(settings.webhook_backoff, Duration::from_millis(250));
        let bad = settings_from_lookup(env(&[
            ("BADGES_PUBLIC_URL", "https://badges.example.eu"),
            ("BADGES_WEBHOOK_BACKOFF_MS", "soon"),
        ]));
        assert!(bad.unwrap_err().to_string().contains("BADGES_WEBHOOK_BACKOFF_MS"));
    }

    #[test]
    fn the_clock_has_no_fraction_of_a_second() {
        use chrono::Timelike as _;
        assert_eq!(SystemClock.now().nanosecond(), 0);
    }
}
