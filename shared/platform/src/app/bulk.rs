//! Bulk issuance: a CSV or JSON list of recipients becomes a job whose rows are issued
//! through the queue, a chunk of rows per message. Every row is idempotent (its credential's
//! idempotency key is `bulk:JOB:ROW`, and its outcome is recorded once), so a crash or a
//! redelivered message never loses or duplicates a credential.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::credentials_api::{Issue, new_record, parse_date};
use super::{App, BulkSubmission, Caller, HandleOutcome, request_hash};
use crate::auth::Permission;
use crate::ids::{
    BulkJobId, CredentialId, Email, HttpUrl, IdempotencyKey, TemplateId, WorkspaceId, text,
};
use crate::model::{
    BulkJob, BulkRow, BulkRowInput, BulkStatus, Event, EventKind, IdempotencyRecord,
    STATUS_LIST_SIZE, Template, Workspace,
};
use crate::ports::{ChunkOutcome, ChunkRow, QueueName, derived_event_id};
use crate::{Error, Result};

/// Rows per queue message.
pub const CHUNK_ROWS: u32 = 100;
/// Rows per job.
pub const MAX_ROWS: usize = 100_000;

/// A job and its per-row errors.
#[derive(Debug, Clone, Serialize)]
pub struct BulkReport {
    pub job: BulkJob,
    pub errors: Vec<(u32, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChunkMessage {
    workspace: WorkspaceId,
    job: BulkJobId,
    from: u32,
    to: u32,
}

fn parse_row(
    row: u32,
    email: &str,
    name: &str,
    valid_until: Option<&str>,
    evidence_url: Option<&str>,
) -> BulkRow {
    let parsed = (|| -> Result<BulkRowInput> {
        Ok(BulkRowInput {
            email: Email::parse("email", email)?,
            name: text("name", name, 200)?,
            valid_until: valid_until
                .filter(|v| !v.trim().is_empty())
                .map(|v| parse_date("valid_until", v))
                .transpose()?,
            evidence_url: evidence_url
                .filter(|v| !v.trim().is_empty())
                .map(|v| HttpUrl::parse("evidence_url", v))
                .transpose()?,
        })
    })();
    BulkRow { row, input: parsed.map_err(|e| e.to_string()) }
}

/// Parses CSV with the header `email,name[,valid_until][,evidence_url]` (columns in any
/// order). A bad header is an error; a bad row is that row's error.
pub fn parse_bulk_csv(bytes: &[u8]) -> Result<Vec<BulkRow>> {
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| Error::invalid("csv", format!("unreadable header: {e}")))?
        .clone();
    let mut columns = [None; 4];
    for (i, name) in header.iter().enumerate() {
        let slot = match name.trim_start_matches('\u{feff}').to_ascii_lowercase().as_str() {
            "email" => 0,
            "name" => 1,
            "valid_until" => 2,
            "evidence_url" => 3,
            other => return Err(Error::invalid("csv", format!("unknown column `{other}`"))),
        };
        if columns[slot].replace(i).is_some() {
            return Err(Error::invalid("csv", format!("column `{name}` appears twice")));
        }
    }
    let (Some(email), Some(name)) = (columns[0], columns[1]) else {
        return Err(Error::invalid("csv", "the header must name the columns email and name"));
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| Error::invalid("csv", "too many rows"))?;
        if rows.len() >= MAX_ROWS {
            return Err(Error::invalid("csv", format!("at most {MAX_ROWS} rows")));
        }
        rows.push(match record {
            Ok(record) => parse_row(
                row,
                record.get(email).unwrap_or_default(),
                record.get(name).unwrap_or_default(),
                columns[2].and_then(|c| record.get(c)),
                columns[3].and_then(|c| record.get(c)),
            ),
            Err(e) => BulkRow { row, input: Err(format!("unreadable row: {e}")) },
        });
    }
    if rows.is_empty() {
        return Err(Error::invalid("csv", "no rows"));
    }
    Ok(rows)
}

