//! Daemon, the Atom feeds over HTTP (contract §5): `GET /feeds/watch/NAME.atom?token=T` and
//! `/feeds/digest/NAME.atom?token=T` for the watches and digests that say `feed = true`,
//! with conditional GET (a weak ETag over the document, Last-Modified from its newest
//! entry, 304) and gzip. Invariants: the token is compared in constant time before the
//! name is even looked at, and an unknown name, an unpublished one, a missing or wrong
//! token all get the same 404 with the same body; the token never reaches a log line nor
//! an error (requests are logged by path, never by query); the store is read through
//! `StoreHandle::call` and the document rendered off the async thread, so no lock is held
//! across an `.await`; the feeds follow the running configuration (reload).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::deliver::Outgoing;
use crate::deliver::atom::{self, FeedMeta, Named};
use crate::store::StoreHandle;
use crate::store::published;

/// The one answer to every request for a feed that is not served: unknown, unpublished,
/// without its token or with a wrong one.
const NOT_FOUND: &str = "not found\n";

/// What the feeds are served from: the running configuration and the token it names.
pub struct Publisher {
    current: RwLock<Arc<Offer>>,
}

struct Offer {
    config: Arc<Config>,
    /// `None`: no feed is published, or the token cannot be read (then every feed is 404).
    token: Option<String>,
}

impl Publisher {
    pub fn new(config: Arc<Config>) -> Publisher {
        Publisher {
            current: RwLock::new(Arc::new(offer(config))),
        }
    }

    /// Serve the feeds of a reloaded configuration (its token read again).
    pub fn update(&self, config: Arc<Config>) {
        let new = Arc::new(offer(config));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = new;
    }

