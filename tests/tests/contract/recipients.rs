//! `RecipientKeyStore`: one key per recipient and organization, the first writer's; erasure
//! deletes it for good.

use platform::ids::OrganizationId;
use platform::personal::{RecipientId, StoredRecipientKey};

use crate::AdapterSet;
use crate::fixtures::recipient_id;

fn key(recipient: &RecipientId, byte: u8, t: &crate::TestPorts) -> StoredRecipientKey {
    StoredRecipientKey {
        recipient: recipient.clone(),
        key_id: uuid::Uuid::now_v7(),
        wrapped: vec![byte; 61],
        created_at: t.clock.now(),
    }
}

pub async fn recipient_keys_are_stored_once_and_read_in_the_order_asked(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.recipients;
    let org = OrganizationId::generate();
    let (a, b, c) = (
        recipient_id("a@example.com"),
        recipient_id("b@example.com"),
        recipient_id("c@example.com"),
    );
    assert_eq!(store.recipient_keys(org, std::slice::from_ref(&a)).await?, vec![None]);
    let (key_a, key_b) = (key(&a, 1, &t), key(&b, 2, &t));
    let stored = store.ensure_recipient_keys(org, &[key_a.clone(), key_b.clone()]).await?;
    assert_eq!(stored, vec![key_a.clone(), key_b.clone()]);
    assert_eq!(
        store.recipient_keys(org, &[b.clone(), c.clone(), a.clone()]).await?,
        vec![Some(key_b.clone()), None, Some(key_a.clone())]
    );
    // A second key for a recipient who has one is ignored; the batch's others are stored.
    let key_c = key(&c, 3, &t);
    let stored = store.ensure_recipient_keys(org, &[key(&a, 9, &t), key_c.clone()]).await?;
    assert_eq!(stored, vec![key_a.clone(), key_c.clone()], "the first key of `a` stays");
    assert_eq!(
        store.recipient_keys(org, &[a.clone(), c.clone()]).await?,
        vec![Some(key_a), Some(key_c)]
    );
    // The organization secret lives under its reserved id, beside the recipients.
    let secret = key(&RecipientId::organization_secret(), 4, &t);
    store.ensure_recipient_keys(org, std::slice::from_ref(&secret)).await?;
    assert_eq!(
        store.recipient_keys(org, &[RecipientId::organization_secret(), b]).await?,
        vec![Some(secret), Some(key_b)]
    );
    assert!(store.recipient_keys(org, &[]).await?.is_empty());
    Ok(())
}

pub async fn recipient_keys_belong_to_their_organization(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.recipients;
    let (mine, theirs) = (OrganizationId::generate(), OrganizationId::generate());
    let a = recipient_id("a@example.com");
    let key_a = key(&a, 1, &t);
    store.ensure_recipient_keys(mine, std::slice::from_ref(&key_a)).await?;
    assert_eq!(store.recipient_keys(theirs, std::slice::from_ref(&a)).await?, vec![None]);
    assert!(!store.erase_recipient_key(theirs, &a).await?);
    assert_eq!(store.recipient_keys(mine, &[a]).await?, vec![Some(key_a)]);
    Ok(())
}

pub async fn an_erased_key_is_gone_for_good_and_a_new_one_may_follow(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.recipients;
    let org = OrganizationId::generate();
    let (a, b) = (recipient_id("a@example.com"), recipient_id("b@example.com"));
    let key_b = key(&b, 2, &t);
    store.ensure_recipient_keys(org, &[key(&a, 1, &t), key_b.clone()]).await?;
    assert!(store.erase_recipient_key(org, &a).await?);
    assert_eq!(store.recipient_keys(org, &[a.clone(), b.clone()]).await?, vec![None, Some(key_b)]);
    assert!(!store.erase_recipient_key(org, &a).await?, "erased twice");
    // Issuing to the same address later starts a new key; the old one stays gone.
    let fresh = key(&a, 7, &t);
    store.ensure_recipient_keys(org, std::slice::from_ref(&fresh)).await?;
    assert_eq!(store.recipient_keys(org, &[a]).await?, vec![Some(fresh)]);
    Ok(())
}

pub async fn concurrent_inserts_for_one_recipient_keep_exactly_one_key(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let org = OrganizationId::generate();
    let a = recipient_id("a@example.com");
    let candidates: Vec<_> = (0..12u8).map(|i| key(&a, i, &t)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for candidate in candidates.clone() {
        let store = t.ports.recipients.clone();
        tasks.spawn(async move { store.ensure_recipient_keys(org, &[candidate]).await });
    }
    let mut answers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        answers.extend(joined??);
    }
    let stored = t.ports.recipients.recipient_keys(org, &[a]).await?.pop().flatten().unwrap();
    assert!(candidates.contains(&stored));
    // Every writer was told the one key that won.
    assert_eq!(answers, vec![stored; candidates.len()]);
    Ok(())
}
