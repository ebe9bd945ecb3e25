//! The command line: `badges serve` and the offline commands.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use platform::audit::{self, AuditHash, JsonlError};
use platform::ids::OrganizationId;

use crate::offline::{bake_image, keygen, print, read, sign, verify};
use crate::serve::{self, ServeArgs};

/// Open Badges 3.0 credentials: issue, verify, bake.
#[derive(Debug, Parser)]
#[command(name = "badges", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the platform on this machine: every route, the queue workers and the schedules,
    /// on the embedded store (SQLite and files in the data directory).
    Serve(ServeArgs),
    /// Writes a new Ed25519 key file (Multikey JSON, mode 0600).
    Keygen {
        /// Where to write the key file; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Signs an unsigned credential and prints the signed credential.
    Sign {
        /// The key file (ours, or a `key.json` with the 64-byte secret form).
        #[arg(long)]
        key: PathBuf,
        /// The verification method, `DID#fragment`, listed in the issuer's DID document.
        #[arg(long)]
        verification_method: String,
        /// The proof's `created` time (RFC 3339); now by default.
        #[arg(long)]
        created: Option<String>,
        /// Data Integrity proof (`eddsa-rdfc-2022`) or VC-JWT (EdDSA).
        #[arg(long, value_enum, default_value_t = SignFormat::Di)]
        format: SignFormat,
        /// The unsigned credential (JSON).
        unsigned: PathBuf,
    },
    /// Verifies a credential (JSON, VC-JWT, or baked PNG/SVG). Exit 0 valid, 1 not valid, 2 usage error.
    Verify {
        /// The credential file.
        file: PathBuf,
        /// DID documents to resolve issuers with (keyed by their `id`); repeatable.
        #[arg(long = "did-document")]
        did_documents: Vec<PathBuf>,
        /// Status list credentials (keyed by their `id`); repeatable.
        #[arg(long = "status-list")]
        status_lists: Vec<PathBuf>,
        /// The instant to check dates against (RFC 3339); now by default.
        #[arg(long)]
        now: Option<String>,
        /// Print the whole report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Bakes a credential into a PNG or SVG badge image.
    Bake {
        /// The signed credential (JSON or VC-JWT).
        #[arg(long)]
        credential: PathBuf,
        /// The badge image (PNG or SVG).
        #[arg(long)]
        image: PathBuf,
        /// Where to write the baked image.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints the credential baked into a PNG or SVG image.
    Unbake {
        /// The baked image.
        image: PathBuf,
    },
    /// Works on exports of the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verifies a JSON Lines export of the audit log: every entry's hash and every link of
    /// each organization's chain. Exit 0 intact, 1 not intact, 2 usage or read error.
    Verify {
        /// The export: one entry per line, in append order.
        file: PathBuf,
        /// The export starts mid-chain for ORG, right after the entry with hash HASH (a
        /// filtered or paged export); repeatable.
        #[arg(long = "start", value_name = "ORG=HASH")]
        starts: Vec<String>,
        /// HASH is the head the platform reports for ORG, where the export must end (the chain
        /// alone cannot show entries cut from its end); repeatable.
        #[arg(long = "head", value_name = "ORG=HASH")]
        heads: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SignFormat {
    Di,
    Jwt,
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run_blocking(args.into_config()?),
        Command::Keygen { out } => keygen(&out),
        Command::Sign { key, verification_method, created, format, unsigned } => {
            sign(&key, &verification_method, created.as_deref(), format, &unsigned)
        }
        Command::Verify { file, did_documents, status_lists, now, json } => {
            verify(&file, &did_documents, &status_lists, now.as_deref(), json)
        }
        Command::Bake { credential, image, out } => bake_image(&credential, &image, &out),
        Command::Unbake { image } => {
            let bytes = read(&image)?;
            print(&credentials::bake::unbake(&bytes)?)
        }
        Command::Audit { command: AuditCommand::Verify { file, starts, heads } } => {
            audit_verify(&file, &starts, &heads)
        }
    }
}

/// `badges audit verify`: one line on stdout and exit 0 if the export is intact; one line
/// on stderr naming the line and the entry, and exit 1, if it is not.
fn audit_verify(file: &Path, starts: &[String], heads: &[String]) -> Result<ExitCode> {
    let starts = organization_hashes("--start", starts)?;
    let heads = organization_hashes("--head", heads)?;
    let export =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let summary = match audit::verify_jsonl_from(std::io::BufReader::new(export), &starts) {
        Ok(summary) => summary,
        Err(error @ JsonlError::Read { .. }) => {
            return Err(
                anyhow::Error::new(error).context(format!("cannot read {}", file.display()))
            );
        }
        Err(error) => return not_intact(&error.to_string()),
    };
    for (organization, expected) in &heads {
        let actual = summary
            .heads
            .get(organization)
            .or(starts.get(organization))
            .copied()
            .unwrap_or(audit::GENESIS);
        if actual != *expected {
            return not_intact(&format!(
                "organization {organization}: the export ends at {actual}, not at the given head \
                 {expected} (entries at its end are missing, or were appended after it)"
            ));
        }
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let heads = if summary.heads.is_empty() {
        "none".to_owned()
    } else {
        let heads: Vec<String> = summary
            .heads
            .iter()
            .map(|(organization, hash)| format!("{organization}={hash}"))
            .collect();
        heads.join(", ")
    };
    print(&format!(
        "audit: {}, {}, chain intact (heads: {heads})",
        plural(summary.entries, "entry", "entries"),
        plural(summary.organizations, "organization", "organizations"),
    ))
}

/// Reports an export that does not verify: one line on stderr, exit 1.
fn not_intact(reason: &str) -> Result<ExitCode> {
    writeln!(std::io::stderr().lock(), "audit: {reason}").context("cannot write to stderr")?;
    Ok(ExitCode::from(1))
}

/// Parses `ORG=HASH` values of `flag`.
fn organization_hashes(
    flag: &str,
    values: &[String],
) -> Result<HashMap<OrganizationId, AuditHash>> {
    values
        .iter()
        .map(|value| {
            let parsed = value.split_once('=').and_then(|(organization, hash)| {
                Some((OrganizationId::parse(organization).ok()?, AuditHash::parse(hash).ok()?))
            });
            match parsed {
                Some(pair) => Ok(pair),
                None => bail!(
                    "{flag} `{value}` must be ORG=HASH: an organization id and 64 lowercase hex digits"
                ),
            }
        })
        .collect()
}