/// Parses JSON rows: `{"rows": [{"email", "name", "valid_until"?, "evidence_url"?}]}` or the
/// bare array.
pub fn parse_bulk_json(value: &Value) -> Result<Vec<BulkRow>> {
    let rows = match value {
        Value::Array(rows) => rows,
        Value::Object(object) => object
            .get("rows")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::invalid("rows", "is required"))?,
        _ => return Err(Error::invalid("rows", "must be an array")),
    };
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(Error::invalid("rows", format!("must hold 1 to {MAX_ROWS} rows")));
    }
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let field = |name: &str| row.get(name).and_then(Value::as_str);
            let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if !row.is_object() {
                return BulkRow { row: number, input: Err("a row must be an object".into()) };
            }
            parse_row(
                number,
                field("email").unwrap_or_default(),
                field("name").unwrap_or_default(),
                field("valid_until"),
                field("evidence_url"),
            )
        })
        .collect())
}

impl App {
    /// Starts a bulk issuance job from parsed rows. Where the workspace or the template
    /// requires approval, nothing is issued: the rows become a draft for an approver.
    pub async fn submit_bulk(
        &self,
        caller: &Caller,
        slug: &str,
        template_id: &str,
        rows: Vec<BulkRow>,
    ) -> Result<BulkSubmission> {
        let workspace = self.workspace(caller, slug, Permission::CredentialIssue).await?;
        let template_id = TemplateId::parse(template_id)?;
        let template =
            self.ports().templates.template(workspace.id, template_id).await?.ok_or_else(|| {
                Error::invalid("template_id", "no such template in this workspace")
            })?;
        if workspace.requires_approval || template.requires_approval {
            return self.draft_bulk_instead(caller, &workspace, template_id, rows).await;
        }
        let job = self.start_bulk(&workspace, template_id, rows, BulkJobId::generate()).await?;
        Ok(BulkSubmission::Started(job))
    }

    /// Creates the job `id` with its rows unless it exists, and sends its chunks to the
    /// queue. Starting the same job again sends its chunks again, which the worker handles
    /// as redeliveries (rows are issued once): an approval retried after a crash.
    pub(crate) async fn start_bulk(
        &self,
        workspace: &Workspace,
        template_id: TemplateId,
        rows: Vec<BulkRow>,
        id: BulkJobId,
    ) -> Result<BulkJob> {
        let total = u32::try_from(rows.len()).map_err(|_| Error::invalid("rows", "too many"))?;
        let job = match self.ports().bulk.bulk_job(workspace.id, id).await? {
            Some(job) => job,
            None => {
                let job = BulkJob {
                    id,
                    workspace_id: workspace.id,
                    template_id,
                    status: BulkStatus::Running,
                    total,
                    issued: 0,
                    failed: 0,
                    created_at: self.ports().clock.now(),
                    completed_at: None,
                };
                if let Err(error) = self.ports().bulk.create_bulk_job(&job, &rows).await {
                    // A concurrent start of the same job created it first.
                    match self.ports().bulk.bulk_job(workspace.id, id).await? {
                        Some(job) => job,
                        None => return Err(error.into()),
                    }
                } else {
                    job
                }
            }
        };
        let mut messages = Vec::new();
        let mut from = 1;
        while from <= job.total {
            let to = (from + CHUNK_ROWS).min(job.total + 1);
            let message = ChunkMessage { workspace: workspace.id, job: job.id, from, to };
            messages.push((
                serde_json::to_string(&message).map_err(anyhow::Error::from)?,
                Duration::ZERO,
            ));
            from = to;
        }
        for batch in messages.chunks(500) {
            self.ports().queue.send(QueueName::Bulk, batch).await?;
        }
        Ok(job)
    }

    /// A job of the caller's workspace and its per-row errors.
    pub async fn bulk_report(&self, caller: &Caller, slug: &str, id: &str) -> Result<BulkReport> {
        let workspace = self.workspace(caller, slug, Permission::CredentialRead).await?;
        let id = BulkJobId::parse(id).map_err(|_| Error::NotFound("bulk issuance"))?;
        let job = self
            .ports()
            .bulk
            .bulk_job(workspace.id, id)
            .await?
            .ok_or(Error::NotFound("bulk issuance"))?;
        let errors = self.ports().bulk.bulk_errors(id).await?;
        Ok(BulkReport { job, errors })
    }

