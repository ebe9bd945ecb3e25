//! [`DynamoStore`]: every store port and the outbox in one DynamoDB table, with signed
//! documents in S3 ([`Documents`]).
//!
//! Single-table design: every item has string keys `PK` and `SK`, keeps its record as JSON
//! text in `doc`, and carries only the extra attributes that keys, indexes and conditions
//! need. The full key table is in `docs/ARCHITECTURE.md`; in short:
//!
//! | item | `PK` | `SK` |
//! |---|---|---|
//! | bootstrap marker | `DEPLOYMENT` | `BOOTSTRAP` |
//! | organization | `ORG#<id>` | `ORG` |
//! | API key | `APIKEY#<prefix>` | `APIKEY` |
//! | workspace | `WS#<id>` | `WS` (GSI1 `ORG#<org>` / `WS#<id>`) |
//! | status index counter | `WS#<id>` | `COUNTER#status` |
//! | slug claim | `SLUG#<slug>` | `SLUG` |
//! | template | `WS#<ws>` | `TPL#<id>` |
//! | idempotency key | `WS#<ws>` | `IDEM#<key>` (TTL) |
//! | webhook | `WS#<ws>` | `HOOK#<id>` |
//! | draft / its idempotency key | `WS#<ws>` | `DRAFT#<id>` / `DKEY#<key>` (payload in S3) |
//! | signing keys (`KmsKeyStore`) | `WS#<ws>` | `KEY#…` |
//! | credential | `CRED#<id>` | `CRED` (GSI1, GSI2, GSI3, GSI4 while it can expire) |
//! | status list bits / signed pointer | `SL#<ws>#<purpose>#<page>` | `BITS` / `SIGNED` |
//! | bulk job / row / outcome | `JOB#<id>` | `JOB` / `ROW#<n>` / `OUT#<n>` |
//! | event | `EVT#<id>` | `EVT` (GSI4 while pending) |
//! | delivery | `DLV#<id>` | `DLV` (GSI1 `HOOK#<webhook>`) |
//! | organization secret, recipient data key | `ORG#<org>` | `RKEY#organization`, `RKEY#<recipient>` |
//! | user / its email claim | `USER#<id>` / `EMAIL#<email>` | `USER` (GSI1 `ORG#<org>`) / `EMAIL` |
//! | session or login challenge | `SESSION#<sha256 of the token>` | `SESSION` (TTL) |
//! | sign-in policy | `ORG#<org>` | `POLICY#sign-in` |
//! | OIDC provider / its issuer entry | `ORG#<org>` / `OIDC#<sha256(issuer)>` | `OIDC` / `AUD#<sha256(audience)>` |
//!
//! Ids are hyphenated lowercase UUIDs (v7 ids sort by creation); times in sort keys are
//! fixed-width RFC 3339 with nanoseconds, which sort like the instants. GSI4 holds the two
//! schedules (expiry, pending events) spread over 16 shards each so that no partition is hot.
//!
//! Consistency: base-table reads are strongly consistent; index reads (credential lists,
//! workspaces of an organization, expiry, pending events, deliveries) are eventually
//! consistent on AWS, so a write can take a moment to show there. The users tolerate it: the
//! expiry schedule and the outbox relay run again, the relay dedupes deliveries by id, and
//! the lists are for browsing.
//!
//! Layout: helpers here, one submodule per group of ports.

mod audit;
mod bulk;
mod credentials;
mod drafts;
mod events;
mod organizations;
mod recipients;
mod sso;
mod status_lists;
mod users;

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::documents::Documents;

/// A DynamoDB item.
type Item = HashMap<String, AttributeValue>;

