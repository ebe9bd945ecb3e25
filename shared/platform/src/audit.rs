//! The audit log: who did what, to what, with what outcome, in a hash chain per organization
//! that makes editing or deleting an entry evident.
//!
//! Every mutating call and every read of personal data appends one [`AuditEntry`]. The
//! caller fills an [`AuditDraft`] and [`AuditEntry::seal`]s it onto its organization's chain:
//! `prev_hash` is the `hash` of the organization's previous entry ([`GENESIS`], 64 zeros, for
//! the first), and `hash` is the SHA-256 of the entry without `hash` in its RFC 8785 (JCS)
//! canonical JSON form (see [`AuditEntry::canonical_json`]). Each organization is a chain of
//! its own, so tenants never wait on each other to append.
//!
//! Verification ([`verify_chain`], [`ChainVerifier`], and [`verify_jsonl`] for an export in
//! JSON Lines, one entry per line, as `serde_json` writes an [`AuditEntry`]) recomputes every
//! hash and follows every link, and names the first entry that is wrong:
//!
//! - an edited entry no longer hashes to its `hash` ([`BreakReason::Altered`]);
//! - a deleted, inserted or reordered entry leaves the next entry of its organization
//!   pointing elsewhere ([`BreakReason::Broken`]), or, at the start of the chain, an entry
//!   that does not start at [`GENESIS`] ([`BreakReason::DoesNotStartAtGenesis`]);
//! - an entry given twice is a [`BreakReason::Duplicate`].
//!
//! What the chain alone cannot show, and what the caller must do about it:
//!
//! - **Entries cut from the end.** Deleting the last entries of an organization leaves a
//!   shorter chain that is intact. The platform keeps the head (the `hash` of the latest
//!   entry) of every organization's chain apart from the entries, and compares it with
//!   [`ChainSummary::heads`]; `badges audit verify --head ORG=HASH` does the same offline.
//! - **A chain rewritten whole.** The hashes carry no key: whoever can rewrite every entry
//!   and the stored head can recompute them all. The head must be kept (or published) where
//!   the log's writers cannot change it.
//! - **The order between organizations.** Each organization is its own chain, so how the
//!   entries of different organizations interleave in an export is not protected.
//! - **Exports that start mid-chain** (filtered or paged) cannot be linked to [`GENESIS`]:
//!   give the hash each organization's part starts from ([`verify_chain_from`]).
//!
//! Stores must keep an entry exactly as sealed: the hash covers `time` to the nanosecond, so
//! a store that keeps less precision must seal a time truncated to what it keeps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, Read as _};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::ids::{OrganizationId, WorkspaceId};
use crate::{Error, Result};

/// A SHA-256 hash of an audit entry, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditHash([u8; 32]);

/// The `prev_hash` of the first entry of every organization's chain: 64 zeros.
pub const GENESIS: AuditHash = AuditHash::GENESIS;

impl AuditHash {
    /// The `prev_hash` of the first entry of every organization's chain: 64 zeros.
    pub const GENESIS: Self = Self([0; 32]);

    /// Parses 64 lowercase hex digits; anything else is a validation error.
    pub fn parse(text: &str) -> Result<Self> {
        let mut bytes = [0u8; 32];
        let lower_hex = text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if text.len() == 64 && lower_hex && hex::decode_to_slice(text, &mut bytes).is_ok() {
            Ok(Self(bytes))
        } else {
            Err(Error::invalid("hash", "must be 64 lowercase hex digits"))
        }
    }

    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditHash({self})")
    }
}

impl std::str::FromStr for AuditHash {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

impl Serialize for AuditHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AuditHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::parse(&text)
            .map_err(|_| serde::de::Error::custom("expected a hash of 64 lowercase hex digits"))
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It did what was asked.
    Success,
    /// The caller was not allowed to (authentication or authorization refused it).
    Denied,
    /// It was allowed but did not succeed (invalid input, a conflict, an unexpected error).
    Failed,
}

impl AuditOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Success, Self::Denied, Self::Failed];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    /// Parses the snake_case name (for list filters).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|outcome| outcome.as_str() == text)
    }
}

