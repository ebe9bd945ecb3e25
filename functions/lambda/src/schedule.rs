//! The scheduled sweep and the outbox relay: loops of bounded units of work, each stopping
//! when a unit comes back short (nothing more to do) or when the invocation's time budget is
//! spent (the next invocation carries on: every unit is idempotent).
//!
//! - [`sweep`] (EventBridge Scheduler, every few minutes): expires credentials past
//!   `validUntil`, then relays pending outbox events, the backstop of the stream-driven relay.
//! - [`relay`] (the table's stream, filtered to outbox event items): relays pending outbox
//!   events to webhook deliveries. The stream records only wake it up; it reads the outbox.

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Context, LambdaEvent, service_fn};
use platform::App;
use serde::Serialize;
use serde_json::Value;

/// Credentials expired or events dispatched per unit of work.
const BATCH: usize = 100;

/// Time kept back from the invocation's deadline, to answer and log before it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The most one invocation works, whatever its timeout.
const MAX_BUDGET: Duration = Duration::from_secs(240);

/// What a sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// Credentials marked expired.
    pub expired: usize,
    /// Outbox events relayed to webhook deliveries.
    pub dispatched: usize,
    /// `false` when the time budget ran out with work left (the next run continues).
    pub complete: bool,
}

/// What a relay invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelaySummary {
    /// Stream records in the event (their content is not read).
    pub records: usize,
    /// Outbox events relayed to webhook deliveries.
    pub dispatched: usize,
    /// `false` when the time budget ran out with events left.
    pub complete: bool,
}

/// Runs `unit` (which does at most `BATCH` things and says how many) until it comes back
/// short or `deadline` passes. Returns the total and whether it finished.
async fn drain<F, Fut>(deadline: Instant, mut unit: F) -> platform::Result<(usize, bool)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = platform::Result<usize>>,
{
    let mut total = 0;
    loop {
        let done = unit().await?;
        total += done;
        if done < BATCH {
            return Ok((total, true));
        }
        if Instant::now() >= deadline {
            return Ok((total, false));
        }
    }
}

/// Expires what is due, then relays pending outbox events, within `budget`.
pub async fn sweep(app: &App, budget: Duration) -> platform::Result<SweepSummary> {
    let deadline = Instant::now() + budget;
    let (expired, expiry_done) = drain(deadline, || app.expire_due(BATCH)).await?;
    let (dispatched, relay_done) = drain(deadline, || app.dispatch_events(BATCH)).await?;
    Ok(SweepSummary { expired, dispatched, complete: expiry_done && relay_done })
}

/// Relays pending outbox events within `budget`; `records` is only counted for the summary.
pub async fn relay(app: &App, records: usize, budget: Duration) -> platform::Result<RelaySummary> {
    let deadline = Instant::now() + budget;
    let (dispatched, complete) = drain(deadline, || app.dispatch_events(BATCH)).await?;
    Ok(RelaySummary { records, dispatched, complete })
}

/// The time an invocation may work: until shortly before its deadline, at most
/// [`MAX_BUDGET`].
fn budget(context: &Context) -> Duration {
    context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN)
        .min(MAX_BUDGET)
}

/// An error for the Lambda runtime: it marks the invocation failed (the scheduler retries,
/// the `Errors` alarm counts it), with the error chain logged here and a generic message.
fn failed(what: &str, error: &platform::Error) -> lambda_runtime::Error {
    tracing::error!(error = crate::error_detail(error), "{what} failed");
    format!("{what} failed").into()
}

/// One scheduled invocation: [`sweep`] within the invocation's time. The event (EventBridge
/// Scheduler's payload) may be any JSON; it is not read.
pub async fn handle_scheduled(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<SweepSummary, lambda_runtime::Error> {
    let summary = sweep(app, budget(&event.context)).await.map_err(|e| failed("sweep", &e))?;
    tracing::info!(
        expired = summary.expired,
        dispatched = summary.dispatched,
        complete = summary.complete,
        "sweep"
    );
    Ok(summary)
}

/// One stream invocation: [`relay`] within the invocation's time. The event (DynamoDB stream
/// records, taken as plain JSON so no stream types are compiled in) is only counted.
pub async fn handle_outbox_relay(
    app: &App,
    event: LambdaEvent<Value>,
) -> Result<RelaySummary, lambda_runtime::Error> {
    let records = event.payload.get("Records").and_then(Value::as_array).map_or(0, Vec::len);
    let summary = relay(app, records, budget(&event.context))
        .await
        .map_err(|e| failed("outbox relay", &e))?;
    tracing::info!(
        records = summary.records,
        dispatched = summary.dispatched,
        complete = summary.complete,
        "outbox relay"
    );
    Ok(summary)
}

/// Runs the scheduled sweep ([`handle_scheduled`]) until the Lambda runtime stops.
pub async fn run_scheduled(app: App) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle_scheduled(&app, event).await }
    }))
    .await
}

/// Runs the outbox relay ([`handle_outbox_relay`]) until the Lambda runtime stops.
pub async fn run_outbox_relay(app: App) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle_outbox_relay(&app, event).await }
    }))
    .await
}
