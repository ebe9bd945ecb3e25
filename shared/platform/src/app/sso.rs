//! Single sign-on with OpenID Connect: an organization's identity provider (set up, read,
//! removed with `organization_manage`), and the caller a verified bearer token makes.
//!
//! Checking a token (signature, `iss`, `aud`, `exp`, `nbf`) is `auth::oidc::verify_token`
//! behind the HTTP layer's key set cache. This module decides which organization's provider
//! a token is meant for before anything is verified ([`App::oidc_provider_for`]: its `iss`
//! finds the providers, its `aud` picks one), and turns the verified token into a caller
//! ([`OidcProvider::caller`]): the organization's, named `oidc:<sub>`, holding the grants its
//! claim values map to. A token whose values map to nothing holds no grant, so every route
//! refuses it (404 for workspaces, 403 for the organization's own routes).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access::role_names;
use super::{App, Caller};
use crate::auth::oidc::{
    DEFAULT_LEEWAY_SECONDS, JwkSet, JwksLocation, OidcConfig, OidcConfigError, OidcError,
    VerifiedToken, unverified_claims,
};
use crate::auth::{Actor, Grant, Permission, Role, Scope};
use crate::ids::{WorkspaceSlug, is_internal_address};
use crate::model::{ClaimMapping, OidcProvider, Workspace};
use crate::{Error, Result};

/// The most mappings one provider may have.
pub const MAX_MAPPINGS: usize = 200;
/// The longest claim value a mapping may name.
const MAX_VALUE_CHARS: usize = 256;
/// The largest static key set, as JSON.
const MAX_STATIC_JWKS_BYTES: usize = 64 * 1024;
/// Google's ID tokens may carry this scheme-less `iss`; it is looked up as the https one.
const GOOGLE_BARE_ISSUER: &str = "accounts.google.com";

/// `PUT /v1/organization/sso`: the whole setup, replacing any previous one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoInput {
    /// The issuer identifier, as the provider's tokens carry it in `iss`.
    pub issuer: String,
    /// The client id (ID tokens) or API identifier (access tokens) tokens must be minted for.
    pub audience: String,
    /// The provider's key set URL (`jwks_uri` of its discovery document); or `jwks`.
    pub jwks_uri: Option<String>,
    /// A static JSON Web Key Set, instead of `jwks_uri` (never refreshed).
    pub jwks: Option<Value>,
    /// The claim holding the user's groups or roles: a string or an array of strings.
    pub claim: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 60, at most 300).
    pub leeway_seconds: Option<u64>,
    /// Claim values to roles.
    #[serde(default)]
    pub mappings: Vec<MappingInput>,
}

/// One mapping of [`SsoInput`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    /// A value of the claim (a group name, a role name), compared exactly.
    pub value: String,
    /// One of the roles.
    pub role: String,
    /// The workspace (slug) the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
}

/// The setup as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SsoView {
    pub issuer: String,
    pub audience: String,
    pub jwks_uri: Option<String>,
    pub jwks: Option<JwkSet>,
    pub claim: String,
    pub leeway_seconds: u64,
    pub mappings: Vec<MappingView>,
    pub updated_at: DateTime<Utc>,
}

/// One mapping as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingView {
    pub value: String,
    pub role: Role,
    /// The workspace slug the role is limited to; none: the whole organization.
    pub workspace: Option<String>,
}

impl App {
    /// Sets up (or replaces) the single sign-on of the caller's organization
    /// (`organization_manage`). Mappings follow the rules of API keys: an organization role
    /// covers the whole organization, and nobody maps a claim to more than they hold; nor
    /// may they replace a setup that grants more than they hold.
    pub async fn configure_sso(&self, caller: &Caller, input: SsoInput) -> Result<SsoView> {
        self.authorize_organization(caller, Permission::OrganizationManage)?;
        let config = self.sso_config(&input)?;
        let workspaces = self.ports().workspaces.workspaces(caller.organization_id).await?;
        let mappings = parse_mappings(&input.mappings, &workspaces)?;
        if !mappings.iter().all(|m| caller.may_grant(&m.grant)) {
            return Err(Error::Forbidden("a mapping cannot grant more than you hold".into()));
        }
        if let Some(current) = self.ports().sso.oidc_provider(caller.organization_id).await? {
            holds_all(caller, &current)?;
        }
        let provider = OidcProvider {
            organization_id: caller.organization_id,
            config,
            mappings,
            updated_at: self.ports().clock.now(),
        };
        if !self.ports().sso.put_oidc_provider(&provider).await? {
            return Err(Error::Conflict(
                "another organization already signs in with this issuer and audience; \
                 register a client of its own at the identity provider"
                    .into(),
            ));
        }
        Ok(view(&provider, &workspaces))
    }

