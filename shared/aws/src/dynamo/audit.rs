//! The audit log: one hash chain per organization, in the partition `AUDIT#<org>`: the head
//! (`HEAD`: `entries`, `hash`) and one item per entry (`E#<position, 12 digits>`). An append
//! is one transaction: the entry (on condition that its position is free) and the head (on
//! condition that it is still the one read), so concurrent appends retry instead of forking
//! the chain.

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use platform::audit::{AuditDraft, AuditEntry, AuditHash, GENESIS};
use platform::ids::OrganizationId;
use platform::ports::{AuditStore, PortResult};

use super::{
    Condition, DynamoStore, MAX_ATTEMPTS, Transaction, backoff, doc, n, number, record_item, s,
    text,
};

fn audit_pk(organization: OrganizationId) -> String {
    format!("AUDIT#{organization}")
}

fn entry_sk(position: u64) -> String {
    format!("E#{position:012}")
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn append_audit(&self, draft: AuditDraft) -> PortResult<AuditEntry> {
        let what = "append audit entry";
        let organization = draft.organization;
        for attempt in 0..MAX_ATTEMPTS {
            let (entries, previous) = self.audit_head(organization).await?;
            let entry = AuditEntry::seal(draft.clone(), previous);
            let item = record_item(audit_pk(organization), entry_sk(entries), &entry)?;
            let mut head = record_item(audit_pk(organization), "HEAD", &entry.hash)?;
            head.insert("entries".into(), n(entries + 1));
            head.insert("hash".into(), s(entry.hash.to_string()));
            let unchanged = if entries == 0 {
                Condition::not_exists()
            } else {
                Condition::new("#entries = :entries")
                    .name("#entries", "entries")
                    .value(":entries", n(entries))
            };
            let items = vec![
                self.put_op(item, Some(Condition::not_exists()))?,
                self.put_op(head, Some(unchanged))?,
            ];
            match self.transact(what, items).await? {
                Transaction::Committed => return Ok(entry),
                // Another append got there first: read the head again.
                outcome if outcome.failed(0) || outcome.failed(1) || outcome.conflicted() => {
                    backoff(attempt + 1).await;
                }
                outcome => return Err(outcome.unexpected(what)),
            }
        }
        bail!(
            "DynamoDB {what}: the chain of {organization} still contended after {MAX_ATTEMPTS} attempts"
        )
    }

    async fn audit_entries(
        &self,
        organization: OrganizationId,
        from: u64,
        limit: usize,
    ) -> PortResult<Vec<AuditEntry>> {
        let what = "audit entries";
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :last")
            .expression_attribute_values(":pk", s(audit_pk(organization)))
            .expression_attribute_values(":from", s(entry_sk(from)))
            .expression_attribute_values(":last", s("E#999999999999"));
        let items = self.query(what, query, limit).await?;
        items.iter().map(|item| doc(item, what)).collect()
    }

    async fn audit_head(&self, organization: OrganizationId) -> PortResult<(u64, AuditHash)> {
        let what = "audit head";
        let Some(item) = self.get(what, audit_pk(organization), "HEAD").await? else {
            return Ok((0, GENESIS));
        };
        let entries = number(&item, "entries")?.context("an audit head without `entries`")?;
        let hash = text(&item, "hash").context("an audit head without `hash`")?;
        let hash = AuditHash::parse(hash).map_err(|e| anyhow::anyhow!("stored audit head: {e}"))?;
        Ok((entries, hash))
    }
}
