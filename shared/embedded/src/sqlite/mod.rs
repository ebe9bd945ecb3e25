//! [`SqliteStore`]: every store port, the outbox and the job queue in one SQLite database,
//! `<data-dir>/badges.db`, so that a use case's writes (a credential, its idempotency key and
//! its events; a bulk row's outcome and its job's counters) commit in one transaction.
//!
//! Connections: `rusqlite::Connection` is not `Sync`, so each sits behind a mutex and none is
//! held across an `.await`. Writes, scans and listings run on blocking threads
//! (`spawn_blocking`); lookups by key run in place on a free read connection. One writer
//! connection, behind a mutex, takes every write in an `IMMEDIATE` transaction (the write lock
//! is taken up front, so a transaction that reads then writes never fails to upgrade); a few
//! read connections serve reads concurrently, which WAL allows.
//!
//! Durability: WAL with `synchronous=NORMAL` by default. A commit is in the WAL file (in the
//! OS page cache) before it returns, so a killed process (SIGKILL, a panic, an OOM kill) loses
//! nothing it committed; only an OS crash or power cut can lose the last commits (never
//! corrupt the database). `FULL` would add an fsync per commit, which limits bulk issuance
//! (one transaction per row) to the disk's flush rate; choose [`Durability::Full`] where
//! power loss matters more than throughput.
//!
//! Layout: the schema and its migrations in [`schema`], one submodule per group of ports.
//! Times are stored as fixed-width RFC 3339 text (`2030-01-01T00:00:00.000000000Z`), which
//! sorts like the instants for years 0 to 9999, or as microseconds since the epoch in the
//! queue; ids as hyphenated UUID text, which sorts like the UUID (so UUID v7 ids sort by
//! creation).

mod audit;
mod bulk;
mod credentials;
mod drafts;
mod events;
mod organizations;
mod queue;
mod recipients;
mod schema;
mod sso;
mod status_lists;
mod users;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, ensure};
use chrono::{DateTime, Utc};
use platform::ports::Clock;
use rusqlite::{Connection, OpenFlags, Params, Row, Transaction, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use queue::DeadLetter;

use crate::files;

/// The database's file name in the data directory.
pub const DATABASE_FILE: &str = "badges.db";

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// WAL + `synchronous=NORMAL`: commits survive a process crash; an OS crash or power cut
    /// may lose the last ones.
    #[default]
    Normal,
    /// WAL + `synchronous=FULL`: commits survive a power cut too, at one fsync each.
    Full,
}

/// Settings of a [`SqliteStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many times a queue message may be received; the next receive moves it to the
    /// dead letters instead (SQS's `maxReceiveCount`).
    pub max_receives: u32,
    /// Read connections (reads run concurrently, writes one at a time).
    pub readers: usize,
    /// How long a connection waits for a lock held by another process.
    pub busy_timeout: Duration,
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_receives: 10,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            durability: Durability::Normal,
        }
    }
}

struct Database {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    clock: Arc<dyn Clock>,
    options: StoreOptions,
}