    /// The single sign-on setup of the caller's organization (`organization_manage`).
    pub async fn sso(&self, caller: &Caller) -> Result<SsoView> {
        self.authorize_organization(caller, Permission::OrganizationManage)?;
        let provider = self
            .ports()
            .sso
            .oidc_provider(caller.organization_id)
            .await?
            .ok_or(Error::NotFound("single sign-on setup"))?;
        let workspaces = self.ports().workspaces.workspaces(caller.organization_id).await?;
        Ok(view(&provider, &workspaces))
    }

    /// Removes the single sign-on of the caller's organization (`organization_manage`); its
    /// tokens are refused from then on.
    pub async fn delete_sso(&self, caller: &Caller) -> Result<()> {
        self.authorize_organization(caller, Permission::OrganizationManage)?;
        let current = self
            .ports()
            .sso
            .oidc_provider(caller.organization_id)
            .await?
            .ok_or(Error::NotFound("single sign-on setup"))?;
        holds_all(caller, &current)?;
        if !self.ports().sso.delete_oidc_provider(caller.organization_id).await? {
            return Err(Error::NotFound("single sign-on setup"));
        }
        Ok(())
    }

    /// The provider a bearer token claims to come from, before anything is verified: the
    /// providers of its `iss`, and among them the one whose audience is in its `aud`. The
    /// token must then be verified against that provider's configuration.
    ///
    /// Errors (401): a malformed token, an issuer no organization signs in with, an audience
    /// none of them expects (or several).
    pub async fn oidc_provider_for(&self, token: &str) -> Result<OidcProvider> {
        let claims = unverified_claims(token)?;
        let issuer = match claims.get("iss") {
            Some(Value::String(issuer)) => issuer.as_str(),
            None | Some(Value::Null) => return Err(OidcError::MissingClaim("iss".into()).into()),
            Some(_) => return Err(OidcError::Malformed("`iss` is not a string".into()).into()),
        };
        let lookup =
            if issuer == GOOGLE_BARE_ISSUER { "https://accounts.google.com" } else { issuer };
        let providers = self.ports().sso.oidc_providers_by_issuer(lookup).await?;
        if providers.is_empty() {
            return Err(Error::Unauthorized(
                "the token's issuer is not set up for single sign-on (unknown issuer)".into(),
            ));
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(audience)) => vec![audience.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            None | Some(Value::Null) => return Err(OidcError::MissingClaim("aud".into()).into()),
            Some(_) => {
                return Err(OidcError::Malformed(
                    "`aud` is not a string or an array of strings".into(),
                )
                .into());
            }
        };
        let mut matching =
            providers.into_iter().filter(|p| audiences.contains(&p.config.audience.as_str()));
        match (matching.next(), matching.next()) {
            (Some(provider), None) => Ok(provider),
            (None, _) => Err(OidcError::WrongAudience.into()),
            (Some(_), Some(_)) => Err(Error::Unauthorized(
                "the token's audiences belong to several organizations; ask the identity \
                 provider for a token with one audience"
                    .into(),
            )),
        }
    }

