//! The contract suite: one module per port, checking what `platform::ports` documents for
//! every method that can get it wrong, written against the port traits only.
//!
//! Every test is an `async fn(&dyn AdapterSet) -> anyhow::Result<()>` in its port's module;
//! [`contract_suite!`] turns the whole list into `#[tokio::test]`s for one adapter set. The
//! embedded set runs below; another set is a type implementing [`AdapterSet`] and one line:
//!
//! ```ignore
//! mod aws_adapters { contract_suite!(crate::AwsAdapters { signing: Signing::Kms }); }
//! ```
//!
//! The AWS set runs against a local emulator the tests start themselves.
//!
//! Each test asks its set for fresh ports (an empty store, its own queues and keys) and a
//! settable clock, so tests are exact about time and independent of each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;

mod audit;
mod bulk;
mod credentials;
mod drafts;
mod keys;
mod organizations;
mod outbox;
mod queue;
mod recipients;
mod sso;
mod status_lists;
mod templates;
mod users;
mod vault;
mod webhooks;
mod workspaces;

use std::any::Any;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use platform::ids::HttpUrl;
use platform::ports::{Clock, TransportOutcome, WebhookTransport};

/// A clock the test sets.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl Default for TestClock {
    /// A clock at 2030-01-01T00:00:00Z.
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap())))
    }
}

impl TestClock {
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap() = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += chrono::Duration::from_std(by).unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        TestClock::now(self)
    }
}

/// Ports over a fresh, empty store, for one test.
pub struct TestPorts {
    pub ports: platform::Ports,
    /// The clock the ports read (the queue's "now", unless `real_time`).
    pub clock: TestClock,
    /// How many times the queue hands out a message before dead-lettering it.
    pub max_receives: u32,
    /// Whether the queue keeps its own time (a cloud queue): then passing time means waiting.
    pub real_time: bool,
    /// Whatever must live as long as the ports (a temporary directory, a cleanup guard).
    pub _resources: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for TestPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPorts")
            .field("clock", &self.clock)
            .field("max_receives", &self.max_receives)
            .field("real_time", &self.real_time)
            .finish_non_exhaustive()
    }
}

impl TestPorts {
    /// Lets `duration` pass, for the ports.
    pub async fn pass(&self, duration: Duration) {
        self.clock.advance(duration);
        if self.real_time {
            tokio::time::sleep(duration).await;
        }
    }
}

/// A set of adapters under test.
#[async_trait]
pub trait AdapterSet: Send + Sync {
    /// Fresh ports: an empty store, empty queues, no keys; each call independent of the others.
    async fn ports(&self) -> anyhow::Result<TestPorts>;
}

/// The transport of ports under contract test: no port test sends a webhook.
struct NoTransport;

#[async_trait]
impl WebhookTransport for NoTransport {
    async fn post(
        &self,
        _url: &HttpUrl,
        _headers: &[(String, String)],
        _body: &str,
    ) -> TransportOutcome {
        TransportOutcome { status: None, error: Some("contract tests send no webhooks".into()) }
    }
}

/// The embedded adapters over a new temporary data directory.
#[derive(Debug)]
pub struct EmbeddedAdapters;

/// The queue's maximum receives in the embedded set under test.
const EMBEDDED_MAX_RECEIVES: u32 = 3;

#[async_trait]
impl AdapterSet for EmbeddedAdapters {
    async fn ports(&self) -> anyhow::Result<TestPorts> {
        let dir = tempfile::tempdir()?;
        let data_dir: PathBuf = dir.path().join("data");
        let clock = TestClock::default();
        let options =
            embedded::StoreOptions { max_receives: EMBEDDED_MAX_RECEIVES, ..Default::default() };
        let adapters = embedded::Embedded::open_with(&data_dir, Arc::new(clock.clone()), options)?;
        Ok(TestPorts {
            ports: adapters.ports(Arc::new(NoTransport)),
            clock,
            max_receives: EMBEDDED_MAX_RECEIVES,
            real_time: false,
            _resources: Box::new((dir, adapters)),
        })
    }
}

/// The AWS adapters over fresh resources (table, bucket, queues, keys) in the local emulator,
/// which the test process starts itself ([`acceptance::emulator`]).
#[derive(Debug)]
pub struct AwsAdapters {
    pub signing: platform_aws::provision::Signing,
}

/// The queues' maximum receives in the AWS set under test (the redrive policy).
const AWS_MAX_RECEIVES: u32 = 3;

