//! [`ReqwestTransport`]: the outbound webhook transport over `reqwest`, with SSRF protection.
//!
//! A webhook URL is chosen by a customer, so it could point at the metadata service, a
//! database on the private network, or `localhost`. Unless internal targets are allowed:
//!
//! - an IP-literal host is checked before anything is sent;
//! - a name is resolved by our own resolver ([`GuardedResolver`]), which refuses the name if
//!   *any* of its addresses is internal. The connection is made to the addresses that
//!   resolver returned and nothing else, so a name that resolves to a public address for a
//!   check and to a private one a moment later (DNS rebinding) cannot get through;
//! - no proxy is used (a proxy would do its own resolution) and no redirect is followed (a
//!   redirect could lead anywhere).

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform::ids::{HttpUrl, is_internal_address};
use platform::ports::{TransportOutcome, WebhookTransport};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The `User-Agent` of webhook requests.
const USER_AGENT: &str = concat!("open-badges-platform-webhooks/", env!("CARGO_PKG_VERSION"));

/// Whether a webhook may not reach `ip`: the platform's internal ranges, plus IPv6 forms
/// that embed an IPv4 address (6to4, NAT64, IPv4-compatible), judged by that address.
pub fn is_blocked(ip: IpAddr) -> bool {
    if is_internal_address(ip) {
        return true;
    }
    match ip {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = if s[0] == 0x2002 {
                // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
                Some([(s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8])
            } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0; 6] {
                // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d).
                Some([(s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8])
            } else {
                None
            };
            embedded.is_some_and(|octets| is_internal_address(IpAddr::from(octets)))
        }
    }
}

/// Why the resolver refused a name; found again in the error chain to word the outcome.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) host: String,
    pub(crate) address: IpAddr,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: `{}` resolves to the internal address {}", self.host, self.address)
    }
}

impl std::error::Error for Refused {}

/// A resolver that refuses names with any internal address (webhooks, JWKS fetches).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's default) in its place.
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(blocked) = addresses.iter().find(|a| is_blocked(a.ip())) {
                return Err(Box::new(Refused { host, address: blocked.ip() }) as _);
            }
            if addresses.is_empty() {
                return Err(format!("`{host}` has no addresses").into());
            }
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Sends webhook requests with `reqwest`; see the module docs for what it refuses.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    allow_internal: bool,
    timeout: Duration,
}

impl ReqwestTransport {
    /// A transport whose requests time out after `timeout` (connection included), and that
    /// refuses internal addresses unless `allow_internal` (tests, labs).
    pub fn new(allow_internal: bool, timeout: Duration) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(USER_AGENT);
        if !allow_internal {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder
            .build()
            .map_err(|e| anyhow::anyhow!("building the webhook HTTP client: {e}"))?;
        Ok(Self { client, allow_internal, timeout })
    }

    fn refused(&self, error: impl Into<String>) -> TransportOutcome {
        TransportOutcome { status: None, error: Some(error.into()) }
    }

    /// One line saying why a request failed, without the URL (it may hold a token).
    fn describe(&self, error: reqwest::Error) -> String {
        let error = error.without_url();
        let mut source = error.source();
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<Refused>() {
                return refused.to_string();
            }
            source = cause.source();
        }
        let kind = if error.is_timeout() {
            return format!("timed out after {} ms", self.timeout.as_millis());
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_builder() {
            "invalid request"
        } else if error.is_redirect() {
            "redirect refused"
        } else {
            "request failed"
        };
        // The innermost cause is the most specific ("Connection refused (os error 111)").
        let mut innermost: Option<&dyn std::error::Error> = None;
        let mut source = error.source();
        while let Some(cause) = source {
            innermost = Some(cause);
            source = cause.source();
        }
        match innermost {
            Some(cause) => one_line(&format!("{kind}: {cause}")),
            None => kind.to_owned(),
        }
    }
}

/// Collapses whitespace (newlines included) and bounds the length.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 300 {
        line.chars().take(300).collect::<String>() + "…"
    } else {
        line
    }
}

#[async_trait]
impl WebhookTransport for ReqwestTransport {
    async fn post(
        &self,
        url: &HttpUrl,
        headers: &[(String, String)],
        body: &str,
    ) -> TransportOutcome {
        if !self.allow_internal
            && let Some(ip) = url.ip_host()
            && is_blocked(ip)
        {
            return self.refused(format!("refused: {ip} is an internal address"));
        }
        let mut request = self.client.post(url.as_str()).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                // The body is not read: only the status matters, and a slow or huge body must
                // not hold the worker.
                let error = (!status.is_success()).then(|| {
                    if status.is_redirection() {
                        format!("answered {status} (redirects are not followed)")
                    } else {
                        format!("answered {status}")
                    }
                });
                TransportOutcome { status: Some(status.as_u16()), error }
            }
            Err(error) => self.refused(self.describe(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> HttpUrl {
        HttpUrl::parse("url", text).unwrap()
    }

    #[tokio::test]
    async fn internal_ip_literals_are_refused_without_a_request() {
        let transport = ReqwestTransport::new(false, Duration::from_secs(2)).unwrap();
        for target in [
            "http://127.0.0.1:1/",
            "http://[::1]:1/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
        ] {
            let outcome = transport.post(&url(target), &[], "{}").await;
            assert_eq!(outcome.status, None, "{target}");
            let error = outcome.error.unwrap();
            assert!(error.starts_with("refused"), "{target}: {error}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        let transport = ReqwestTransport::new(false, Duration::from_secs(2)).unwrap();
        let outcome = transport.post(&url("http://localhost:1/hook?token=secret"), &[], "{}").await;
        assert_eq!(outcome.status, None);
        let error = outcome.error.unwrap();
        assert!(error.starts_with("refused"), "{error}");
        assert!(!error.contains("secret") && !error.contains('\n'), "{error}");
    }

    #[tokio::test]
    async fn internal_targets_are_reached_when_allowed() {
        // Port 1 on loopback has nothing listening: the connection itself fails, which proves
        // the request was attempted rather than refused.
        let transport = ReqwestTransport::new(true, Duration::from_secs(2)).unwrap();
        let outcome = transport.post(&url("http://127.0.0.1:1/?token=secret"), &[], "{}").await;
        assert_eq!(outcome.status, None);
        let error = outcome.error.unwrap();
        assert!(error.starts_with("connection failed"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn embedded_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for blocked in [
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_blocked(blocked.parse().unwrap()), "{blocked}");
        }
        for allowed in ["2002:5db8:d822::", "64:ff9b::808:808", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_blocked(allowed.parse().unwrap()), "{allowed}");
        }
    }
}
