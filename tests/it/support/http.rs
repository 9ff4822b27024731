//! A real HTTP/1.1 server on 127.0.0.1:0 for fetch tests: routes answer with a status,
//! headers and a body, honour `If-None-Match` when an ETag is set, and count requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, Default)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub etag: Option<String>,
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            etag: None,
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::default()
        }
    }
}

#[derive(Clone, Default)]
struct State {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>,
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
    let route = state.routes.lock().unwrap().get(&path).cloned();
    let mut route = route.unwrap_or_else(|| Route::status(404));
    if let Some(etag) = &route.etag {
        let inm = headers
            .iter()
            .find(|(k, _)| k == "if-none-match")
            .map(|(_, v)| v.as_str());
        if inm == Some(etag.as_str()) {
            route = Route::status(304);
        } else {
            route.headers.push(("ETag".into(), etag.clone()));
        }
    }
    let reason = match route.status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", route.status);
    for (k, v) in &route.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        route.body.len()
    ));
    sock.write_all(out.as_bytes()).await?;
    sock.write_all(&route.body).await?;
    sock.shutdown().await
}
