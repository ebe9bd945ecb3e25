//! Identifiers and values that are parsed once, at the edge, and valid from then on.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id: sorting by id sorts by creation.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the hyphenated UUID form; anything else is a validation error.
            pub fn parse(text: &str) -> Result<Self> {
                Uuid::try_parse(text).map(Self).map_err(|_| Error::invalid($what, "must be a UUID"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(/// An organization.
    OrganizationId, "organization_id");
uuid_id!(/// A workspace of an organization.
    WorkspaceId, "workspace_id");
uuid_id!(/// A credential template.
    TemplateId, "template_id");
uuid_id!(/// An issued credential; its OB `id` is `urn:uuid:` + this.
    CredentialId, "credential_id");
uuid_id!(/// A bulk issuance job.
    BulkJobId, "job_id");
uuid_id!(/// A webhook subscription.
    WebhookId, "webhook_id");
uuid_id!(/// An event (also the Standard Webhooks `webhook-id`).
    EventId, "event_id");
uuid_id!(/// An API key.
    ApiKeyId, "api_key_id");
uuid_id!(/// A local user (who signs in with a password and sessions).
    UserId, "user_id");
uuid_id!(/// A draft of issuance awaiting four-eyes approval.
    DraftId, "draft_id");

/// A workspace slug: 2 to 40 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
/// It names the workspace in URLs and in its `did:web`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkspaceSlug(String);

impl WorkspaceSlug {
    /// Parses a slug.
    pub fn parse(text: &str) -> Result<Self> {
        let ok = (2..=40).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::invalid("slug", "must be 2 to 40 characters of a-z, 0-9 and single hyphens"))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspaceSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and lower-cased (so that hashed identities match however the
/// address was typed).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl fmt::Debug for Email {
    // Personal data stays out of logs, even debug ones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(…)")
    }
}

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no spaces or
    /// control characters, at most 254 characters.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let text = text.trim().to_lowercase();
        let valid = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && match text.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid {
            Ok(Self(text))
        } else {
            Err(Error::invalid(field, "is not a valid email address"))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text a person typed (a name, a description): trimmed, non-empty, bounded, and free of
/// control characters other than LF and CR (which break signatures across JSON-LD stacks).
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(Error::invalid(field, format!("is longer than {max_chars} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(Error::invalid(field, "contains a control character"));
    }
    Ok(trimmed.to_owned())
}

/// An absolute `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses a URL.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let text = text.trim();
        match url::Url::parse(text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && text.len() <= 2048 =>
            {
                Ok(Self(url.to_string()))
            }
            _ => Err(Error::invalid(field, "must be an absolute http(s) URL")),
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The literal IP address of the host, if the host is one.
    pub fn ip_host(&self) -> Option<IpAddr> {
        let url = url::Url::parse(&self.0).ok()?;
        match url.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

/// Whether an address is one a webhook must not reach unless configuration allows it:
/// loopback, private, link-local, unspecified, multicast, shared or documentation ranges.
pub fn is_internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || a == 0
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            // Forms that carry an IPv4 address: mapped (::ffff:a.b.c.d), compatible
            // (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:a.b.c.d::/16).
            let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
                Some(v4)
            } else if (segments[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
                || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                let [.., a, b, c, d] = v6.octets();
                Some(std::net::Ipv4Addr::new(a, b, c, d))
            } else if segments[0] == 0x2002 {
                let octets = v6.octets();
                Some(std::net::Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]))
            } else {
                None
            };
            if let Some(v4) = embedded {
                return is_internal_address(IpAddr::V4(v4));
            }
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// Prefixes of the platform's own idempotency keys.
const RESERVED_KEY_PREFIXES: [&str; 3] = ["bulk:", "inbound:", "draft:"];

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key a client sent. Keys starting with `bulk:`, `inbound:` or `draft:` are the
    /// platform's own (one per bulk row, one per inbound event, one per approved draft) and
    /// refused, so a client can never collide with them.
    pub fn parse(text: &str) -> Result<Self> {
        for reserved in RESERVED_KEY_PREFIXES {
            if text.starts_with(reserved) {
                return Err(Error::invalid(
                    "Idempotency-Key",
                    format!("must not start with `{reserved}` (reserved)"),
                ));
            }
        }
        Self::internal(text)
    }

    /// A key of the platform's own (`bulk:JOB:ROW`, `inbound:KEY`, `draft:ID`).
    pub(crate) fn internal(text: &str) -> Result<Self> {
        if (1..=255).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Random bytes from the operating system, as URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> anyhow::Result<String> {
    use base64::Engine as _;
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_with_single_hyphens() {
        for ok in ["ab", "acme", "acme-eu-2", "a1"] {
            WorkspaceSlug::parse(ok).unwrap();
        }
        for bad in
            ["a", "-acme", "acme-", "ac--me", "Acme", "ac me", "ácme", &"a".repeat(41), "../x"]
        {
            assert!(WorkspaceSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@.example.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", Email::parse("email", "ada@example.com").unwrap()), "Email(…)");
    }

    #[test]
    fn urls_must_be_absolute_http() {
        HttpUrl::parse("url", "https://example.com/x?y=1").unwrap();
        for bad in [
            "ftp://example.com",
            "/relative",
            "javascript:alert(1)",
            "https://",
            "data:text/html,x",
        ] {
            assert!(HttpUrl::parse("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(is_internal_address(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_internal_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(text("name", "  Ada  ", 10).unwrap(), "Ada");
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "Ada\tLovelace", 20).is_err());
        assert!(text("name", &"x".repeat(11), 10).is_err());
        assert_eq!(text("criteria", "1.\n2.", 10).unwrap(), "1.\n2.");
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        IdempotencyKey::parse("order-42").unwrap();
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("bulk:x:1").is_err(), "reserved for bulk rows");
        assert!(IdempotencyKey::parse("inbound:x").is_err(), "reserved for inbound events");
    }
}
