//! Bulk issuance jobs, their rows and the rows' outcomes, all in the job's partition:
//! `JOB#<id>` / `JOB`, `ROW#<row>` and `OUT#<row>` (rows zero-padded to 10 digits, so they
//! sort in row order).
//!
//! Creating a job writes its rows first (batches of 25) and the job item last: the job item's
//! existence is the commit point. A job that is found has all its rows; rows left by a
//! creation that failed half-way belong to no job anyone can see.
//!
//! Recording a row is one transaction: the outcome item (on condition that it is new, which
//! makes a second record of the row a no-op), the row's input removed (on condition that the
//! row exists) and the job's counters (on condition that they are still what was read,
//! optimistic concurrency), so exactly one record completes the job.

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{PutRequest, TransactWriteItem, Update, WriteRequest};
use chrono::{DateTime, Utc};
use platform::ids::{BulkJobId, WorkspaceId};
use platform::model::{BulkJob, BulkRow, BulkStatus, RowOutcome};
use platform::ports::{
    BulkStore, ChunkOutcome, ChunkRow, CredentialStore as _, InsertCredential, PortResult,
    RowRecorded,
};

use super::{
    Condition, DynamoStore, Item, MAX_ATTEMPTS, Transaction, backoff, doc, n, number, record_item,
    s, sdk, text,
};

/// Items per `BatchWriteItem` request (the API's maximum).
const BATCH: usize = 25;

fn job_pk(id: BulkJobId) -> String {
    format!("JOB#{id}")
}

fn row_sk(row: u32) -> String {
    format!("ROW#{row:010}")
}

fn outcome_sk(row: u32) -> String {
    format!("OUT#{row:010}")
}

fn job_item(job: &BulkJob) -> anyhow::Result<Item> {
    let mut item = record_item(job_pk(job.id), "JOB", job)?;
    item.insert("workspace".into(), s(job.workspace_id.to_string()));
    item.insert("issued".into(), n(job.issued));
    item.insert("failed".into(), n(job.failed));
    Ok(item)
}