/// What an entry records, before it is sealed onto its organization's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// The entry's id.
    pub id: Uuid,
    /// When the call happened.
    pub time: DateTime<Utc>,
    /// The organization whose chain the entry joins.
    pub organization: OrganizationId,
    /// The workspace the call was about, if any.
    pub workspace: Option<WorkspaceId>,
    /// Who acted: `api_key:<id>`, `user:<id>`, `oidc:<issuer>#<sub>` (as
    /// [`crate::auth::Actor`] displays itself).
    pub actor: String,
    /// What was done, `noun.verb`: `credential.issue`, `credential.read`, `webhook.delete`.
    pub action: String,
    /// What it was done to (an id or a URL path), if anything.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The caller's IP address, if known.
    pub ip: Option<String>,
    /// The caller's `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// The request id, to find the call in the logs.
    pub request_id: Option<String>,
}

impl AuditDraft {
    /// A draft with a new time-ordered (UUID v7) id and no workspace, target or request
    /// details; set the fields that apply.
    pub fn new(
        time: DateTime<Utc>,
        organization: OrganizationId,
        actor: impl Into<String>,
        action: impl Into<String>,
        outcome: AuditOutcome,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            time,
            organization,
            workspace: None,
            actor: actor.into(),
            action: action.into(),
            target: None,
            outcome,
            ip: None,
            user_agent: None,
            request_id: None,
        }
    }
}

/// One entry of the audit log, sealed onto its organization's chain.
///
/// Serialized with every field present (`null` when absent), `time` in RFC 3339 UTC; an
/// unknown field is refused, because the hash could not cover it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The entry's id.
    pub id: Uuid,
    /// When the call happened.
    #[serde(serialize_with = "serialize_time")]
    pub time: DateTime<Utc>,
    /// The organization whose chain the entry is on.
    pub organization: OrganizationId,
    /// The workspace the call was about, if any.
    pub workspace: Option<WorkspaceId>,
    /// Who acted (see [`AuditDraft::actor`]).
    pub actor: String,
    /// What was done (see [`AuditDraft::action`]).
    pub action: String,
    /// What it was done to, if anything.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The caller's IP address, if known.
    pub ip: Option<String>,
    /// The caller's `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// The request id, if any.
    pub request_id: Option<String>,
    /// The `hash` of the organization's previous entry, or [`GENESIS`] for its first.
    pub prev_hash: AuditHash,
    /// The SHA-256 of [`AuditEntry::canonical_json`].
    pub hash: AuditHash,
}

/// `time` in the one form that is both serialized and hashed: RFC 3339, `Z`, and as many
/// fractional digits as it needs (none, 3, 6 or 9).
fn rfc3339(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn serialize_time<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(time))
}

impl AuditEntry {
    /// Seals `draft` onto a chain whose latest entry has hash `prev_hash` ([`GENESIS`] for an
    /// organization's first entry).
    pub fn seal(draft: AuditDraft, prev_hash: AuditHash) -> Self {
        let AuditDraft {
            id,
            time,
            organization,
            workspace,
            actor,
            action,
            target,
            outcome,
            ip,
            user_agent,
            request_id,
        } = draft;
        let mut entry = Self {
            id,
            time,
            organization,
            workspace,
            actor,
            action,
            target,
            outcome,
            ip,
            user_agent,
            request_id,
            prev_hash,
            hash: GENESIS,
        };
        entry.hash = entry.content_hash();
        entry
    }

    /// The RFC 8785 (JCS) canonical JSON of the entry without `hash`: what `hash` is the
    /// SHA-256 of. Every other field is present (`null` when absent), members are sorted by
    /// name, there is no whitespace, and strings are escaped as RFC 8785 says, so any
    /// implementation of JCS gives the same bytes (a test checks this one against one).
    ///
    /// Written by hand rather than with a JCS crate because the object is flat and holds
    /// only strings and nulls, and so that sealing cannot fail.
    pub fn canonical_json(&self) -> String {
        // Destructured so that a new field cannot be left out of the hash unnoticed.
        let Self {
            id,
            time,
            organization,
            workspace,
            actor,
            action,
            target,
            outcome,
            ip,
            user_agent,
            request_id,
            prev_hash,
            hash: _,
        } = self;
        let id = id.hyphenated().to_string();
        let time = rfc3339(time);
        let organization = organization.to_string();
        let workspace = workspace.map(|workspace| workspace.to_string());
        let prev_hash = prev_hash.to_string();
        let mut members: [(&str, Option<&str>); 12] = [
            ("id", Some(id.as_str())),
            ("time", Some(time.as_str())),
            ("organization", Some(organization.as_str())),
            ("workspace", workspace.as_deref()),
            ("actor", Some(actor.as_str())),
            ("action", Some(action.as_str())),
            ("target", target.as_deref()),
            ("outcome", Some(outcome.as_str())),
            ("ip", ip.as_deref()),
            ("user_agent", user_agent.as_deref()),
            ("request_id", request_id.as_deref()),
            ("prev_hash", Some(prev_hash.as_str())),
        ];
        // RFC 8785 §3.2.3: members sorted by their names as UTF-16 code units.
        members.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        let mut out = String::with_capacity(512);
        out.push('{');
        for (index, (name, value)) in members.into_iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_json_string(&mut out, name);
            out.push(':');
            match value {
                Some(value) => push_json_string(&mut out, value),
                None => out.push_str("null"),
            }
        }
        out.push('}');
        out
    }

    /// The hash the entry's content has: its `hash` if it was not altered.
    pub fn content_hash(&self) -> AuditHash {
        AuditHash::of(self.canonical_json().as_bytes())
    }

    /// Whether the entry's `hash` is the hash of its content.
    pub fn is_intact(&self) -> bool {
        self.content_hash() == self.hash
    }
}

