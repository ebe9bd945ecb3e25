//! `CredentialStore`: atomic inserts with idempotency keys and events, lookups, keyset
//! pagination with filters, conditional transitions, expiry.

use std::time::Duration;

use chrono::Duration as Span;
use platform::ids::{CredentialId, TemplateId, WorkspaceId};
use platform::model::{
    CredentialFilter, CredentialRecord, CredentialStatus, EventKind, StatusKind,
};
use platform::ports::{CredentialStore, InsertCredential};

use crate::fixtures::{credential, event, idempotency, recipient_id};
use crate::{AdapterSet, TestPorts};

/// Every credential `filter` selects in `workspace`, page by page.
async fn page_through(
    store: &dyn CredentialStore,
    workspace: WorkspaceId,
    filter: &CredentialFilter,
    page_size: usize,
) -> anyhow::Result<Vec<CredentialRecord>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_credentials(workspace, filter, after, page_size).await?;
        assert!(page.len() <= page_size, "a page of {} for a limit of {page_size}", page.len());
        after = page.last().map(|c| c.id);
        let last_page = page.len() < page_size;
        all.extend(page);
        if last_page {
            return Ok(all);
        }
    }
}

fn ids(records: &[CredentialRecord]) -> Vec<CredentialId> {
    records.iter().map(|r| r.id).collect()
}

async fn pending_ids(t: &TestPorts) -> anyhow::Result<Vec<platform::ids::EventId>> {
    Ok(t.ports.outbox.pending_events(1000).await?.into_iter().map(|e| e.id).collect())
}

pub async fn an_inserted_credential_is_found_by_id_whatever_the_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let record = CredentialRecord {
        status_index: 131_073,
        valid_until: Some(now + Span::days(365)),
        ..credential(WorkspaceId::generate(), TemplateId::generate(), "ada@example.com", now)
    };
    assert_eq!(store.insert_credential(&record, None, &[]).await?, InsertCredential::Inserted);
    assert_eq!(store.credential(record.id).await?, Some(record));
    assert_eq!(store.credential(CredentialId::generate()).await?, None);
    Ok(())
}

pub async fn a_credential_is_written_with_its_idempotency_record_and_its_events(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let record =
        credential(WorkspaceId::generate(), TemplateId::generate(), "ada@example.com", now);
    let key = idempotency(&record, "order-42", "hash-1");
    let issued = event(record.workspace_id, EventKind::CredentialIssued, now);
    assert_eq!(
        store.insert_credential(&record, Some(&key), std::slice::from_ref(&issued)).await?,
        InsertCredential::Inserted
    );
    assert_eq!(store.idempotency_record(record.workspace_id, "order-42").await?, Some(key));
    assert_eq!(store.idempotency_record(record.workspace_id, "order-43").await?, None);
    assert_eq!(store.credential(record.id).await?, Some(record));
    assert_eq!(t.ports.outbox.pending_events(100).await?, vec![issued]);
    Ok(())
}

pub async fn a_used_idempotency_key_returns_the_first_record_and_writes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let ws = WorkspaceId::generate();
    let first = credential(ws, TemplateId::generate(), "ada@example.com", now);
    let first_key = idempotency(&first, "order-42", "hash-1");
    let first_event = event(ws, EventKind::CredentialIssued, now);
    store.insert_credential(&first, Some(&first_key), std::slice::from_ref(&first_event)).await?;

    t.clock.advance(Duration::from_secs(5));
    let second = credential(ws, TemplateId::generate(), "bob@example.com", t.clock.now());
    let second_key = idempotency(&second, "order-42", "hash-2");
    let second_event = event(ws, EventKind::CredentialIssued, t.clock.now());
    let outcome = store.insert_credential(&second, Some(&second_key), &[second_event]).await?;

    assert_eq!(outcome, InsertCredential::KeyExists(first_key.clone()));
    assert_eq!(store.credential(second.id).await?, None);
    assert_eq!(store.idempotency_record(ws, "order-42").await?, Some(first_key));
    assert_eq!(pending_ids(&t).await?, vec![first_event.id]);
    assert_eq!(
        ids(&store.list_credentials(ws, &CredentialFilter::default(), None, 10).await?),
        vec![first.id]
    );
    Ok(())
}

