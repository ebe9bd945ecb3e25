//! `AuditStore`: one chain per organization, appended atomically with its head.

use platform::audit::{AuditDraft, AuditOutcome, GENESIS, verify_chain};
use platform::ids::OrganizationId;

use crate::AdapterSet;

fn draft(t: &crate::TestPorts, organization: OrganizationId, action: &str) -> AuditDraft {
    AuditDraft::new(t.clock.now(), organization, "api_key:test", action, AuditOutcome::Success)
}

pub async fn appended_entries_form_a_chain_per_organization_with_its_head(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.audit;
    let (a, b) = (OrganizationId::generate(), OrganizationId::generate());
    assert_eq!(store.audit_head(a).await?, (0, GENESIS));
    let mut sealed = Vec::new();
    for i in 0..5 {
        sealed.push(store.append_audit(draft(&t, a, &format!("a.{i}"))).await?);
        if i % 2 == 0 {
            store.append_audit(draft(&t, b, &format!("b.{i}"))).await?;
        }
    }
    assert_eq!(sealed[0].prev_hash, GENESIS);
    let stored = store.audit_entries(a, 0, 100).await?;
    assert_eq!(stored, sealed);
    let summary = verify_chain(&stored).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(summary.heads.get(&a), Some(&sealed[4].hash));
    assert_eq!(store.audit_head(a).await?, (5, sealed[4].hash));
    assert_eq!(store.audit_head(b).await?.0, 3);
    // Pages: from a position, at most a limit.
    assert_eq!(store.audit_entries(a, 3, 100).await?, sealed[3..].to_vec());
    assert_eq!(store.audit_entries(a, 1, 2).await?, sealed[1..3].to_vec());
    assert!(store.audit_entries(a, 5, 100).await?.is_empty());
    assert!(store.audit_entries(OrganizationId::generate(), 0, 100).await?.is_empty());
    Ok(())
}

pub async fn concurrent_appends_all_land_on_one_unbroken_chain(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let organization = OrganizationId::generate();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = t.ports.audit.clone();
            let drafts: Vec<_> =
                (0..5).map(|i| draft(&t, organization, &format!("t{task}.{i}"))).collect();
            tokio::spawn(async move {
                for draft in drafts {
                    store.append_audit(draft).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let stored = t.ports.audit.audit_entries(organization, 0, 100).await?;
    assert_eq!(stored.len(), 40);
    verify_chain(&stored).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(t.ports.audit.audit_head(organization).await?, (40, stored[39].hash));
    Ok(())
}
