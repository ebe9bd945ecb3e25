//! The offline commands: keys, signing, verification and baking, on local files.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, SubsecRound as _, Utc};
use credentials::keys::KeyPair;
use credentials::verify::{self, Options, Resolver};
use credentials::{bake, di, jwt, model};

use crate::cli::SignFormat;
use serde_json::Value;
use zeroize::Zeroizing;

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_slice(&read(path)?)
        .with_context(|| format!("{} is not valid JSON", path.display()))
}

pub(crate) fn print(text: &str) -> Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn instant(text: Option<&str>, flag: &str) -> Result<DateTime<Utc>> {
    match text {
        None => Ok(Utc::now().trunc_subsecs(0)),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|date| date.to_utc())
            .with_context(|| format!("{flag} `{text}` is not an RFC 3339 date-time")),
    }
}

pub(crate) fn keygen(out: &Path) -> Result<ExitCode> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut())
        .map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let pair = KeyPair::from_seed(&seed);
    write_private(out, pair.to_key_file().as_bytes())?;
    print(&pair.public_key().to_multibase())
}

/// Creates `path` with mode 0600 (never replacing an existing file) and writes `bytes`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

pub(crate) fn sign(
    key: &Path,
    method: &str,
    created: Option<&str>,
    format: SignFormat,
    unsigned: &Path,
) -> Result<ExitCode> {
    let pair = KeyPair::from_key_file(&read(key)?)
        .with_context(|| format!("cannot use key file {}", key.display()))?;
    let credential = read_json(unsigned)?;
    if !method.contains('#') {
        bail!("--verification-method must be DID#fragment, got `{method}`");
    }
    model::check_credential_json(&credential)?;
    match format {
        SignFormat::Di => {
            let options = di::ProofOptions {
                verification_method: method.to_owned(),
                created: instant(created, "--created")?,
            };
            let signed = di::sign(&credential, &pair, &options)?;
            print(&serde_json::to_string_pretty(&signed)?)
        }
        SignFormat::Jwt => print(&jwt::sign(&credential, &pair, method)?),
    }
}

/// DID documents and status lists read from files, keyed by their `id`.
struct FileResolver {
    did_documents: HashMap<String, Value>,
    status_lists: HashMap<String, Value>,
}

impl FileResolver {
    fn load(did_documents: &[PathBuf], status_lists: &[PathBuf]) -> Result<Self> {
        let by_id = |paths: &[PathBuf]| -> Result<HashMap<String, Value>> {
            paths
                .iter()
                .map(|path| {
                    let value = read_json(path)?;
                    let id = value
                        .get("id")
                        .and_then(Value::as_str)
                        .with_context(|| format!("{} has no `id`", path.display()))?
                        .to_owned();
                    Ok((id, value))
                })
                .collect()
        };
        Ok(Self { did_documents: by_id(did_documents)?, status_lists: by_id(status_lists)? })
    }
}

impl Resolver for FileResolver {
    fn did_document(&self, did: &str) -> Result<Value, String> {
        self.did_documents
            .get(did)
            .cloned()
            .ok_or_else(|| "not given with --did-document".to_owned())
    }
    fn status_list(&self, url: &str) -> Result<Value, String> {
        self.status_lists.get(url).cloned().ok_or_else(|| "not given with --status-list".to_owned())
    }
}

pub(crate) fn verify(
    file: &Path,
    did_documents: &[PathBuf],
    status_lists: &[PathBuf],
    now: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let resolver = FileResolver::load(did_documents, status_lists)?;
    let options = Options::at(instant(now, "--now")?);
    let input = read(file)?;
    let report = verify::verify_bytes(&input, &resolver, &options);
    if json {
        print(&serde_json::to_string(&report)?)?;
    } else {
        print(&report.summary())?;
    }
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub(crate) fn bake_image(credential: &Path, image: &Path, out: &Path) -> Result<ExitCode> {
    let credential =
        String::from_utf8(read(credential)?).context("the credential is not UTF-8 text")?;
    let credential = credential.trim();
    let image_bytes = read(image)?;
    let baked = match bake::sniff(&image_bytes) {
        Some(bake::ImageKind::Png) => bake::bake_png(&image_bytes, credential)?,
        Some(bake::ImageKind::Svg) => {
            let svg = std::str::from_utf8(&image_bytes).context("the SVG is not UTF-8")?;
            bake::bake_svg(svg, credential)?.into_bytes()
        }
        None => bail!("{} is neither a PNG nor an SVG image", image.display()),
    };
    std::fs::write(out, baked).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}
