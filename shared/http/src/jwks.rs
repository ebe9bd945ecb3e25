//! [`JwksCache`]: fetches and caches identity providers' JSON Web Key Sets, and verifies
//! OpenID Connect bearer tokens with them ([`JwksCache::verify`]).
//!
//! The token checks themselves are [`platform::auth::oidc::verify_token`] (pure); this module
//! adds the network:
//!
//! - a key set is fetched over `https` only (plain `http` to a loopback host when internal
//!   targets are allowed, for tests), within [`FETCH_TIMEOUT`] and [`MAX_JWKS_BYTES`], with
//!   no proxy and no redirects. Unless internal targets are allowed, internal addresses are
//!   refused as for webhooks: an IP-literal host before anything is sent, a name by a
//!   resolver that refuses it if any of its addresses is internal and connects only to the
//!   addresses it checked (see [`crate::transport`]);
//! - each URL's set is cached for [`CACHE_TTL`]. A token naming a key the set lacks (the
//!   issuer rotated its keys) triggers one refetch, at most once per [`REFRESH_INTERVAL`] per
//!   URL, so tokens with made-up key ids cannot make us hammer the provider;
//! - fetches of one URL are serialized: a burst of requests after expiry or rotation makes
//!   one fetch, and the others use its result. A failed fetch is not retried for
//!   [`REFRESH_INTERVAL`]; meanwhile (and up to [`STALE_GRACE`] after the cache expired) the
//!   previous set keeps being used, so a provider's brief outage does not lock users out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use platform::auth::oidc::{
    JwkSet, JwksLocation, OidcConfig, OidcError, VerifiedToken, verify_token,
};
use reqwest::header;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::{ApiError, Problem};
use crate::transport::{GuardedResolver, Refused, is_blocked};

/// How long a key set fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long a fetched key set is used before it is fetched again.
pub const CACHE_TTL: Duration = Duration::from_secs(10 * 60);
/// The least time between two refetches of one URL for an unknown key id, and between a
/// failed fetch and the next attempt.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long past [`CACHE_TTL`] an expired set is still used while the provider fails.
pub const STALE_GRACE: Duration = Duration::from_secs(60 * 60);

/// The `User-Agent` of key set requests.
const USER_AGENT: &str = concat!("open-badges-platform-oidc/", env!("CARGO_PKG_VERSION"));

/// Why [`JwksCache::verify`] did not verify a token.
#[derive(Debug)]
pub enum VerifyError {
    /// The token was refused: a 401 whose detail is the error's message.
    Token(OidcError),
    /// The issuer's keys could not be fetched: a 503. The cause is for logs only (it may
    /// name internal addresses).
    KeysUnavailable(anyhow::Error),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(error) => error.fmt(f),
            Self::KeysUnavailable(_) => {
                f.write_str("the identity provider's signing keys could not be fetched")
            }
        }
    }
}

impl std::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Token(error) => Some(error),
            Self::KeysUnavailable(error) => Some(error.as_ref()),
        }
    }
}

impl From<OidcError> for VerifyError {
    fn from(error: OidcError) -> Self {
        Self::Token(error)
    }
}

impl From<VerifyError> for ApiError {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::Token(refused) => {
                ApiError::new(Problem::Unauthorized, refused.to_string())
            }
            VerifyError::KeysUnavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "OIDC key set unavailable");
                ApiError::new(
                    Problem::Unavailable,
                    "The identity provider's signing keys could not be fetched. Try again later.",
                )
            }
        }
    }
}

/// What is known about one URL.
#[derive(Debug, Default)]
struct Slot {
    /// The last set fetched, and when.
    keys: Option<(JwkSet, Instant)>,
    /// The last refetch for an unknown key id.
    forced_at: Option<Instant>,
    /// The last failed fetch, and why.
    failure: Option<(Instant, String)>,
}

