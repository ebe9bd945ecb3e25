//! Bulk issuance jobs and their rows.

use anyhow::{Result, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ids::{BulkJobId, WorkspaceId};
use platform::model::{BulkJob, BulkRow, BulkStatus, RowOutcome};
use platform::ports::{BulkStore, ChunkOutcome, ChunkRow, PortResult, RowRecorded};
use rusqlite::{OptionalExtension as _, Transaction, params};

use super::credentials::{idempotency_record, insert};

use super::{
    SqliteStore, all, from_json, optional, parse_optional_time, parse_text, parse_time, time,
    to_json,
};

fn status_name(status: BulkStatus) -> &'static str {
    match status {
        BulkStatus::Running => "running",
        BulkStatus::Completed => "completed",
    }
}

fn parse_status(text: &str) -> Result<BulkStatus> {
    match text {
        "running" => Ok(BulkStatus::Running),
        "completed" => Ok(BulkStatus::Completed),
        other => Err(anyhow!("stored bulk status `{other}` is unknown")),
    }
}

fn count(value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| anyhow!("stored count {value} is out of range"))
}

/// Records a row's outcome unless it has one; `false` when it had. Fails on an unknown row.
///
/// The row's input (a recipient's email and name, in clear) is dropped with it: it is needed
/// only until the row is issued, and would otherwise outlive the recipient's erasure. The
/// callers turn `secure_delete` on, so that the old bytes do not stay in the page's free
/// space (the log keeps them until the next checkpoint, which every erasure makes).
fn record_outcome(
    tx: &Transaction<'_>,
    job: &str,
    row: u32,
    outcome: &str,
    error: Option<&str>,
) -> Result<bool> {
    let recorded = tx
        .prepare_cached(
            "UPDATE bulk_rows SET outcome = ?1, error = ?2, input = 'null'
             WHERE job_id = ?3 AND row = ?4 AND outcome IS NULL",
        )?
        .execute(params![outcome, error, job, row])?;
    if recorded == 0 {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM bulk_rows WHERE job_id = ?1 AND row = ?2)",
            params![job, row],
            |r| r.get(0),
        )?;
        return if exists { Ok(false) } else { Err(anyhow!("job {job} has no row {row}")) };
    }
    Ok(true)
}

/// Adds newly recorded rows to the job's counters; `true` when they complete the job.
fn add_to_counts(
    tx: &Transaction<'_>,
    job: &str,
    issued: i64,
    failed: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (total, counted, status) = tx
        .query_row(
            "SELECT total, issued + failed, status FROM bulk_jobs WHERE id = ?1",
            [job],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
        )
        .optional()?
        .ok_or_else(|| anyhow!("no bulk job {job}"))?;
    // Each row is counted once, so exactly one call brings the count to the total.
    let completed =
        counted + issued + failed >= total && parse_status(&status)? == BulkStatus::Running;
    tx.execute(
        "UPDATE bulk_jobs SET issued = issued + ?1, failed = failed + ?2 WHERE id = ?3",
        params![issued, failed, job],
    )?;
    if completed {
        tx.execute(
            "UPDATE bulk_jobs SET status = ?1, completed_at = ?2 WHERE id = ?3",
            params![status_name(BulkStatus::Completed), time(now), job],
        )?;
    }
    Ok(completed)
}

