//! Store stage, database access for PostgreSQL: one session on a thread of its own,
//! statements prepared once per session, values converted to and from the few types the schema uses.
//!
//! Invariants: an integer parameter is written as the type the server inferred for it
//! (`bigint`, `integer`, `double precision`, `boolean` or text) and one out of range is an
//! error, never a wrapped value; a list is written only as an array of text; results are
//! read by their column type, and a type the schema does not use is an error that names it.

use std::error::Error;

use bytes::BytesMut;
use postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

use super::{Param, Result, StatementCache, Value, to_postgres_sql};

/// What the session's thread is asked to do.
enum Request {
    Execute(String, Vec<Owned>),
    Query(String, Vec<Owned>),
    Batch(String),
}

/// A parameter on its way to the session's thread.
#[derive(Debug)]
enum Owned {
    One(Value),
    List(Vec<String>),
}

enum Reply {
    Count(usize),
    Rows(Vec<Vec<Value>>),
    Done,
}

/// A PostgreSQL session on a thread of its own. The `postgres` client runs a runtime of
/// its own that must not start inside tokio's: the session's thread never is, so the store
/// can be called from anywhere it can be with SQLite (blocking threads, one-shot commands).
///
/// A connection that ended (the server restarted, the network dropped) is made again at
/// the next request, unless a transaction was open on it: that transaction's statements
/// fail until it is rolled back (its work is lost with the connection, never half-done on
/// a new one). What belonged to the old session (advisory locks: leadership, outbox
/// claims) is gone; the old session itself, should the server still keep it (a network
/// cut rather than a restart), is ended so that its locks go too. Attempts are at least
/// [`RECONNECT_EVERY`] apart: meanwhile requests fail at once rather than wait.
pub(crate) struct PgConn {
    requests: std::sync::mpsc::Sender<Request>,
    replies: std::sync::mpsc::Receiver<Result<Reply>>,
}

