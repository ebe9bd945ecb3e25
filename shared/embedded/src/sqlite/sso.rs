//! Single sign-on: each organization's OpenID Connect provider (`oidc_providers`).

use async_trait::async_trait;
use platform::ids::OrganizationId;
use platform::model::OidcProvider;
use platform::ports::{PortResult, SsoStore};
use rusqlite::params;

use super::{SqliteStore, all, from_json, optional, to_json};

#[async_trait]
impl SsoStore for SqliteStore {
    async fn put_oidc_provider(&self, provider: &OidcProvider) -> PortResult<bool> {
        let record = to_json(provider)?;
        let organization = provider.organization_id.to_string();
        let issuer = provider.config.issuer.clone();
        let audience = provider.config.audience.clone();
        self.write("put OIDC provider", move |tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM oidc_providers
                 WHERE issuer = ?1 AND audience = ?2 AND organization_id <> ?3)",
                params![issuer, audience, organization],
                |r| r.get(0),
            )?;
            if taken {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO oidc_providers (organization_id, issuer, audience, record)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (organization_id) DO UPDATE
                 SET issuer = excluded.issuer, audience = excluded.audience, record = excluded.record",
                params![organization, issuer, audience, record],
            )?;
            Ok(true)
        })
        .await
    }

    async fn oidc_provider(
        &self,
        organization: OrganizationId,
    ) -> PortResult<Option<OidcProvider>> {
        self.lookup("OIDC provider", move |c| {
            optional(
                c,
                "SELECT record FROM oidc_providers WHERE organization_id = ?1",
                [organization.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn delete_oidc_provider(&self, organization: OrganizationId) -> PortResult<bool> {
        self.write("delete OIDC provider", move |tx| {
            let deleted = tx.execute(
                "DELETE FROM oidc_providers WHERE organization_id = ?1",
                [organization.to_string()],
            )?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn oidc_providers_by_issuer(&self, issuer: &str) -> PortResult<Vec<OidcProvider>> {
        let issuer = issuer.to_owned();
        self.read("OIDC providers by issuer", move |c| {
            all(
                c,
                "SELECT record FROM oidc_providers WHERE issuer = ?1 ORDER BY organization_id",
                [issuer],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }
}
