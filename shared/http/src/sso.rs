//! Single sign-on: OpenID Connect bearer tokens.
//!
//! A bearer token shaped like a JWT ([`is_jwt`]) is an identity provider's token, never an
//! API key. [`authenticate`] finds the organization's provider it is meant for (its `iss`,
//! then its `aud`; nothing trusted yet), verifies it with that provider's keys (the static
//! set, or the set at its URL through the process-wide [`JwksCache`]) against the
//! platform's clock, and answers the caller its claim values map to. Every refusal is a 401
//! problem saying why; keys that cannot be fetched are a 503.

use std::sync::LazyLock;

use platform::App;
use platform::app::Caller;

use crate::error::ApiError;
use crate::jwks::JwksCache;

/// The key set caches of this process: one that refuses internal addresses, one that
/// allows them (`allow_internal_webhooks`, tests and labs). Shared by every request, so a
/// provider's keys are fetched once per [`crate::jwks::CACHE_TTL`], not per request.
static GUARDED: LazyLock<Option<JwksCache>> = LazyLock::new(|| build(false));
static INTERNAL: LazyLock<Option<JwksCache>> = LazyLock::new(|| build(true));

fn build(allow_internal: bool) -> Option<JwksCache> {
    JwksCache::new(allow_internal)
        .map_err(|error| tracing::error!(error = format!("{error:#}"), "no OIDC key set cache"))
        .ok()
}

/// Whether `token` is shaped like a JWT: three base64url parts separated by dots (the last,
/// the signature, may be empty: such tokens are then refused as unsigned). API keys
/// (`obk_…`) never contain a dot.
pub fn is_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let base64url =
        |part: &str| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    !header.is_empty()
        && !payload.is_empty()
        && base64url(header)
        && base64url(payload)
        && base64url(signature)
}

/// The caller behind an OpenID Connect token; see the module docs.
pub(crate) async fn authenticate(app: &App, token: &str) -> Result<Caller, ApiError> {
    let provider = app.oidc_provider_for(token).await?;
    let cache = if app.settings().allow_internal_webhooks { &*INTERNAL } else { &*GUARDED };
    let cache = cache.as_ref().ok_or_else(|| {
        ApiError::unexpected(anyhow::anyhow!("the OIDC key set cache could not be built"))
    })?;
    let verified = cache.verify(token, &provider.config, app.now().timestamp()).await?;
    Ok(provider.caller(&verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwt_shaped_tokens_are_taken_for_oidc() {
        for jwt in ["eyJh.eyJz.c2ln", "eyJh.eyJz.", "a-_.b.c"] {
            assert!(is_jwt(jwt), "{jwt}");
        }
        for other in [
            "obk_AbCdEf0123456789-_xyz",
            "access-test-owner-token-0123456789abcd",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "a+b.c.d",
            "a.b.c=",
            "",
        ] {
            assert!(!is_jwt(other), "{other}");
        }
    }
}
