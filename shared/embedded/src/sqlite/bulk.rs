//! Bulk issuance jobs and their rows.

use anyhow::{Result, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform::ids::{BulkJobId, WorkspaceId};
use platform::model::{BulkJob, BulkRow, BulkStatus, RowOutcome};
use platform::ports::{BulkStore, PortResult, RowRecorded};
use rusqlite::{OptionalExtension as _, params};

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
        self.read("bulk job", move |c| {
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
                "SELECT row, input FROM bulk_rows WHERE job_id = ?1 AND row >= ?2 AND row < ?3 ORDER BY row",
                params![job.to_string(), from, to],
                |row| Ok(BulkRow { row: row.get(0)?, input: from_json(&row.get::<_, String>(1)?)? }),
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
            let recorded = tx.execute(
                "UPDATE bulk_rows SET outcome = ?1, error = ?2 WHERE job_id = ?3 AND row = ?4 AND outcome IS NULL",
                params![stored, error, job, row],
            )?;
            if recorded == 0 {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM bulk_rows WHERE job_id = ?1 AND row = ?2)",
                    params![job, row],
                    |r| r.get(0),
                )?;
                return if exists { Ok(RowRecorded::Already) } else { Err(anyhow!("job {job} has no row {row}")) };
            }
            let (total, counted, status) = tx
                .query_row(
                    "SELECT total, issued + failed, status FROM bulk_jobs WHERE id = ?1",
                    [&job],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
                )
                .optional()?
                .ok_or_else(|| anyhow!("no bulk job {job}"))?;
            // Each row is counted once, so exactly one row brings the count to the total.
            let completed = counted + 1 >= total && parse_status(&status)? == BulkStatus::Running;
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
            Ok(RowRecorded::First { completed })
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
