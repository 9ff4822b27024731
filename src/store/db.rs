//! Store stage, database access: one small interface over the two backends, the embedded
//! SQLite file and a shared PostgreSQL, so that every store function is written once and
//! nothing above the store knows which one it runs on.
//!
//! Invariants: SQL is written in the dialect both engines share (numbered `?N` parameters,
//! `RETURNING`, `ON CONFLICT … DO …`, `CASE`, multi-row `VALUES`); the few statements that
//! differ ask [`Connection::dialect`] (or [`Connection::in_list`]). Values cross as
//! integers, floats, text, bytes or null, the only types the schema uses, and lists of
//! texts as parameters. A [`Transaction`] not committed is rolled back when dropped.
//! Both backends are blocking: they are only ever called from blocking code (the async
//! shell goes through `StoreHandle::call`).

use std::collections::HashMap;

pub mod many;
mod pgval;
mod value;

pub use value::*;

/// Which SQL engine a connection speaks, for the few statements written per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("the PostgreSQL connection ended")]
    Gone,
    #[error("cannot connect to PostgreSQL again: {0}")]
    Reconnect(String),
    #[error("query returned no rows")]
    NoRows,
    #[error("column {col}: expected {want}, found {found}")]
    Type {
        col: usize,
        want: &'static str,
        found: &'static str,
    },
}

/// The server's own message when it sent one (`duplicate key value violates …`), not only
/// "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}

pub type Result<T> = std::result::Result<T, DbError>;

/// The advisory lock that article transactions (and feed syncs, pruning, indexing) of
/// several instances sharing a PostgreSQL take in turn: one writer at a time, as SQLite
/// has by itself ([`Connection::write_transaction`]).
pub const WRITE_LOCK: i64 = 7_316_112;

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(pgval::PgConn),
}

/// A connection to either backend.
pub struct Connection {
    inner: Inner,
}

impl Connection {
    pub fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection {
            inner: Inner::Sqlite(conn),
        }
    }

    /// A PostgreSQL session whose client `connect` makes (on the session's own thread, and
    /// again whenever the connection ends).
    pub fn postgres<E: Send + std::fmt::Display + 'static>(
        connect: impl Fn() -> std::result::Result<postgres::Client, E> + Send + 'static,
    ) -> std::result::Result<Connection, E> {
        Ok(Connection {
            inner: Inner::Postgres(pgval::PgConn::start(connect)?),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection itself, for what only SQLite has (pragmas, checkpoints).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// Run a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, p: impl Params) -> Result<usize> {
        let params = p.collect();
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                bind(&mut st, &params)?;
                Ok(st.raw_execute()?)
            }
            Inner::Postgres(c) => c.execute(sql, &params),
        }
    }

    /// Run an `INSERT` into a table keyed by `id`; the new row's id, `None` when the insert
    /// did nothing (`ON CONFLICT … DO NOTHING`). SQLite answers from `last_insert_rowid`
    /// (a `RETURNING` clause costs it a temporary table on every insert); PostgreSQL from
    /// `RETURNING id`.
    pub fn insert(&self, sql: &str, p: impl Params) -> Result<Option<i64>> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let n = self.execute(sql, p)?;
                Ok((n == 1).then(|| c.last_insert_rowid()))
            }
            Inner::Postgres(_) => {
                let sql = format!("{sql} RETURNING id");
                Ok(self
                    .rows(&sql, p, Some(1))?
                    .first()
                    .and_then(|r| r.get(0).ok()))
            }
        }
    }

    /// The rows a query returns, all of them or the first `limit`.
    fn rows(&self, sql: &str, p: impl Params, limit: Option<usize>) -> Result<Vec<Row>> {
        let params = p.collect();
        match &self.inner {
            Inner::Sqlite(c) => {
                let mut st = c.prepare_cached(sql)?;
                bind(&mut st, &params)?;
                let n = st.column_count();
                let mut rows = st.raw_query();
                let mut out = Vec::new();
                while out.len() < limit.unwrap_or(usize::MAX) {
                    let Some(r) = rows.next()? else { break };
                    let values = (0..n)
                        .map(|i| r.get_ref(i).map(Value::from))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    out.push(Row { values });
                }
                Ok(out)
            }
            Inner::Postgres(c) => Ok(c
                .query(sql, &params)?
                .into_iter()
                .take(limit.unwrap_or(usize::MAX))
                .map(|values| Row { values })
                .collect()),
        }
    }

    /// Every row, each read by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        p: impl Params,
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows(sql, p, None)?.iter().map(f).collect()
    }

    /// The first row, read by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        p: impl Params,
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        match self.rows(sql, p, Some(1))?.first() {
            Some(r) => f(r),
            None => Err(DbError::NoRows),
        }
    }

    /// A statement to run several times (every statement is cached, on both backends).
    pub fn prepare<'c>(&'c self, sql: &str) -> Result<Statement<'c>> {
        Ok(Statement {
            conn: self,
            sql: sql.to_string(),
        })
    }

    /// Several statements, no parameters, no results.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.batch(sql),
        }
    }

    /// How a statement tests a value against the list of texts given as its parameter
    /// `n`: `IN (SELECT value FROM json_each(?n))` on SQLite (the list crosses as a JSON
    /// array), `= ANY(?n)` on PostgreSQL (a `text[]`).
    pub fn in_list(&self, n: usize) -> String {
        match self.dialect() {
            Dialect::Sqlite => format!("IN (SELECT value FROM json_each(?{n}))"),
            Dialect::Postgres => format!("= ANY(?{n})"),
        }
    }

    /// Begin a transaction; it is rolled back unless committed.
    pub fn transaction(&self) -> Result<Transaction<'_>> {
        self.execute_batch("BEGIN")?;
        Ok(Transaction {
            conn: self,
            open: true,
        })
    }

    /// Begin a transaction that writes articles (or feeds, pruning, indexing), one writer
    /// at a time, the lock taken as it begins (one round trip) and let go at commit or
    /// rollback: SQLite's write lock (`BEGIN IMMEDIATE`, so that what the transaction
    /// reads is never a snapshot another process has since written past), and on a shared
    /// PostgreSQL an advisory lock the other instances' writes wait on.
    pub fn write_transaction(&self) -> Result<Transaction<'_>> {
        let begin = match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE".to_string(),
            Dialect::Postgres => format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
        };
        if let Err(e) = self.execute_batch(&begin) {
            // The BEGIN may have gone through before the lock failed.
            let _ = self.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(Transaction {
            conn: self,
            open: true,
        })
    }
}

