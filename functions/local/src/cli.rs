//! The command line: `badges serve` and the offline commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

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
    }
}
