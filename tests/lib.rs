//! Test-only package: workspace-wide checks live in `tests/`; black-box tests of each binary
//! live next to it (`functions/local/tests/`), where Cargo hands them the binary's path.
//!
//! The library holds what several test binaries share: the local AWS emulator and the
//! independent OB 3.0 verifier.

pub mod conformance;
pub mod emulator;
