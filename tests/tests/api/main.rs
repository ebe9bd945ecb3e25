//! Black-box tests of the platform over HTTP: the real application (`badges serve`'s
//! `start`) on `127.0.0.1:0`, a fresh data directory per test, nothing mocked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod bulk;
mod conformance;
mod errors;
mod flow;
mod helpers;
mod limits;
mod webhooks;
