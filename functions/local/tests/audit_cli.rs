//! `badges audit verify`, black-box: the real binary on exports written here with
//! [`AuditEntry::seal`]. An intact export exits 0 with one line naming the heads; an edited,
//! deleted or malformed one exits 1 naming its line; a file that cannot be read or a bad flag
//! exits 2; every failure is one line, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, Utc};
use platform::audit::{AuditDraft, AuditEntry, AuditOutcome, GENESIS};
use platform::ids::OrganizationId;

fn badges(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_badges")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// 20 entries over two interleaved organizations, sealed in append order.
fn chain() -> Vec<AuditEntry> {
    let organizations = [OrganizationId::generate(), OrganizationId::generate()];
    let start: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let mut heads = HashMap::new();
    (0..20)
        .map(|n| {
            let organization = organizations[n % 2];
            let mut draft = AuditDraft::new(
                start + Duration::seconds(n as i64),
                organization,
                format!("api_key:{n}"),
                "credential.issue",
                AuditOutcome::Success,
            );
            draft.target = Some(format!("credentials/{n}"));
            draft.ip = Some("203.0.113.7".into());
            let entry =
                AuditEntry::seal(draft, heads.get(&organization).copied().unwrap_or(GENESIS));
            heads.insert(organization, entry.hash);
            entry
        })
        .collect()
}

fn write(dir: &Path, name: &str, entries: &[AuditEntry]) -> PathBuf {
    let path = dir.join(name);
    let lines: String =
        entries.iter().map(|entry| serde_json::to_string(entry).unwrap() + "\n").collect();
    std::fs::write(&path, lines).unwrap();
    path
}

fn verify(path: &Path, flags: &[String]) -> Output {
    let mut args = vec!["audit", "verify", path.to_str().unwrap()];
    args.extend(flags.iter().map(String::as_str));
    badges(&args)
}

/// Asserts exit `code` and one line on stderr containing every one of `needles`.
fn assert_fails(output: &Output, code: i32, needles: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{}{stderr}", text(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line, got {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in {stderr}");
    }
}

#[test]
fn an_intact_export_verifies_and_prints_its_heads() {
    let dir = tempfile::tempdir().unwrap();
    let entries = chain();
    let output = verify(&write(dir.path(), "audit.jsonl", &entries), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("audit: 20 entries, 2 organizations, chain intact (heads: "));
    for last in &entries[18..] {
        assert!(stdout.contains(&format!("{}={}", last.organization, last.hash)), "{stdout}");
    }
    let empty = verify(&write(dir.path(), "empty.jsonl", &[]), &[]);
    assert_eq!(
        text(&empty.stdout).trim(),
        "audit: 0 entries, 0 organizations, chain intact (heads: none)"
    );
}

#[test]
fn an_edited_entry_fails_and_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = chain();
    entries[6].outcome = AuditOutcome::Denied;
    let output = verify(&write(dir.path(), "edited.jsonl", &entries), &[]);
    let expected = format!(
        "audit: line 7: entry {} was altered (its hash does not match its content)",
        entries[6].id
    );
    assert_fails(&output, 1, &[&expected]);
    assert!(output.stdout.is_empty());
}

#[test]
fn a_deleted_entry_fails_at_the_next_entry_of_its_organization() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = chain();
    entries.remove(9);
    // Entry 11 (the next of entry 9's organization) is now on line 11.
    let output = verify(&write(dir.path(), "deleted.jsonl", &entries), &[]);
    assert_fails(&output, 1, &["audit: line 11: ", &entries[10].id.to_string(), "deleted"]);
}

#[test]
fn a_cut_end_passes_the_chain_but_fails_the_given_head() {
    let dir = tempfile::tempdir().unwrap();
    let entries = chain();
    let last = &entries[19];
    let cut = write(dir.path(), "cut.jsonl", &entries[..19]);
    assert_eq!(verify(&cut, &[]).status.code(), Some(0));
    let head = vec!["--head".to_owned(), format!("{}={}", last.organization, last.hash)];
    assert_fails(&verify(&cut, &head), 1, &[&last.organization.to_string(), "missing"]);
    let whole = write(dir.path(), "whole.jsonl", &entries);
    assert_eq!(verify(&whole, &head).status.code(), Some(0));
}

#[test]
fn a_partial_export_verifies_from_the_given_starts() {
    let dir = tempfile::tempdir().unwrap();
    let entries = chain();
    let tail = write(dir.path(), "tail.jsonl", &entries[5..]);
    assert_fails(&verify(&tail, &[]), 1, &["line 1", "genesis"]);
    let starts: Vec<String> = entries[5..7]
        .iter()
        .flat_map(|first| {
            ["--start".to_owned(), format!("{}={}", first.organization, first.prev_hash)]
        })
        .collect();
    let output = verify(&tail, &starts);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("audit: 15 entries, 2 organizations, chain intact"));
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let entries = chain();
    let malformed = write(dir.path(), "malformed.jsonl", &entries);
    let mut lines: Vec<String> =
        std::fs::read_to_string(&malformed).unwrap().lines().map(str::to_owned).collect();
    lines[3] = "{\"id\": ".into();
    std::fs::write(&malformed, lines.join("\n")).unwrap();
    assert_fails(&verify(&malformed, &[]), 1, &["audit: line 4: not an audit entry"]);

    let missing = dir.path().join("missing.jsonl");
    assert_fails(&verify(&missing, &[]), 2, &["cannot read", "missing.jsonl"]);
    assert_fails(&verify(dir.path(), &[]), 2, &["cannot read"]);

    let intact = write(dir.path(), "audit.jsonl", &entries);
    for flag in ["--start", "--head"] {
        for value in ["nonsense", "not-an-id=00", &format!("{}=ABC", entries[0].organization)] {
            let output = verify(&intact, &[flag.to_owned(), value.to_owned()]);
            assert_fails(&output, 2, &[flag, "ORG=HASH"]);
        }
    }
}