/// Appends `text` as a JSON string escaped as RFC 8785 §3.2.2.2 says (as ECMAScript's
/// `JSON.stringify` does): `"` and `\`, the five short escapes, other control characters as
/// `\u00xx` in lowercase hex, everything else as itself.
fn push_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let code = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Why an entry breaks its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakReason {
    /// Its `hash` is not the hash of its content: the entry was edited.
    Altered,
    /// Its `prev_hash` is not the `hash` of the previous entry of its organization (or the
    /// given start): an entry before it was deleted, inserted or reordered.
    Broken,
    /// It is the first entry of its organization, no start was given for it, and its
    /// `prev_hash` is not [`GENESIS`]: the first entries were deleted, or the export starts
    /// mid-chain (then give the start to [`verify_chain_from`]).
    DoesNotStartAtGenesis,
    /// An earlier entry has the same id.
    Duplicate,
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Altered => "was altered (its hash does not match its content)",
            Self::Broken => {
                "does not follow the previous entry of its organization (an entry before it \
                 was deleted, inserted or reordered)"
            }
            Self::DoesNotStartAtGenesis => {
                "is the first of its organization but does not start at the genesis hash \
                 (entries before it are missing; give the hash it starts from if the export \
                 starts mid-chain)"
            }
            Self::Duplicate => "appears more than once",
        })
    }
}

/// The first entry that breaks its chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {id} {reason}")]
pub struct ChainBreak {
    /// Its 0-based index in the entries given.
    pub position: usize,
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub organization: OrganizationId,
    /// What is wrong.
    pub reason: BreakReason,
}

/// What an intact chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// How many entries.
    pub entries: usize,
    /// How many organizations they belong to.
    pub organizations: usize,
    /// The `hash` of each organization's last entry: compare it with the head the platform
    /// keeps to see that no entries were cut from the end.
    pub heads: BTreeMap<OrganizationId, AuditHash>,
}

/// Verifies entries one at a time, in append order, so a log of any length can be checked
/// without holding it (it keeps one hash per organization and the ids seen).
///
/// After [`ChainVerifier::push`] returns a break, the verifier is unchanged by that entry;
/// the chain is broken and there is nothing more to learn from it.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    starts: HashMap<OrganizationId, AuditHash>,
    heads: BTreeMap<OrganizationId, AuditHash>,
    ids: HashSet<Uuid>,
    entries: usize,
}

impl ChainVerifier {
    /// A verifier of whole chains: each organization's first entry must start at
    /// [`GENESIS`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier of chains that may start later: the first entry of an organization in
    /// `starts` must follow the hash given for it (the `hash` of the entry before the
    /// export); the others must start at [`GENESIS`].
    pub fn starting_at(starts: HashMap<OrganizationId, AuditHash>) -> Self {
        Self { starts, ..Self::default() }
    }