/// The secondary indexes: `(name, partition key, sort key)`.
const INDEXES: [(&str, &str, &str); 4] = [
    (GSI1, "GSI1PK", "GSI1SK"),
    (GSI2, "GSI2PK", "GSI2SK"),
    (GSI3, "GSI3PK", "GSI3SK"),
    (GSI4, "GSI4PK", "GSI4SK"),
];
/// Children of a parent, in order (workspaces of an organization, credentials of a
/// workspace, deliveries of a webhook).
const GSI1: &str = "GSI1";
/// Credentials by recipient.
const GSI2: &str = "GSI2";
/// Credentials by template.
const GSI3: &str = "GSI3";
/// Sparse schedules: credentials that can expire, events not yet dispatched.
const GSI4: &str = "GSI4";
/// Shards of each GSI4 schedule.
const SHARDS: u8 = 16;
/// The TTL attribute (epoch seconds).
const EXPIRES_AT: &str = "expires_at";
/// The DynamoDB code of a failed condition in a cancelled transaction.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// The code of a transaction cancelled by a concurrent one on the same item.
const TRANSACTION_CONFLICT: &str = "TransactionConflict";
/// How many times an optimistic write is retried before giving up.
const MAX_ATTEMPTS: u32 = 200;

/// The store: one table, one bucket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    documents: Documents,
}

/// A condition expression with its placeholders.
#[derive(Debug, Default)]
struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Condition {
    fn new(expression: impl Into<String>) -> Self {
        Self { expression: expression.into(), ..Self::default() }
    }

    /// The item does not exist yet.
    fn not_exists() -> Self {
        Self::new("attribute_not_exists(PK)")
    }

    /// The item exists.
    fn exists() -> Self {
        Self::new("attribute_exists(PK)")
    }

    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// The names, or `None` (DynamoDB refuses empty maps).
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values, or `None`.
    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// What became of a transaction.
#[derive(Debug)]
enum Transaction {
    Committed,
    /// Cancelled: one code per item, in order (`None` for items that were fine).
    Cancelled(Vec<Option<String>>),
}

impl Transaction {
    /// Whether item `index`'s condition failed.
    fn failed(&self, index: usize) -> bool {
        match self {
            Self::Committed => false,
            Self::Cancelled(codes) => {
                codes.get(index).and_then(|c| c.as_deref()) == Some(CONDITION_FAILED)
            }
        }
    }

    /// Whether a concurrent transaction got in the way (and a retry may commit).
    fn conflicted(&self) -> bool {
        match self {
            Self::Committed => false,
            Self::Cancelled(codes) => {
                codes.iter().any(|c| c.as_deref() == Some(TRANSACTION_CONFLICT))
                    && !codes.iter().any(|c| c.as_deref() == Some(CONDITION_FAILED))
            }
        }
    }

    /// The error for a cancellation the caller does not expect.
    fn unexpected(&self, what: &str) -> anyhow::Error {
        match self {
            Self::Committed => anyhow!("DynamoDB {what}: unexpected commit"),
            Self::Cancelled(codes) => {
                let codes: Vec<&str> =
                    codes.iter().map(|c| c.as_deref().unwrap_or("None")).collect();
                anyhow!("DynamoDB {what}: transaction cancelled [{}]", codes.join(", "))
            }
        }
    }
}

impl DynamoStore {
    /// The store over `table`, with documents in `documents`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, documents: Documents) -> Self {
        Self { client, table, documents }
    }

    /// The item `(pk, sk)`, read consistently.
    async fn get(&self, what: &str, pk: String, sk: &str) -> anyhow::Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(what, &e))?;
        Ok(output.item.filter(|item| !item.is_empty()))
    }

    /// The record in the item `(pk, sk)`.
    async fn get_doc<T: DeserializeOwned>(
        &self,
        what: &str,
        pk: String,
        sk: &str,
    ) -> anyhow::Result<Option<T>> {
        self.get(what, pk, sk).await?.map(|item| doc(&item, what)).transpose()
    }

    /// Deletes the item `(pk, sk)`; `false` if there was none.
    async fn delete(&self, what: &str, pk: String, sk: &str) -> anyhow::Result<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk(what, &e))?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }

    /// Puts `item` if `condition` holds; `false` if it does not.
    async fn put(
        &self,
        what: &str,
        item: Item,
        condition: Option<Condition>,
    ) -> anyhow::Result<bool> {
        let mut request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        if let Some(condition) = condition {
            request = request
                .set_expression_attribute_names(condition.names())
                .set_expression_attribute_values(condition.values())
                .condition_expression(condition.expression);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk(what, &error)),
        }
    }

    /// A transaction item putting `item` if `condition` holds.
    fn put_op(
        &self,
        item: Item,
        condition: Option<Condition>,
    ) -> anyhow::Result<TransactWriteItem> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(condition) = condition {
            put = put
                .set_expression_attribute_names(condition.names())
                .set_expression_attribute_values(condition.values())
                .condition_expression(condition.expression);
        }
        let put = put.build().context("a transaction put")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs one transaction; a cancellation is an outcome, with its reasons.
    async fn transact(
        &self,
        what: &str,
        items: Vec<TransactWriteItem>,
    ) -> anyhow::Result<Transaction> {
        let result =
            self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let error = match result {
            Ok(_) => return Ok(Transaction::Committed),
            Err(error) => error,
        };
        let message = sdk(what, &error);
        match error.into_service_error() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                let mut codes: Vec<Option<String>> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().filter(|c| *c != "None").map(str::to_owned))
                    .collect();
                if codes.is_empty() {
                    // Some endpoints only list the reasons in the message:
                    // "Transaction cancelled, … reasons [ConditionalCheckFailed, None]".
                    codes = reasons_from_message(cancelled.message().unwrap_or_default());
                }
                if codes.is_empty() {
                    return Err(message.context("a cancelled transaction without reasons"));
                }
                Ok(Transaction::Cancelled(codes))
            }
            _ => Err(message),
        }
    }

    /// [`transact`](Self::transact), again while concurrent transactions get in the way.
    async fn transact_retrying(
        &self,
        what: &str,
        items: Vec<TransactWriteItem>,
    ) -> anyhow::Result<Transaction> {
        let mut attempt = 0;
        loop {
            let outcome = self.transact(what, items.clone()).await?;
            if !outcome.conflicted() || attempt >= MAX_ATTEMPTS {
                return Ok(outcome);
            }
            attempt += 1;
            backoff(attempt).await;
        }
    }

    /// Up to `max` items of `query`, following its pages (a page holds at most the query's
    /// `Limit` items before filters, and at most 1 MB).
    async fn query(
        &self,
        what: &str,
        query: QueryFluentBuilder,
        max: usize,
    ) -> anyhow::Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        while items.len() < max {
            let output = query
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk(what, &e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        items.truncate(max);
        Ok(items)
    }

    /// A query on the table (strongly consistent) or on `index` (eventually consistent).
    fn query_on(&self, index: Option<&str>) -> QueryFluentBuilder {
        let query = self.client.query().table_name(&self.table);
        match index {
            Some(index) => query.index_name(index),
            None => query.consistent_read(true),
        }
    }
}

