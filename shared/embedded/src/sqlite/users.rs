//! Local users, their sessions, and the organizations' sign-in policies.

use async_trait::async_trait;
use platform::ids::{Email, OrganizationId, UserId};
use platform::model::{Session, SignInPolicy, User};
use platform::ports::{PortResult, UserStore};
use rusqlite::params;

use super::{SqliteStore, all, from_json, optional, time, to_i64, to_json};

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &User) -> PortResult<bool> {
        let record = to_json(user)?;
        let user = user.clone();
        self.write("insert user", move |tx| {
            // Only a taken email is an expected outcome; a reused id stays an error.
            let inserted = tx.execute(
                "INSERT INTO users (id, organization_id, email, version, created_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (email) DO NOTHING",
                params![
                    user.id.to_string(),
                    user.organization_id.to_string(),
                    user.email.as_str(),
                    to_i64(user.version)?,
                    time(user.created_at),
                    record
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn user(&self, id: UserId) -> PortResult<Option<User>> {
        self.lookup("user", move |c| {
            optional(c, "SELECT record FROM users WHERE id = ?1", [id.to_string()], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> PortResult<Option<User>> {
        let email = email.as_str().to_owned();
        self.lookup("user by email", move |c| {
            optional(c, "SELECT record FROM users WHERE email = ?1", [email], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn users(&self, organization: OrganizationId) -> PortResult<Vec<User>> {
        self.read("users", move |c| {
            all(
                c,
                "SELECT record FROM users WHERE organization_id = ?1 ORDER BY created_at, id",
                [organization.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn update_user(&self, user: &User, expected_version: u64) -> PortResult<bool> {
        let record = to_json(user)?;
        let user = user.clone();
        self.write("update user", move |tx| {
            // The email never changes, so its uniqueness holds.
            let updated = tx.execute(
                "UPDATE users SET version = ?1, record = ?2
                 WHERE id = ?3 AND version = ?4 AND email = ?5",
                params![
                    to_i64(user.version)?,
                    record,
                    user.id.to_string(),
                    to_i64(expected_version)?,
                    user.email.as_str()
                ],
            )?;
            Ok(updated == 1)
        })
        .await
    }

    async fn insert_session(&self, session: &Session) -> PortResult<()> {
        let record = to_json(session)?;
        let session = session.clone();
        self.write("insert session", move |tx| {
            // Sessions past their end are of no use: each new one sweeps them.
            tx.execute("DELETE FROM sessions WHERE expires_at < ?1", [time(session.created_at)])?;
            tx.execute(
                "INSERT INTO sessions (id, user_id, expires_at, record) VALUES (?1, ?2, ?3, ?4)",
                params![session.id, session.user_id.to_string(), time(session.expires_at), record],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: &str) -> PortResult<Option<Session>> {
        let id = id.to_owned();
        self.lookup("session", move |c| {
            optional(c, "SELECT record FROM sessions WHERE id = ?1", [id], |row| {
                from_json(&row.get::<_, String>(0)?)
            })
        })
        .await
    }

    async fn delete_session(&self, id: &str) -> PortResult<bool> {
        let id = id.to_owned();
        self.write("delete session", move |tx| {
            Ok(tx.execute("DELETE FROM sessions WHERE id = ?1", [id])? == 1)
        })
        .await
    }

    async fn sign_in_policy(
        &self,
        organization: OrganizationId,
    ) -> PortResult<Option<SignInPolicy>> {
        self.lookup("sign-in policy", move |c| {
            optional(
                c,
                "SELECT record FROM sign_in_policies WHERE organization_id = ?1",
                [organization.to_string()],
                |row| from_json(&row.get::<_, String>(0)?),
            )
        })
        .await
    }

    async fn set_sign_in_policy(
        &self,
        organization: OrganizationId,
        policy: &SignInPolicy,
    ) -> PortResult<()> {
        let record = to_json(policy)?;
        self.write("set sign-in policy", move |tx| {
            tx.execute(
                "INSERT INTO sign_in_policies (organization_id, record) VALUES (?1, ?2)
                 ON CONFLICT (organization_id) DO UPDATE SET record = excluded.record",
                params![organization.to_string(), record],
            )?;
            Ok(())
        })
        .await
    }
}
