//! Single sign-on: each organization's OpenID Connect provider.
//!
//! | item | `PK` | `SK` |
//! |---|---|---|
//! | the organization's provider | `ORG#<org>` | `OIDC` |
//! | its issuer entry | `OIDC#<sha256(issuer)>` | `AUD#<sha256(audience)>` (+ `organization`) |
//!
//! Both hold the whole record in `doc` and are written in one transaction. The issuer entry
//! serves the lookup by issuer (a strongly consistent query of one partition, no index) and
//! is the claim that keeps (issuer, audience) unique across organizations. Issuer and
//! audience are hashed because they may be longer than a key allows. A write is conditional
//! on the provider read before it (its `doc`), so concurrent replacements never leave an
//! issuer entry behind.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use platform::ids::OrganizationId;
use platform::model::OidcProvider;
use platform::ports::{PortResult, SsoStore};
use sha2::{Digest as _, Sha256};

use super::{
    Condition, DynamoStore, Item, MAX_ATTEMPTS, Transaction, backoff, doc, record_item, s, text,
};

const PROVIDER_SK: &str = "OIDC";

fn provider_pk(organization: OrganizationId) -> String {
    format!("ORG#{organization}")
}

fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn issuer_pk(issuer: &str) -> String {
    format!("OIDC#{}", hash(issuer))
}

/// The key of a provider's issuer entry.
fn entry_key(provider: &OidcProvider) -> (String, String) {
    (issuer_pk(&provider.config.issuer), format!("AUD#{}", hash(&provider.config.audience)))
}

/// The condition that the item still holds `doc` (or, without one, does not exist).
fn unchanged(current: Option<&str>) -> Condition {
    match current {
        Some(current) => {
            Condition::new("#doc = :old").name("#doc", "doc").value(":old", s(current))
        }
        None => Condition::not_exists(),
    }
}

/// The condition that an issuer entry is absent or `organization`'s.
fn free_or_own(organization: OrganizationId) -> Condition {
    Condition::new("attribute_not_exists(PK) OR #org = :org")
        .name("#org", "organization")
        .value(":org", s(organization.to_string()))
}

impl DynamoStore {
    /// The provider of `organization` and its `doc` text, read consistently.
    async fn current_provider(
        &self,
        what: &str,
        organization: OrganizationId,
    ) -> anyhow::Result<Option<(OidcProvider, String)>> {
        let Some(item) = self.get(what, provider_pk(organization), PROVIDER_SK).await? else {
            return Ok(None);
        };
        let provider: OidcProvider = doc(&item, what)?;
        let raw = text(&item, "doc").context("a provider without `doc`")?.to_owned();
        Ok(Some((provider, raw)))
    }

    fn delete_op(
        &self,
        key: (String, String),
        condition: Condition,
    ) -> anyhow::Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(key.0))
            .key("SK", s(key.1))
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .condition_expression(condition.expression)
            .build()
            .context("a transaction delete")?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

#[async_trait]
impl SsoStore for DynamoStore {
    async fn put_oidc_provider(&self, provider: &OidcProvider) -> PortResult<bool> {
        let what = "put OIDC provider";
        let organization = provider.organization_id;
        let (entry_pk, entry_sk) = entry_key(provider);
        for attempt in 0..MAX_ATTEMPTS {
            let current = self.current_provider(what, organization).await?;
            let mut entry = record_item(entry_pk.clone(), entry_sk.clone(), provider)?;
            entry.insert("organization".into(), s(organization.to_string()));
            let item: Item = record_item(provider_pk(organization), PROVIDER_SK, provider)?;
            let mut items = vec![
                self.put_op(item, Some(unchanged(current.as_ref().map(|(_, raw)| raw.as_str()))))?,
                self.put_op(entry, Some(free_or_own(organization)))?,
            ];
            if let Some((old, _)) = &current {
                let old_key = entry_key(old);
                if old_key != (entry_pk.clone(), entry_sk.clone()) {
                    items.push(self.delete_op(old_key, free_or_own(organization))?);
                }
            }
            match self.transact_retrying(what, items).await? {
                Transaction::Committed => return Ok(true),
                // Changed since it was read: read it again.
                outcome if outcome.failed(0) => backoff(attempt + 1).await,
                outcome if outcome.failed(1) => return Ok(false),
                outcome => return Err(outcome.unexpected(what)),
            }
        }
        anyhow::bail!("DynamoDB {what}: the provider kept changing")
    }

    async fn oidc_provider(
        &self,
        organization: OrganizationId,
    ) -> PortResult<Option<OidcProvider>> {
        Ok(self.current_provider("OIDC provider", organization).await?.map(|(p, _)| p))
    }

    async fn delete_oidc_provider(&self, organization: OrganizationId) -> PortResult<bool> {
        let what = "delete OIDC provider";
        for attempt in 0..MAX_ATTEMPTS {
            let Some((current, raw)) = self.current_provider(what, organization).await? else {
                return Ok(false);
            };
            let items = vec![
                self.delete_op(
                    (provider_pk(organization), PROVIDER_SK.to_owned()),
                    unchanged(Some(&raw)),
                )?,
                self.delete_op(entry_key(&current), free_or_own(organization))?,
            ];
            match self.transact_retrying(what, items).await? {
                Transaction::Committed => return Ok(true),
                outcome if outcome.failed(0) => backoff(attempt + 1).await,
                outcome => return Err(outcome.unexpected(what)),
            }
        }
        anyhow::bail!("DynamoDB {what}: the provider kept changing")
    }

    async fn oidc_providers_by_issuer(&self, issuer: &str) -> PortResult<Vec<OidcProvider>> {
        let what = "OIDC providers by issuer";
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND begins_with(SK, :aud)")
            .expression_attribute_values(":pk", s(issuer_pk(issuer)))
            .expression_attribute_values(":aud", s("AUD#"));
        let items = self.query(what, query, usize::MAX).await?;
        let mut providers = items
            .iter()
            .map(|item| doc::<OidcProvider>(item, what))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The partition is the issuer's hash; the issuer itself must match exactly.
        providers.retain(|p| p.config.issuer == issuer);
        providers.sort_by_key(|p| p.organization_id);
        Ok(providers)
    }
}
