//! Standard Webhooks: secrets, payloads and signatures.
//!
//! A request carries `webhook-id` (the event id, the same on every retry), `webhook-timestamp`
//! (Unix seconds of this attempt) and `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, keyed with the secret's bytes (`whsec_` + base64).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::model::Event;

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// The request body for an event: `{"type", "timestamp", "data"}`.
pub fn payload(event: &Event) -> String {
    let body: Value = json!({
        "type": event.kind.as_str(),
        "timestamp": credentials::model::format_date(event.occurred_at),
        "data": event.data,
    });
    body.to_string()
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| anyhow::anyhow!("webhook secret is not base64"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|e| anyhow::anyhow!("HMAC key: {e}"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The three Standard Webhooks headers.
pub fn headers(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), sign(secret, id, timestamp, body)?),
        ("content-type".into(), "application/json".into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_example() {
        // The example from the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(secret, id, 1_614_265_330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_prefixed_and_random() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        assert!(a.starts_with("whsec_"));
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a[6..]).unwrap().len(), 32);
    }
}