pub async fn idempotency_keys_are_scoped_to_their_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let a = credential(WorkspaceId::generate(), TemplateId::generate(), "ada@example.com", now);
    let b = credential(WorkspaceId::generate(), TemplateId::generate(), "ada@example.com", now);
    let (key_a, key_b) = (idempotency(&a, "order-42", "h"), idempotency(&b, "order-42", "h"));
    assert_eq!(store.insert_credential(&a, Some(&key_a), &[]).await?, InsertCredential::Inserted);
    assert_eq!(store.insert_credential(&b, Some(&key_b), &[]).await?, InsertCredential::Inserted);
    assert_eq!(store.idempotency_record(a.workspace_id, "order-42").await?, Some(key_a));
    assert_eq!(store.idempotency_record(b.workspace_id, "order-42").await?, Some(key_b));
    Ok(())
}

pub async fn credentials_are_paged_in_id_order_without_gaps_or_duplicates(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let ws = WorkspaceId::generate();
    let template = TemplateId::generate();
    let mut records: Vec<_> = (0..23)
        .map(|i| credential(ws, template, &format!("r{i}@example.com"), t.clock.now()))
        .collect();
    // Inserted newest first: the order is the ids', not the insertion's.
    for record in records.iter().rev() {
        store.insert_credential(record, None, &[]).await?;
    }
    records.sort_by_key(|r| r.id);
    for page_size in [1, 7, 23, 50] {
        let listed =
            page_through(store.as_ref(), ws, &CredentialFilter::default(), page_size).await?;
        assert_eq!(listed, records, "pages of {page_size}");
    }
    let after_tenth =
        store.list_credentials(ws, &CredentialFilter::default(), Some(records[9].id), 3).await?;
    assert_eq!(ids(&after_tenth), ids(&records[10..13]));
    let after_last =
        store.list_credentials(ws, &CredentialFilter::default(), Some(records[22].id), 3).await?;
    assert!(after_last.is_empty());
    Ok(())
}

pub async fn each_filter_pages_through_exactly_its_credentials(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let (ws, other_ws) = (WorkspaceId::generate(), WorkspaceId::generate());
    let templates = [TemplateId::generate(), TemplateId::generate()];
    let emails = ["ada@example.com", "bob@example.com", "cy@example.com"];
    let statuses = [
        CredentialStatus::Active,
        CredentialStatus::Suspended { at: now },
        CredentialStatus::Revoked { at: now, reason: "mistake".into() },
        CredentialStatus::Expired { at: now },
    ];
    let mut records = Vec::new();
    for i in 0..36 {
        let record = CredentialRecord {
            status: statuses[i % 4].clone(),
            ..credential(ws, templates[i % 2], emails[i % 3], now)
        };
        store.insert_credential(&record, None, &[]).await?;
        // The same template and recipients in another workspace stay out of every list.
        let foreign = CredentialRecord {
            workspace_id: other_ws,
            ..credential(ws, templates[i % 2], emails[i % 3], now)
        };
        store.insert_credential(&foreign, None, &[]).await?;
        records.push(record);
    }
    records.sort_by_key(|r| r.id);

    let mut filters = Vec::new();
    for status in
        [StatusKind::Active, StatusKind::Suspended, StatusKind::Revoked, StatusKind::Expired]
    {
        filters.push(CredentialFilter { status: Some(status), ..Default::default() });
    }
    for template in templates {
        filters.push(CredentialFilter { template_id: Some(template), ..Default::default() });
    }
    for address in emails {
        filters.push(CredentialFilter {
            recipient: Some(recipient_id(address)),
            ..Default::default()
        });
    }
    filters.push(CredentialFilter {
        status: Some(StatusKind::Active),
        template_id: Some(templates[0]),
        recipient: Some(recipient_id(emails[0])),
    });
    filters.push(CredentialFilter {
        recipient: Some(recipient_id("nobody@example.com")),
        ..Default::default()
    });

    for filter in &filters {
        let expected: Vec<_> = records
            .iter()
            .filter(|r| filter.status.is_none_or(|s| r.status.kind() == s))
            .filter(|r| filter.template_id.is_none_or(|id| r.template_id == id))
            .filter(|r| filter.recipient.as_ref().is_none_or(|id| &r.recipient.id == id))
            .cloned()
            .collect();
        for page_size in [2, 5] {
            let listed = page_through(store.as_ref(), ws, filter, page_size).await?;
            assert_eq!(ids(&listed), ids(&expected), "{filter:?}, pages of {page_size}");
        }
    }
    Ok(())
}

