//! Store stage, copying a SQLite store into PostgreSQL (`vigie store copy --to …`): every row
//! of every table, ids kept, in one PostgreSQL transaction.
//!
//! Invariants: a target that already holds feeds or articles is refused, untouched; the copy
//! is all or nothing (one transaction); identity sequences continue after the copied ids; a
//! value PostgreSQL refuses is an error naming the table, never a panic. Values cross as the
//! store's own (`store::db`), converted to each column's type as every store write is.

use super::PgError;
use crate::store::db::{self, DbError, ToValue, Value};

/// The tables, parents first, as both schemas have them.
const TABLES: &[&str] = &[
    "feeds",
    "stories",
    "articles",
    "article_feeds",
    "matches",
    "batches",
    "deliveries",
    "story_alerts",
    "digest_runs",
    "health",
    "feed_health",
    "notices",
];

/// Tables whose `id` is an identity column, to be moved past the copied ids.
const IDENTITIES: &[&str] = &[
    "feeds",
    "stories",
    "articles",
    "matches",
    "batches",
    "deliveries",
    "notices",
    "story_alerts",
];

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database already holds {0}; copy only into an empty one")]
    NotEmpty(String),
    #[error("reading the SQLite store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("indexing the copied articles for search: {0}")]
    Index(String),
    #[error("copying {table}: {source}")]
    Table {
        table: &'static str,
        source: DbError,
    },
}

/// Copy every table of the SQLite store `from` into `to`, a PostgreSQL store (its schema
/// made or checked as it was opened); rows per table.
pub fn copy(
    from: &rusqlite::Connection,
    to: &mut db::Connection,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let tx = to.transaction()?;
    for table in ["feeds", "articles"] {
        let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        if n > 0 {
            return Err(CopyError::NotEmpty(format!("{n} {table}")));
        }
    }
    let mut counts = Vec::new();
    for &table in TABLES {
        let mut read = from.prepare(&format!("SELECT * FROM {table}"))?;
        let columns: Vec<String> = read.column_names().iter().map(|c| c.to_string()).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|k| format!("?{k}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            marks.join(", ")
        );
        let mut rows = read.query([])?;
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            let values = (0..columns.len())
                .map(|k| row.get_ref(k).map(Value::from))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let params: Vec<&dyn ToValue> = values.iter().map(|v| v as &dyn ToValue).collect();
            tx.execute(&insert, params.as_slice())
                .map_err(|source| CopyError::Table { table, source })?;
            n += 1;
        }
        counts.push((table, n));
    }
    for table in IDENTITIES {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               GREATEST((SELECT max(id) FROM {table}), 1))"
            ),
            [],
        )?;
    }
    tx.commit()?;
    // The search index, built from the folded text as the daemon builds it.
    crate::store::search::catch_up(to, now).map_err(|e| CopyError::Index(e.to_string()))?;
    Ok(counts)
}