    /// Handles one bulk message: issues its rows (each idempotent) and records them.
    pub async fn handle_bulk_message(&self, body: &str) -> Result<HandleOutcome> {
        let Ok(message) = serde_json::from_str::<ChunkMessage>(body) else {
            tracing::warn!("dropping a malformed bulk message");
            return Ok(HandleOutcome::Done);
        };
        let Some(job) = self.ports().bulk.bulk_job(message.workspace, message.job).await? else {
            return Ok(HandleOutcome::Done);
        };
        let workspace = self
            .ports()
            .workspaces
            .workspace(job.workspace_id)
            .await?
            .ok_or(Error::NotFound("workspace"))?;
        let template = self.ports().templates.template(job.workspace_id, job.template_id).await?;
        let mut completed = job.status == BulkStatus::Completed;
        let rows = self.ports().bulk.bulk_rows(job.id, message.from, message.to).await?;
        if !rows.is_empty() {
            let chunk = self.issue_chunk(&workspace, template.as_ref(), &job, rows).await?;
            let now = self.ports().clock.now();
            completed |= self.ports().bulk.record_bulk_chunk(job.id, &chunk, now).await?;
        }
        if completed {
            self.emit_bulk_completed(message.workspace, job.id).await?;
        }
        Ok(HandleOutcome::Done)
    }

