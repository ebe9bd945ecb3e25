//! Dependency rules of the workspace, checked on the real dependency graph.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// The normal (non-dev, non-build) dependencies of `package`, one crate name per line.
fn normal_dependencies(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_credentials_core_depends_on_no_io_runtime_cloud_or_transport_crate() {
    let dependencies = normal_dependencies("credentials");
    assert!(dependencies.iter().any(|d| d == "oxjsonld"), "the tree was read: {dependencies:?}");
    let forbidden = |name: &str| {
        name.starts_with("aws-")
            || name.starts_with("lambda_")
            || ["axum", "rusqlite", "tokio", "hyper", "reqwest"].contains(&name)
    };
    let found: Vec<&String> = dependencies.iter().filter(|d| forbidden(d)).collect();
    assert!(found.is_empty(), "credentials must stay pure, but depends on {found:?}");
}

/// Asserts that `package`'s normal dependencies include `expected` (so the tree was read) and
/// nothing `forbidden` accepts.
fn assert_clean(package: &str, expected: &str, forbidden: impl Fn(&str) -> bool) {
    let dependencies = normal_dependencies(package);
    assert!(dependencies.iter().any(|d| d == expected), "{package}: {dependencies:?}");
    let found: Vec<&String> = dependencies.iter().filter(|d| forbidden(d)).collect();
    assert!(found.is_empty(), "{package} must not depend on {found:?}");
}

#[test]
fn the_application_depends_on_no_adapter_runtime_or_transport() {
    assert_clean("platform", "credentials", |name| {
        name.starts_with("aws-")
            || name.starts_with("lambda_")
            || ["axum", "rusqlite", "tokio", "hyper", "reqwest", "embedded"].contains(&name)
    });
}

#[test]
fn each_adapter_set_stays_out_of_the_other() {
    assert_clean("embedded", "rusqlite", |name| {
        name.starts_with("aws-") || name.starts_with("lambda_") || name == "axum"
    });
    assert_clean("platform-aws", "aws-sdk-dynamodb", |name| {
        name.starts_with("lambda_") || ["axum", "rusqlite", "embedded"].contains(&name)
    });
}

#[test]
fn the_documented_permission_matrix_is_the_one_the_code_enforces() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ARCHITECTURE.md"))
            .unwrap();
    let matrix = platform::auth::permission_matrix_markdown();
    assert!(
        docs.contains(&matrix),
        "docs/ARCHITECTURE.md must hold the permission matrix exactly as the code has it:\n{matrix}"
    );
}