    /// Checks the next entry: that its content matches its hash, that its id is new, and
    /// that it follows the previous entry of its organization.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        let fail = |reason| ChainBreak {
            position: self.entries,
            id: entry.id,
            organization: entry.organization,
            reason,
        };
        // Altered first: an edited id or prev_hash is an edit, whatever it now collides with.
        if !entry.is_intact() {
            return Err(fail(BreakReason::Altered));
        }
        if self.ids.contains(&entry.id) {
            return Err(fail(BreakReason::Duplicate));
        }
        let expected = self.heads.get(&entry.organization).or(self.starts.get(&entry.organization));
        match expected {
            Some(expected) if *expected != entry.prev_hash => {
                return Err(fail(BreakReason::Broken));
            }
            None if entry.prev_hash != GENESIS => {
                return Err(fail(BreakReason::DoesNotStartAtGenesis));
            }
            _ => {}
        }
        self.ids.insert(entry.id);
        self.heads.insert(entry.organization, entry.hash);
        self.entries += 1;
        Ok(())
    }

    /// What the entries pushed so far hold.
    pub fn finish(self) -> ChainSummary {
        ChainSummary { entries: self.entries, organizations: self.heads.len(), heads: self.heads }
    }
}

/// Verifies whole chains: `entries` in append order, organizations possibly interleaved,
/// each organization's first entry starting at [`GENESIS`].
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<ChainSummary, ChainBreak> {
    verify_chain_from(entries, &HashMap::new())
}

/// Verifies chains that may start mid-way (a filtered or paged export): the first entry of
/// an organization in `starts` must follow the hash given for it, the others [`GENESIS`].
pub fn verify_chain_from<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    starts: &HashMap<OrganizationId, AuditHash>,
) -> Result<ChainSummary, ChainBreak> {
    let mut verifier = ChainVerifier::starting_at(starts.clone());
    for entry in entries {
        verifier.push(entry)?;
    }
    Ok(verifier.finish())
}

/// The longest line [`verify_jsonl`] reads (without its line break): an entry is a few
/// hundred bytes, so a longer line is not one, and is refused before it fills memory.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Why a JSON Lines export does not verify; every case names its 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    /// The export could not be read.
    #[error("line {line} could not be read")]
    Read {
        /// The line being read.
        line: usize,
        /// What the reader said.
        source: std::io::Error,
    },
    /// A line is longer than [`MAX_LINE_BYTES`].
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes, not an audit entry")]
    TooLong {
        /// The line.
        line: usize,
    },
    /// A line is not an audit entry (not JSON, a field missing, unknown or of the wrong
    /// form), or is blank before the end of the export.
    #[error("line {line}: not an audit entry: {reason}")]
    Malformed {
        /// The line.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry breaks its chain.
    #[error("line {line}: {chain_break}")]
    Chain {
        /// The entry's line.
        line: usize,
        /// What is wrong with it (in the message already, so not a `source`).
        chain_break: ChainBreak,
    },
}

impl JsonlError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> usize {
        match self {
            Self::Read { line, .. }
            | Self::TooLong { line }
            | Self::Malformed { line, .. }
            | Self::Chain { line, .. } => *line,
        }
    }
}

/// Verifies a JSON Lines export of whole chains (one entry per line, in append order; see
/// [`verify_chain`]). Field order and whitespace within a line do not matter, nor do `\r\n`
/// line breaks or blank lines at the end.
pub fn verify_jsonl(reader: impl BufRead) -> Result<ChainSummary, JsonlError> {
    verify_jsonl_from(reader, &HashMap::new())
}

/// Verifies a JSON Lines export whose chains may start mid-way (see [`verify_chain_from`]).
pub fn verify_jsonl_from(
    mut reader: impl BufRead,
    starts: &HashMap<OrganizationId, AuditHash>,
) -> Result<ChainSummary, JsonlError> {
    let mut verifier = ChainVerifier::starting_at(starts.clone());
    let mut buffer = Vec::new();
    let mut first_blank = None;
    for line in 1.. {
        buffer.clear();
        // At most one byte more than a line may hold, so a huge line costs nothing.
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|source| JsonlError::Read { line, source })?;
        if read == 0 {
            break;
        }
        let content = match buffer.strip_suffix(b"\n") {
            Some(content) => content.strip_suffix(b"\r").unwrap_or(content),
            None if buffer.len() > MAX_LINE_BYTES => return Err(JsonlError::TooLong { line }),
            None => &buffer,
        };
        if content.iter().all(u8::is_ascii_whitespace) {
            first_blank.get_or_insert(line);
            continue;
        }
        if let Some(blank) = first_blank {
            return Err(JsonlError::Malformed {
                line: blank,
                reason: "blank line before the end of the export".into(),
            });
        }
        let entry: AuditEntry = serde_json::from_slice(content)
            .map_err(|error| JsonlError::Malformed { line, reason: json_reason(&error) })?;
        verifier.push(&entry).map_err(|chain_break| JsonlError::Chain { line, chain_break })?;
    }
    Ok(verifier.finish())
}

