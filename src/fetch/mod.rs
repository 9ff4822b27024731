//! Fetch stage: one HTTP GET of a feed, polite and bounded. Invariants: a conditional
//! GET whenever validators are known; gzip, brotli and deflate accepted; redirects are
//! followed here, hop by hop (at most `MAX_REDIRECTS`, loops refused), so that a
//! permanent one (301, 308) is known and reported; the body is capped at `max_body`
//! after decompression while it streams, so an oversized body or a compression bomb is
//! refused before it is held; one timeout bounds the whole fetch (every hop and the
//! body), so a server that trickles or never answers costs one `timeout`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header;
use url::Url;

pub mod headers;
mod resolve;

use headers::header_str;
pub use headers::{charset_of, parse_retry_after};

pub const USER_AGENT: &str = concat!("vigie/", env!("CARGO_PKG_VERSION"), " (news-feed monitor)");

/// Redirects followed before a fetch gives up.
pub const MAX_REDIRECTS: usize = 8;

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";
/// What an article page is asked for as.
const ACCEPT_PAGE: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP client setup failed: {0}")]
    Client(String),
    #[error("invalid URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("request failed: {0}")]
    Request(String),
    #[error("no complete answer within the {0:?} timeout")]
    Timeout(Duration),
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (the server asks to retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("HTTP 410 Gone: the feed was removed from {url}")]
    Gone { url: String },
    #[error("body larger than the {limit}-byte limit (max_body, after decompression)")]
    TooLarge { limit: u64 },
    #[error("more than {MAX_REDIRECTS} redirects, the last to {url}")]
    TooManyRedirects { url: String },
    #[error("redirect loop: {url} redirects back to itself")]
    RedirectLoop { url: String },
    #[error("HTTP {status} redirect from {from} without a usable Location")]
    BadRedirect { status: u16, from: String },
}

impl FetchError {
    /// The wait a server asked for (429/503 with `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Validators remembered from the previous successful poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub struct Fetched {
    /// Where the feed now lives if every redirect from the polled URL up to here was
    /// permanent (301/308): the URL to poll from now on. `None` when it did not move or
    /// a temporary redirect (302/303/307) was on the way.
    pub moved_to: Option<String>,
    pub content: Content,
}

#[derive(Debug)]
pub enum Content {
    NotModified,
    Body {
        bytes: Vec<u8>,
        charset: Option<String>,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        validators: Validators,
        /// The URL the body came from after redirects.
        final_url: String,
    },
}

#[derive(Clone)]
pub struct Fetcher {
    /// For `http://` URLs: a client without TLS roots, which costs next to nothing to
    /// build (reading the system's CA certificates is most of building one).
    plain: reqwest::Client,
    /// For `https://` URLs: built with the fetcher when a configured feed needs it, else on
    /// the first HTTPS request (a redirect).
    tls: Arc<OnceLock<reqwest::Client>>,
    timeout: Duration,
}

/// Install the one TLS crypto provider (ring) that reqwest and lettre share.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What both clients share.
fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // Followed by hand, to learn whether a redirect was permanent.
        .redirect(reqwest::redirect::Policy::none())
        // Lookups on threads of their own, not behind parsing on the blocking pool.
        .dns_resolver(resolve::ThreadResolver::new())
        .gzip(true)
        .brotli(true)
        .deflate(true)
}

/// The most memory set aside for a body before it arrives.
const RESERVE_AT_MOST: u64 = 4 << 20;

impl Fetcher {
    /// `timeout` bounds a whole fetch; connecting alone gets at most 10 s of it. With
    /// `tls_now`, the HTTPS client is built at once rather than on first use.
    pub fn new(timeout: Duration, tls_now: bool) -> Result<Fetcher, FetchError> {
        install_crypto_provider();
        let plain = client_builder(timeout)
            .tls_certs_only(std::iter::empty())
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        let fetcher = Fetcher {
            plain,
            tls: Arc::default(),
            timeout,
        };
        if tls_now {
            fetcher.tls_client()?;
        }
        Ok(fetcher)
    }