    /// The configuration of `input`, checked: every URL rule of `OidcConfig::validate`,
    /// and, unless internal addresses are allowed (`allow_internal_webhooks`), `https` only
    /// and no internal IP address as the key set's host.
    fn sso_config(&self, input: &SsoInput) -> Result<OidcConfig> {
        let jwks = match (&input.jwks_uri, &input.jwks) {
            (Some(url), None) => JwksLocation::Url(url.clone()),
            (None, Some(set)) => JwksLocation::Static(static_key_set(set)?),
            (Some(_), Some(_)) => {
                return Err(Error::invalid("jwks", "give either `jwks_uri` or `jwks`, not both"));
            }
            (None, None) => {
                return Err(Error::invalid(
                    "jwks_uri",
                    "give the provider's key set URL (or a static key set as `jwks`)",
                ));
            }
        };
        let config = OidcConfig {
            issuer: input.issuer.clone(),
            audience: input.audience.clone(),
            jwks,
            role_claim: input.claim.clone(),
            leeway_seconds: input.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS),
        };
        config.validate().map_err(|error| {
            let field = match &error {
                OidcConfigError::RoleClaim => "claim",
                OidcConfigError::JwksUrl(_) => "jwks_uri",
                _ => error.field(),
            };
            Error::invalid(field, error.to_string())
        })?;
        if !self.settings().allow_internal_webhooks {
            if !config.issuer.starts_with("https://") {
                return Err(Error::invalid("issuer", "the issuer must use https"));
            }
            if let JwksLocation::Url(text) = &config.jwks {
                let url = url::Url::parse(text)
                    .map_err(|_| Error::invalid("jwks_uri", "must be an absolute https URL"))?;
                if url.scheme() != "https" {
                    return Err(Error::invalid("jwks_uri", "the JWKS URL must use https"));
                }
                let internal = match url.host() {
                    Some(url::Host::Ipv4(ip)) => is_internal_address(ip.into()),
                    Some(url::Host::Ipv6(ip)) => is_internal_address(ip.into()),
                    Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                    None => true,
                };
                if internal {
                    return Err(Error::invalid(
                        "jwks_uri",
                        "must not point at a private, loopback or link-local address",
                    ));
                }
            }
        }
        Ok(config)
    }
}

impl OidcProvider {
    /// The grants the claim `values` of a token map to: each mapping whose value is one of
    /// them, once. None when nothing matches.
    pub fn grants(&self, values: &[String]) -> Vec<Grant> {
        let mut grants: Vec<Grant> = Vec::new();
        for mapping in &self.mappings {
            if values.contains(&mapping.value) && !grants.contains(&mapping.grant) {
                grants.push(mapping.grant);
            }
        }
        grants
    }

    /// The caller a token verified against this provider makes.
    pub fn caller(&self, token: &VerifiedToken) -> Caller {
        Caller {
            organization_id: self.organization_id,
            actor: Actor::Oidc { issuer: token.issuer.clone(), subject: token.subject.clone() },
            grants: self.grants(&token.claim_values),
        }
    }
}

/// Refuses when `current` grants more than the caller holds (an admin cannot replace or
/// remove an owner's mappings, as it cannot revoke an owner's key).
fn holds_all(caller: &Caller, current: &OidcProvider) -> Result<()> {
    if current.mappings.iter().all(|m| caller.may_grant(&m.grant)) {
        Ok(())
    } else {
        Err(Error::Forbidden("the current single sign-on setup grants more than you hold".into()))
    }
}

/// A static key set: a JSON Web Key Set of bounded size, every key readable.
fn static_key_set(value: &Value) -> Result<JwkSet> {
    if value.to_string().len() > MAX_STATIC_JWKS_BYTES {
        return Err(Error::invalid(
            "jwks",
            format!("the key set is larger than {MAX_STATIC_JWKS_BYTES} bytes"),
        ));
    }
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid("jwks", "must be a JSON Web Key Set: {\"keys\": [...]}"))?;
    for (i, key) in keys.iter().enumerate() {
        if let Err(error) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.clone()) {
            return Err(Error::invalid(
                format!("jwks.keys[{i}]"),
                format!("is not a JSON Web Key this platform reads: {error}"),
            ));
        }
    }
    serde_json::from_value(value.clone())
        .map_err(|e| Error::invalid("jwks", format!("is not a JSON Web Key Set: {e}")))
}