const RECONNECT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl PgConn {
    /// Start the session's thread with a client `connect` makes there (and makes again
    /// when the connection ends).
    pub(crate) fn start<E: Send + std::fmt::Display + 'static>(
        connect: impl Fn() -> std::result::Result<postgres::Client, E> + Send + 'static,
    ) -> std::result::Result<PgConn, E> {
        let (requests, inbox) = std::sync::mpsc::channel::<Request>();
        let (outbox, replies) = std::sync::mpsc::channel();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("vigie-postgres".into())
            .spawn(move || {
                let mut client = match connect() {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut session = Session {
                    backend: backend_pid(&mut client),
                    client,
                    statements: StatementCache::new(),
                    in_transaction: false,
                    connect: Box::new(move || connect().map_err(|e| e.to_string())),
                    tried: None,
                };
                // Ends when the store (and so the sender) is dropped.
                for req in inbox {
                    if outbox.send(session.serve(req)).is_err() {
                        break;
                    }
                }
            })
            .expect("the operating system starts a thread");
        match ready.recv() {
            Ok(Ok(())) => Ok(PgConn { requests, replies }),
            Ok(Err(e)) => Err(e),
            Err(_) => unreachable!("the session's thread answers before it ends"),
        }
    }

    fn ask(&self, req: Request) -> Result<Reply> {
        if self.requests.send(req).is_err() {
            return Err(super::DbError::Gone);
        }
        self.replies.recv().map_err(|_| super::DbError::Gone)?
    }

    pub(super) fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<usize> {
        match self.ask(Request::Execute(sql.to_string(), owned(params)))? {
            Reply::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    pub(super) fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Value>>> {
        match self.ask(Request::Query(sql.to_string(), owned(params)))? {
            Reply::Rows(r) => Ok(r),
            _ => Ok(Vec::new()),
        }
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.ask(Request::Batch(sql.to_string())).map(|_| ())
    }
}

fn owned(params: &[Param<'_>]) -> Vec<Owned> {
    // PostgreSQL's text cannot hold NUL, which a hostile feed may send.
    fn text(s: &str) -> String {
        if s.contains('\0') {
            s.replace('\0', "")
        } else {
            s.to_string()
        }
    }
    params
        .iter()
        .map(|p| match *p {
            Param::Null => Owned::One(Value::Null),
            Param::Int(i) => Owned::One(Value::Int(i)),
            Param::Real(f) => Owned::One(Value::Real(f)),
            Param::Text(s) => Owned::One(Value::Text(text(s))),
            Param::Blob(b) => Owned::One(Value::Blob(b.to_vec())),
            Param::List(l) => Owned::List(l.iter().map(|s| text(s)).collect()),
        })
        .collect()
}

type Connect = Box<dyn Fn() -> std::result::Result<postgres::Client, String> + Send>;

struct Session {
    client: postgres::Client,
    /// The server process of this connection (to end it, should the connection be lost
    /// while the server keeps it).
    backend: Option<i32>,
    statements: StatementCache,
    /// A BEGIN was sent and neither COMMIT nor ROLLBACK since.
    in_transaction: bool,
    connect: Connect,
    /// When the connection was last made again, or tried.
    tried: Option<std::time::Instant>,
}

fn backend_pid(client: &mut postgres::Client) -> Option<i32> {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .ok()
        .map(|r| r.get(0))
}

impl Session {
    fn serve(&mut self, req: Request) -> Result<Reply> {
        let ends = matches!(&req, Request::Batch(sql) if sql == "COMMIT" || sql == "ROLLBACK");
        if self.client.is_closed() {
            if self.in_transaction {
                // The server rolled the transaction back when the connection ended.
                self.in_transaction = !ends;
                return match &req {
                    Request::Batch(sql) if sql == "ROLLBACK" => Ok(Reply::Done),
                    _ => Err(super::DbError::Gone),
                };
            }
            if self.tried.is_some_and(|t| t.elapsed() < RECONNECT_EVERY) {
                return Err(super::DbError::Reconnect("trying again shortly".into()));
            }
            self.tried = Some(std::time::Instant::now());
            self.client = (self.connect)().map_err(super::DbError::Reconnect)?;
            self.statements.clear();
            if let Some(old) = self.backend {
                // Refused or pointless after a restart (the process is gone): either is fine.
                let _ = self.client.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1",
                    &[&old],
                );
            }
            self.backend = backend_pid(&mut self.client);
            tracing::warn!("the PostgreSQL connection was made again");
        }
        let begins = matches!(&req, Request::Batch(sql) if sql.starts_with("BEGIN"));
        let reply = self.run(req);
        if ends {
            self.in_transaction = false;
        } else if begins && reply.is_ok() {
            self.in_transaction = true;
        }
        reply
    }

    fn run(&mut self, req: Request) -> Result<Reply> {
        match req {
            Request::Execute(sql, params) => {
                let st = self.statement(&sql)?;
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
                let n = self.client.execute(&st, &refs)?;
                Ok(Reply::Count(usize::try_from(n).unwrap_or(usize::MAX)))
            }
            Request::Query(sql, params) => {
                let st = self.statement(&sql)?;
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
                let rows = self.client.query(&st, &refs)?;
                let rows = rows
                    .iter()
                    .map(|r| (0..r.len()).map(|i| value(r, i)).collect())
                    .collect::<Result<_>>()?;
                Ok(Reply::Rows(rows))
            }
            Request::Batch(sql) => {
                self.client.batch_execute(&sql)?;
                Ok(Reply::Done)
            }
        }
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&to_postgres_sql(sql))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

fn value(r: &postgres::Row, i: usize) -> Result<Value> {
    let ty = r.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => r
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::INT2 => r
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::BOOL => r
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => r
            .try_get::<_, Option<f32>>(i)?
            .map(|v| Value::Real(v.into())),
        Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
        _ => r.try_get::<_, Option<String>>(i)?.map(Value::Text),
    };
    Ok(v.unwrap_or(Value::Null))
}

type BoxError = Box<dyn Error + Sync + Send>;

fn out_of_range(v: i64, ty: &Type) -> BoxError {
    format!("{v} does not fit a PostgreSQL {ty}").into()
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            &Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)
                    .map_err(|_| out_of_range(v, ty))?
                    .to_sql(ty, out),
                Type::INT2 => i16::try_from(v)
                    .map_err(|_| out_of_range(v, ty))?
                    .to_sql(ty, out),
                Type::FLOAT8 => (v as f64).to_sql(ty, out),
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            &Value::Real(v) => match *ty {
                Type::FLOAT4 => (v as f32).to_sql(ty, out),
                Type::FLOAT8 => v.to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl ToSql for Owned {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self {
            Owned::One(v) => v.to_sql(ty, out),
            // The array's own conversion panics on any other type: refuse it here instead.
            Owned::List(l) if matches!(ty.kind(), Kind::Array(m) if *m == Type::TEXT) => {
                l.to_sql(ty, out)
            }
            Owned::List(_) => Err(format!("a list of texts where PostgreSQL expects {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