/// The SQLite store. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.db.path)
            .field("options", &self.db.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens `<data_dir>/badges.db` with the default [`StoreOptions`], creating and migrating
    /// it as needed. The queue reads "now" from `clock`.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::open_with(data_dir, clock, StoreOptions::default())
    }

    /// [`open`](Self::open) with explicit options.
    pub fn open_with(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: StoreOptions,
    ) -> Result<Self> {
        let path = data_dir.join(DATABASE_FILE);
        let open = || -> Result<Self> {
            files::create_private_dir(data_dir)?;
            // SQLite creates its WAL and shared-memory files with the database file's mode,
            // so creating the database file first with 0600 keeps all three private.
            files::open_private(&path, false).context("cannot create the database file")?;
            files::make_private(&path)?;
            let mut writer = connect(&path, &options, false)?;
            schema::migrate(&mut writer)?;
            let readers = (0..options.readers.max(1))
                .map(|_| connect(&path, &options, true).map(Mutex::new))
                .collect::<Result<Vec<_>>>()?;
            Ok(Self {
                db: Arc::new(Database {
                    path: path.clone(),
                    writer: Mutex::new(writer),
                    readers,
                    next_reader: AtomicUsize::new(0),
                    clock,
                    options,
                }),
            })
        };
        open().with_context(|| format!("cannot open the database {}", path.display()))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// Runs `work` in one `IMMEDIATE` transaction on the writer connection, on a blocking
    /// thread; commits if it returns `Ok`, rolls back otherwise.
    async fn write<T, F>(&self, what: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || -> Result<T> {
            // A panic mid-transaction rolled it back (the transaction's drop), so the
            // connection behind a poisoned lock is still sound.
            let mut connection = db.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&transaction)?;
            transaction.commit()?;
            Ok(value)
        })
        .await
        .context("SQLite task failed")?
        .with_context(|| format!("SQLite: {what}"))
    }

    /// Copies the write-ahead log into the database file and empties it, so that pages
    /// overwritten since (with `secure_delete`, deleted rows are zeroed) leave no old copy.
    async fn checkpoint(&self) -> Result<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let connection = db.writer.lock().unwrap_or_else(PoisonError::into_inner);
            connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
        .context("SQLite task failed")?
        .context("SQLite: checkpoint")
    }

    /// Runs `work`, a lookup by key, on a free read connection in place; if every read
    /// connection is busy, on a blocking thread like [`read`](Self::read).
    ///
    /// A lookup by primary or unique key reads a few pages that are almost always in the page
    /// cache and takes microseconds, less than the hop to the blocking pool and back (which
    /// dominated a page view: several lookups a request, each two thread wake-ups). Readers
    /// never wait for the writer in WAL mode, so this does not hold up the executor; scans and
    /// listings keep going through [`read`](Self::read).
    async fn lookup<T, F>(&self, what: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match self.in_place(work) {
            Ok(result) => result.with_context(|| format!("SQLite: {what}")),
            Err(work) => self.read(what, work).await,
        }
    }

    /// Runs `work` on the first free read connection, or hands it back if all are busy.
    fn in_place<T, F>(&self, work: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        let readers = &self.db.readers;
        let start = self.db.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..readers.len() {
            let connection = match readers[(start + i) % readers.len()].try_lock() {
                Ok(connection) => connection,
                // A panic during a read left nothing half-done on a read-only connection.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            return Ok(work(&connection));
        }
        Err(work)
    }

    /// Runs `work` on a read connection, on a blocking thread.
    async fn read<T, F>(&self, what: &'static str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let index = db.next_reader.fetch_add(1, Ordering::Relaxed) % db.readers.len();
            let connection = db.readers[index].lock().unwrap_or_else(PoisonError::into_inner);
            work(&connection)
        })
        .await
        .context("SQLite task failed")?
        .with_context(|| format!("SQLite: {what}"))
    }
}

/// Opens one connection with the store's pragmas.
fn connect(path: &Path, options: &StoreOptions, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(options.busy_timeout)?;
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "the database refused WAL mode (journal_mode is {mode})"
    );
    let synchronous = match options.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.pragma_update(None, "foreign_keys", true)?;
    // Checkpoint every 10,000 pages (40 MiB) of log rather than SQLite's 1,000: the recipient
    // indexes are keyed by hashes, so a bulk job dirties pages all over them, and rarer
    // checkpoints copy each such page to the file once instead of many times.
    connection.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    // Statements are prepared once per connection and reused (`prepare_cached`); the store
    // has some 80 distinct ones, more than rusqlite's default cache of 16.
    connection.set_prepared_statement_cache_capacity(128);
    if read_only {
        // Reads go through these; a write by mistake would bypass the writer's lock.
        connection.pragma_update(None, "query_only", true)?;
    }
    Ok(connection)
}

