//! A real SMTP server on 127.0.0.1:0, started inside the test: it speaks enough of
//! RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre, keeps every
//! message it accepts, counts the connections it was given, and can be slowed down
//! (a pause before answering each DATA) to widen a test's window.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl Received {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line.trim_start_matches([' ', '\t']));
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value.map(|v| decode_words(&v))
    }

    /// The header value exactly as sent (RFC 2047 encoded words left encoded).
    pub fn raw_header(&self, name: &str) -> Option<String> {
        let head = self.head();
        head.split("\r\n")
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.trim().to_string())
    }

    /// The header block (before the first blank line).
    pub fn head(&self) -> &str {
        self.data.split("\r\n\r\n").next().unwrap_or("")
    }

    /// The decoded bodies of the MIME parts of this type (e.g. "text/html").
    pub fn parts(&self, content_type: &str) -> Vec<String> {
        let Some(b) = self.head().split("boundary=").nth(1) else {
            return Vec::new();
        };
        let boundary = b
            .trim_start_matches('"')
            .split(['"', ';', '\r'])
            .next()
            .unwrap_or("");
        let mut out = Vec::new();
        for part in self.data.split(&format!("--{boundary}")).skip(1) {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let head = head.to_ascii_lowercase();
            if !head.contains(&format!("content-type: {content_type}")) {
                continue;
            }
            let body = body.trim_end_matches(['\r', '\n', '-']);
            let bytes = if head.contains("content-transfer-encoding: base64") {
                base64(body)
            } else if head.contains("content-transfer-encoding: quoted-printable") {
                quoted_printable(body)
            } else {
                body.as_bytes().to_vec()
            };
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        out
    }

    /// The decoded HTML part.
    pub fn html(&self) -> String {
        self.parts("text/html").concat()
    }

    /// The decoded plain-text part.
    pub fn text(&self) -> String {
        self.parts("text/plain").concat()
    }
}

/// Decode RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); the white space
/// between two encoded words is dropped, as the RFC says.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, word) in v.split(' ').enumerate() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut p = w.splitn(3, '?');
                let (_charset, enc, text) = (p.next()?, p.next()?, p.next()?);
                let bytes = match enc {
                    "b" | "B" => base64(text),
                    "q" | "Q" => quoted_printable(&text.replace('_', " ")),
                    _ => return None,
                };
                Some(String::from_utf8_lossy(&bytes).into_owned())
            });
        match decoded {
            Some(d) => {
                if i > 0 && !last_encoded {
                    out.push(' ');
                }
                out.push_str(&d);
                last_encoded = true;
            }
            None => {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word);
                last_encoded = false;
            }
        }
    }
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn base64(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = ABC.iter().position(|&x| x == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::start_on("127.0.0.1:0").await
    }

    /// Start on a given address (to bring a server back on the port it had).
    pub async fn start_on(addr: &str) -> SmtpServer {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (r, c, d) = (received.clone(), connections.clone(), delay_ms.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (r, d) = (r.clone(), d.clone());
                tokio::spawn(async move {
                    let _ = session(sock, r, d).await;
                });
            }
        });
        SmtpServer {
            addr,
            received,
            connections,
            delay_ms,
            task,
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// How many SMTP connections clients opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Pause this long before answering each DATA (a slow server: the message is only
    /// kept once its final dot arrives, as a real server commits it).
    pub fn set_delay(&self, d: Duration) {
        self.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Each Message-ID received with the alert it carried (recipients, subject); panics,
    /// saying `context`, when one Message-ID carried two different alerts.
    pub fn alerts_by_message_id(
        &self,
        context: &str,
    ) -> std::collections::HashMap<String, (String, String)> {
        let mut by_id = std::collections::HashMap::new();
        for m in self.messages() {
            let id = m.header("Message-ID").expect("a Message-ID");
            let alert = (m.to.join(","), m.header("Subject").unwrap_or_default());
            if let Some(prev) = by_id.insert(id.clone(), alert.clone()) {
                assert_eq!(prev, alert, "{context}: Message-ID {id} carried two alerts");
            }
        }
        by_id
    }

    /// The Message-ID of every message received, in order (duplicates kept).
    pub fn message_ids(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|m| m.header("Message-ID"))
            .collect()
    }
}

async fn session(
    sock: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    delay_ms: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r);
    w.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 localhost\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = addr_of(&cmd[10..]);
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(addr_of(&cmd[8..]));
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            let delay = delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            received.lock().unwrap().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            w.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

fn addr_of(arg: &str) -> String {
    let a = arg.trim();
    let a = a.split_whitespace().next().unwrap_or(a);
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}
