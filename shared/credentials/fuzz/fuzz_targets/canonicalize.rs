//! Arbitrary bytes that parse as JSON into `credentials::canon::canonicalize`: it may fail,
//! but must not panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let _ = credentials::canon::canonicalize(&value);
    }
});