pub async fn credential_lists_hold_only_their_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let (a, b) = (WorkspaceId::generate(), WorkspaceId::generate());
    let template = TemplateId::generate();
    let in_a = credential(a, template, "ada@example.com", now);
    let in_b = credential(b, template, "ada@example.com", now);
    store.insert_credential(&in_a, None, &[]).await?;
    store.insert_credential(&in_b, None, &[]).await?;
    let all = CredentialFilter::default();
    assert_eq!(store.list_credentials(a, &all, None, 10).await?, vec![in_a]);
    assert_eq!(store.list_credentials(b, &all, None, 10).await?, vec![in_b]);
    assert!(store.list_credentials(WorkspaceId::generate(), &all, None, 10).await?.is_empty());
    Ok(())
}

pub async fn a_transition_from_the_expected_status_updates_it_and_writes_its_events(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let record = credential(
        WorkspaceId::generate(),
        TemplateId::generate(),
        "ada@example.com",
        t.clock.now(),
    );
    store.insert_credential(&record, None, &[]).await?;

    t.clock.advance(Duration::from_secs(60));
    let suspended = CredentialStatus::Suspended { at: t.clock.now() };
    let event_1 = event(record.workspace_id, EventKind::CredentialSuspended, t.clock.now());
    assert!(
        store
            .transition(record.id, StatusKind::Active, &suspended, std::slice::from_ref(&event_1))
            .await?
    );
    t.clock.advance(Duration::from_secs(60));
    let revoked = CredentialStatus::Revoked { at: t.clock.now(), reason: "left the course".into() };
    let event_2 = event(record.workspace_id, EventKind::CredentialRevoked, t.clock.now());
    assert!(
        store
            .transition(record.id, StatusKind::Suspended, &revoked, std::slice::from_ref(&event_2))
            .await?
    );

    let stored = store.credential(record.id).await?.unwrap();
    assert_eq!(stored, CredentialRecord { status: revoked.clone(), ..record.clone() });
    assert_eq!(pending_ids(&t).await?, vec![event_1.id, event_2.id]);
    let revoked_list = CredentialFilter { status: Some(StatusKind::Revoked), ..Default::default() };
    assert_eq!(
        ids(&store.list_credentials(record.workspace_id, &revoked_list, None, 10).await?),
        vec![record.id]
    );
    Ok(())
}

pub async fn a_transition_from_another_status_changes_nothing_and_writes_no_event(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let record = credential(
        WorkspaceId::generate(),
        TemplateId::generate(),
        "ada@example.com",
        t.clock.now(),
    );
    store.insert_credential(&record, None, &[]).await?;
    let revoked = CredentialStatus::Revoked { at: t.clock.now(), reason: "r".into() };
    for expected in [StatusKind::Suspended, StatusKind::Revoked, StatusKind::Expired] {
        let stray = event(record.workspace_id, EventKind::CredentialRevoked, t.clock.now());
        assert!(
            !store.transition(record.id, expected, &revoked, &[stray]).await?,
            "from {expected:?}"
        );
    }
    assert_eq!(store.credential(record.id).await?, Some(record));
    assert!(t.ports.outbox.pending_events(100).await?.is_empty());
    Ok(())
}

