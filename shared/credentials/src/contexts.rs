//! The JSON-LD contexts this crate knows, bundled in the binary and pinned by SHA-256.
//!
//! Nothing is ever fetched: a context URL that is not in [`BUNDLED`] is an error
//! ([`crate::Error::UnknownContext`]). Each file is checked against its pinned hash once,
//! the first time any context is used, so a modified bundle cannot silently change what is
//! signed. The files are the ones the independent conformance verifier bundles, so both
//! sides canonicalize against the same definitions.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The W3C Verifiable Credentials Data Model 2.0 context.
pub const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The W3C Verifiable Credentials Data Model 1.1 context (older OB 3.0 credentials).
pub const VC_V1: &str = "https://www.w3.org/2018/credentials/v1";
/// The Open Badges 3.0.3 context, the one this platform issues with.
pub const OB_V3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The Open Badges extensions context (`1EdTechJsonSchemaValidator2019`, `1EdTechRevocationList`).
pub const OB_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
/// The DID v1 context.
pub const DID_V1: &str = "https://www.w3.org/ns/did/v1";
/// The Multikey v1 context.
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
/// The Data Integrity v2 context.
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";

/// A bundled context: its URL, its document and the SHA-256 it is pinned to.
#[derive(Debug, Clone, Copy)]
pub struct BundledContext {
    /// The context URL as it appears in `@context`.
    pub url: &'static str,
    /// The context document (JSON).
    pub document: &'static [u8],
    /// Lower-case hex SHA-256 of `document`.
    pub sha256: &'static str,
}

macro_rules! bundled {
    ($url:expr, $file:literal, $sha:literal) => {
        BundledContext {
            url: $url,
            document: include_bytes!(concat!("contexts/", $file)),
            sha256: $sha,
        }
    };
}

/// Every context the crate can process.
pub const BUNDLED: &[BundledContext] = &[
    bundled!(
        VC_V2,
        "credentials-v2.jsonld",
        "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f"
    ),
    bundled!(
        VC_V1,
        "credentials-v1.jsonld",
        "00d7dd6d3ad8b920e3e550dd3a3d9090bffcac84cdbf943da6924b3e0a5c8bb8"
    ),
    bundled!(
        "https://www.w3.org/ns/credentials/status/v1",
        "status-v1.jsonld",
        "fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c"
    ),
    bundled!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "ob-3.0.0.jsonld",
        "9f1c8f9f361ba2994b9b50701f41149919542c50c7b7455b2846d87959295d72"
    ),
    bundled!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        "ob-3.0.1.jsonld",
        "af095468326d3449160509b26ca71576e6321d13c85b0369cfe3b654c9a48fba"
    ),
    bundled!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "ob-3.0.2.jsonld",
        "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53"
    ),
    bundled!(
        OB_V3,
        "ob-3.0.3.jsonld",
        "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"
    ),
    bundled!(
        OB_EXTENSIONS,
        "ob-extensions.jsonld",
        "2d013f981d1f4516081a6a04e55468ba2b071d4153b794f19a79715c45a89a5e"
    ),
    bundled!(
        "https://w3id.org/security/data-integrity/v1",
        "data-integrity-v1.jsonld",
        "b5d829bd09aa7c42abc6efa0c8ed7635313b5487f37ccfce3ecd149ca9418554"
    ),
    bundled!(
        DATA_INTEGRITY_V2,
        "data-integrity-v2.jsonld",
        "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363"
    ),
    bundled!(
        MULTIKEY_V1,
        "multikey-v1.jsonld",
        "8e6bad2e5b4f0721906a4dcc2f7a894b1215cf9a47014c71e286423860642ff0"
    ),
    bundled!(
        DID_V1,
        "did-v1.jsonld",
        "62c1054bf404d6dd3a4b26b64f830fd72095f6a26edc4469908c94351352ce5f"
    ),
];

/// Checks every bundled document against its pinned hash (once per process).
pub fn check_pins() -> Result<()> {
    static CHECKED: OnceLock<Result<()>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            for context in BUNDLED {
                let digest = hex::encode(Sha256::digest(context.document));
                if digest != context.sha256 {
                    return Err(Error::ContextIntegrity(context.url.to_owned()));
                }
            }
            Ok(())
        })
        .clone()
}

/// The bundled context for `url`, after the pins have been checked.
pub fn get(url: &str) -> Result<&'static BundledContext> {
    check_pins()?;
    BUNDLED
        .iter()
        .find(|context| context.url == url)
        .ok_or_else(|| Error::UnknownContext(url.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_context_matches_its_pinned_hash_and_is_json() {
        check_pins().unwrap();
        for context in BUNDLED {
            let value: serde_json::Value = serde_json::from_slice(context.document).unwrap();
            assert!(value.get("@context").is_some(), "{} has no @context", context.url);
        }
    }

    #[test]
    fn unknown_context_is_an_error_not_a_fetch() {
        assert_eq!(
            get("https://example.com/ctx.json").unwrap_err(),
            Error::UnknownContext("https://example.com/ctx.json".into())
        );
        assert_eq!(get(OB_V3).unwrap().url, OB_V3);
    }
}
