//! Store stage: one SQLite file in `state_dir` (WAL, schema from `migrations/`), or a
//! PostgreSQL database that several instances share (`pg`), behind one interface (`db`).
//! Invariants: every write that belongs together happens in one transaction (an article,
//! its matches and their deliveries); the connection is only ever used from blocking
//! code — the async shell reaches it through `StoreHandle::call`, which never holds the
//! lock across an `.await`.

pub mod articles;
mod checkpoint;
pub mod claims;
pub mod db;
pub mod digests;
pub mod enqueue;
pub mod feeds;
pub mod group;
pub mod instance;
pub mod lookup;
pub mod notices;
pub mod outbox;
pub mod pg;
pub mod published;
pub mod retention;
pub mod search;
pub mod stories;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite_migration::{M, Migrations};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create or lock {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database schema upgrade failed: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Pg(#[from] pg::PgError),
    #[error("the database password: {0}")]
    Password(String),
    #[error("database task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_init.sql")),
    M::up(include_str!("../../migrations/0002_polling.sql")),
    M::up(include_str!("../../migrations/0003_delivery.sql")),
    M::up(include_str!("../../migrations/0004_stories.sql")),
    M::up(include_str!("../../migrations/0005_search.sql")),
    M::up(include_str!("../../migrations/0006_health.sql")),
    M::up(include_str!("../../migrations/0007_pages.sql")),
    M::up(include_str!("../../migrations/0008_retired.sql")),
    M::up(include_str!("../../migrations/0009_hit_count.sql")),
    M::up(include_str!("../../migrations/0010_claims.sql")),
    M::up(include_str!("../../migrations/0011_story_alerts.sql")),
    M::up(include_str!("../../migrations/0012_event_terms.sql")),
];

pub struct Store {
    pub(crate) conn: db::Connection,
    /// Recent articles' fingerprints, loaded from the database on first use.
    pub(crate) stories: stories::Cache,
    /// Copies the write-ahead log into the database off the writer's thread.
    pub(crate) checkpointer: Option<checkpoint::Checkpointer>,
    /// This instance among others on a shared database (`None` on SQLite, or in a
    /// one-shot command).
    pub(crate) instance: Option<instance::Instance>,
}

impl Store {
    /// Open the store the configuration names: the PostgreSQL database of `[store] url`,
    /// or else the SQLite file in `state_dir`.
    pub fn open_config(
        state_dir: &Path,
        store: Option<&crate::config::StoreConfig>,
    ) -> Result<Store> {
        let Some(sc) = store else {
            return Store::open_in(state_dir);
        };
        let password = match &sc.password {
            Some(source) => Some(source.read().map_err(StoreError::Password)?),
            None => None,
        };
        let url = sc.url.clone();
        let conn =
            db::Connection::postgres(move || pg::connect_blocking(&url, password.as_deref()))?;
        Ok(Store {
            conn,
            stories: stories::Cache::default(),
            checkpointer: None,
            instance: None,
        })
    }

    /// The connection, for a command or a test that reads the store directly.
    pub fn conn(&self) -> &db::Connection {
        &self.conn
    }

    /// Whether other instances may share this store (a PostgreSQL database), so that
    /// leases and leadership apply; a SQLite file is one instance's.
    pub fn is_shared(&self) -> bool {
        self.conn.dialect() == db::Dialect::Postgres
    }

    /// Open (creating if needed) `state_dir/vigie.db` and bring its schema up to date.
    pub fn open_in(state_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::Folder {
            path: state_dir.to_path_buf(),
            source,
        })?;
        Store::open(&state_dir.join("vigie.db"))
    }

    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = rusqlite::Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // A first poll writes thousands of articles in a burst: the background checkpoints
        // (`checkpoint`) copy the log as it grows; SQLite's own, on the writer's thread,
        // only step in past this many pages, should those fall behind.
        conn.pragma_update(None, "wal_autocheckpoint", 8_000)
            .map_err(open_err)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // Room for every statement of the ingest path and the commands (rusqlite keeps 16
        // by default: past that, the least recently used is parsed again at its next use),
        // rows written many at a time coming in a few sizes each (`db::many`).
        conn.set_prepared_statement_cache_capacity(128);
        // Two processes opening a new store at once (a daemon starting, `vigie poll` beside
        // it) would both create its tables: one migrates at a time, under a lock on a file
        // beside the database, let go when the file is closed (or its process dies).
        let lock_path = path.with_extension("db.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|source| StoreError::Folder {
                path: lock_path.clone(),
                source,
            })?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        drop(lock);
        Ok(Store {
            conn: db::Connection::sqlite(conn),
            stories: stories::Cache::default(),
            checkpointer: Some(checkpoint::Checkpointer::new(path.to_path_buf())),
            instance: None,
        })
    }

    /// Prove the database takes a write (for `/healthz`).
    pub fn touch_health(&mut self) -> Result<()> {
        self.conn.execute(
            "INSERT INTO health (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            [chrono::Utc::now().timestamp()],
        )?;
        Ok(())
    }

    /// SQLite's `PRAGMA integrity_check` answered "ok" (PostgreSQL checks its own pages).
    pub fn integrity_ok(&self) -> Result<bool> {
        let Some(conn) = self.conn.as_sqlite() else {
            return Ok(true);
        };
        let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(r == "ok")
    }
}

/// A store shared by async tasks. Each call runs on a blocking thread and takes the lock
/// there, so no lock or connection is ever held across an `.await`.
#[derive(Clone)]
pub struct StoreHandle {
    inner: Arc<Mutex<Store>>,
}

impl StoreHandle {
    pub fn new(store: Store) -> Self {
        StoreHandle {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut Store) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the store itself is still
            // consistent (SQLite rolled the transaction back), so keep using it.
            let mut guard = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

pub fn to_ts(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp()
}

pub fn from_ts(ts: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default()
}
