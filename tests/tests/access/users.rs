//! Local users over HTTP, on both adapter sets: made by a member manager, signing in with a
//! password, enrolling a TOTP authenticator, signing in with a code or a recovery code (each
//! good once), the organization's policy that requires the second factor, password changes
//! that end every session, and the lock after repeated failures; each step in the audit log.

use platform::auth::totp::{self, TotpSecret};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Body, Deployment, OWNER_TOKEN, aws, embedded};

const PASSWORD: &str = "correct horse battery staple";

/// The authenticator app: the code of `secret` (base32) `offset` seconds from now.
fn code(secret: &str, offset: i64) -> String {
    let secret = TotpSecret::from_base32(secret).unwrap();
    let at = u64::try_from(chrono::Utc::now().timestamp() + offset).unwrap();
    totp::code_at(secret.as_bytes(), totp::Algorithm::Sha1, totp::DIGITS, at)
}

impl Deployment {
    async fn workspace(&self, slug: &str) {
        let body = json!({"slug": slug, "name": slug, "issuer": {"name": slug}});
        self.ok(OWNER_TOKEN, Method::POST, "/v1/workspaces", Some(Body::Json(body))).await;
    }

    async fn user(&self, email: &str, role: &str, workspace: Option<&str>) -> String {
        let body = json!({"email": email, "name": "Grace", "role": role,
            "workspace": workspace, "password": PASSWORD});
        let made = self.ok(OWNER_TOKEN, Method::POST, "/v1/users", Some(Body::Json(body))).await;
        made["id"].as_str().unwrap().to_owned()
    }