/// The mappings of `input`, each checked like an API key's grant, workspaces by slug among
/// the organization's `workspaces`.
fn parse_mappings(input: &[MappingInput], workspaces: &[Workspace]) -> Result<Vec<ClaimMapping>> {
    if input.len() > MAX_MAPPINGS {
        return Err(Error::invalid("mappings", format!("at most {MAX_MAPPINGS} mappings")));
    }
    let mut mappings = Vec::with_capacity(input.len());
    for (i, mapping) in input.iter().enumerate() {
        let field = |name: &str| format!("mappings[{i}].{name}");
        let value = &mapping.value;
        if value.is_empty()
            || value.chars().count() > MAX_VALUE_CHARS
            || value.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                field("value"),
                format!("must be a claim value of 1 to {MAX_VALUE_CHARS} characters"),
            ));
        }
        let role = Role::parse(&mapping.role).ok_or_else(|| {
            Error::invalid(field("role"), format!("must be one of {}", role_names()))
        })?;
        let scope = match &mapping.workspace {
            None => Scope::Organization,
            Some(slug) => {
                if role.is_organization_role() {
                    return Err(Error::invalid(
                        field("workspace"),
                        format!("the role `{}` covers the whole organization", role.as_str()),
                    ));
                }
                let slug = WorkspaceSlug::parse(slug)
                    .map_err(|_| Error::invalid(field("workspace"), "is not a workspace slug"))?;
                let workspace = workspaces.iter().find(|w| w.slug == slug).ok_or_else(|| {
                    Error::invalid(field("workspace"), format!("no workspace `{slug}` here"))
                })?;
                Scope::Workspace(workspace.id)
            }
        };
        mappings.push(ClaimMapping { value: value.clone(), grant: Grant { scope, role } });
    }
    Ok(mappings)
}