    /// Whether some of these URLs are fetched over TLS (anything not plainly `http://`
    /// counts as such).
    pub fn needs_tls<'a>(mut urls: impl Iterator<Item = &'a str>) -> bool {
        urls.any(|u| {
            !u.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        })
    }

    fn tls_client(&self) -> Result<&reqwest::Client, FetchError> {
        if let Some(c) = self.tls.get() {
            return Ok(c);
        }
        let c = client_builder(self.timeout)
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(self.tls.get_or_init(|| c))
    }

    /// Fetch a feed, conditionally when `v` holds validators.
    pub async fn fetch(
        &self,
        url: &str,
        v: &Validators,
        max_body: u64,
    ) -> Result<Fetched, FetchError> {
        self.fetch_as(url, v, max_body, ACCEPT).await
    }

    /// Fetch an article's page, under the same rules as a feed (one timeout for the
    /// whole fetch, redirects followed and bounded, the body capped while it streams; no
    /// cookie is kept).
    pub async fn fetch_page(&self, url: &str, max_body: u64) -> Result<Fetched, FetchError> {
        self.fetch_as(url, &Validators::default(), max_body, ACCEPT_PAGE)
            .await
    }

    async fn fetch_as(
        &self,
        url: &str,
        v: &Validators,
        max_body: u64,
        accept: &'static str,
    ) -> Result<Fetched, FetchError> {
        let inner = self.fetch_inner(url, v, max_body, accept);
        match tokio::time::timeout(self.timeout, inner).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch_inner(
        &self,
        url: &str,
        v: &Validators,
        max_body: u64,
        accept: &'static str,
    ) -> Result<Fetched, FetchError> {
        let mut current = parse_http_url(url)?;
        let mut visited = vec![current.clone()];
        let mut permanent = true;
        let mut moved_to = None;
        let mut resp = loop {
            let resp = self.get(&current, v, accept).await?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let target = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| current.join(l.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| FetchError::BadRedirect {
                    status: status.as_u16(),
                    from: current.to_string(),
                })?;
            if visited.contains(&target) {
                return Err(FetchError::RedirectLoop {
                    url: target.to_string(),
                });
            }
            if visited.len() > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects {
                    url: target.to_string(),
                });
            }
            permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            if permanent {
                moved_to = Some(target.to_string());
            }
            visited.push(target.clone());
            current = target;
        };
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched {
                moved_to,
                content: Content::NotModified,
            });
        }
        if status == StatusCode::GONE {
            return Err(FetchError::Gone {
                url: current.to_string(),
            });
        }
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let headers = resp.headers();
        let validators = Validators {
            etag: header_str(headers, header::ETAG),
            last_modified: header_str(headers, header::LAST_MODIFIED),
        };
        let content_type = header_str(headers, header::CONTENT_TYPE);
        let charset = content_type.as_deref().and_then(charset_of);
        // With decompression on, reqwest reports no length for an encoded body, so this
        // is the plain length: refuse before reading a byte.
        if resp.content_length().is_some_and(|n| n > max_body) {
            return Err(FetchError::TooLarge { limit: max_body });
        }
        // Sized once when the length is known (a poll holds dozens of bodies at once;
        // growing by doubling would leave up to half of each unused), within reason
        // should the server promise more than it sends.
        let expected = resp.content_length().unwrap_or(0).min(RESERVE_AT_MOST);
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        // Decompressed chunks: the cap holds after decompression, checked per chunk, so
        // a bomb stops within one chunk of the limit.
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.request_error(e))? {
            if (bytes.len() + chunk.len()) as u64 > max_body {
                return Err(FetchError::TooLarge { limit: max_body });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            moved_to,
            content: Content::Body {
                bytes,
                charset,
                content_type,
                validators,
                final_url: current.to_string(),
            },
        })
    }

    async fn get(
        &self,
        url: &Url,
        v: &Validators,
        accept: &'static str,
    ) -> Result<reqwest::Response, FetchError> {
        let client = match url.scheme() {
            "http" => &self.plain,
            _ => self.tls_client()?,
        };
        let mut req = client.get(url.clone()).header(header::ACCEPT, accept);
        if let Some(etag) = &v.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &v.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        req.send().await.map_err(|e| self.request_error(e))
    }

    fn request_error(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        // reqwest's top-level message is terse ("error sending request"); the cause chain
        // says what actually happened (connection refused, a TLS failure, …).
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = s.source();
        }
        FetchError::Request(msg)
    }
}

fn parse_http_url(url: &str) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::BadUrl {
        url: url.to_string(),
        reason,
    };
    let u = Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad(format!("scheme {} is not http or https", u.scheme())));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_feeds_need_no_tls_client() {
        let no = ["http://a.example/f", "HTTP://b.example/"];
        assert!(!Fetcher::needs_tls(no.into_iter()));
        for odd in [
            "https://a.example/f",
            "HTTPS://b.example/",
            "ftp://c/",
            "http:/d",
            "",
        ] {
            assert!(Fetcher::needs_tls(no.into_iter().chain([odd])), "{odd:?}");
        }
        // Built lazily: a fetcher for plain-HTTP feeds has no HTTPS client until one is used.
        let f = Fetcher::new(Duration::from_secs(5), false).unwrap();
        assert!(f.tls.get().is_none());
        assert!(f.tls_client().is_ok() && f.tls.get().is_some());
        assert!(
            Fetcher::new(Duration::from_secs(5), true)
                .unwrap()
                .tls
                .get()
                .is_some()
        );
    }

    #[test]
    fn user_agent_names_vigie_and_its_version() {
        assert!(USER_AGENT.starts_with(&format!("vigie/{}", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn only_http_urls_are_fetched() {
        assert!(parse_http_url("https://ex.org/feed").is_ok());
        let e = parse_http_url("file:///etc/passwd").unwrap_err();
        assert!(e.to_string().contains("not http"), "{e}");
        assert!(parse_http_url("not a url").is_err());
    }

    #[test]
    fn a_name_lookup_does_not_wait_behind_cpu_work() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // One blocking thread, as busy as parsing keeps the pool during a poll.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let fetched = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                while let Ok((mut sock, _)) = listener.accept().await {
                    let mut buf = [0u8; 1024];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                }
            });
            let _busy = tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(6)));
            let fetcher = Fetcher::new(Duration::from_secs(3), false).unwrap();
            // `localhost` must be looked up (in /etc/hosts): no IP literal.
            let url = format!("http://localhost:{port}/feed");
            fetcher.fetch(&url, &Validators::default(), 1 << 20).await
        });
        rt.shutdown_background();
        match fetched {
            Ok(Fetched {
                content: Content::Body { bytes, .. },
                ..
            }) => assert_eq!(bytes, b"ok"),
            other => panic!("{other:?}"),
        }
    }
}
