//! Health and metrics over HTTP (`[server] listen`): `GET /healthz` answers 200 when the
//! scheduler is alive (its heartbeat is recent) and the database takes a write, 503 with
//! the reason otherwise; `GET /metrics` is the Prometheus text format; paths under
//! `/feeds/` are the Atom feeds (`publish`). The server shares the daemon's shutdown
//! future and never touches the pipeline's state but to read it; it logs no request's
//! query string (a feed's holds its token).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::publish::Publisher;
use crate::store::StoreHandle;

/// What `/healthz` looks at. The daemon beats the heart at every step of its loop.
pub struct Health {
    heartbeat: AtomicI64,
    /// This instance among the others, as its last heartbeat in the database saw it.
    coordination: std::sync::Mutex<crate::store::instance::Coordination>,
    /// A heartbeat older than this means the scheduler is stuck.
    pub stale_after: Duration,
    pub store: StoreHandle,
}

impl Health {
    pub fn new(store: StoreHandle, stale_after: Duration) -> Health {
        Health {
            heartbeat: AtomicI64::new(chrono::Utc::now().timestamp()),
            coordination: Default::default(),
            stale_after,
            store,
        }
    }

    pub fn beat(&self) {
        self.heartbeat
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Keep what the instance's last heartbeat in the database saw.
    pub fn set_coordination(&self, c: crate::store::instance::Coordination) {
        crate::daemon::metrics::global().set_coordination(&c);
        *self.coordination.lock().unwrap_or_else(|p| p.into_inner()) = c;
    }

    /// This instance's role, leases and the others it sees, one fact per line.
    pub fn describe(&self) -> String {
        let c = self
            .coordination
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(name) = &c.name else {
            return "role: leader (the only instance: SQLite store)\n".into();
        };
        let mut out = format!(
            "instance: {name}\nrole: {}\nleases: {}\n",
            if c.leads { "leader" } else { "follower" },
            c.leases
        );
        for p in c.peers.iter().filter(|p| &p.name != name) {
            out.push_str(&format!(
                "peer: {} ({}, {} leases, seen {:.0}s ago)\n",
                p.name,
                if p.leads { "leader" } else { "follower" },
                p.leases,
                p.seen_secs_ago
            ));
        }
        out
    }

    /// The scheduler beat recently enough.
    pub fn is_fresh(&self) -> bool {
        let age = chrono::Utc::now().timestamp() - self.heartbeat.load(Ordering::Relaxed);
        age <= self.stale_after.as_secs() as i64
    }

    /// `Ok` when healthy, else why not.
    pub async fn check(&self) -> Result<(), String> {
        if !self.is_fresh() {
            let age = chrono::Utc::now().timestamp() - self.heartbeat.load(Ordering::Relaxed);
            return Err(format!("scheduler silent for {age}s"));
        }
        let write = self.store.call(|s| s.touch_health());
        match tokio::time::timeout(Duration::from_secs(5), write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("database not writable: {e}")),
            Err(_) => Err("database did not answer within 5s".into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Bind now (so a bad address fails at start-up), then serve until `shutdown`.
pub async fn bind(addr: &str) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })
}

pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    feeds: Arc<Publisher>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let (health, feeds) = (health.clone(), feeds.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, health.clone(), feeds.clone()));
            let conn = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "health connection ended with an error");
            }
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    health: Arc<Health>,
    feeds: Arc<Publisher>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path().starts_with("/feeds/") {
        return Ok(super::publish::answer(&feeds, &health.store, &req).await);
    }
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => match health.check().await {
            Ok(()) => (
                StatusCode::OK,
                "text/plain",
                format!("ok\n{}", health.describe()),
            ),
            Err(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("unhealthy: {why}\n"),
            ),
        },
        (&Method::GET, "/metrics") => {
            if let Ok(Ok((p, s, f))) = tokio::time::timeout(
                Duration::from_secs(5),
                health.store.call(|s| crate::store::outbox::counts(&s.conn)),
            )
            .await
            {
                crate::daemon::metrics::global().set_deliveries(p, s, f);
            }
            (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                crate::daemon::metrics::global().render(),
            )
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /healthz or /metrics\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    Ok(resp)
}