    /// `POST path` without credentials: status and JSON body.
    async fn anonymous(&self, path: &str, body: Value) -> (u16, Value) {
        let response =
            self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers().get("cache-control").map(|v| v.to_str().unwrap()),
            (status == 200).then_some("no-store"),
            "{path}"
        );
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        self.anonymous("/v1/auth/login", json!({"email": email, "password": password})).await
    }

    /// Enrols a TOTP authenticator with the session `token`: its secret, the recovery codes
    /// and the new session.
    async fn enrol(&self, token: &str) -> (String, Vec<String>, String) {
        let enrolment = self.ok(token, Method::POST, "/v1/me/totp", None).await;
        let secret = enrolment["secret"].as_str().unwrap().to_owned();
        assert!(enrolment["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
        let confirm = json!({"code": code(&secret, 0)});
        let confirmed =
            self.ok(token, Method::POST, "/v1/me/totp/confirm", Some(Body::Json(confirm))).await;
        assert_eq!(confirmed["status"], "signed_in", "{confirmed}");
        assert_eq!(confirmed["two_factor"], true);
        let codes: Vec<String> = confirmed["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (secret, codes, confirmed["token"].as_str().unwrap().to_owned())
    }
}

async fn a_user_signs_in_enrols_a_second_factor_and_then_needs_a_code(d: Deployment) {
    d.workspace("alpha").await;
    let id = d.user("Grace@Example.com", "issuer", Some("alpha")).await;
    // Emails are unique, whatever their case; the password policy holds.
    let again = json!({"email": "grace@example.com", "name": "G", "role": "viewer",
        "password": PASSWORD});
    let (status, _) = d.call(OWNER_TOKEN, Method::POST, "/v1/users", Some(Body::Json(again))).await;
    assert_eq!(status, 409);
    let short = json!({"email": "short@example.com", "name": "S", "role": "viewer",
        "password": "tooshort"});
    let (status, text) =
        d.call(OWNER_TOKEN, Method::POST, "/v1/users", Some(Body::Json(short))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("\"field\":\"password\""), "{text}");
    let listed = d.ok(OWNER_TOKEN, Method::GET, "/v1/users", None).await;
    assert_eq!(listed["items"][0]["email"], "grace@example.com", "{listed}");
    assert_eq!(listed["items"][0]["workspace"], "alpha");
    assert!(!listed.to_string().contains("argon2"), "{listed}");

    // A wrong password and an unknown email get the same answer.
    let (status, wrong) = d.login("grace@example.com", "not the password at all").await;
    assert_eq!(status, 401);
    let (status, unknown) = d.login("nobody@example.com", PASSWORD).await;
    assert_eq!((status, &unknown["detail"]), (401, &wrong["detail"]));

    let (status, signed_in) = d.login("grace@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["status"], "signed_in");
    assert_eq!(signed_in["two_factor_enrolment_required"], false);
    let token = signed_in["token"].as_str().unwrap().to_owned();
    // The user acts with its role: reads its workspace, creates none.
    d.ok(&token, Method::GET, "/v1/workspaces/alpha", None).await;
    let new_workspace = json!({"slug": "nope", "name": "N", "issuer": {"name": "N"}});
    let (status, _) =
        d.call(&token, Method::POST, "/v1/workspaces", Some(Body::Json(new_workspace))).await;
    assert_eq!(status, 403);
    let me = d.ok(&token, Method::GET, "/v1/me", None).await;
    assert_eq!(me["user"]["id"], id.as_str(), "{me}");
    assert_eq!(me["user"]["two_factor"], false);
    // An API key has no account.
    let (status, _) = d.call(OWNER_TOKEN, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 403);

    // Enrolment: a wrong first code is refused; the right one turns the factor on, ends the
    // session it was made with and gives a new one.
    d.ok(&token, Method::POST, "/v1/me/totp", None).await;
    let (status, text) = d
        .call(&token, Method::POST, "/v1/me/totp/confirm", Some(Body::Json(json!({"code": "12"}))))
        .await;
    assert_eq!(status, 400, "{text}");
    let (secret, recovery, token2) = d.enrol(&token).await;
    assert_eq!(recovery.len(), 10);
    let (status, _) = d.call(&token, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 401, "the enrolling session ended");
    let me = d.ok(&token2, Method::GET, "/v1/me", None).await;
    assert_eq!(me["user"]["two_factor"], true);
    assert_eq!(me["user"]["recovery_codes_left"], 10);

    // Signing in now takes a code: a wrong one, then the next step's (the current one was used
    // to enrol), then the same again, refused.
    let (status, challenge) = d.login("grace@example.com", PASSWORD).await;
    assert_eq!((status, challenge["status"].as_str()), (200, Some("second_factor_required")));
    assert!(challenge.get("token").is_none(), "{challenge}");
    let challenge = challenge["challenge"].as_str().unwrap().to_owned();
    let second = |code: String| json!({"challenge": challenge, "code": code});
    let (status, _) = d.anonymous("/v1/auth/login/second-factor", second("000000".into())).await;
    assert_eq!(status, 401);
    let (status, signed_in) =
        d.anonymous("/v1/auth/login/second-factor", second(code(&secret, 30))).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["two_factor"], true);
    let token3 = signed_in["token"].as_str().unwrap().to_owned();
    d.ok(&token3, Method::GET, "/v1/workspaces/alpha", None).await;
    // The challenge was used.
    let (status, _) =
        d.anonymous("/v1/auth/login/second-factor", second(recovery[0].clone())).await;
    assert_eq!(status, 401);
    let (_, challenge) = d.login("grace@example.com", PASSWORD).await;
    let challenge = challenge["challenge"].as_str().unwrap().to_owned();
    let replay = json!({"challenge": challenge, "code": code(&secret, 30)});
    let (status, _) = d.anonymous("/v1/auth/login/second-factor", replay).await;
    assert_eq!(status, 401, "a code is good once");
    // A recovery code, typed in upper case, signs in once.
    let recovery_code = json!({"challenge": challenge, "code": recovery[0].to_uppercase()});
    let (status, _) = d.anonymous("/v1/auth/login/second-factor", recovery_code).await;
    assert_eq!(status, 200);
    let (_, challenge) = d.login("grace@example.com", PASSWORD).await;
    let reused = json!({"challenge": challenge["challenge"], "code": recovery[0]});
    let (status, _) = d.anonymous("/v1/auth/login/second-factor", reused).await;
    assert_eq!(status, 401, "a recovery code is good once");

    // Signing out ends the session.
    let (status, _) = d.call(&token3, Method::POST, "/v1/auth/logout", None).await;
    assert_eq!(status, 204);
    let (status, _) = d.call(&token3, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 401);

    // Every step is in the audit log, as the user.
    let actor = format!("user:{id}");
    let log = d.ok(OWNER_TOKEN, Method::GET, &format!("/v1/audit?actor={actor}"), None).await;
    let steps: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    for expected in [
        ("auth.login", "failed"),
        ("auth.login", "success"),
        ("account.totp_enrol", "success"),
        ("account.totp_confirm", "failed"),
        ("account.totp_confirm", "success"),
        ("auth.second_factor", "failed"),
        ("auth.second_factor", "success"),
        ("auth.logout", "success"),
    ] {
        assert!(steps.contains(&expected), "{expected:?} missing from {steps:?}");
    }
    let login = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "auth.login");
    assert_eq!(login.unwrap()["ip"], "127.0.0.1");
    assert_eq!(login.unwrap()["user_agent"], "access-test/1.0");
    assert!(!log.to_string().contains(PASSWORD));
}

async fn the_organization_can_require_a_second_factor_and_failures_lock_the_account(d: Deployment) {
    let id = d.user("ada@example.com", "auditor", None).await;
    let (_, signed_in) = d.login("ada@example.com", PASSWORD).await;
    let token = signed_in["token"].as_str().unwrap().to_owned();
    d.ok(&token, Method::GET, "/v1/workspaces", None).await;

    // Only organization managers set the policy; it applies to existing sessions at once.
    let require = json!({"require_two_factor": true});
    let (status, _) = d
        .call(
            &token,
            Method::PUT,
            "/v1/organization/sign-in-policy",
            Some(Body::Json(require.clone())),
        )
        .await;
    assert_eq!(status, 403, "an auditor reads the policy but does not set it");
    let policy = d
        .ok(OWNER_TOKEN, Method::PUT, "/v1/organization/sign-in-policy", Some(Body::Json(require)))
        .await;
    assert_eq!(policy["require_two_factor"], true);
    let policy = d.ok(&token, Method::GET, "/v1/me", None).await;
    assert_eq!(policy["two_factor_enrolment_required"], true, "{policy}");
    let (status, text) = d.call(&token, Method::GET, "/v1/workspaces", None).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("second-factor-required"), "{text}");
    // API keys are not users: unaffected.
    d.ok(OWNER_TOKEN, Method::GET, "/v1/workspaces", None).await;

    // A new sign-in may only enrol; enrolling gives a full session.
    let (_, signed_in) = d.login("ada@example.com", PASSWORD).await;
    assert_eq!(signed_in["two_factor_enrolment_required"], true, "{signed_in}");
    let limited = signed_in["token"].as_str().unwrap().to_owned();
    let (status, _) = d.call(&limited, Method::GET, "/v1/organization/sign-in-policy", None).await;
    assert_eq!(status, 403);
    let (_, _, full) = d.enrol(&limited).await;
    let policy = d.ok(&full, Method::GET, "/v1/organization/sign-in-policy", None).await;
    assert_eq!(policy["require_two_factor"], true);
    let (status, _) = d.call(&token, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 401, "enrolling ended the other sessions");

    // A password change checks the current one and ends every other session.
    let change =
        json!({"current_password": "wrong wrong wrong", "new_password": "a new long passphrase"});
    let (status, text) =
        d.call(&full, Method::POST, "/v1/me/password", Some(Body::Json(change))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("current_password"), "{text}");
    let change = json!({"current_password": PASSWORD, "new_password": "a new long passphrase"});
    let changed = d.ok(&full, Method::POST, "/v1/me/password", Some(Body::Json(change))).await;
    let after = changed["token"].as_str().unwrap().to_owned();
    assert_eq!(changed["two_factor"], true);
    d.ok(&after, Method::GET, "/v1/workspaces", None).await;
    let (status, _) = d.call(&full, Method::GET, "/v1/me", None).await;
    assert_eq!(status, 401);
    let (status, _) = d.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, 401, "the old password no longer works");

    // Failures in a row lock the account, even for the right password; each is recorded.
    for _ in 0..4 {
        let (status, _) = d.login("ada@example.com", "still not the password").await;
        assert_eq!(status, 401);
    }
    let (status, locked) = d.login("ada@example.com", "a new long passphrase").await;
    assert_eq!(status, 429, "{locked}");
    assert!(locked["detail"].as_str().unwrap().contains("locked until"), "{locked}");
    let listed = d.ok(OWNER_TOKEN, Method::GET, "/v1/users", None).await;
    assert!(listed["items"][0]["locked_until"].is_string(), "{listed}");
    let log = d
        .ok(OWNER_TOKEN, Method::GET, &format!("/v1/audit?actor=user:{id}&action=auth.login"), None)
        .await;
    let outcomes: Vec<&str> =
        log["items"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "failed").count(), 5, "{outcomes:?}");
    assert_eq!(outcomes.last(), Some(&"denied"), "{outcomes:?}");
}

on_both!(
    a_user_signs_in_enrols_a_second_factor_and_then_needs_a_code,
    the_organization_can_require_a_second_factor_and_failures_lock_the_account,
);
