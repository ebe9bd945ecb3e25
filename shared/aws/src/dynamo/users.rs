//! Local users (with a claim item per email, so that emails are unique), their sessions
//! (expired by the table's TTL), and the organizations' sign-in policies.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::ids::{Email, OrganizationId, UserId};
use platform::model::{Session, SignInPolicy, User};
use platform::ports::{PortResult, UserStore};

use super::{
    Condition, DynamoStore, EXPIRES_AT, GSI1, Item, Transaction, doc, n, record_item, s, sdk, text,
};

fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

fn session_pk(id: &str) -> String {
    format!("SESSION#{id}")
}

const POLICY_SK: &str = "POLICY#sign-in";

/// The item of a user: read by id, listed through its organization's index partition.
fn user_item(user: &User) -> anyhow::Result<Item> {
    let mut item = record_item(user_pk(user.id), "USER", user)?;
    item.insert("GSI1PK".into(), s(format!("ORG#{}", user.organization_id)));
    item.insert("GSI1SK".into(), s(user_pk(user.id)));
    item.insert("version".into(), n(user.version));
    Ok(item)
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn insert_user(&self, user: &User) -> PortResult<bool> {
        let what = "insert user";
        let mut claim = record_item(email_pk(&user.email), "EMAIL", &user.id)?;
        claim.insert("user".into(), s(user.id.to_string()));
        let items = vec![
            self.put_op(claim, Some(Condition::not_exists()))?,
            self.put_op(user_item(user)?, Some(Condition::not_exists()))?,
        ];
        match self.transact_retrying(what, items).await? {
            Transaction::Committed => Ok(true),
            // Only a taken email is an expected outcome; a reused id stays an error.
            outcome if outcome.failed(0) && !outcome.failed(1) => Ok(false),
            outcome => Err(outcome.unexpected(what)),
        }
    }

    async fn user(&self, id: UserId) -> PortResult<Option<User>> {
        self.get_doc("user", user_pk(id), "USER").await
    }

    async fn user_by_email(&self, email: &Email) -> PortResult<Option<User>> {
        let what = "user by email";
        let Some(claim) = self.get(what, email_pk(email), "EMAIL").await? else {
            return Ok(None);
        };
        let id = text(&claim, "user").context("an email claim without its user")?;
        let id = UserId::parse(id).map_err(|e| anyhow::anyhow!("email claim: {e}"))?;
        let user: Option<User> = self.get_doc(what, user_pk(id), "USER").await?;
        Ok(user.filter(|u| &u.email == email))
    }

    async fn users(&self, organization: OrganizationId) -> PortResult<Vec<User>> {
        let what = "users";
        let query = self
            .query_on(Some(GSI1))
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :user)")
            .expression_attribute_values(":pk", s(format!("ORG#{organization}")))
            .expression_attribute_values(":user", s("USER#"));
        let items = self.query(what, query, usize::MAX).await?;
        let mut users =
            items.iter().map(|item| doc(item, what)).collect::<anyhow::Result<Vec<User>>>()?;
        users.sort_by_key(|u| (u.created_at, u.id));
        Ok(users)
    }

    async fn update_user(&self, user: &User, expected_version: u64) -> PortResult<bool> {
        // Emails never change (the use cases keep them), so the claim stays right.
        let condition = Condition::new("#version = :expected")
            .name("#version", "version")
            .value(":expected", n(expected_version));
        self.put("update user", user_item(user)?, Some(condition)).await
    }

    async fn insert_session(&self, session: &Session) -> PortResult<()> {
        let mut item = record_item(session_pk(&session.id), "SESSION", session)?;
        // DynamoDB deletes the item some time after it expires.
        item.insert(EXPIRES_AT.into(), n(session.expires_at.timestamp()));
        if !self.put("insert session", item, Some(Condition::not_exists())).await? {
            anyhow::bail!("a session with this id exists");
        }
        Ok(())
    }

    async fn session(&self, id: &str) -> PortResult<Option<Session>> {
        self.get_doc("session", session_pk(id), "SESSION").await
    }

    async fn delete_session(&self, id: &str) -> PortResult<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(session_pk(id)))
            .key("SK", s("SESSION"))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk("delete session", &error)),
        }
    }

    async fn sign_in_policy(
        &self,
        organization: OrganizationId,
    ) -> PortResult<Option<SignInPolicy>> {
        self.get_doc("sign-in policy", format!("ORG#{organization}"), POLICY_SK).await
    }

    async fn set_sign_in_policy(
        &self,
        organization: OrganizationId,
        policy: &SignInPolicy,
    ) -> PortResult<()> {
        let item = record_item(format!("ORG#{organization}"), POLICY_SK, policy)?;
        self.put("set sign-in policy", item, None).await?;
        Ok(())
    }
}
