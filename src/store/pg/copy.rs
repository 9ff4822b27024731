//! Store stage, copying a SQLite store into PostgreSQL (`vigie store copy --to …`): every row
//! of every table, ids kept, in one PostgreSQL transaction.
//!
//! Invariants: a target that already holds feeds or articles is refused, untouched; the copy
//! is all or nothing (one transaction); identity sequences continue after the copied ids; a
//! value of the wrong type for its column is an error naming the table and column, never a
//! panic. The SQLite side is read with blocking calls: this runs as a one-shot command.

use rusqlite::types::ValueRef;
use tokio_postgres::types::{ToSql, Type};

use super::{PgError, PgStore};

/// The tables, parents first, as both schemas have them.
const TABLES: &[&str] = &[
    "feeds",
    "stories",
    "articles",
    "article_feeds",
    "matches",
    "batches",
    "deliveries",
    "digest_runs",
    "health",
    "feed_health",
];

/// Tables whose `id` is an identity column, to be moved past the copied ids.
const IDENTITIES: &[&str] = &[
    "feeds",
    "stories",
    "articles",
    "matches",
    "batches",
    "deliveries",
];

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database already holds {0}; copy only into an empty one")]
    NotEmpty(String),
    #[error("reading the SQLite store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("{table}.{column}: a value of the wrong type for PostgreSQL's {pg_type}")]
    Type {
        table: String,
        column: String,
        pg_type: String,
    },
}

impl From<tokio_postgres::Error> for CopyError {
    fn from(e: tokio_postgres::Error) -> Self {
        CopyError::Pg(PgError::Sql(e))
    }
}

/// Copy every table of the SQLite store `from` into `to` (migrated first); rows per table.
pub async fn copy(
    from: &rusqlite::Connection,
    to: &mut PgStore,
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    to.migrate().await?;
    let tx = to.client.transaction().await?;
    for table in ["feeds", "articles"] {
        let n: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?
            .get(0);
        if n > 0 {
            return Err(CopyError::NotEmpty(format!("{n} {table}")));
        }
    }
    let mut counts = Vec::new();
    for &table in TABLES {
        let mut read = from.prepare(&format!("SELECT * FROM {table}"))?;
        let columns: Vec<String> = read.column_names().iter().map(|c| c.to_string()).collect();
        let list = columns.join(", ");
        let marks: Vec<String> = (1..=columns.len()).map(|k| format!("${k}")).collect();
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {table} ({list}) VALUES ({})",
                marks.join(", ")
            ))
            .await?;
        let types = insert.params().to_vec();
        let mut rows = read.query([])?;
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(columns.len());
            for (k, ty) in types.iter().enumerate() {
                let v = value(row.get_ref(k)?, ty).ok_or_else(|| CopyError::Type {
                    table: table.to_owned(),
                    column: columns[k].clone(),
                    pg_type: ty.name().to_owned(),
                })?;
                values.push(v);
            }
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            tx.execute(&insert, &params).await?;
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
            &[],
        )
        .await?;
    }
    // PostgreSQL's own full-text index stands for SQLite's FTS5 table.
    tx.execute(
        "UPDATE articles SET search = to_tsvector('simple', title || ' ' || summary || ' ' || content)",
        &[],
    )
    .await?;
    // PostgreSQL's index is built by the leader from the folded text, as SQLite's was.
    tx.execute("UPDATE articles SET indexed_at = NULL", &[])
        .await?;
    tx.commit().await?;
    Ok(counts)
}

/// A SQLite value as the PostgreSQL column type wants it; `None` when it cannot be.
fn value(v: ValueRef<'_>, ty: &Type) -> Option<Box<dyn ToSql + Sync + Send>> {
    Some(match (v, ty) {
        (ValueRef::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (ValueRef::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (ValueRef::Null, t) if *t == Type::TIMESTAMPTZ => Box::new(None::<std::time::SystemTime>),
        (ValueRef::Null, _) => Box::new(None::<String>),
        (ValueRef::Integer(i), t) if *t == Type::INT8 => Box::new(i),
        (ValueRef::Integer(i), t) if *t == Type::TEXT => Box::new(i.to_string()),
        (ValueRef::Real(f), t) if *t == Type::INT8 => Box::new(f as i64),
        (ValueRef::Text(s), t) if *t == Type::TEXT => {
            Box::new(String::from_utf8_lossy(s).into_owned())
        }
        (ValueRef::Text(s), t) if *t == Type::INT8 => {
            Box::new(std::str::from_utf8(s).ok()?.trim().parse::<i64>().ok()?)
        }
        (ValueRef::Blob(b), t) if *t == Type::BYTEA => Box::new(b.to_vec()),
        _ => return None,
    })
}