pub async fn a_transition_of_an_unknown_credential_is_refused(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let stray = event(WorkspaceId::generate(), EventKind::CredentialRevoked, t.clock.now());
    let revoked = CredentialStatus::Revoked { at: t.clock.now(), reason: "r".into() };
    assert!(
        !t.ports
            .credentials
            .transition(CredentialId::generate(), StatusKind::Active, &revoked, &[stray])
            .await?
    );
    assert!(t.ports.outbox.pending_events(100).await?.is_empty());
    Ok(())
}

pub async fn expiring_lists_active_and_suspended_credentials_due_by_now_soonest_first(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let now = t.clock.now();
    let (ws, other_ws) = (WorkspaceId::generate(), WorkspaceId::generate());
    let template = TemplateId::generate();
    let with = |workspace, status: CredentialStatus, until: Option<i64>| CredentialRecord {
        status,
        valid_until: until.map(|s| now + Span::seconds(s)),
        ..credential(workspace, template, "ada@example.com", now - Span::days(1))
    };
    let active_due = with(ws, CredentialStatus::Active, Some(-10));
    let suspended_due = with(ws, CredentialStatus::Suspended { at: now }, Some(-20));
    let due_exactly_now = with(ws, CredentialStatus::Active, Some(0));
    let other_workspace_due = with(other_ws, CredentialStatus::Active, Some(-5));
    let not_due = [
        with(ws, CredentialStatus::Revoked { at: now, reason: "r".into() }, Some(-30)),
        with(ws, CredentialStatus::Expired { at: now }, Some(-40)),
        with(ws, CredentialStatus::Active, Some(1)),
        with(ws, CredentialStatus::Active, None),
    ];
    let due = [&active_due, &suspended_due, &due_exactly_now, &other_workspace_due];
    for record in due.iter().copied().chain(not_due.iter()) {
        store.insert_credential(record, None, &[]).await?;
    }

    let soonest_first =
        vec![suspended_due.id, active_due.id, other_workspace_due.id, due_exactly_now.id];
    assert_eq!(ids(&store.expiring(now, 100).await?), soonest_first);
    assert_eq!(ids(&store.expiring(now, 2).await?), soonest_first[..2].to_vec());
    assert!(store.expiring(now - Span::seconds(21), 100).await?.is_empty());

    let expired = CredentialStatus::Expired { at: now };
    assert!(store.transition(suspended_due.id, StatusKind::Suspended, &expired, &[]).await?);
    assert_eq!(ids(&store.expiring(now, 100).await?), soonest_first[1..].to_vec());
    Ok(())
}

pub async fn credentials_are_counted_by_status_per_workspace(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.credentials;
    let (ws, other) = (WorkspaceId::generate(), WorkspaceId::generate());
    let template = TemplateId::generate();
    let mut ids = Vec::new();
    for i in 0..6 {
        let record = credential(ws, template, &format!("p{i}@example.com"), t.clock.now());
        store.insert_credential(&record, None, &[]).await?;
        ids.push(record.id);
    }
    store
        .insert_credential(&credential(other, template, "x@example.com", t.clock.now()), None, &[])
        .await?;
    let revoked = CredentialStatus::Revoked { at: t.clock.now(), reason: "r".into() };
    assert!(store.transition(ids[0], StatusKind::Active, &revoked, &[]).await?);
    assert!(store.transition(ids[1], StatusKind::Active, &revoked, &[]).await?);
    let suspended = CredentialStatus::Suspended { at: t.clock.now() };
    assert!(store.transition(ids[2], StatusKind::Active, &suspended, &[]).await?);
    let counts = store.credential_counts(ws).await?;
    assert_eq!((counts.active, counts.suspended, counts.revoked, counts.expired), (3, 1, 2, 0));
    assert_eq!(counts.issued(), 6);
    assert_eq!(store.credential_counts(other).await?.issued(), 1);
    assert_eq!(store.credential_counts(WorkspaceId::generate()).await?.issued(), 0);
    Ok(())
}
