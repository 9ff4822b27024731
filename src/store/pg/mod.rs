//! Store stage, PostgreSQL backend (work in progress, issue 18): the schema of the SQLite store
//! for PostgreSQL, what several instances need to share one database — feed leases and the
//! leader row (`leases`) — and the copy of a SQLite store into it (`copy`). Nothing above the
//! store uses it yet: the SQLite store is the only one `vigie` runs on.
//!
//! Invariants: every lease and leadership time is the database's clock (`now()`), never an
//! instance's, so that clocks that disagree cannot give one feed two owners; the schema is
//! applied once, in one transaction, and recorded in `schema_version`; a connection string
//! or password never reaches an error message.

pub mod copy;
pub mod leases;

use tokio_postgres::{Client, NoTls};

/// The advisory lock that article transactions (and feed syncs) of several instances take
/// in turn: one writer at a time, as SQLite has by itself.
pub const WRITE_LOCK: i64 = 7_316_112;

/// The schema this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = include_str!("schema.sql");

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    #[error("PostgreSQL: {0}")]
    Sql(#[from] tokio_postgres::Error),
    #[error("the database has schema version {found}; this vigie knows version {SCHEMA_VERSION}")]
    Version { found: i64 },
}

/// Connect from blocking code (the store's own connection), with the schema checked or
/// created as [`PgStore::migrate`] does.
pub fn connect_blocking(params: &str, password: Option<&str>) -> Result<postgres::Client, PgError> {
    let mut config: postgres::Config = params
        .parse()
        .map_err(|_| PgError::Connect("the connection string is not valid".into()))?;
    if let Some(p) = password {
        config.password(p);
    }
    config.application_name("vigie");
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(|e| PgError::Connect(e.to_string()))?;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock(7316111)", &[])?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")?;
    }
    let found: Option<i64> = tx
        .query_opt("SELECT max(version) FROM schema_version", &[])?
        .and_then(|r| r.get(0));
    match found {
        None => {
            tx.batch_execute(SCHEMA)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(v) if v == SCHEMA_VERSION => {}
        Some(found) => return Err(PgError::Version { found }),
    }
    tx.commit()?;
    Ok(client)
}

/// One connection to the shared database.
pub struct PgStore {
    pub client: Client,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl PgStore {
    /// Connect with a libpq-style connection string (`host=/run/postgresql user=vigie
    /// dbname=vigie`, or a `postgres://` URL); `password`, when given, replaces the string's.
    pub async fn connect(params: &str, password: Option<&str>) -> Result<PgStore, PgError> {
        let mut config: tokio_postgres::Config = params
            .parse()
            .map_err(|_| PgError::Connect("the connection string is not valid".into()))?;
        if let Some(p) = password {
            config.password(p);
        }
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| PgError::Connect(e.to_string()))?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(PgStore { client, connection })
    }

    /// Create the schema in an empty database, or check that it is this code's. Several
    /// instances starting at once are serialised by an advisory lock.
    pub async fn migrate(&mut self) -> Result<(), PgError> {
        let tx = self.client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7316111)", &[])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let found: Option<i64> = tx
            .query_opt("SELECT max(version) FROM schema_version", &[])
            .await?
            .and_then(|r| r.get(0));
        match found {
            None => {
                tx.batch_execute(SCHEMA).await?;
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                )
                .await?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(found) => return Err(PgError::Version { found }),
        }
        tx.commit().await?;
        Ok(())
    }
}
