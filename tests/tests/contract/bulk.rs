//! `BulkStore`: jobs and rows created together, each row recorded once, completion once.

use std::time::Duration;

use platform::ids::{BulkJobId, CredentialId, TemplateId, WorkspaceId};
use platform::model::{BulkJob, BulkStatus, EventKind, RowOutcome};
use platform::ports::{ChunkOutcome, ChunkRow, InsertCredential, RowRecorded};

use crate::AdapterSet;
use crate::fixtures::{bulk_job, bulk_rows, credential, event, idempotency};

fn issued() -> RowOutcome {
    RowOutcome::Issued(CredentialId::generate())
}

pub async fn a_job_and_its_rows_are_created_together_and_found_in_their_workspace_only(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 5, t.clock.now());
    let rows = bulk_rows(5);
    store.create_bulk_job(&job, &rows).await?;
    assert_eq!(store.bulk_job(job.workspace_id, job.id).await?, Some(job.clone()));
    assert_eq!(store.bulk_job(WorkspaceId::generate(), job.id).await?, None);
    assert_eq!(store.bulk_job(job.workspace_id, BulkJobId::generate()).await?, None);
    assert_eq!(store.bulk_rows(job.id, 1, 6).await?, rows);
    assert!(store.bulk_errors(job.id).await?.is_empty());
    Ok(())
}

pub async fn rows_are_read_by_half_open_range_in_row_order(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 250, t.clock.now());
    let rows = bulk_rows(250);
    store.create_bulk_job(&job, &rows).await?;
    assert_eq!(store.bulk_rows(job.id, 1, 101).await?, rows[0..100].to_vec());
    assert_eq!(store.bulk_rows(job.id, 101, 201).await?, rows[100..200].to_vec());
    assert_eq!(store.bulk_rows(job.id, 201, 301).await?, rows[200..].to_vec());
    assert!(store.bulk_rows(job.id, 7, 7).await?.is_empty());
    assert!(store.bulk_rows(BulkJobId::generate(), 1, 101).await?.is_empty());
    // Recorded rows are done: only the others are read.
    store.record_bulk_row(job.id, 2, &issued(), t.clock.now()).await?;
    store.record_bulk_row(job.id, 4, &RowOutcome::Failed("bad".into()), t.clock.now()).await?;
    let pending: Vec<_> = rows[0..5].iter().filter(|r| r.row != 2 && r.row != 4).cloned().collect();
    assert_eq!(store.bulk_rows(job.id, 1, 6).await?, pending);
    Ok(())
}

pub async fn a_row_is_recorded_once_and_a_second_record_changes_nothing(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 3, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(3)).await?;

    assert_eq!(
        store.record_bulk_row(job.id, 1, &issued(), t.clock.now()).await?,
        RowRecorded::First { completed: false }
    );
    // A redelivery records the row again, this time as failed: nothing changes.
    let again = RowOutcome::Failed("second attempt".into());
    assert_eq!(
        store.record_bulk_row(job.id, 1, &again, t.clock.now()).await?,
        RowRecorded::Already
    );
    assert_eq!(
        store.record_bulk_row(job.id, 1, &issued(), t.clock.now()).await?,
        RowRecorded::Already
    );

    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!(stored, BulkJob { issued: 1, ..job.clone() });
    assert!(store.bulk_errors(job.id).await?.is_empty());
    Ok(())
}

pub async fn the_last_row_completes_the_job_exactly_once(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 3, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(3)).await?;
    let failed = RowOutcome::Failed("invalid `email`".into());

    assert_eq!(
        store.record_bulk_row(job.id, 2, &issued(), t.clock.now()).await?,
        RowRecorded::First { completed: false }
    );
    assert_eq!(
        store.record_bulk_row(job.id, 3, &failed, t.clock.now()).await?,
        RowRecorded::First { completed: false }
    );
    t.clock.advance(Duration::from_secs(90));
    let finished_at = t.clock.now();
    assert_eq!(
        store.record_bulk_row(job.id, 1, &issued(), finished_at).await?,
        RowRecorded::First { completed: true }
    );
    t.clock.advance(Duration::from_secs(90));
    for row in 1..=3 {
        assert_eq!(
            store.record_bulk_row(job.id, row, &issued(), t.clock.now()).await?,
            RowRecorded::Already
        );
    }

    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    let completed = BulkJob {
        status: BulkStatus::Completed,
        issued: 2,
        failed: 1,
        completed_at: Some(finished_at),
        ..job
    };
    assert_eq!(stored, completed);
    Ok(())
}