/// A statement's rows, read: each one `Ok` (rusqlite's shape for `query_map`).
pub type Rows<T> = std::iter::Map<std::vec::IntoIter<T>, fn(T) -> Result<T>>;

pub struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    pub fn query_map<T>(
        &mut self,
        p: impl Params,
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Rows<T>> {
        let ok: fn(T) -> Result<T> = Ok;
        Ok(self.conn.query_map(&self.sql, p, f)?.into_iter().map(ok))
    }

    pub fn execute(&mut self, p: impl Params) -> Result<usize> {
        self.conn.execute(&self.sql, p)
    }

    pub fn query_row<T>(&mut self, p: impl Params, f: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        self.conn.query_row(&self.sql, p, f)
    }
}

/// An open transaction; reads and writes go through it as through its connection.
pub struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl Transaction<'_> {
    /// Commit. When COMMIT fails, the transaction is rolled back as it is dropped — unless
    /// the connection broke as the server answered, in which case it may have committed:
    /// every caller's transaction can be done again without harm (keys, `ON CONFLICT`).
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // The error that ended the transaction is already on its way up; a failed
            // rollback leaves nothing half-written either way.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn bind(st: &mut rusqlite::CachedStatement<'_>, params: &[Param<'_>]) -> rusqlite::Result<()> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    for (i, p) in params.iter().enumerate() {
        let v = match *p {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i)),
            Param::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(f)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // Read back with `json_each` (see `Connection::in_list`).
            Param::List(l) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                serde_json::to_string(l).unwrap_or_else(|_| "[]".into()),
            )),
        };
        st.raw_bind_parameter(i + 1, v)?;
    }
    Ok(())
}

impl From<rusqlite::types::ValueRef<'_>> for Value {
    fn from(v: rusqlite::types::ValueRef<'_>) -> Value {
        use rusqlite::types::ValueRef;
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

/// `?N` placeholders written as PostgreSQL's `$N` (outside quoted text), a bare `?` as the
/// next number.
pub(crate) fn to_postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    let mut next = 1;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), _) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        out.push(d);
                    }
                } else {
                    out.push_str(&next.to_string());
                    next += 1;
                }
            }
            (None, _) => out.push(c),
        }
    }
    out
}

/// Prepared statements of one PostgreSQL session, by their SQL text.
pub(crate) type StatementCache = HashMap<String, postgres::Statement>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_postgres_numbers_outside_quotes() {
        assert_eq!(
            to_postgres_sql("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d IN ($1, $2)"
        );
    }

    #[test]
    fn sqlite_round_trip_through_the_shared_interface() {
        let c = Connection::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB, f REAL)")
            .unwrap();
        let tx = c.transaction().unwrap();
        let id: i64 = tx
            .query_row(
                "INSERT INTO t (s, b, f) VALUES (?1, ?2, ?3) RETURNING id",
                params!["é", vec![1u8, 2], 0.5],
                |r| r.get(0),
            )
            .unwrap();
        drop(tx);
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!((id, n), (1, 0), "a dropped transaction is rolled back");
        let tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t (s) VALUES (?1)", [Some("x")])
            .unwrap();
        tx.commit().unwrap();
        let s: Option<String> = c
            .query_row("SELECT s FROM t WHERE s = ?1", ["x"], |r| r.get(0))
            .optional()
            .unwrap()
            .flatten();
        assert_eq!(s.as_deref(), Some("x"));
        assert!(matches!(
            c.query_row("SELECT s FROM t WHERE s = 'nope'", [], |r| r
                .get::<_, String>(0)),
            Err(DbError::NoRows)
        ));
    }
}
