//! SQS consumers with partial batch failures.
//!
//! Lambda receives the messages and deletes those the function does not report as failed
//! (the event source mapping has `FunctionResponseTypes: [ReportBatchItemFailures]`). So each
//! record is handled on its own and the response lists, by their real message ids, exactly
//! the records to receive again:
//!
//! | handler says | what happens |
//! |---|---|
//! | `Done` | success: Lambda deletes the message |
//! | `Retry(delay)` | `ChangeMessageVisibility` to `delay`, then reported as failed |
//! | `Err` | logged (message id and error, no content) and reported as failed: it comes back after the queue's visibility timeout, and after `maxReceiveCount` receives goes to the DLQ |
//! | no body | reported as failed (it ends in the DLQ, where it can be looked at) |
//! | no message id | logged and skipped: it cannot be named, and naming an unknown id would fail the whole batch |
//!
//! The function itself never fails (that would redeliver the whole batch): every outcome is
//! per record.

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use platform::App;
use platform::app::HandleOutcome;
use platform::ports::QueueName;

/// Handles every record of `event` with `handle` (given the app and the message body) and
/// returns the records to redeliver. `queue` is the platform queue the records come from, so a
/// `Retry` can set the message's visibility; `None` for a queue the platform does not name
/// (the inbound events queue), where a retry waits for the queue's visibility timeout.
pub async fn process_sqs_batch<F, Fut>(
    app: &App,
    queue: Option<QueueName>,
    event: SqsEvent,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(App, String) -> Fut,
    Fut: Future<Output = platform::Result<HandleOutcome>>,
{
    let mut response = SqsBatchResponse::default();
    let queue_name = queue.map_or("inbound", QueueName::as_str);
    for record in event.records {
        let Some(id) = record.message_id.filter(|id| !id.is_empty()) else {
            tracing::error!(queue = queue_name, "skipping an SQS record without a message id");
            continue;
        };
        let Some(body) = record.body else {
            tracing::error!(queue = queue_name, message = %id, "SQS record without a body");
            response.add_failure(id);
            continue;
        };
        match handle(app.clone(), body).await {
            Ok(HandleOutcome::Done) => {}
            Ok(HandleOutcome::Retry(delay)) => {
                if let (Some(queue), Some(receipt)) = (queue, record.receipt_handle.as_deref())
                    && let Err(error) = app.release_message(queue, receipt, delay).await
                {
                    // The retry still happens, after the visibility timeout instead.
                    let error = crate::error_detail(&error);
                    tracing::warn!(queue = queue_name, message = %id, error, "could not set the retry delay");
                }
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(queue = queue_name, message = %id, delay_ms, "message to be retried");
                response.add_failure(id);
            }
            Err(error) => {
                let error = crate::error_detail(&error);
                tracing::error!(queue = queue_name, message = %id, error, "message handling failed");
                response.add_failure(id);
            }
        }
    }
    response
}

/// Runs an SQS consumer until the Lambda runtime stops: [`process_sqs_batch`] per invocation.
pub async fn run_sqs<F, Fut>(
    app: App,
    queue: Option<QueueName>,
    handle: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(App, String) -> Fut + Copy,
    Fut: Future<Output = platform::Result<HandleOutcome>>,
{
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move {
            let response = process_sqs_batch(&app, queue, event.payload, handle).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