#[async_trait]
impl BulkStore for SqliteStore {
    async fn create_bulk_job(&self, job: &BulkJob, rows: &[BulkRow]) -> PortResult<()> {
        let job = job.clone();
        let rows = rows
            .iter()
            .map(|row| Ok((row.row, to_json(&row.input)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write("create bulk job", move |tx| {
            tx.execute(
                "INSERT INTO bulk_jobs (id, workspace_id, template_id, status, total, issued, failed, created_at,
                     completed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    job.id.to_string(),
                    job.workspace_id.to_string(),
                    job.template_id.to_string(),
                    status_name(job.status),
                    job.total,
                    job.issued,
                    job.failed,
                    time(job.created_at),
                    job.completed_at.map(time),
                ],
            )?;
            let mut insert = tx.prepare("INSERT INTO bulk_rows (job_id, row, input) VALUES (?1, ?2, ?3)")?;
            let id = job.id.to_string();
            for (row, input) in rows {
                insert.execute(params![id, row, input])?;
            }
            Ok(())
        })
        .await
    }

    async fn bulk_job(&self, workspace: WorkspaceId, id: BulkJobId) -> PortResult<Option<BulkJob>> {
        self.lookup("bulk job", move |c| {
            optional(
                c,
                "SELECT id, workspace_id, template_id, status, total, issued, failed, created_at, completed_at
                 FROM bulk_jobs WHERE id = ?1 AND workspace_id = ?2",
                [id.to_string(), workspace.to_string()],
                |row| {
                    Ok(BulkJob {
                        id: parse_text(row.get(0)?)?,
                        workspace_id: parse_text(row.get(1)?)?,
                        template_id: parse_text(row.get(2)?)?,
                        status: parse_status(&row.get::<_, String>(3)?)?,
                        total: count(row.get(4)?)?,
                        issued: count(row.get(5)?)?,
                        failed: count(row.get(6)?)?,
                        created_at: parse_time(&row.get::<_, String>(7)?)?,
                        completed_at: parse_optional_time(row.get(8)?)?,
                    })
                },
            )
        })
        .await
    }

    async fn bulk_rows(&self, job: BulkJobId, from: u32, to: u32) -> PortResult<Vec<BulkRow>> {
        self.read("bulk rows", move |c| {
            all(
                c,
                "SELECT row, input FROM bulk_rows
                 WHERE job_id = ?1 AND row >= ?2 AND row < ?3 AND outcome IS NULL ORDER BY row",
                params![job.to_string(), from, to],
                |row| {
                    Ok(BulkRow { row: row.get(0)?, input: from_json(&row.get::<_, String>(1)?)? })
                },
            )
        })
        .await
    }

    async fn record_bulk_row(
        &self,
        job: BulkJobId,
        row: u32,
        outcome: &RowOutcome,
        now: DateTime<Utc>,
    ) -> PortResult<RowRecorded> {
        let stored = to_json(outcome)?;
        let (issued, failed, error) = match outcome {
            RowOutcome::Issued(_) => (1, 0, None),
            RowOutcome::Failed(reason) => (0, 1, Some(reason.clone())),
        };
        self.write("record bulk row", move |tx| {
            let job = job.to_string();
            // Zero the bytes of the input `record_outcome` drops, without extra I/O.
            tx.pragma_update(None, "secure_delete", "FAST")?;
            let recorded = record_outcome(tx, &job, row, &stored, error.as_deref());
            tx.pragma_update(None, "secure_delete", false)?;
            if !recorded? {
                return Ok(RowRecorded::Already);
            }
            Ok(RowRecorded::First { completed: add_to_counts(tx, &job, issued, failed, now)? })
        })
        .await
    }

    async fn record_bulk_chunk(
        &self,
        job: BulkJobId,
        rows: &[ChunkRow],
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let rows = rows.to_vec();
        self.write("record bulk chunk", move |tx| {
            let job = job.to_string();
            let (mut issued, mut failed) = (0, 0);
            for ChunkRow { row, outcome } in &rows {
                let recorded = tx
                    .prepare_cached(
                        "SELECT outcome IS NOT NULL FROM bulk_rows WHERE job_id = ?1 AND row = ?2",
                    )?
                    .query_row(params![job, row], |r| r.get::<_, bool>(0))
                    .optional()?
                    .ok_or_else(|| anyhow!("job {job} has no row {row}"))?;
                if recorded {
                    continue;
                }
                let outcome = match outcome {
                    ChunkOutcome::Issued { record, idempotency, events } => {
                        match idempotency_record(tx, idempotency.workspace_id, &idempotency.key)? {
                            Some(existing) => RowOutcome::Issued(existing.credential_id),
                            None => {
                                let status = to_json(&record.status)?;
                                insert(tx, record, &status, Some(idempotency), events)?;
                                RowOutcome::Issued(record.id)
                            }
                        }
                    }
                    ChunkOutcome::Failed(reason) => RowOutcome::Failed(reason.clone()),
                };
                let error = match &outcome {
                    RowOutcome::Issued(_) => None,
                    RowOutcome::Failed(reason) => Some(reason.as_str()),
                };
                tx.pragma_update(None, "secure_delete", "FAST")?;
                let recorded = record_outcome(tx, &job, *row, &to_json(&outcome)?, error);
                tx.pragma_update(None, "secure_delete", false)?;
                recorded?;
                match outcome {
                    RowOutcome::Issued(_) => issued += 1,
                    RowOutcome::Failed(_) => failed += 1,
                }
            }
            if issued + failed == 0 {
                return Ok(false);
            }
            add_to_counts(tx, &job, issued, failed, now)
        })
        .await
    }

    async fn bulk_errors(&self, job: BulkJobId) -> PortResult<Vec<(u32, String)>> {
        self.read("bulk errors", move |c| {
            all(
                c,
                "SELECT row, error FROM bulk_rows WHERE job_id = ?1 AND error IS NOT NULL ORDER BY row",
                [job.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
        })
        .await
    }
}
