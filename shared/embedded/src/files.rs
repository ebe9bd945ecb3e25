//! Private files: directories with mode 0700, files with mode 0600, written whole and
//! atomically (a crash leaves the old content or the new one, never half of either).
//!
//! A file is first written to a temporary file beside it (created with `create_new`, so it
//! never follows or reuses someone else's file) and flushed to disk, then moved into place:
//! by `rename` to replace, by `hard_link` to create (which fails instead of overwriting, so
//! a key is never lost to a concurrent creator). The directory is synced last, so the move
//! itself survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Creates `dir` and its missing parents, with mode 0700 for those it creates.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Opens `path` for writing, creating it with mode 0600; `create_new` refuses an existing
/// file.
pub(crate) fn open_private(path: &Path, create_new: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to a new temporary file beside `path` and flushes it to disk.
fn write_temporary(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let write = || -> std::io::Result<()> {
        let mut file = open_private(&temporary, true)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    if let Err(error) = write() {
        let _ = fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write {}", temporary.display()));
    }
    Ok(temporary)
}

/// Syncs the directory holding `path`, so that a rename or link in it is durable.
fn sync_parent(path: &Path) -> Result<()> {
    let Some(dir) = path.parent() else { return Ok(()) };
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `path` (mode 0600) holding `bytes`, unless it exists: `Ok(false)` then, and the
/// existing file is left untouched.
pub(crate) fn create_private_file(path: &Path, bytes: &[u8]) -> Result<bool> {
    let temporary = write_temporary(path, bytes)?;
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Replaces (or creates) `path` (mode 0600) with `bytes`, atomically.
pub(crate) fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = write_temporary(path, bytes)?;
    if let Err(error) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot replace {}", path.display()));
    }
    sync_parent(path)
}

/// Narrows the permissions of an existing file to 0600.
pub(crate) fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_file_is_created_once_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        assert!(create_private_file(&path, b"first").unwrap());
        assert!(!create_private_file(&path, b"second").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
    }

    #[test]
    fn a_private_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        replace_private_file(&path, b"first").unwrap();
        replace_private_file(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_directories_are_0700() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b");
        create_private_dir(&path).unwrap();
        create_private_dir(&path).unwrap();
        assert_eq!(mode(&path), 0o700);
    }
}
