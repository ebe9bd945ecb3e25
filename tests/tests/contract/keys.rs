//! `KeyStore`: per-workspace Ed25519 keys, signatures that verify, rotation that keeps old
//! keys listed.

use std::time::Duration;

use credentials::keys::PublicKey;
use platform::ids::WorkspaceId;
use platform::model::SigningKeyInfo;

use crate::AdapterSet;

fn verifies(key: &SigningKeyInfo, message: &[u8], signature: &[u8; 64]) -> bool {
    PublicKey::from_multibase(&key.public_key_multibase).unwrap().verify(message, signature).is_ok()
}

pub async fn a_new_key_is_listed_and_its_signatures_verify_with_its_public_key(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let keys = &t.ports.keys;
    let ws = WorkspaceId::generate();
    let key = keys.create_key(ws, t.clock.now()).await?;
    assert_eq!((key.created_at, key.retired_at), (t.clock.now(), None));
    assert!(key.public_key_multibase.starts_with("z6Mk"));
    assert_eq!(keys.public_keys(ws).await?, vec![key.clone()]);

    let signature = keys.sign(ws, &key.key_id, b"hash data").await?;
    assert!(verifies(&key, b"hash data", &signature));
    assert!(!verifies(&key, b"other data", &signature));
    Ok(())
}

pub async fn rotation_retires_the_previous_key_and_keeps_it_listed_and_usable(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let keys = &t.ports.keys;
    let ws = WorkspaceId::generate();
    let first = keys.create_key(ws, t.clock.now()).await?;
    t.clock.advance(Duration::from_secs(3600));
    let rotated_at = t.clock.now();
    let second = keys.create_key(ws, rotated_at).await?;
    assert_ne!(first.key_id, second.key_id);
    assert_ne!(first.public_key_multibase, second.public_key_multibase);
    assert_eq!(second.retired_at, None);

    let listed = keys.public_keys(ws).await?;
    assert_eq!(
        listed,
        vec![SigningKeyInfo { retired_at: Some(rotated_at), ..first.clone() }, second.clone()]
    );
    // Credentials signed before the rotation still verify: the old key stays in the DID document.
    let new_signature = keys.sign(ws, &second.key_id, b"new").await?;
    assert!(verifies(&second, b"new", &new_signature));
    assert!(!verifies(&first, b"new", &new_signature));
    Ok(())
}

pub async fn a_workspace_without_keys_lists_none_and_cannot_sign(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let ws = WorkspaceId::generate();
    assert!(t.ports.keys.public_keys(ws).await?.is_empty());
    assert!(t.ports.keys.sign(ws, "key-1", b"message").await.is_err());
    Ok(())
}

pub async fn signing_with_an_unknown_key_id_is_an_error(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let ws = WorkspaceId::generate();
    let key = t.ports.keys.create_key(ws, t.clock.now()).await?;
    let unknown = format!("{}-other", key.key_id);
    assert!(t.ports.keys.sign(ws, &unknown, b"message").await.is_err());
    Ok(())
}

pub async fn workspaces_have_their_own_keys(adapters: &dyn AdapterSet) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let (a, b) = (WorkspaceId::generate(), WorkspaceId::generate());
    let key_a = t.ports.keys.create_key(a, t.clock.now()).await?;
    let key_b = t.ports.keys.create_key(b, t.clock.now()).await?;
    assert_ne!(key_a.public_key_multibase, key_b.public_key_multibase);
    assert_eq!(t.ports.keys.public_keys(a).await?, vec![key_a.clone()]);
    assert_eq!(t.ports.keys.public_keys(b).await?, vec![key_b.clone()]);
    let signature = t.ports.keys.sign(b, &key_b.key_id, b"message").await?;
    assert!(verifies(&key_b, b"message", &signature));
    assert!(!verifies(&key_a, b"message", &signature));
    Ok(())
}
