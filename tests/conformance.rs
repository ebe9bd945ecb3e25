//! The independent Open Badges 3.0 verifier beside the checkout (`../shared/conformance/ob3`),
//! run on a credential file against a deployment served on loopback.

use std::path::{Path, PathBuf};

/// The verifier's entry point: `OB3_HARNESS`, else the one beside the checkout.
pub fn ob3() -> PathBuf {
    std::env::var_os("OB3_HARNESS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/ob3/ob3")
    })
}

/// Runs the verifier on `file` with `base` as the did:web / https host (blocking): its exit
/// code and everything it printed.
pub fn ob3_verify(base: &str, file: &Path) -> (Option<i32>, String) {
    let output = std::process::Command::new(ob3())
        .arg(file)
        .arg("--base-url")
        .arg(base)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", ob3().display()));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}
