//! `Vault`: sealed secrets open only under their context, untampered.

use crate::AdapterSet;

pub async fn sealed_data_opens_under_its_context(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let vault = &t.ports.vault;
    for plaintext in [&b""[..], b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &[0u8; 1000]] {
        let sealed = vault.seal(plaintext, "webhook-secret:1").await?;
        if !plaintext.is_empty() {
            assert!(
                !sealed.windows(plaintext.len()).any(|w| w == plaintext),
                "the plaintext shows"
            );
        }
        assert_eq!(vault.open(&sealed, "webhook-secret:1").await?, plaintext);
    }
    Ok(())
}

pub async fn sealed_data_does_not_open_under_another_context(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let vault = &t.ports.vault;
    let sealed = vault.seal(b"whsec_secret", "webhook-secret:1").await?;
    for other in ["webhook-secret:2", "webhook-secret:1 ", "", "WEBHOOK-SECRET:1"] {
        assert!(vault.open(&sealed, other).await.is_err(), "opened under `{other}`");
    }
    Ok(())
}

pub async fn tampered_sealed_data_does_not_open(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let vault = &t.ports.vault;
    let sealed = vault.seal(b"whsec_secret", "ctx").await?;
    for position in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[position] ^= 0x01;
        assert!(
            vault.open(&tampered, "ctx").await.is_err(),
            "a flipped bit at {position} went unnoticed"
        );
    }
    assert!(vault.open(&sealed[..sealed.len() - 1], "ctx").await.is_err());
    assert!(vault.open(&[], "ctx").await.is_err());
    Ok(())
}
