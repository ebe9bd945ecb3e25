//! The Lambda binaries link the AWS adapters only: neither the embedded adapters nor SQLite
//! end up in a function's normal dependency graph (the embedded ones are for the tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const LAMBDA_PACKAGES: [&str; 9] = [
    "lambda-support",
    "badges-issuance-api",
    "badges-public-api",
    "badges-management-api",
    "badges-bulk-worker",
    "badges-webhook-worker",
    "badges-expiry-sweep",
    "badges-inbound-events",
    "badges-outbox-relay",
];

#[test]
fn lambda_functions_link_no_embedded_adapter_or_sqlite() {
    for package in LAMBDA_PACKAGES {
        let output = Command::new(env!("CARGO"))
            .args(["tree", "--offline", "-p", package, "-e", "normal", "--prefix", "none"])
            .args(["--format", "{p}"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let tree = String::from_utf8(output.stdout).unwrap();
        let crates: Vec<&str> =
            tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
        assert!(crates.contains(&"platform-aws"), "{package}: the tree was read: {crates:?}");
        for forbidden in ["embedded", "rusqlite", "libsqlite3-sys"] {
            assert!(!crates.contains(&forbidden), "{package} depends on {forbidden}");
        }
    }
}