fn view(provider: &OidcProvider, workspaces: &[Workspace]) -> SsoView {
    let config = &provider.config;
    let (jwks_uri, jwks) = match &config.jwks {
        JwksLocation::Url(url) => (Some(url.clone()), None),
        JwksLocation::Static(set) => (None, Some(set.clone())),
    };
    let mappings = provider
        .mappings
        .iter()
        .map(|m| MappingView {
            value: m.value.clone(),
            role: m.grant.role,
            workspace: match m.grant.scope {
                Scope::Organization => None,
                Scope::Workspace(id) => {
                    workspaces.iter().find(|w| w.id == id).map(|w| w.slug.to_string())
                }
            },
        })
        .collect();
    SsoView {
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        jwks_uri,
        jwks,
        claim: config.role_claim.clone(),
        leeway_seconds: config.leeway_seconds,
        mappings,
        updated_at: provider.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrganizationId, WorkspaceId};

    fn provider(mappings: Vec<ClaimMapping>) -> OidcProvider {
        OidcProvider {
            organization_id: OrganizationId::generate(),
            config: OidcConfig {
                issuer: "https://idp.example.com".into(),
                audience: "badges".into(),
                jwks: JwksLocation::Url("https://idp.example.com/keys".into()),
                role_claim: "groups".into(),
                leeway_seconds: 60,
            },
            mappings,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn mapping(value: &str, role: Role, scope: Scope) -> ClaimMapping {
        ClaimMapping { value: value.into(), grant: Grant { scope, role } }
    }

    fn values(list: &[&str]) -> Vec<String> {
        list.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn claim_values_map_to_every_matching_grant_once() {
        let alpha = WorkspaceId::generate();
        let issuers = mapping("badge-issuers", Role::Issuer, Scope::Workspace(alpha));
        let auditors = mapping("auditors", Role::Auditor, Scope::Organization);
        let again = mapping("issuers-too", Role::Issuer, Scope::Workspace(alpha));
        let provider = provider(vec![issuers.clone(), auditors.clone(), again]);
        assert_eq!(provider.grants(&values(&["badge-issuers"])), vec![issuers.grant]);
        assert_eq!(
            provider.grants(&values(&["auditors", "badge-issuers", "issuers-too"])),
            vec![issuers.grant, auditors.grant],
            "each grant once, in mapping order"
        );
    }

    #[test]
    fn unmapped_or_absent_values_give_no_grant() {
        let provider = provider(vec![mapping("badge-issuers", Role::Issuer, Scope::Organization)]);
        assert!(provider.grants(&[]).is_empty());
        assert!(provider.grants(&values(&["everyone"])).is_empty());
        // Exact comparison: no case folding, no trimming, no prefixes.
        assert!(provider.grants(&values(&["Badge-Issuers", "badge-issuers ", "badge"])).is_empty());
    }

    #[test]
    fn the_caller_is_the_providers_organization_named_by_subject() {
        let provider =
            provider(vec![mapping("admins", Role::OrganizationAdmin, Scope::Organization)]);
        let token = VerifiedToken {
            subject: "00u1abc".into(),
            issuer: "https://idp.example.com".into(),
            email: None,
            claim_values: values(&["admins"]),
            expires_at: 0,
        };
        let caller = provider.caller(&token);
        assert_eq!(caller.organization_id, provider.organization_id);
        assert_eq!(caller.actor.to_string(), "oidc:00u1abc");
        assert!(caller.may(Permission::OrganizationManage, None));
        let nobody = provider.caller(&VerifiedToken { claim_values: vec![], ..token });
        assert!(nobody.grants.is_empty());
        assert!(!nobody.sees(None));
    }

    #[test]
    fn mappings_are_checked_like_api_key_grants() {
        let alpha = Workspace {
            id: WorkspaceId::generate(),
            organization_id: OrganizationId::generate(),
            slug: WorkspaceSlug::parse("alpha").unwrap(),
            name: "Alpha".into(),
            issuer: crate::model::IssuerProfile {
                name: "A".into(),
                url: None,
                email: None,
                image: None,
            },
            did: "did:web:x:ws:alpha".into(),
            current_key_id: "key-1".into(),
            created_at: DateTime::UNIX_EPOCH,
            requires_approval: false,
        };
        let input = |value: &str, role: &str, workspace: Option<&str>| MappingInput {
            value: value.into(),
            role: role.into(),
            workspace: workspace.map(str::to_owned),
        };
        let ok = parse_mappings(
            &[input("g", "issuer", Some("alpha")), input("h", "viewer", None)],
            std::slice::from_ref(&alpha),
        )
        .unwrap();
        assert_eq!(ok[0].grant, Grant { scope: Scope::Workspace(alpha.id), role: Role::Issuer });
        assert_eq!(ok[1].grant, Grant { scope: Scope::Organization, role: Role::Viewer });
        for (bad, field) in [
            (input("g", "root", None), "mappings[0].role"),
            (input("g", "auditor", Some("alpha")), "mappings[0].workspace"),
            (input("g", "issuer", Some("nowhere")), "mappings[0].workspace"),
            (input("g", "issuer", Some("Not A Slug")), "mappings[0].workspace"),
            (input("", "issuer", None), "mappings[0].value"),
            (input("a\nb", "issuer", None), "mappings[0].value"),
        ] {
            let error = parse_mappings(&[bad], std::slice::from_ref(&alpha)).unwrap_err();
            assert!(matches!(&error, Error::Validation { field: f, .. } if f == field), "{error}");
        }
        let many: Vec<_> =
            (0..=MAX_MAPPINGS).map(|i| input(&i.to_string(), "viewer", None)).collect();
        assert!(parse_mappings(&many, &[]).is_err());
    }

    #[test]
    fn a_static_key_set_must_be_one() {
        assert!(static_key_set(&serde_json::json!({"keys": []})).is_ok());
        let error = static_key_set(&serde_json::json!({"keys": [{"kty": "RSA"}]})).unwrap_err();
        assert!(matches!(&error, Error::Validation { field, .. } if field == "jwks.keys[0]"));
        let error = static_key_set(&serde_json::json!(["not", "a", "set"])).unwrap_err();
        assert!(matches!(&error, Error::Validation { field, .. } if field == "jwks"));
    }
}
