//! A real HTTP/1.1 server on 127.0.0.1:0 for fetch tests: routes answer with a status,
//! headers and a body, honour `If-None-Match` / `If-Modified-Since` when an ETag or a
//! Last-Modified is set, and count requests. Hostile routes stream a huge body without
//! holding it, or trickle one byte at a time; `delay` holds the answer back, and the
//! server records how many requests it was serving at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, Default)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Instead of `body`: a body produced while it is sent.
    pub stream: Option<Stream>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

#[derive(Clone, Debug)]
pub enum Stream {
    /// `len` zero bytes, written in 64 KiB blocks; with or without a Content-Length.
    Zeros { len: u64, content_length: bool },
    /// A Content-Length of `len`, then one byte every `every`.
    Trickle { len: u64, every: Duration },
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            ..Route::default()
        }
    }

    /// A redirect with this status to `location`.
    pub fn redirect(status: u16, location: &str) -> Route {
        Route {
            status,
            headers: vec![("Location".into(), location.into())],
            ..Route::default()
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::default()
        }
    }
}

/// A request's path and its headers (names lower-cased).
type Request = (String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct State {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<Mutex<Vec<Request>>>,
    active: Arc<AtomicUsize>,
    max_active: Arc<AtomicUsize>,
}

pub struct HttpServer {
    pub addr: SocketAddr,
    state: State,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    pub async fn start() -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = State::default();
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        HttpServer { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), route);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The most requests this server was answering at the same time.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }

    /// Headers of every request to `path`, in order.
    pub fn requests(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

async fn serve(mut sock: TcpStream, state: State) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    state
        .requests
        .lock()
        .unwrap()
        .push((path.clone(), headers.clone()));
    answer(&mut sock, &state, Serving::start(&state), &path, &headers).await?;
    sock.shutdown().await
}

/// A request counted as being served, from its arrival until the server sends its whole
/// answer (or until the end of a streamed one). Counting until the write has returned
/// instead would let the client, which has all the bytes by then and may send its next
/// request at once, overlap with a handler that has not yet counted itself out.
struct Serving(Arc<AtomicUsize>);

impl Serving {
    fn start(state: &State) -> Serving {
        let now = state.active.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_active.fetch_max(now, Ordering::SeqCst);
        Serving(state.active.clone())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn answer(
    sock: &mut TcpStream,
    state: &State,
    serving: Serving,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<()> {
    let route = state.routes.lock().unwrap().get(path).cloned();
    let mut route = route.unwrap_or_else(|| Route::status(404));
    if let Some(d) = route.delay {
        tokio::time::sleep(d).await;
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let not_modified = route
        .etag
        .as_ref()
        .is_some_and(|e| header("if-none-match").as_ref() == Some(e))
        || route
            .last_modified
            .as_ref()
            .is_some_and(|lm| header("if-modified-since").as_ref() == Some(lm));
    if not_modified {
        route = Route::status(304);
    } else {
        if let Some(etag) = &route.etag {
            route.headers.push(("ETag".into(), etag.clone()));
        }
        if let Some(lm) = &route.last_modified {
            route.headers.push(("Last-Modified".into(), lm.clone()));
        }
    }
    let reason = match route.status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", route.status);
    for (k, v) in &route.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    match &route.stream {
        None => {
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                route.body.len()
            ));
            let mut whole = out.into_bytes();
            whole.extend_from_slice(&route.body);
            drop(serving);
            sock.write_all(&whole).await?;
        }
        Some(Stream::Zeros {
            len,
            content_length,
        }) => {
            if *content_length {
                out.push_str(&format!("Content-Length: {len}\r\n"));
            }
            out.push_str("Connection: close\r\n\r\n");
            sock.write_all(out.as_bytes()).await?;
            let block = vec![0u8; 64 * 1024];
            let mut left = *len;
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                sock.write_all(&block[..n]).await?;
                left -= n as u64;
            }
        }
        Some(Stream::Trickle { len, every }) => {
            out.push_str(&format!(
                "Content-Length: {len}\r\nConnection: close\r\n\r\n"
            ));
            sock.write_all(out.as_bytes()).await?;
            for _ in 0..*len {
                sock.write_all(b" ").await?;
                sock.flush().await?;
                tokio::time::sleep(*every).await;
            }
        }
    }
    Ok(())
}
