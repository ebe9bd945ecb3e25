//! Rate limits: per client address on the public routes, per API key on the authenticated
//! ones (`Settings::rate_limits`, requests per minute; 0 turns one off).
//!
//! A fixed one-minute window per key, in this process's memory. Every answer carries the
//! `RateLimit-Policy` and `RateLimit` fields of the IETF draft (`"public";q=600;w=60` and
//! `"public";r=599;t=42`: quota, window, remaining, seconds to the reset); a request over the
//! quota is a `429` `rate-limited` problem with `Retry-After`, before any work is done.
//!
//! The state is per process: one `badges serve` limits exactly, while on Lambda each
//! container counts its own share, so API Gateway's stage throttling is the deployment-wide
//! ceiling (see `infra/template.yaml`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Problem};
use crate::extract::bearer_token;

/// The window of every policy.
const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept before expired windows are swept.
const SWEEP_ABOVE: usize = 10_000;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Requests per client address on the public routes.
    Public,
    /// Requests per API key (by its prefix) or OpenID Connect token (by its digest) on the
    /// authenticated routes; requests without a token are counted per client address.
    ApiKey,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::ApiKey => "api-key",
        }
    }
}

/// The counters of one router.
#[derive(Debug)]
pub struct RateLimiter {
    quota: u32,
    policy: Policy,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset: u64,
}

impl RateLimiter {
    /// A limiter of `quota` requests a minute per key (0: unlimited).
    pub fn new(policy: Policy, quota: u32) -> Arc<Self> {
        Arc::new(Self { quota, policy, windows: Mutex::new(HashMap::new()) })
    }

    /// Counts a request of `key` at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Verdict {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        let reset = WINDOW.saturating_sub(now.duration_since(*start)).as_secs().max(1);
        if *count >= self.quota {
            return Verdict { allowed: false, remaining: 0, reset };
        }
        *count += 1;
        Verdict { allowed: true, remaining: self.quota - *count, reset }
    }

    fn headers(&self, verdict: Verdict, response: &mut Response) {
        let name = self.policy.name();
        let policy = format!("\"{name}\";q={};w={}", self.quota, WINDOW.as_secs());
        let current = format!("\"{name}\";r={};t={}", verdict.remaining, verdict.reset);
        let headers = response.headers_mut();
        for (field, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(field), value);
            }
        }
    }
}

/// The client's address, or `unknown` when neither the platform nor the socket says.
fn client_address(request: &Request) -> String {
    crate::audit::client_address(request.extensions()).unwrap_or_else(|| "unknown".into())
}

/// The middleware.
pub(crate) async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.quota == 0 {
        return next.run(request).await;
    }
    let key = match limiter.policy {
        Policy::ApiKey => match bearer_token(request.headers()) {
            // JWTs share their first characters (`eyJhbGciOi…`): counted by a digest.
            Some(token) if crate::sso::is_jwt(token) => {
                format!("oidc:{}", &platform::app::request_hash(token.as_bytes())[..24])
            }
            // The prefix names the key without keeping the secret in memory.
            Some(token) => format!(
                "key:{}",
                token.chars().take(platform::app::KEY_PREFIX_LEN).collect::<String>()
            ),
            None => format!("ip:{}", client_address(&request)),
        },
        Policy::Public => client_address(&request),
    };
    let verdict = limiter.check(&key, Instant::now());
    let mut response = if verdict.allowed {
        next.run(request).await
    } else {
        let mut refused = ApiError::new(
            Problem::RateLimited,
            format!("more than {} requests a minute; retry in {} s", limiter.quota, verdict.reset),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&verdict.reset.to_string()) {
            refused.headers_mut().insert(header::RETRY_AFTER, value);
        }
        refused
    };
    limiter.headers(verdict, &mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_quota_per_window_and_no_more() {
        let limiter = RateLimiter::new(Policy::Public, 3);
        let start = Instant::now();
        let verdicts: Vec<_> = (0..4).map(|_| limiter.check("a", start)).collect();
        assert_eq!(
            verdicts.iter().map(|v| v.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(verdicts.iter().map(|v| v.remaining).collect::<Vec<_>>(), [2, 1, 0, 0]);
        assert_eq!(verdicts[3].reset, 60);
        // Another key has its own window.
        assert!(limiter.check("b", start).allowed);
        // Later in the window: still refused, with less time to wait.
        let later = limiter.check("a", start + Duration::from_secs(45));
        assert_eq!((later.allowed, later.reset), (false, 15));
        // A new window.
        let next = limiter.check("a", start + WINDOW);
        assert_eq!((next.allowed, next.remaining), (true, 2));
    }

    #[test]
    fn expired_windows_are_swept_when_many_keys_pile_up() {
        let limiter = RateLimiter::new(Policy::Public, 1);
        let start = Instant::now();
        for i in 0..=SWEEP_ABOVE {
            limiter.check(&i.to_string(), start);
        }
        limiter.check("late", start + WINDOW);
        let windows = limiter.windows.lock().unwrap();
        assert_eq!(windows.len(), 1, "only the fresh window stays");
    }
}
