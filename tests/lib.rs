//! Test-only package: workspace-wide checks live in `tests/`; black-box tests of each binary
//! live next to it (`functions/local/tests/`), where Cargo hands them the binary's path.