/// The first row `sql` returns, if any.
fn optional<T, P, F>(connection: &Connection, sql: &str, params: P, map: F) -> Result<Option<T>>
where
    P: Params,
    F: FnMut(&Row<'_>) -> Result<T>,
{
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query_and_then(params, map)?;
    rows.next().transpose()
}

/// Every row `sql` returns.
fn all<T, P, F>(connection: &Connection, sql: &str, params: P, map: F) -> Result<Vec<T>>
where
    P: Params,
    F: FnMut(&Row<'_>) -> Result<T>,
{
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_and_then(params, map)?;
    rows.collect()
}

/// An instant as stored: fixed-width RFC 3339 text, which sorts like the instant.
fn time(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Reads [`time`].
fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("stored time `{text}` does not parse"))
}

/// Reads an optional [`time`].
fn parse_optional_time(text: Option<String>) -> Result<Option<DateTime<Utc>>> {
    text.as_deref().map(parse_time).transpose()
}

/// Reads a value whose serde form is a string (ids, emails, slugs) from its stored text.
fn parse_text<T: DeserializeOwned>(text: String) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text)).context("stored value does not parse")
}

/// A record as a JSON column.
fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).context("record encoding")
}

/// Reads a JSON column.
fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).context("stored record does not parse")
}

/// A count or version as SQLite stores integers.
fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| anyhow!("{value} is too large to store"))
}

/// A stored integer as a count or version.
fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| anyhow!("stored value {value} is negative"))
}

/// A `limit` as a SQL `LIMIT`.
fn limit(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone as _;

    use super::*;
    use crate::SystemClock;

    pub(crate) fn store(dir: &Path, options: StoreOptions) -> SqliteStore {
        SqliteStore::open_with(dir, Arc::new(SystemClock), options).unwrap()
    }

    #[test]
    fn stored_times_sort_like_instants_and_read_back_exactly() {
        let early = Utc.with_ymd_and_hms(999, 1, 1, 0, 0, 0).unwrap();
        let late =
            Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 1).unwrap() + chrono::Duration::nanoseconds(5);
        assert!(time(early) < time(late));
        assert_eq!(time(late), "2030-01-01T00:00:01.000000005Z");
        assert_eq!(parse_time(&time(late)).unwrap(), late);
        assert_eq!(parse_time(&time(early)).unwrap(), early);
    }

    #[test]
    fn the_database_uses_wal_with_the_chosen_durability() {
        let dir = tempfile::tempdir().unwrap();
        for (durability, expected) in [(Durability::Normal, 1), (Durability::Full, 2)] {
            let store = store(dir.path(), StoreOptions { durability, ..StoreOptions::default() });
            let writer = store.db.writer.lock().unwrap();
            let mode: String = writer.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            let synchronous: i64 =
                writer.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
            let foreign_keys: i64 =
                writer.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
            assert_eq!((mode.as_str(), synchronous, foreign_keys), ("wal", expected, 1));
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_are_private() {
        use platform::ports::Outbox as _;
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), StoreOptions::default());
        store.pending_events(1).await.unwrap();
        store.mark_dispatched(&[platform::ids::EventId::generate()]).await.unwrap();
        for name in [DATABASE_FILE.to_owned(), format!("{DATABASE_FILE}-wal")] {
            let mode =
                std::fs::metadata(dir.path().join(&name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }

    #[tokio::test]
    async fn read_connections_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), StoreOptions::default());
        let result = store
            .read("a write on a reader", |c| Ok(c.execute("DELETE FROM organizations", [])?))
            .await;
        assert!(result.is_err());
    }

    /// A lookup runs in place on a free reader, and waits for one on the blocking pool when
    /// every reader is busy, never running on a connection another task holds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lookups_wait_for_a_free_reader_when_all_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), StoreOptions { readers: 2, ..StoreOptions::default() });
        let count = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("SELECT COUNT(*) FROM organizations", [], |r| r.get(0))?)
        };
        assert_eq!(store.lookup("in place", count).await.unwrap(), 0);

        let busy: Vec<_> = store.db.readers.iter().map(|r| r.lock().unwrap()).collect();
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.lookup("on the pool", count).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "a lookup ran on a connection in use");
        drop(busy);
        assert_eq!(waiting.await.unwrap().unwrap(), 0);
        assert!(
            store
                .lookup("a write on a reader", |c| Ok(c.execute("DELETE FROM organizations", [])?))
                .await
                .is_err()
        );
    }
}
