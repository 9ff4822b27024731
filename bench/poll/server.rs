//! Loopback feed server for bench/poll/run.sh: standard library only, so that the
//! script compiles it with a bare `rustc -O` and the server, not the tools under test,
//! is never the bottleneck (Python's http.server answers a few thousand requests a
//! second; this one answers tens of thousands).
//!
//!   server FEEDS ITEMS PORT_FILE [pages]
//!
//! Serves /feed/I.xml for I < FEEDS, each an RSS 2.0 feed of ITEMS items, with an ETag
//! and a Last-Modified; a matching conditional GET gets 304. HTTP/1.1 keep-alive.
//! Content is deterministic (seeded by the feed number). Items link to
//! http://bench.example/… (never fetched), or with `pages` to /page/I/J.html on this
//! server: an article page of about 400 words inside a news site's navigation, sidebar
//! and footer.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, RwLock};

const WORDS: &str = "le la les des un une et en sur pour dans avec par ministre gouvernement armée \
ville région frontière élection sommet accord conflit offensive réfugiés aide \
humanitaire économie marché prix pétrole blé sécurité police justice tribunal \
président parlement opposition manifestation grève syndicat école hôpital santé \
climat sécheresse inondation séisme Damas Alep Homs Palmyre Genève Beyrouth Bagdad \
Amman Ankara Téhéran Moscou Washington Bruxelles ONU OTAN UE Daech EI rebelles \
négociations cessez-le-feu trêve convoi frappes aériennes drone victimes civils \
the government said on Tuesday that talks would resume next week in Geneva";
const SYLLABLES: [&str; 13] = [
    "ka", "lo", "mi", "ra", "zu", "ne", "to", "vi", "sa", "do", "ri", "pe", "gu",
];
const LAST_MODIFIED: &str = "Tue, 07 Feb 2017 10:00:00 GMT";
const PUB_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An article page: navigation, the article (about 400 words in paragraphs), a related
/// box, a most-read sidebar and a footer.
fn page(i: usize, j: usize) -> Vec<u8> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0xD6E8_FEB8_6659_FD93 ^ ((i * 1_000_003 + j) as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut para = |n: usize| -> String {
        (0..n)
            .map(|_| {
                if rng.below(100) < 97 {
                    words[rng.below(words.len())].to_string()
                } else {
                    let k = 3 + rng.below(2);
                    (0..k).map(|_| SYLLABLES[rng.below(SYLLABLES.len())]).collect()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let title = para(8);
    let body: Vec<String> = (0..5).map(|_| format!("<p>{}.</p>", escape(&para(80)))).collect();
    let nav: String = (0..12).map(|k| format!("<li><a href=\"/rubrique/{k}\">Rubrique {k}</a></li>")).collect();
    let most_read: String = (0..5).map(|k| format!("<li><a href=\"/a/{k}\">{}</a></li>", escape(&para(7)))).collect();
    format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body>\
         <header><nav><ul>{nav}</ul></nav></header><main><article><h1>{t}</h1>\
         <p class=\"byline\">Par la rédaction</p>{b0}{b1}\
         <section class=\"catcher\"><span>Lire aussi</span> <a href=\"/a/x\">{rel}</a></section>\
         {b2}{b3}{b4}</article><aside class=\"most-read\"><h2>Les plus lus</h2><ol>{most_read}</ol></aside></main>\
         <footer><p>Mentions légales · Contact</p></footer></body></html>",
        t = escape(&title),
        b0 = body[0],
        b1 = body[1],
        b2 = body[2],
        b3 = body[3],
        b4 = body[4],
        rel = escape(&para(9)),
    )
    .into_bytes()
}

fn feed(i: usize, items: usize, pages: Option<u16>) -> Vec<u8> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Bench feed {i}</title><link>http://bench.example/{i}/</link>\
         <description>benchmark</description>"
    );
    for j in 0..items {
        let title: Vec<&str> = (0..8).map(|_| words[rng.below(words.len())]).collect();
        let mut body = Vec::new();
        for _ in 0..80 {
            if rng.below(100) < 97 {
                body.push(words[rng.below(words.len())].to_string());
            } else {
                let n = 3 + rng.below(2);
                body.push((0..n).map(|_| SYLLABLES[rng.below(SYLLABLES.len())]).collect());
            }
        }
        let link = match pages {
            Some(port) => format!("http://127.0.0.1:{port}/page/{i}/{j}.html"),
            None => format!("http://bench.example/{i}/{j}.html"),
        };
        out.push_str(&format!(
            "<item><title>{}</title><link>{link}</link>\
             <guid isPermaLink=\"false\">bench-{i}-{j}</guid><pubDate>{PUB_DATE}</pubDate>\
             <description>{}</description></item>",
            escape(&title.join(" ")),
            escape(&format!("<p>{}</p>", body.join(" ")))
        ));
    }
    out.push_str("</channel></rss>\n");
    out.into_bytes()
}

type Cache = Arc<RwLock<HashMap<usize, Arc<Vec<u8>>>>>;

fn serve(stream: TcpStream, feeds: usize, items: usize, pages: Option<u16>, cache: Cache) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut headers = HashMap::new();
        loop {
            let mut l = String::new();
            if reader.read_line(&mut l)? == 0 {
                return Ok(());
            }
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut parts = request_line.split_whitespace();
        let (_, path, version) = (parts.next(), parts.next().unwrap_or("/"), parts.next());
        let close = version != Some("HTTP/1.1")
            || headers.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let conn = if close { "close" } else { "keep-alive" };
        if let Some((i, j)) = path
            .strip_prefix("/page/")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.split_once('/'))
            .and_then(|(i, j)| Some((i.parse::<usize>().ok()?, j.parse::<usize>().ok()?)))
            .filter(|(i, j)| pages.is_some() && *i < feeds && *j < items)
        {
            let body = page(i, j);
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                 Connection: {conn}\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)?;
            out.flush()?;
            if close {
                return Ok(());
            }
            continue;
        }
        let n = path
            .strip_prefix("/feed/")
            .and_then(|p| p.strip_suffix(".xml"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < feeds);
        let Some(n) = n else {
            write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: {conn}\r\n\r\n")?;
            if close {
                return Ok(());
            }
            continue;
        };
        let etag = format!("\"bench-{n}\"");
        if headers.get("if-none-match") == Some(&etag)
            || headers.get("if-modified-since").map(String::as_str) == Some(LAST_MODIFIED)
        {
            write!(out, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: {conn}\r\n\r\n")?;
        } else {
            let cached = cache.read().ok().and_then(|c| c.get(&n).cloned());
            let body = match cached {
                Some(b) => b,
                None => {
                    let b = Arc::new(feed(n, items, pages));
                    if let Ok(mut c) = cache.write() {
                        c.insert(n, b.clone());
                    }
                    b
                }
            };
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n\
                 Content-Length: {}\r\nETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\n\
                 Connection: {conn}\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)?;
        }
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && !(args.len() == 5 && args[4] == "pages") {
        eprintln!("usage: server FEEDS ITEMS PORT_FILE [pages]");
        std::process::exit(2);
    }
    let feeds: usize = args[1].parse().expect("FEEDS");
    let items: usize = args[2].parse().expect("ITEMS");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    std::fs::write(&args[3], port.to_string()).expect("write the port file");
    let pages = (args.len() == 5).then_some(port);
    let cache: Cache = Arc::default();
    for stream in listener.incoming().flatten() {
        let cache = cache.clone();
        std::thread::spawn(move || {
            let _ = serve(stream, feeds, items, pages, cache);
        });
    }
}
