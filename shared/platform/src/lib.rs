//! The application: what the platform does, independent of where it runs.
//!
//! - [`ids`] and [`model`]: the domain types, parsed once at the edge ("parse, don't
//!   validate": a [`ids::WorkspaceSlug`] or an [`ids::Email`] is valid by construction);
//! - [`ports`]: the traits the use cases need (stores, queue, keys, clock, vault, webhook
//!   transport), each method with its contract; adapters live in `shared/embedded` (SQLite,
//!   files) and `shared/aws` (DynamoDB, S3, KMS, SQS);
//! - [`App`]: the use cases (workspaces, templates, issuance, lifecycle, status lists, bulk
//!   issuance, webhooks, expiry, public verification), each a method doing one job.
//!
//! This crate must not depend on `aws-*`, `rusqlite`, `axum`, `lambda_*` or `tokio`: the
//! choice of adapters is made by which crate a binary links, never by a feature here.

pub mod app;
pub mod audit;
pub mod auth;
pub mod error;
pub mod ids;
pub mod model;
pub mod personal;
pub mod ports;
pub mod webhooks;

pub use app::{App, Ports, RateLimits, Settings};
pub use error::{Error, Result};