/// serde_json's message without its "at line 1 column N" (the line is always 1 here).
fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(reason) => format!("{reason} (column {})", error.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use serde_json::Value;

    fn org(n: u128) -> OrganizationId {
        OrganizationId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n))
    }

    fn draft(n: usize) -> AuditDraft {
        let organization = if n % 3 == 1 { org(2) } else { org(1) };
        AuditDraft {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0001_0000 + n as u128),
            time: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
                + chrono::Duration::milliseconds(1_234 * n as i64),
            organization,
            workspace: n
                .is_multiple_of(2)
                .then(|| WorkspaceId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0002_0000))),
            actor: format!("api_key:{}", Uuid::from_u128(n as u128)),
            action: ["credential.issue", "credential.read", "webhook.delete"][n % 3].into(),
            target: (n % 4 != 3).then(|| format!("credentials/{n}")),
            outcome: AuditOutcome::ALL[n % 3],
            ip: (!n.is_multiple_of(5)).then(|| format!("203.0.113.{n}")),
            user_agent: (n % 2 == 1).then(|| "curl/8.5 \"quoted\" \\ Ünïcode 🎓".into()),
            request_id: Some(format!("req-{n}")),
        }
    }

    /// 20 entries over two interleaved organizations, sealed in append order.
    fn chain() -> Vec<AuditEntry> {
        let mut heads = HashMap::new();
        (0..20)
            .map(|n| {
                let draft = draft(n);
                let prev = heads.get(&draft.organization).copied().unwrap_or(GENESIS);
                let entry = AuditEntry::seal(draft, prev);
                heads.insert(entry.organization, entry.hash);
                entry
            })
            .collect()
    }

    fn to_jsonl(entries: &[AuditEntry]) -> String {
        entries.iter().map(|entry| serde_json::to_string(entry).unwrap() + "\n").collect()
    }

    fn broken_at(entries: &[AuditEntry]) -> (usize, BreakReason) {
        let failure = verify_chain(entries).unwrap_err();
        (failure.position, failure.reason)
    }

    #[test]
    fn a_chain_over_two_organizations_verifies_and_reports_each_head() {
        let entries = chain();
        let summary = verify_chain(&entries).unwrap();
        assert_eq!(summary.entries, 20);
        assert_eq!(summary.organizations, 2);
        for organization in [org(1), org(2)] {
            let last = entries.iter().rev().find(|e| e.organization == organization).unwrap();
            assert_eq!(summary.heads[&organization], last.hash);
        }
        let firsts = [org(1), org(2)]
            .map(|o| entries.iter().find(|e| e.organization == o).unwrap().prev_hash);
        assert_eq!(firsts, [GENESIS, GENESIS]);
        assert_eq!(verify_chain([]).unwrap().entries, 0);
    }

    #[test]
    fn editing_any_field_of_any_entry_is_reported_as_altered_at_that_entry() {
        let entries = chain();
        type Edit = fn(&mut AuditEntry);
        let edits: [(&str, Edit); 14] = [
            ("id", |e| e.id = Uuid::from_u128(42)),
            ("time", |e| e.time += chrono::Duration::nanoseconds(1)),
            ("organization", |e| {
                e.organization = if e.organization == org(1) { org(2) } else { org(1) }
            }),
            ("workspace", |e| {
                e.workspace = match e.workspace {
                    Some(_) => None,
                    None => Some(WorkspaceId(Uuid::from_u128(7))),
                }
            }),
            ("actor", |e| e.actor.push('x')),
            ("action", |e| e.action = "credential.revoke".into()),
            ("target", |e| e.target = Some("credentials/other".into())),
            ("outcome", |e| {
                e.outcome = match e.outcome {
                    AuditOutcome::Success => AuditOutcome::Denied,
                    _ => AuditOutcome::Success,
                }
            }),
            ("ip", |e| e.ip = Some("198.51.100.1".into())),
            ("user_agent", |e| e.user_agent = Some("evil".into())),
            ("request_id", |e| e.request_id = None),
            ("prev_hash", |e| e.prev_hash = AuditHash::of(b"elsewhere")),
            ("hash", |e| e.hash = AuditHash::of(b"made up")),
            ("an empty target", |e| e.target = Some(String::new())),
        ];
        for position in 0..entries.len() {
            for (field, edit) in edits {
                let mut edited = entries.clone();
                edit(&mut edited[position]);
                assert_ne!(edited[position], entries[position], "{field} at {position}");
                assert_eq!(
                    broken_at(&edited),
                    (position, BreakReason::Altered),
                    "{field} at {position}"
                );
            }
        }
    }

    #[test]
    fn deleting_any_entry_breaks_the_chain_at_the_next_entry_of_its_organization() {
        let entries = chain();
        for deleted in 0..entries.len() {
            let mut rest = entries.clone();
            let gone = rest.remove(deleted);
            let next =
                entries[deleted + 1..].iter().position(|e| e.organization == gone.organization);
            match next {
                Some(offset) => {
                    let reason = if gone.prev_hash == GENESIS {
                        BreakReason::DoesNotStartAtGenesis
                    } else {
                        BreakReason::Broken
                    };
                    assert_eq!(broken_at(&rest), (deleted + offset, reason), "deleted {deleted}");
                }
                None => {
                    // The last entry of its organization: the rest is a shorter, intact
                    // chain, and only the head shows what is missing.
                    let summary = verify_chain(&rest).unwrap();
                    assert_eq!(summary.heads[&gone.organization], gone.prev_hash);
                    assert_ne!(summary.heads[&gone.organization], gone.hash);
                }
            }
        }
    }

    #[test]
    fn deleting_the_last_entry_is_seen_only_by_comparing_the_head() {
        let entries = chain();
        let full = verify_chain(&entries).unwrap();
        let cut = verify_chain(&entries[..entries.len() - 1]).unwrap();
        let organization = entries[entries.len() - 1].organization;
        assert_eq!(cut.entries, 19);
        assert_ne!(cut.heads[&organization], full.heads[&organization]);
    }

    #[test]
    fn reordering_entries_of_an_organization_is_detected() {
        let entries = chain();
        // Entries 0 and 2 are both of organization 1.
        assert_eq!(entries[0].organization, entries[2].organization);
        let mut swapped = entries.clone();
        swapped.swap(0, 2);
        assert_eq!(broken_at(&swapped), (0, BreakReason::DoesNotStartAtGenesis));
        let mut swapped = entries.clone();
        swapped.swap(5, 8);
        assert_eq!(broken_at(&swapped), (5, BreakReason::Broken));
        let mut moved = entries.clone();
        let entry = moved.remove(3);
        moved.push(entry);
        assert_eq!(broken_at(&moved).1, BreakReason::Broken);
        // How organizations interleave is not protected: each is its own chain.
        let mut interleaved = entries.clone();
        assert_ne!(entries[0].organization, entries[1].organization);
        interleaved.swap(0, 1);
        verify_chain(&interleaved).unwrap();
    }

    #[test]
    fn an_inserted_entry_breaks_the_chain_after_it() {
        let entries = chain();
        // A forger who links their entry to entry 2 still leaves entry 3 (organization 1's
        // next) pointing at entry 2.
        let forged = AuditEntry::seal(draft(99), entries[2].hash);
        assert_eq!(forged.organization, entries[3].organization);
        let mut inserted = entries.clone();
        inserted.insert(3, forged);
        assert_eq!(broken_at(&inserted), (4, BreakReason::Broken));
        // A second genesis in the middle is no way to restart a chain.
        let restarted = AuditEntry::seal(draft(99), GENESIS);
        let mut inserted = entries.clone();
        inserted.insert(5, restarted);
        assert_eq!(broken_at(&inserted), (5, BreakReason::Broken));
    }

    #[test]
    fn a_repeated_entry_is_a_duplicate() {
        let mut entries = chain();
        entries.push(entries[4].clone());
        assert_eq!(broken_at(&entries), (20, BreakReason::Duplicate));
    }

    #[test]
    fn an_export_that_starts_mid_chain_verifies_from_the_given_starts() {
        let entries = chain();
        let tail = &entries[7..];
        let failure = verify_chain(tail).unwrap_err();
        assert_eq!((failure.position, failure.reason), (0, BreakReason::DoesNotStartAtGenesis));
        let mut starts = HashMap::new();
        for organization in [org(1), org(2)] {
            let first = tail.iter().find(|e| e.organization == organization).unwrap();
            starts.insert(organization, first.prev_hash);
        }
        let summary = verify_chain_from(tail, &starts).unwrap();
        assert_eq!(summary.heads, verify_chain(&entries).unwrap().heads);
        // A wrong start is a break at that organization's first entry.
        starts.insert(org(2), GENESIS);
        let first_of_2 = tail.iter().position(|e| e.organization == org(2)).unwrap();
        let failure = verify_chain_from(tail, &starts).unwrap_err();
        assert_eq!((failure.position, failure.reason), (first_of_2, BreakReason::Broken));
    }

    #[test]
    fn a_break_names_the_entry_and_what_is_wrong_in_one_line() {
        let mut entries = chain();
        entries[6].actor = "user:someone-else".into();
        let failure = verify_chain(&entries).unwrap_err();
        assert_eq!(
            failure.to_string(),
            format!("entry {} was altered (its hash does not match its content)", entries[6].id)
        );
        for reason in [
            BreakReason::Altered,
            BreakReason::Broken,
            BreakReason::DoesNotStartAtGenesis,
            BreakReason::Duplicate,
        ] {
            assert!(!reason.to_string().contains('\n'));
        }
    }

    #[test]
    fn an_entry_serializes_with_the_documented_field_names_and_round_trips() {
        let entry = &chain()[1];
        let value = serde_json::to_value(entry).unwrap();
        let names: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "id",
                "time",
                "organization",
                "workspace",
                "actor",
                "action",
                "target",
                "outcome",
                "ip",
                "user_agent",
                "request_id",
                "prev_hash",
                "hash"
            ]
        );
        assert_eq!(value["time"], "2026-03-01T12:00:01.234Z");
        assert_eq!(value["outcome"], "denied");
        assert_eq!(value["workspace"], Value::Null);
        assert_eq!(value["prev_hash"], GENESIS.to_string());
        let back: AuditEntry = serde_json::from_value(value).unwrap();
        assert_eq!(&back, entry);
        for outcome in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(AuditOutcome::parse("ok"), None);
    }

    #[test]
    fn the_canonical_form_is_rfc_8785_and_the_hash_is_pinned() {
        // Cross-checked with an independent JCS implementation, on strings that need
        // escaping and on every optional field present and absent.
        for mut entry in chain() {
            entry.actor =
                "oidc:https://idp.example/#sub\u{1}\u{1f}\u{7f}\u{2028}\t\n\r\u{8}\u{c}/".into();
            let mut value = serde_json::to_value(&entry).unwrap();
            value.as_object_mut().unwrap().remove("hash");
            assert_eq!(
                entry.canonical_json(),
                serde_json_canonicalizer::to_string(&value).unwrap()
            );
        }
        // The hash of a fixed entry, so that a change of the format cannot go unnoticed:
        // stored chains would stop verifying.
        let entry = AuditEntry::seal(
            AuditDraft {
                id: Uuid::from_u128(1),
                time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().unwrap(),
                organization: org(1),
                workspace: None,
                actor: "api_key:k".into(),
                action: "credential.issue".into(),
                target: Some("credentials/1".into()),
                outcome: AuditOutcome::Success,
                ip: None,
                user_agent: None,
                request_id: None,
            },
            GENESIS,
        );
        assert_eq!(
            entry.canonical_json(),
            concat!(
                r#"{"action":"credential.issue","actor":"api_key:k","#,
                r#""id":"00000000-0000-0000-0000-000000000001","ip":null,"#,
                r#""organization":"01900000-0000-7000-8000-000000000001","outcome":"success","#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""request_id":null,"target":"credentials/1","time":"2026-01-02T03:04:05Z","#,
                r#""user_agent":null,"workspace":null}"#
            )
        );
        assert_eq!(entry.hash.to_string(), PINNED_HASH);
    }

    /// `printf '%s' "$canonical_json" | sha256sum` of the entry above.
    const PINNED_HASH: &str = "0abfe868dbf038d986d9772061166f209c5e039b3be624f968e422d3a9e93f1e";

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        assert_eq!(GENESIS.to_string(), "0".repeat(64));
        let hash = AuditHash::of(b"x");
        assert_eq!(AuditHash::parse(&hash.to_string()).unwrap(), hash);
        for bad in ["", &"0".repeat(63), &"0".repeat(65), &"A".repeat(64), &"g".repeat(64)] {
            assert!(AuditHash::parse(bad).is_err(), "{bad}");
        }
        let mut value = serde_json::to_value(&chain()[0]).unwrap();
        value["hash"] = hash.to_string().to_uppercase().into();
        assert!(serde_json::from_value::<AuditEntry>(value).is_err());
    }

    #[test]
    fn field_order_whitespace_and_line_breaks_in_json_lines_do_not_matter() {
        let entries = chain();
        let mut text = String::new();
        for entry in &entries {
            let value = serde_json::to_value(entry).unwrap();
            let members: Vec<String> = value
                .as_object()
                .unwrap()
                .iter()
                .rev()
                .map(|(name, value)| format!("{}  :\t{}", Value::from(name.as_str()), value))
                .collect();
            text.push_str(&format!("  {{ {} }} \r\n", members.join(" , ")));
        }
        text.push_str("\n\r\n  \n");
        let summary = verify_jsonl(text.as_bytes()).unwrap();
        assert_eq!(summary, verify_chain(&entries).unwrap());
        // And with no line break after the last line.
        let plain = to_jsonl(&entries);
        verify_jsonl(plain.trim_end().as_bytes()).unwrap();
        assert_eq!(verify_jsonl(&b""[..]).unwrap().entries, 0);
    }

    #[test]
    fn a_malformed_line_names_its_line_number() {
        let entries = chain();
        let good = to_jsonl(&entries[..4]);
        let mut unknown = serde_json::to_value(&entries[4]).unwrap();
        unknown["extra"] = "unhashed".into();
        let mut missing = serde_json::to_value(&entries[4]).unwrap();
        missing.as_object_mut().unwrap().remove("hash");
        for (bad, needle) in [
            ("{\"id\":".to_owned(), "EOF"),
            ("not json".to_owned(), "expected"),
            ("[]".to_owned(), "expected struct"),
            (unknown.to_string(), "unknown field `extra`"),
            (missing.to_string(), "missing field `hash`"),
            ("\u{0}\u{ff}".to_owned(), "expected"),
        ] {
            let text = format!("{good}{bad}\n{}", to_jsonl(&entries[5..]));
            let error = verify_jsonl(text.as_bytes()).unwrap_err();
            assert!(matches!(error, JsonlError::Malformed { line: 5, .. }), "{bad}: {error}");
            let message = error.to_string();
            assert!(message.starts_with("line 5: not an audit entry: "), "{message}");
            assert!(message.contains(needle), "{bad}: {message}");
            assert!(!message.contains("at line 1"), "{message}");
        }
        let invalid_utf8 = [good.as_bytes(), b"{\"id\":\"\xff\"}\n"].concat();
        let error = verify_jsonl(&invalid_utf8[..]).unwrap_err();
        assert_eq!(error.line(), 5, "{error}");
        // A blank line inside the export is refused where it is.
        let text = format!("{good}\n{}", to_jsonl(&entries[4..]));
        let error = verify_jsonl(text.as_bytes()).unwrap_err();
        assert!(matches!(error, JsonlError::Malformed { line: 5, .. }), "{error}");
    }

    #[test]
    fn a_chain_break_in_json_lines_names_its_line() {
        let mut entries = chain();
        entries[6].target = Some("credentials/other".into());
        let error = verify_jsonl(to_jsonl(&entries).as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "line 7: entry {} was altered (its hash does not match its content)",
                entries[6].id
            )
        );
        let mut entries = chain();
        entries.remove(9);
        let error = verify_jsonl(to_jsonl(&entries).as_bytes()).unwrap_err();
        assert!(matches!(error, JsonlError::Chain { line: 11, .. }), "{error}");
        let tail = &chain()[10..];
        let starts = tail
            .iter()
            .rev()
            .map(|entry| (entry.organization, entry.prev_hash))
            .collect::<HashMap<_, _>>();
        verify_jsonl_from(to_jsonl(tail).as_bytes(), &starts).unwrap();
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error_not_an_allocation() {
        // An endless line: reading it whole would never end.
        let endless = std::io::BufReader::new(std::io::repeat(b'x'));
        assert!(matches!(verify_jsonl(endless).unwrap_err(), JsonlError::TooLong { line: 1 }));
        let first = to_jsonl(&chain()[..1]);
        let long = format!("{first}{}\n", " ".repeat(MAX_LINE_BYTES + 1));
        assert!(matches!(
            verify_jsonl(long.as_bytes()).unwrap_err(),
            JsonlError::TooLong { line: 2 }
        ));
        // Exactly at the limit is read (and here is blank, at the end).
        let at_limit = format!("{first}{}\n", " ".repeat(MAX_LINE_BYTES));
        verify_jsonl(at_limit.as_bytes()).unwrap();
    }
}