/// Creates the table: on-demand capacity, the four indexes (projecting everything), then
/// TTL on `expires_at`. Waits until the table is active. An existing table is reused.
pub(crate) async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> anyhow::Result<()> {
    let what = format!("CreateTable {name}");
    let key = |attribute: &str, kind: KeyType| {
        KeySchemaElement::builder().attribute_name(attribute).key_type(kind).build()
    };
    let attribute = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("PK", KeyType::Hash)?)
        .key_schema(key("SK", KeyType::Range)?)
        .attribute_definitions(attribute("PK")?)
        .attribute_definitions(attribute("SK")?);
    for (index, pk, sk) in INDEXES {
        request = request
            .attribute_definitions(attribute(pk)?)
            .attribute_definitions(attribute(sk)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()?,
            );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => return Err(sdk(&what, &error)),
    }

    let mut active = false;
    for _ in 0..300 {
        let description =
            client.describe_table().table_name(name).send().await.map_err(|e| sdk(&what, &e))?;
        let status = description.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::ensure!(active, "DynamoDB {what}: the table did not become active");

    let ttl =
        client.describe_time_to_live().table_name(name).send().await.map_err(|e| sdk(&what, &e))?;
    let enabled = ttl.time_to_live_description().is_some_and(|d| {
        matches!(
            d.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        )
    });
    if !enabled {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(EXPIRES_AT)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| sdk(&what, &e))?;
    }
    Ok(())
}

/// An SDK error as an adapter error naming the operation: the service's code and message
/// when the service answered, the whole error chain otherwise (a timeout, a connection).
/// The outcome of a conditional `UpdateItem`: `Some(output)` when applied, `None` when its
/// condition did not hold.
fn conditional_update(
    what: &str,
    result: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> anyhow::Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>> {
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(sdk(what, &error)),
    }
}