impl DynamoStore {
    /// Writes `items` with `BatchWriteItem`, retrying what DynamoDB leaves unprocessed.
    async fn batch_put(&self, what: &str, items: Vec<Item>) -> anyhow::Result<()> {
        let mut requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item)).build()?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        while !requests.is_empty() {
            let tail = requests.split_off(requests.len().min(BATCH));
            let mut batch = std::mem::replace(&mut requests, tail);
            let mut attempt = 0;
            while !batch.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(|e| sdk(what, &e))?;
                batch = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
                if !batch.is_empty() {
                    attempt += 1;
                    if attempt > MAX_ATTEMPTS {
                        bail!(
                            "DynamoDB {what}: items still unprocessed after {MAX_ATTEMPTS} tries"
                        );
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl BulkStore for DynamoStore {
    async fn create_bulk_job(&self, job: &BulkJob, rows: &[BulkRow]) -> PortResult<()> {
        let what = "create bulk job";
        let rows = rows
            .iter()
            .map(|row| record_item(job_pk(job.id), row_sk(row.row), row))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.batch_put(what, rows).await?;
        // Last: the commit point.
        if !self.put(what, job_item(job)?, Some(Condition::not_exists())).await? {
            bail!("bulk job {} already exists", job.id);
        }
        Ok(())
    }

    async fn bulk_job(&self, workspace: WorkspaceId, id: BulkJobId) -> PortResult<Option<BulkJob>> {
        let job: Option<BulkJob> = self.get_doc("bulk job", job_pk(id), "JOB").await?;
        Ok(job.filter(|job| job.workspace_id == workspace))
    }

    async fn bulk_rows(&self, job: BulkJobId, from: u32, to: u32) -> PortResult<Vec<BulkRow>> {
        let what = "bulk rows";
        let Some(last) = to.checked_sub(1).filter(|last| *last >= from) else {
            return Ok(Vec::new());
        };
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :last")
            .expression_attribute_values(":pk", s(job_pk(job)))
            .expression_attribute_values(":from", s(row_sk(from)))
            .expression_attribute_values(":last", s(row_sk(last)));
        let items = self.query(what, query, usize::MAX).await?;
        let outcomes = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :last")
            .projection_expression("#row")
            .expression_attribute_names("#row", "row")
            .expression_attribute_values(":pk", s(job_pk(job)))
            .expression_attribute_values(":from", s(outcome_sk(from)))
            .expression_attribute_values(":last", s(outcome_sk(last)));
        let recorded = self
            .query(what, outcomes, usize::MAX)
            .await?
            .iter()
            .map(|item| number(item, "row")?.context("an outcome's row"))
            .collect::<anyhow::Result<std::collections::HashSet<u64>>>()?;
        items
            .iter()
            // A row recorded has no input left (see `record_bulk_row`).
            .filter(|item| item.contains_key("doc"))
            .map(|item| doc::<BulkRow>(item, what))
            .filter(|row| !row.as_ref().is_ok_and(|row| recorded.contains(&u64::from(row.row))))
            .collect()
    }

    async fn record_bulk_row(
        &self,
        job: BulkJobId,
        row: u32,
        outcome: &RowOutcome,
        now: DateTime<Utc>,
    ) -> PortResult<RowRecorded> {
        let what = "record bulk row";
        let mut recorded = record_item(job_pk(job), outcome_sk(row), outcome)?;
        recorded.insert("row".into(), n(row));
        if let RowOutcome::Failed(reason) = outcome {
            recorded.insert("reason".into(), s(reason));
        }
        // The row must exist; its input (a recipient's email and name, in clear) is dropped in
        // the same transaction as its outcome is recorded: it is needed only until then, and
        // would otherwise outlive the recipient's erasure.
        let row_exists = TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&self.table)
                    .key("PK", s(job_pk(job)))
                    .key("SK", s(row_sk(row)))
                    .update_expression("REMOVE #doc")
                    .expression_attribute_names("#doc", "doc")
                    .condition_expression("attribute_exists(PK)")
                    .build()
                    .context("a transaction update")?,
            )
            .build();
        for attempt in 0..MAX_ATTEMPTS {
            let read: BulkJob = self
                .get_doc(what, job_pk(job), "JOB")
                .await?
                .with_context(|| format!("no bulk job {job}"))?;
            let mut next = read.clone();
            match outcome {
                RowOutcome::Issued(_) => next.issued += 1,
                RowOutcome::Failed(_) => next.failed += 1,
            }
            // Each row is counted once, so exactly one record brings the count to the total.
            let completed =
                read.status == BulkStatus::Running && next.issued + next.failed >= next.total;
            if completed {
                next.status = BulkStatus::Completed;
                next.completed_at = Some(now);
            }
            let unchanged = Condition::new("#issued = :issued AND #failed = :failed")
                .name("#issued", "issued")
                .name("#failed", "failed")
                .value(":issued", n(read.issued))
                .value(":failed", n(read.failed));
            let items = vec![
                row_exists.clone(),
                self.put_op(recorded.clone(), Some(Condition::not_exists()))?,
                self.put_op(job_item(&next)?, Some(unchanged))?,
            ];
            match self.transact(what, items).await? {
                Transaction::Committed => return Ok(RowRecorded::First { completed }),
                outcome if outcome.failed(1) => return Ok(RowRecorded::Already),
                outcome if outcome.failed(0) => bail!("bulk job {job} has no row {row}"),
                // Another row was recorded since the read: read the counters again.
                outcome if outcome.failed(2) || outcome.conflicted() => {
                    backoff(attempt + 1).await;
                }
                outcome => return Err(outcome.unexpected(what)),
            }
        }
        bail!("DynamoDB {what}: job {job} still contended after {MAX_ATTEMPTS} attempts")
    }

    /// Row by row: each credential in its own transaction (as `insert_credential` writes it),
    /// then its outcome. A chunk's items do not fit one DynamoDB transaction (100 items), and
    /// a crash between the two writes is repaired by the idempotency key on redelivery.
    async fn record_bulk_chunk(
        &self,
        job: BulkJobId,
        rows: &[ChunkRow],
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let what = "record bulk chunk";
        let mut completed = false;
        for ChunkRow { row, outcome } in rows {
            if self.get(what, job_pk(job), &outcome_sk(*row)).await?.is_some() {
                continue;
            }
            let outcome = match outcome {
                ChunkOutcome::Issued { record, idempotency, events } => {
                    match self.insert_credential(record, Some(idempotency), events).await? {
                        InsertCredential::Inserted => RowOutcome::Issued(record.id),
                        InsertCredential::KeyExists(existing) => {
                            RowOutcome::Issued(existing.credential_id)
                        }
                    }
                }
                ChunkOutcome::Failed(reason) => RowOutcome::Failed(reason.clone()),
            };
            if let RowRecorded::First { completed: true } =
                self.record_bulk_row(job, *row, &outcome, now).await?
            {
                completed = true;
            }
        }
        Ok(completed)
    }

    async fn bulk_errors(&self, job: BulkJobId) -> PortResult<Vec<(u32, String)>> {
        let what = "bulk errors";
        let query = self
            .query_on(None)
            .key_condition_expression("PK = :pk AND begins_with(SK, :out)")
            .filter_expression("attribute_exists(#reason)")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_values(":pk", s(job_pk(job)))
            .expression_attribute_values(":out", s("OUT#"));
        let items = self.query(what, query, usize::MAX).await?;
        items
            .iter()
            .map(|item| {
                let row = number(item, "row")?.context("an outcome without its row")?;
                let row = u32::try_from(row).context("an outcome's row is out of range")?;
                let reason = text(item, "reason").context("a failed outcome without its reason")?;
                Ok((row, reason.to_owned()))
            })
            .collect()
    }
}