/// Fetches and caches key sets by URL; see the module docs. One per process, shared.
#[derive(Debug)]
pub struct JwksCache {
    client: reqwest::Client,
    allow_internal: bool,
    ttl: Duration,
    refresh_interval: Duration,
    /// One slot per URL. URLs come from organizations' configurations, so the map is as
    /// large as the number of distinct providers.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl JwksCache {
    /// A cache with the standard timings, refusing internal addresses (and plain `http`)
    /// unless `allow_internal` (tests, labs).
    pub fn new(allow_internal: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(USER_AGENT);
        if !allow_internal {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client =
            builder.build().map_err(|e| anyhow!("building the OIDC key set HTTP client: {e}"))?;
        Ok(Self {
            client,
            allow_internal,
            ttl: CACHE_TTL,
            refresh_interval: REFRESH_INTERVAL,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// The same cache with another time-to-live (tests).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same cache with another least interval between refetches (tests).
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// The key set at `url`: the cached one while fresh, else fetched. With
    /// `refresh_for_unknown_kid` (a token named a key the cached set lacks), it is refetched
    /// unless that was done for this URL within the refresh interval; if the refetch fails,
    /// the cached set is answered.
    ///
    /// Errors: a refused URL (not `https`, internal address), a failed fetch (network,
    /// status, size, not a key set) with no usable cached set.
    pub async fn jwks(&self, url: &str, refresh_for_unknown_kid: bool) -> anyhow::Result<JwkSet> {
        let url = self.check_url(url)?;
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(url.to_string()).or_default())
        };
        // Held across the fetch: concurrent callers for this URL wait for its result.
        let mut slot = slot.lock().await;
        let now = Instant::now();
        let within = |at: Option<Instant>, period: Duration| {
            at.is_some_and(|at| now.saturating_duration_since(at) < period)
        };
        let fetched_at = slot.keys.as_ref().map(|(_, at)| *at);
        let fresh = within(fetched_at, self.ttl);
        let usable_stale = within(fetched_at, self.ttl.saturating_add(STALE_GRACE));
        let forced_recently = within(slot.forced_at, self.refresh_interval);
        let failed_recently =
            within(slot.failure.as_ref().map(|(at, _)| *at), self.refresh_interval);

        let wanted = !fresh || (refresh_for_unknown_kid && !forced_recently);
        if !wanted || failed_recently {
            return match (&slot.keys, &slot.failure) {
                (Some((keys, _)), _) if fresh || usable_stale => Ok(keys.clone()),
                (_, Some((_, reason))) => {
                    Err(anyhow!("{reason} (not retried for {} s)", self.refresh_interval.as_secs()))
                }
                // Unreachable in practice: no fresh set and no failure means a fetch is due.
                _ => Err(anyhow!("no key set for {url}")),
            };
        }

        if refresh_for_unknown_kid && fresh {
            slot.forced_at = Some(now);
        }
        match self.fetch(&url).await {
            Ok(keys) => {
                slot.keys = Some((keys.clone(), Instant::now()));
                slot.failure = None;
                Ok(keys)
            }
            Err(error) => {
                slot.failure = Some((Instant::now(), format!("{error:#}")));
                match &slot.keys {
                    Some((keys, _)) if usable_stale => {
                        tracing::warn!(
                            url = url.as_str(),
                            error = format!("{error:#}"),
                            "OIDC key set fetch failed; using the cached set"
                        );
                        Ok(keys.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// Verifies `token` against `config` at `now` (Unix seconds): with the static key set,
    /// or with the set at the configured URL, refetched once if the token names a key the
    /// cached set lacks.
    pub async fn verify(
        &self,
        token: &str,
        config: &OidcConfig,
        now: i64,
    ) -> Result<VerifiedToken, VerifyError> {
        match &config.jwks {
            JwksLocation::Static(keys) => Ok(verify_token(token, config, keys, now)?),
            JwksLocation::Url(url) => {
                let keys = self.jwks(url, false).await.map_err(VerifyError::KeysUnavailable)?;
                match verify_token(token, config, &keys, now) {
                    Err(OidcError::UnknownKeyId(_)) => {
                        let keys =
                            self.jwks(url, true).await.map_err(VerifyError::KeysUnavailable)?;
                        Ok(verify_token(token, config, &keys, now)?)
                    }
                    other => Ok(other?),
                }
            }
        }
    }

    /// `https`, or `http` to a loopback host when internal targets are allowed; an internal
    /// IP-literal host is refused here, a name by the resolver.
    fn check_url(&self, text: &str) -> anyhow::Result<url::Url> {
        let url = url::Url::parse(text).map_err(|_| anyhow!("the JWKS URL is not a URL"))?;
        let host = url.host().ok_or_else(|| anyhow!("the JWKS URL has no host"))?;
        let ip = match host {
            url::Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        let loopback = ip.is_some_and(|ip| ip.is_loopback())
            || matches!(host, url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost"));
        match url.scheme() {
            "https" => {}
            "http" if self.allow_internal && loopback => {}
            _ => bail!("refused: the JWKS URL must be https"),
        }
        if !self.allow_internal
            && let Some(ip) = ip
            && is_blocked(ip)
        {
            bail!("refused: {ip} is an internal address");
        }
        Ok(url)
    }

    async fn fetch(&self, url: &url::Url) -> anyhow::Result<JwkSet> {
        let mut response = self
            .client
            .get(url.as_str())
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| anyhow!(describe(e)))
            .with_context(|| format!("fetching the key set at {url}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("the key set at {url} answered {status}");
        }
        if response.content_length().is_some_and(|length| length > MAX_JWKS_BYTES as u64) {
            bail!("the key set at {url} is larger than {MAX_JWKS_BYTES} bytes");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| anyhow!(describe(e)))
            .with_context(|| format!("reading the key set at {url}"))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                bail!("the key set at {url} is larger than {MAX_JWKS_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        parse_key_set(&body).with_context(|| format!("the key set at {url}"))
    }
}

/// A key set, skipping keys of types we cannot read (a provider may publish, say, an X25519
/// encryption key next to its signing keys) rather than refusing the whole set.
fn parse_key_set(body: &[u8]) -> anyhow::Result<JwkSet> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet =
        serde_json::from_slice(body).map_err(|e| anyhow!("is not a JSON key set: {e}"))?;
    let total = raw.keys.len();
    let keys: Vec<_> =
        raw.keys.into_iter().filter_map(|key| serde_json::from_value(key).ok()).collect();
    if keys.is_empty() {
        bail!("has no key this platform can read (of {total})");
    }
    if keys.len() < total {
        tracing::debug!(skipped = total - keys.len(), "skipped unreadable keys in a key set");
    }
    Ok(JwkSet { keys })
}

/// One line saying why a request failed: the refusal if the resolver refused, else the kind
/// and the innermost cause.
fn describe(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let error = error.without_url();
    let mut innermost: Option<&dyn std::error::Error> = None;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        innermost = Some(cause);
        source = cause.source();
    }
    let kind = if error.is_timeout() {
        return format!("timed out after {} s", FETCH_TIMEOUT.as_secs());
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    match innermost {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_http_and_internal_addresses_are_refused_without_a_request() {
        let cache = JwksCache::new(false).unwrap();
        for url in [
            "http://idp.example.com/keys",
            "http://127.0.0.1:1/keys",
            "https://127.0.0.1:1/keys",
            "https://169.254.169.254/keys",
            "https://[::1]/keys",
            "ftp://idp.example.com/keys",
        ] {
            let error = cache.jwks(url, false).await.unwrap_err().to_string();
            assert!(error.starts_with("refused"), "{url}: {error}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        let cache = JwksCache::new(false).unwrap();
        let error = cache.jwks("https://localhost:1/keys", false).await.unwrap_err();
        assert!(format!("{error:#}").contains("refused"), "{error:#}");
    }

    #[test]
    fn unreadable_keys_are_skipped_but_an_empty_set_is_an_error() {
        let body = br#"{"keys": [
            {"kty": "OKP", "crv": "X25519", "x": "AAAA", "use": "enc"},
            {"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"}
        ]}"#;
        let set = parse_key_set(body).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(parse_key_set(br#"{"keys": []}"#).is_err());
        assert!(parse_key_set(b"<html>").is_err());
    }
}
