//! A real HTTP/1.1 receiver on 127.0.0.1:0 for channel tests: it records every request whole
//! (method, path, headers, body) and answers each path from a script (500, then 429 with
//! Retry-After, then 200…), 200 once the script is spent. It counts repeats of an
//! idempotency key, as a receiver that drops them would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

#[derive(Default)]
struct State {
    received: Vec<Received>,
    scripts: HashMap<String, Vec<Answer>>,
    /// Held before each answer (after the request is recorded).
    delay: std::time::Duration,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        Receiver { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answer the next requests to `path` (its path without the query) with these, in order.
    pub fn script(&self, path: &str, answers: Vec<Answer>) {
        let mut s = self.state.lock().unwrap();
        s.scripts.insert(path.to_owned(), answers);
    }

    /// Hold every answer back this long, so that a kill can land while one is in flight.
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The requests to paths starting with `prefix`.
    pub fn to(&self, prefix: &str) -> Vec<Received> {
        (self.received().into_iter())
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    loop {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(k) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break k + 4;
            }
            let n = sock.read(&mut chunk).await?;
            if n == 0 || buf.len() > 1 << 20 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let first: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        let (method, path) = (
            first.first().copied().unwrap_or("").to_owned(),
            first.get(1).copied().unwrap_or("/").to_owned(),
        );
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end..].to_vec();
        while body.len() < len {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
        let route = path.split('?').next().unwrap_or("").to_owned();
        let (status, extra, answer, delay) = {
            let mut s = state.lock().unwrap();
            let delay = s.delay;
            s.received.push(Received {
                method,
                path,
                headers,
                body,
                at: std::time::Instant::now(),
            });
            let (status, extra, answer) = match s.scripts.get_mut(&route) {
                Some(list) if !list.is_empty() => list.remove(0),
                _ => (200, Vec::new(), "{\"ok\":true}".to_owned()),
            };
            (status, extra, answer, delay)
        };
        tokio::time::sleep(delay).await;
        let mut out = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            answer.len()
        );
        for (k, v) in extra {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&answer);
        sock.write_all(out.as_bytes()).await?;
    }
}