#[async_trait]
impl AdapterSet for AwsAdapters {
    async fn ports(&self) -> anyhow::Result<TestPorts> {
        let emulator = acceptance::emulator::shared()?;
        let sdk = emulator.sdk_config().await;
        let prefix = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let config =
            platform_aws::provision::provision(&sdk, &prefix, self.signing, AWS_MAX_RECEIVES)
                .await?;
        let clock = TestClock::default();
        let aws = platform_aws::Aws::connect(config, &sdk, Arc::new(clock.clone()));
        Ok(TestPorts {
            ports: aws.ports(Arc::new(NoTransport)),
            clock,
            max_receives: AWS_MAX_RECEIVES,
            real_time: true,
            _resources: Box::new(aws),
        })
    }
}

/// Every contract test, as `#[tokio::test]`s over the adapter set `$adapters` (an
/// expression evaluated once per test).
macro_rules! contract_suite {
    ($adapters:expr) => {
        contract_suite! { @tests $adapters;
            organizations {
                bootstrap_creates_the_first_organization_and_its_owner_key,
                bootstrap_happens_only_once_and_a_second_attempt_writes_nothing,
                api_keys_are_found_by_their_exact_prefix_only,
                an_unknown_organization_is_none,
                api_keys_are_inserted_once_per_prefix_and_listed_per_organization,
                a_key_is_revoked_once_and_only_in_its_organization,
                the_last_use_of_a_key_only_moves_forward,
                another_organization_is_created_with_its_owner_key_after_bootstrap,
            }
            workspaces {
                a_workspace_is_found_by_id_and_by_slug,
                a_taken_slug_is_refused_and_nothing_is_written,
                workspaces_are_listed_oldest_first_per_organization,
                status_indexes_increase_and_are_never_returned_twice,
                status_indexes_are_distinct_under_concurrency,
                each_workspace_allocates_its_own_status_indexes,
                the_approval_policy_is_set_on_one_workspace_and_keeps_the_rest,
            }
            templates {
                a_template_is_found_only_in_its_workspace,
                templates_are_listed_oldest_first_per_workspace,
                an_update_with_the_current_version_replaces_the_template,
                an_update_with_a_stale_version_is_refused_and_changes_nothing,
            }
            credentials {
                an_inserted_credential_is_found_by_id_whatever_the_workspace,
                a_credential_is_written_with_its_idempotency_record_and_its_events,
                a_used_idempotency_key_returns_the_first_record_and_writes_nothing,
                idempotency_keys_are_scoped_to_their_workspace,
                credentials_are_paged_in_id_order_without_gaps_or_duplicates,
                each_filter_pages_through_exactly_its_credentials,
                credential_lists_hold_only_their_workspace,
                a_transition_from_the_expected_status_updates_it_and_writes_its_events,
                a_transition_from_another_status_changes_nothing_and_writes_no_event,
                a_transition_of_an_unknown_credential_is_refused,
                expiring_lists_active_and_suspended_credentials_due_by_now_soonest_first,
                credentials_are_counted_by_status_per_workspace,
            }
            status_lists {
                a_list_never_changed_has_no_bits,
                the_first_change_creates_a_cleared_list_and_every_change_bumps_the_version,
                concurrent_bit_changes_are_all_kept_with_distinct_versions,
                lists_of_other_pages_purposes_and_workspaces_are_independent,
                an_index_outside_the_list_is_an_error_and_changes_nothing,
                a_signed_list_is_never_replaced_by_an_older_version,
            }
            bulk {
                a_job_and_its_rows_are_created_together_and_found_in_their_workspace_only,
                rows_are_read_by_half_open_range_in_row_order,
                a_row_is_recorded_once_and_a_second_record_changes_nothing,
                the_last_row_completes_the_job_exactly_once,
                concurrent_records_of_every_row_complete_the_job_exactly_once,
                failed_rows_are_listed_in_row_order_with_their_reasons,
                a_chunk_writes_its_credentials_and_outcomes_and_the_last_completes_the_job,
                a_chunk_recorded_again_writes_nothing_and_does_not_complete_again,
                a_chunk_row_whose_key_was_used_is_recorded_with_the_first_credential,
                a_chunk_row_recorded_before_keeps_its_outcome_and_writes_no_credential,
            }
            drafts {
                a_draft_is_found_with_its_payload_only_in_its_workspace,
                drafts_are_listed_oldest_first_by_status_without_payloads,
                a_used_idempotency_key_returns_the_first_draft_and_writes_nothing,
                a_transition_from_the_expected_status_replaces_the_draft_and_erases_its_payload,
            }
            audit {
                appended_entries_form_a_chain_per_organization_with_its_head,
                concurrent_appends_all_land_on_one_unbroken_chain,
            }
            outbox {
                appended_events_are_pending_oldest_first_until_dispatched,
                an_event_appended_twice_is_pending_once,
                an_event_appended_again_after_dispatch_stays_dispatched,
                pending_events_respect_the_limit,
            }
            webhooks {
                webhooks_are_listed_oldest_first_per_workspace,
                a_webhook_is_found_and_deleted_only_through_its_workspace,
                a_webhook_is_deleted_once,
                a_delivery_is_inserted_once_per_id,
                an_updated_delivery_replaces_the_stored_one,
                deliveries_are_listed_newest_first_per_webhook_up_to_the_limit,
            }
            queue {
                a_received_message_is_hidden_for_its_visibility_timeout,
                an_undeleted_message_comes_back_with_the_same_id_and_a_new_receipt,
                a_delayed_message_is_invisible_until_its_delay_has_passed,
                a_deleted_message_is_not_received_again,
                a_stale_receipt_deletes_nothing,
                a_released_message_comes_back_after_its_delay,
                a_message_received_too_often_goes_to_the_dead_letter_queue,
                receive_returns_at_most_max_messages,
                queues_are_isolated,
            }
            keys {
                a_new_key_is_listed_and_its_signatures_verify_with_its_public_key,
                rotation_retires_the_previous_key_and_keeps_it_listed_and_usable,
                a_workspace_without_keys_lists_none_and_cannot_sign,
                signing_with_an_unknown_key_id_is_an_error,
                workspaces_have_their_own_keys,
            }
            recipients {
                recipient_keys_are_stored_once_and_read_in_the_order_asked,
                recipient_keys_belong_to_their_organization,
                an_erased_key_is_gone_for_good_and_a_new_one_may_follow,
                concurrent_inserts_for_one_recipient_keep_exactly_one_key,
            }
            users {
                a_user_is_found_by_id_and_by_email_and_an_email_is_taken_once,
                users_are_listed_oldest_first_per_organization,
                an_update_with_the_current_version_replaces_the_user_and_a_stale_one_does_not,
                a_session_is_found_until_deleted_and_deleted_once,
                a_sign_in_policy_is_none_until_set_and_each_organization_has_its_own,
            }
            sso {
                a_provider_is_put_read_and_replaced_per_organization,
                providers_are_found_by_their_exact_issuer_across_organizations,
                an_issuer_and_audience_pair_belongs_to_one_organization,
                a_replaced_provider_is_not_found_under_its_old_issuer_and_frees_its_pair,
                a_provider_is_deleted_once_and_its_pair_freed,
                concurrent_replacements_leave_one_provider_found_under_one_issuer,
            }
            vault {
                sealed_data_opens_under_its_context,
                sealed_data_does_not_open_under_another_context,
                tampered_sealed_data_does_not_open,
            }
        }
    };
    (@tests $adapters:expr; $($port:ident { $($test:ident),* $(,)? })*) => {
        $(
            mod $port {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() -> anyhow::Result<()> {
                        let adapters = $adapters;
                        crate::$port::$test(&adapters).await
                    }
                )*
            }
        )*
    };
}

/// The embedded adapters: SQLite, key files, the local vault.
mod embedded_adapters {
    contract_suite!(crate::EmbeddedAdapters);
}

/// The AWS adapters (DynamoDB, S3, SQS, KMS in `kms` signing mode) against the emulator.
mod aws_adapters {
    contract_suite!(crate::AwsAdapters { signing: platform_aws::provision::Signing::Kms });
}

/// The key store's `envelope` mode: seeds sealed under a KMS key, signing in the process.
mod aws_envelope_keys {
    contract_suite! { @tests crate::AwsAdapters { signing: platform_aws::provision::Signing::Envelope };
        keys {
            a_new_key_is_listed_and_its_signatures_verify_with_its_public_key,
            rotation_retires_the_previous_key_and_keeps_it_listed_and_usable,
            a_workspace_without_keys_lists_none_and_cannot_sign,
            signing_with_an_unknown_key_id_is_an_error,
            workspaces_have_their_own_keys,
        }
    }
}