fn sdk<E: ProvideErrorMetadata + std::error::Error>(what: &str, error: &E) -> anyhow::Error {
    match error.code() {
        Some(code) => anyhow!("DynamoDB {what}: {code}: {}", error.message().unwrap_or_default()),
        None => anyhow!("DynamoDB {what}: {}", DisplayErrorContext(error)),
    }
}

/// The codes listed in a cancellation message (`… [ConditionalCheckFailed, None]`).
fn reasons_from_message(message: &str) -> Vec<Option<String>> {
    let Some((_, rest)) = message.rsplit_once('[') else { return Vec::new() };
    let Some((list, _)) = rest.split_once(']') else { return Vec::new() };
    list.split(',')
        .map(str::trim)
        .map(|code| (!code.is_empty() && code != "None").then(|| code.to_owned()))
        .collect()
}

/// Waits a little before retry `attempt`: exponential from 5 ms to 320 ms, with full jitter
/// so that contending writers spread out.
async fn backoff(attempt: u32) {
    let ceiling = 5u64 << attempt.min(6);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % ceiling;
    tokio::time::sleep(Duration::from_millis(jitter + 1)).await;
}

/// A string attribute.
fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

/// A number attribute.
fn n(number: impl Display) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// An item holding `record` as its `doc`.
fn record_item(pk: String, sk: impl Into<String>, record: &impl Serialize) -> anyhow::Result<Item> {
    let doc = serde_json::to_string(record).context("record encoding")?;
    Ok(HashMap::from([
        ("PK".to_owned(), s(pk)),
        ("SK".to_owned(), s(sk)),
        ("doc".to_owned(), s(doc)),
    ]))
}

/// The record in an item's `doc`.
fn doc<T: DeserializeOwned>(item: &Item, what: &str) -> anyhow::Result<T> {
    let text = text(item, "doc").with_context(|| format!("{what}: an item without `doc`"))?;
    serde_json::from_str(text).with_context(|| format!("{what}: the stored record does not parse"))
}

/// A string attribute of an item.
fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute of an item.
fn number(item: &Item, name: &str) -> anyhow::Result<Option<u64>> {
    item.get(name)
        .map(|value| {
            let text = value.as_n().map_err(|_| anyhow!("attribute `{name}` is not a number"))?;
            text.parse().with_context(|| format!("attribute `{name}` is `{text}`"))
        })
        .transpose()
}

/// An instant as a sort key: fixed-width RFC 3339 with nanoseconds, which sorts like the
/// instant (years 0 to 9999).
fn time_key(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// The GSI4 shard of an id: the first byte of its SHA-256, mod 16.
fn shard(id: uuid::Uuid) -> u8 {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(id.as_bytes())[0] % SHARDS
}

/// A count as a DynamoDB `Limit`.
fn page_limit(limit: usize) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn time_keys_are_fixed_width_and_sort_like_instants() {
        let early = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let late = early + chrono::Duration::nanoseconds(1);
        assert_eq!(time_key(early), "2030-01-01T00:00:00.000000000Z");
        assert_eq!(time_key(early).len(), time_key(late).len());
        assert!(time_key(early) < time_key(late));
        // `#~` sorts after every `#<id>` suffix, so `<= key#~` includes the instant itself.
        assert!(
            format!("{}#{}", time_key(early), uuid::Uuid::max()) < format!("{}#~", time_key(early))
        );
    }

    #[test]
    fn cancellation_reasons_are_read_from_the_message() {
        let message = "Transaction cancelled, please refer cancellation reasons for specific \
                       reasons [None, ConditionalCheckFailed]";
        assert_eq!(reasons_from_message(message), vec![None, Some(CONDITION_FAILED.to_owned())]);
        assert!(reasons_from_message("no list").is_empty());
    }

    #[test]
    fn shards_spread_ids() {
        let shards: std::collections::HashSet<u8> =
            (0..200).map(|_| shard(uuid::Uuid::now_v7())).collect();
        assert!(shards.iter().all(|s| *s < SHARDS));
        assert!(shards.len() > 8);
    }
}