pub async fn concurrent_records_of_every_row_complete_the_job_exactly_once(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 40, t.clock.now());
    t.ports.bulk.create_bulk_job(&job, &bulk_rows(40)).await?;
    // Every row twice, as two workers handling a redelivered chunk would.
    let tasks: Vec<_> = (1..=40u32)
        .chain(1..=40)
        .map(|row| {
            let store = t.ports.bulk.clone();
            let now = t.clock.now();
            tokio::spawn(async move { store.record_bulk_row(job.id, row, &issued(), now).await })
        })
        .collect();
    let (mut first, mut already, mut completions) = (0, 0, 0);
    for task in tasks {
        match task.await?? {
            RowRecorded::First { completed } => {
                first += 1;
                completions += usize::from(completed);
            }
            RowRecorded::Already => already += 1,
        }
    }
    assert_eq!((first, already, completions), (40, 40, 1));
    let stored = t.ports.bulk.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.status, stored.issued, stored.failed), (BulkStatus::Completed, 40, 0));
    Ok(())
}

pub async fn failed_rows_are_listed_in_row_order_with_their_reasons(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 12, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(12)).await?;
    for row in (1..=12).rev() {
        let outcome =
            if row % 4 == 0 { RowOutcome::Failed(format!("reason {row}")) } else { issued() };
        store.record_bulk_row(job.id, row, &outcome, t.clock.now()).await?;
    }
    let expected: Vec<_> =
        [4, 8, 12].into_iter().map(|row| (row, format!("reason {row}"))).collect();
    assert_eq!(store.bulk_errors(job.id).await?, expected);
    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.issued, stored.failed, stored.status), (9, 3, BulkStatus::Completed));
    Ok(())
}

/// A chunk of `rows` of `job`: even rows issued (a credential with the row's idempotency key
/// and one event), odd rows failed.
fn chunk(
    job: &BulkJob,
    rows: std::ops::Range<u32>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<ChunkRow> {
    rows.map(|row| {
        let outcome = if row % 2 == 0 {
            let record = credential(job.workspace_id, job.template_id, "ada@example.com", now);
            let key = idempotency(&record, &format!("bulk:{}:{row}", job.id), "hash");
            let events = vec![event(job.workspace_id, EventKind::CredentialIssued, now)];
            ChunkOutcome::Issued { record: Box::new(record), idempotency: key, events }
        } else {
            ChunkOutcome::Failed(format!("reason {row}"))
        };
        ChunkRow { row, outcome }
    })
    .collect()
}

fn credential_of(row: &ChunkRow) -> Option<&platform::model::CredentialRecord> {
    match &row.outcome {
        ChunkOutcome::Issued { record, .. } => Some(record),
        ChunkOutcome::Failed(_) => None,
    }
}

pub async fn a_chunk_writes_its_credentials_and_outcomes_and_the_last_completes_the_job(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 10, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(10)).await?;
    let first = chunk(&job, 1..6, t.clock.now());
    assert!(!store.record_bulk_chunk(job.id, &first, t.clock.now()).await?);
    for row in &first {
        if let Some(record) = credential_of(row) {
            assert_eq!(t.ports.credentials.credential(record.id).await?.as_ref(), Some(record));
            let key = format!("bulk:{}:{}", job.id, row.row);
            let stored = t.ports.credentials.idempotency_record(job.workspace_id, &key).await?;
            assert_eq!(stored.map(|k| k.credential_id), Some(record.id));
        }
    }
    assert_eq!(t.ports.outbox.pending_events(100).await?.len(), 2);
    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.issued, stored.failed, stored.status), (2, 3, BulkStatus::Running));
    assert_eq!(store.bulk_rows(job.id, 1, 11).await?, bulk_rows(10)[5..].to_vec());

    let finished_at = t.clock.now() + chrono::Duration::seconds(5);
    assert!(store.record_bulk_chunk(job.id, &chunk(&job, 6..11, finished_at), finished_at).await?);
    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.issued, stored.failed), (5, 5));
    assert_eq!((stored.status, stored.completed_at), (BulkStatus::Completed, Some(finished_at)));
    let errors: Vec<u32> =
        store.bulk_errors(job.id).await?.into_iter().map(|(row, _)| row).collect();
    assert_eq!(errors, vec![1, 3, 5, 7, 9]);
    assert!(store.bulk_rows(job.id, 1, 11).await?.is_empty());
    Ok(())
}