    fn now(&self) -> Arc<Offer> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The configuration with its token read; a token that cannot be read is logged (where it
/// is read from, never its value) and every feed is then 404.
fn offer(config: Arc<Config>) -> Offer {
    let token = match &config.atom.token {
        Some(source) if config.publishes_feeds() => match source.read() {
            Ok(t) if !t.trim().is_empty() => {
                let names: Vec<String> = (config.rules.watches.iter())
                    .filter(|w| w.feed)
                    .map(|w| format!("watch {}", w.name))
                    .chain(
                        (config.digests.iter())
                            .filter(|d| d.feed)
                            .map(|d| format!("digest {}", d.name)),
                    )
                    .collect();
                tracing::info!(feeds = %names.join(", "), "Atom feeds published under /feeds/");
                Some(t.trim().to_string())
            }
            Ok(_) => {
                tracing::error!(
                    "the Atom feeds' token is empty: every feed answers 404 until it is set (then reload)"
                );
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the Atom feeds' token: every feed answers 404 until it can be read (then reload)");
                None
            }
        },
        _ => None,
    };
    Offer { config, token }
}

/// Whether two secrets are equal, in a time that depends on neither: their SHA-256 digests
/// (of one length whatever theirs) are compared byte by byte without stopping early.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

/// The `token` of a query string (the first one), decoded.
fn token_of(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

fn response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r
}

fn not_found() -> Response<Full<Bytes>> {
    let mut r = response(
        StatusCode::NOT_FOUND,
        Bytes::from_static(NOT_FOUND.as_bytes()),
    );
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The feed `named` names, if the configuration publishes it, with its subtitle and the
/// time zone its entries show times in.
fn published_feed(cfg: &Config, named: &Named) -> Option<(String, chrono_tz::Tz)> {
    let zones = Outgoing::new(cfg);
    match named {
        Named::Watch(n) => {
            let w = cfg.rules.watches.iter().find(|w| w.feed && &w.name == n)?;
            Some((
                format!("Stories that alerted for the watch “{n}”: {}", w.query),
                zones.watch_zone(n),
            ))
        }
        Named::Digest(n) => {
            let d = cfg.digests.iter().find(|d| d.feed && &d.name == n)?;
            let watches: Vec<&str> = (cfg.rules.watches.iter())
                .filter(|w| w.alert == crate::config::AlertMode::Digest)
                .filter(|w| {
                    w.digest
                        .as_deref()
                        .or(cfg.digests.first().map(|f| f.name.as_str()))
                        == Some(d.name.as_str())
                })
                .map(|w| w.name.as_str())
                .collect();
            Some((
                format!(
                    "Stories queued for the digest “{n}” (watches: {})",
                    watches.join(", ")
                ),
                zones.digest_zone(n),
            ))
        }
    }
}

/// Where the reader reached us: `[feeds] base_url`, else the request's `Host` (when it is
/// a plain host[:port]), else `[server] listen`.
fn base_for(cfg: &Config, headers: &HeaderMap) -> String {
    if let Some(b) = &cfg.atom.base_url {
        return b.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => atom::base_url(cfg).unwrap_or_default(),
    }
}

/// Answer a request for a feed (a path under `/feeds/`).
pub async fn answer<B>(
    publisher: &Publisher,
    store: &StoreHandle,
    req: &Request<B>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let r = serve(publisher, store, req).await;
    // The path only: the query holds the token.
    tracing::debug!(path = %path, status = r.status().as_u16(), "Atom feed request");
    r
}

async fn serve<B>(
    publisher: &Publisher,
    store: &StoreHandle,
    req: &Request<B>,
) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return not_found();
    }
    let offer = publisher.now();
    let given = token_of(req.uri().query()).unwrap_or_default();
    let (Some(expected), Some(named)) = (&offer.token, atom::parse_path(req.uri().path())) else {
        return not_found();
    };
    if !same_secret(given.as_bytes(), expected.as_bytes()) {
        return not_found();
    }
    let cfg = &offer.config;
    let Some((subtitle, zone)) = published_feed(cfg, &named) else {
        return not_found();
    };
    let owned = named.clone();
    let read = store.call(move |s| published::entries(s.conn(), owned.which(), atom::ENTRIES));
    let entries = match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return unavailable(&format!("reading the store: {e}")),
        Err(_) => return unavailable("the store did not answer within 20 s"),
    };
    let self_url = atom::url(&base_for(cfg, req.headers()), named.which(), expected);
    let gzip = accepts_gzip(req.headers());
    let conditions = Conditions::of(req.headers());
    let made = tokio::task::spawn_blocking(move || {
        let meta = FeedMeta {
            which: named.which(),
            self_url: &self_url,
            subtitle,
        };
        let doc = atom::render_feed(&meta, &entries, zone);
        (doc, atom::updated(&entries))
    })
    .await;
    let (doc, updated) = match made {
        Ok(d) => d,
        Err(e) => return unavailable(&format!("rendering: {e}")),
    };
    let etag = format!("W/\"{}\"", &crate::identify::sha256_hex(&[&doc])[..32]);
    let last_modified = updated.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut r = if conditions.unchanged(&etag, updated) {
        response(StatusCode::NOT_MODIFIED, Bytes::new())
    } else if gzip {
        match tokio::task::spawn_blocking(move || gzipped(doc.as_bytes())).await {
            Ok(Ok(z)) => {
                let mut r = response(StatusCode::OK, Bytes::from(z));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            _ => return unavailable("compressing the feed failed"),
        }
    } else {
        response(StatusCode::OK, Bytes::from(doc))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    for (name, value) in [(header::ETAG, etag), (header::LAST_MODIFIED, last_modified)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    // The URL holds a token: no shared cache keeps the document, no page leaks the URL.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn unavailable(why: &str) -> Response<Full<Bytes>> {
    tracing::error!(error = why, "cannot serve an Atom feed");
    let mut r = response(
        StatusCode::SERVICE_UNAVAILABLE,
        Bytes::from_static(b"feed unavailable, try again later\n"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    r
}

fn gzipped(doc: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(doc)?;
    z.finish()
}

/// Whether the client takes gzip: `Accept-Encoding` names it (or `*`) with a non-zero
/// weight.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                .map_or(1.0, |q| q.parse::<f32>().unwrap_or(0.0));
            matches!(name.as_str(), "gzip" | "x-gzip" | "*") && q > 0.0
        })
}

/// A request's validators.
struct Conditions {
    none_match: Option<String>,
    modified_since: Option<DateTime<Utc>>,
}

impl Conditions {
    fn of(headers: &HeaderMap) -> Conditions {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Conditions {
            none_match: get(header::IF_NONE_MATCH),
            modified_since: get(header::IF_MODIFIED_SINCE)
                .and_then(|d| DateTime::parse_from_rfc2822(d.trim()).ok())
                .map(|d| d.to_utc()),
        }
    }

    /// RFC 9110: `If-None-Match` (weak comparison) decides when present; else
    /// `If-Modified-Since`, to the second.
    fn unchanged(&self, etag: &str, updated: DateTime<Utc>) -> bool {
        let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
        match (&self.none_match, self.modified_since) {
            (Some(tags), _) => tags
                .split(',')
                .any(|t| t.trim() == "*" || opaque(t) == opaque(etag)),
            (None, Some(since)) => updated.timestamp() <= since.timestamp(),
            (None, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole_and_any_length() {
        assert!(same_secret(b"s3cret-token", b"s3cret-token"));
        assert!(!same_secret(b"s3cret-tokem", b"s3cret-token"));
        assert!(!same_secret(b"", b"s3cret-token"));
        assert!(!same_secret(b"s3cret-token-and-more", b"s3cret-token"));
    }

    #[test]
    fn the_token_is_read_from_any_place_in_the_query() {
        assert_eq!(token_of(Some("token=a%2Bb")).as_deref(), Some("a+b"));
        assert_eq!(token_of(Some("x=1&token=t&token=u")).as_deref(), Some("t"));
        assert_eq!(token_of(Some("tokens=t")), None);
        assert_eq!(token_of(Some("%ff%fe=&&==&token")).as_deref(), Some(""));
        assert_eq!(token_of(None), None);
    }

    #[test]
    fn gzip_is_taken_only_when_the_client_says_so() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&h("*")));
        assert!(!accepts_gzip(&h("gzip;q=0, br")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn validators_follow_rfc_9110() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let c = |inm: Option<&str>, ims: Option<&str>| Conditions {
            none_match: inm.map(str::to_string),
            modified_since: ims
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                .map(|d| d.to_utc()),
        };
        let tag = "W/\"abc\"";
        assert!(c(Some("W/\"abc\""), None).unchanged(tag, t));
        assert!(c(Some("\"x\", \"abc\""), None).unchanged(tag, t));
        assert!(c(Some("*"), None).unchanged(tag, t));
        // A stale tag wins over a date that would say unchanged.
        assert!(!c(Some("\"old\""), Some("Wed, 01 May 2024 10:00:00 GMT")).unchanged(tag, t));
        assert!(c(None, Some("Wed, 01 May 2024 10:00:00 GMT")).unchanged(tag, t));
        assert!(!c(None, Some("Wed, 01 May 2024 09:59:59 GMT")).unchanged(tag, t));
        assert!(!c(None, None).unchanged(tag, t));
    }
}