    /// Builds and signs the credentials of the rows not recorded yet, all at once: one range
    /// of status indexes, one batch of signatures across the cores. A row that cannot be
    /// issued (bad input, a date in the past, a deleted template) is a failed row.
    async fn issue_chunk(
        &self,
        workspace: &Workspace,
        template: Option<&Template>,
        job: &BulkJob,
        rows: Vec<BulkRow>,
    ) -> Result<Vec<ChunkRow>> {
        let now = self.ports().clock.now();
        let failed =
            |row: u32, reason: String| ChunkRow { row, outcome: ChunkOutcome::Failed(reason) };
        let mut chunk = Vec::with_capacity(rows.len());
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            match (row.input, template) {
                (Err(reason), _) => chunk.push(failed(row.row, reason)),
                (Ok(_), None) => chunk.push(failed(row.row, "the template was deleted".into())),
                (Ok(input), Some(template)) => {
                    let valid_until = input.valid_until.or_else(|| {
                        template
                            .valid_for_days
                            .map(|days| now + chrono::Duration::days(days.into()))
                    });
                    if valid_until.is_some_and(|until| until <= now) {
                        chunk.push(failed(
                            row.row,
                            "invalid `valid_until`: must be in the future".into(),
                        ));
                    } else {
                        pending.push((row.row, input, valid_until));
                    }
                }
            }
        }
        let Some(template) = template.filter(|_| !pending.is_empty()) else {
            return Ok(chunk);
        };
        let count = u32::try_from(pending.len()).map_err(anyhow::Error::from)?;
        let first = self.ports().workspaces.allocate_status_indexes(workspace.id, count).await?;
        let last = first + u64::from(count) - 1;
        for page in first / STATUS_LIST_SIZE..=last / STATUS_LIST_SIZE {
            self.publish_status_lists(workspace, page).await?;
        }
        let mut built = Vec::with_capacity(pending.len());
        let mut documents = Vec::with_capacity(pending.len());
        for ((row, input, valid_until), index) in pending.into_iter().zip(first..) {
            let hash = request_hash(
                serde_json::to_string(&input).map_err(anyhow::Error::from)?.as_bytes(),
            );
            let issue = Issue {
                email: input.email,
                name: input.name,
                valid_until,
                evidence: input.evidence_url.into_iter().map(|u| (u, None, None)).collect(),
            };
            let id = CredentialId::generate();
            match self.build_credential(workspace, template, &issue, id, index, now, valid_until) {
                Ok(document) => {
                    documents.push(document);
                    built.push((row, id, index, issue, hash));
                }
                Err(Error::Validation { field, reason }) => {
                    chunk.push(failed(row, format!("invalid `{field}`: {reason}")));
                }
                Err(other) => return Err(other),
            }
        }
        let signed = self.sign_documents(workspace, documents, now).await?;
        let mut ready = Vec::with_capacity(built.len());
        for (built, signed) in built.into_iter().zip(signed) {
            match signed {
                Ok(document) => ready.push((built, document)),
                Err(Error::Validation { field, reason }) => {
                    chunk.push(failed(built.0, format!("invalid `{field}`: {reason}")));
                }
                Err(other) => return Err(other),
            }
        }
        let recipients: Vec<_> =
            ready.iter().map(|((_, id, _, issue, _), _)| (*id, issue.recipient())).collect();
        let items: Vec<_> = recipients.iter().map(|(id, data)| (*id, data)).collect();
        let sealed = self.seal_recipients(workspace.organization_id, &items).await?;
        for (((row, id, index, issue, hash), document), sealed) in ready.into_iter().zip(sealed) {
            let valid_until = issue.valid_until;
            let record =
                new_record(workspace, template, sealed, id, index, now, valid_until, &document);
            let events =
                vec![self.credential_event(EventKind::CredentialIssued, &record, workspace, None)];
            let idempotency = IdempotencyRecord {
                workspace_id: workspace.id,
                key: IdempotencyKey::internal(&format!("bulk:{}:{row}", job.id))?
                    .as_str()
                    .to_owned(),
                request_hash: hash,
                credential_id: id,
                created_at: now,
            };
            chunk.push(ChunkRow {
                row,
                outcome: ChunkOutcome::Issued { record: Box::new(record), idempotency, events },
            });
        }
        chunk.sort_by_key(|row| row.row);
        Ok(chunk)
    }

    /// Appends the completion event (its id derived from the job, so appending it again after
    /// a crash or a redelivery is a no-op).
    async fn emit_bulk_completed(&self, workspace: WorkspaceId, id: BulkJobId) -> Result<()> {
        let Some(job) = self.ports().bulk.bulk_job(workspace, id).await? else { return Ok(()) };
        if job.status != BulkStatus::Completed {
            return Ok(());
        }
        let Some(ws) = self.ports().workspaces.workspace(workspace).await? else { return Ok(()) };
        let event = Event {
            id: derived_event_id("bulk_issuance.completed", job.id.0),
            workspace_id: workspace,
            kind: EventKind::BulkIssuanceCompleted,
            occurred_at: job.completed_at.unwrap_or_else(|| self.ports().clock.now()),
            data: json!({"job_id": job.id, "workspace": ws.slug, "template_id": job.template_id,
                "total": job.total, "issued": job.issued, "failed": job.failed}),
        };
        self.ports().outbox.append_events(&[event]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_parse_with_optional_columns_in_any_order_and_bad_rows_are_row_errors() {
        let csv = "name,email,evidence_url\nAda,ada@example.com,https://e.example/1\nBob,not-an-email,\n\"Lovelace, Ada\",ada2@example.com,\n";
        let rows = parse_bulk_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].input.as_ref().unwrap().evidence_url.as_ref().unwrap().as_str(),
            "https://e.example/1"
        );
        assert!(rows[1].input.as_ref().unwrap_err().contains("email"));
        assert_eq!(rows[2].input.as_ref().unwrap().name, "Lovelace, Ada");
        assert_eq!(rows[2].row, 3);
    }

    #[test]
    fn a_bad_csv_header_is_a_request_error() {
        assert!(parse_bulk_csv(b"mail,name\nx,y\n").is_err());
        assert!(parse_bulk_csv(b"email\nx\n").is_err());
        assert!(parse_bulk_csv(b"email,name,email\n").is_err());
        assert!(parse_bulk_csv(b"email,name\n").is_err());
    }

    #[test]
    fn json_rows_parse() {
        let rows = parse_bulk_json(&json!({"rows": [{"email": "a@b.example", "name": "A", "valid_until": "2031-01-01T00:00:00Z"}, 7]})).unwrap();
        assert!(rows[0].input.as_ref().unwrap().valid_until.is_some());
        assert!(rows[1].input.is_err());
        assert!(parse_bulk_json(&json!({"rows": []})).is_err());
    }
}