pub async fn a_chunk_recorded_again_writes_nothing_and_does_not_complete_again(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 4, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(4)).await?;
    assert!(
        store.record_bulk_chunk(job.id, &chunk(&job, 1..5, t.clock.now()), t.clock.now()).await?
    );
    // A redelivery signs new credentials for the same rows: none of them is written.
    let again = chunk(&job, 1..5, t.clock.now());
    assert!(!store.record_bulk_chunk(job.id, &again, t.clock.now()).await?);
    for record in again.iter().filter_map(credential_of) {
        assert_eq!(t.ports.credentials.credential(record.id).await?, None);
    }
    assert_eq!(t.ports.outbox.pending_events(100).await?.len(), 2);
    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.issued, stored.failed), (2, 2));
    Ok(())
}

pub async fn a_chunk_row_whose_key_was_used_is_recorded_with_the_first_credential(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 2, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(2)).await?;
    // Row 2's credential was written, and the process stopped before its outcome was.
    let rows = chunk(&job, 1..3, t.clock.now());
    let ChunkOutcome::Issued { record, idempotency: key, events } = &rows[1].outcome else {
        unreachable!()
    };
    let earlier = credential(job.workspace_id, job.template_id, "ada@example.com", t.clock.now());
    let earlier_key =
        platform::model::IdempotencyRecord { credential_id: earlier.id, ..key.clone() };
    assert_eq!(
        t.ports.credentials.insert_credential(&earlier, Some(&earlier_key), events).await?,
        InsertCredential::Inserted
    );
    assert!(store.record_bulk_chunk(job.id, &rows, t.clock.now()).await?);
    assert_eq!(t.ports.credentials.credential(record.id).await?, None);
    assert_eq!(t.ports.credentials.credential(earlier.id).await?, Some(earlier.clone()));
    let stored = store.bulk_job(job.workspace_id, job.id).await?.unwrap();
    assert_eq!((stored.issued, stored.failed, stored.status), (1, 1, BulkStatus::Completed));
    Ok(())
}

pub async fn a_chunk_row_recorded_before_keeps_its_outcome_and_writes_no_credential(
    adapters: &dyn AdapterSet,
) -> anyhow::Result<()> {
    let t = adapters.ports().await?;
    let store = &t.ports.bulk;
    let job = bulk_job(WorkspaceId::generate(), TemplateId::generate(), 2, t.clock.now());
    store.create_bulk_job(&job, &bulk_rows(2)).await?;
    store.record_bulk_row(job.id, 2, &RowOutcome::Failed("first".into()), t.clock.now()).await?;
    let rows = chunk(&job, 1..3, t.clock.now());
    assert!(store.record_bulk_chunk(job.id, &rows, t.clock.now()).await?);
    assert_eq!(t.ports.credentials.credential(credential_of(&rows[1]).unwrap().id).await?, None);
    assert_eq!(store.bulk_errors(job.id).await?, vec![(1, "reason 1".into()), (2, "first".into())]);
    Ok(())
}
