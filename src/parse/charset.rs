//! Parse stage: decide a feed document's character encoding and hand the parser UTF-8.
//! Order of authority: a byte-order mark, then the HTTP `Content-Type` charset, then the
//! XML declaration, then a sniff (valid UTF-8 stays UTF-8, anything else is read as
//! windows-1252, the web's de-facto default); a BOM-less UTF-16 or UTF-32 document is
//! recognised by its zero bytes (XML 1.0 Appendix F). A label that lies is not believed:
//! a document declared UTF-8 whose bytes are not (windows-1252 sent as UTF-8, a common
//! server default) is read as windows-1252 unless most of it is UTF-8. The parser gets
//! one XML declaration, which names UTF-8: later ones (documents pasted together) are
//! dropped. Never fails: undecodable bytes become U+FFFD. Pure.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Return the document as UTF-8 bytes with its XML declaration saying so.
pub fn to_parseable<'a>(bytes: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    let (charset, bom_len) = detect(bytes, http_charset);
    let body = &bytes[bom_len..];
    let encoding = match charset {
        Charset::Utf32 { big_endian } => {
            return owned(relabel(decode_utf32(body, big_endian)));
        }
        Charset::Encoding(e) => e,
    };
    if encoding == UTF_8 {
        if let Ok(text) = std::str::from_utf8(body) {
            if later_declaration(body).is_some() {
                return owned(relabel(text.to_string()));
            }
            return match demoronize(text) {
                Cow::Borrowed(_) if bom_len == 0 => Cow::Borrowed(bytes),
                Cow::Borrowed(_) => Cow::Borrowed(body),
                Cow::Owned(fixed) => Cow::Owned(fixed.into_bytes()),
            };
        }
        // Declared UTF-8 but is not: mostly UTF-8 with a few bad bytes is repaired;
        // anything else is what such a server sends, windows-1252.
        if mostly_utf8(body) {
            return owned(relabel(String::from_utf8_lossy(body).into_owned()));
        }
        let (text, _) = WINDOWS_1252.decode_without_bom_handling(body);
        return owned(relabel(text.into_owned()));
    }
    let (text, _) = encoding.decode_without_bom_handling(body);
    owned(relabel(text.into_owned()))
}

/// Whether bytes that are not valid UTF-8 hold more well-formed multi-byte sequences
/// than malformed ones.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        bad += usize::from(!chunk.invalid().is_empty());
    }
    good > bad
}

/// Where a declaration other than the document's own (the one it starts with, white
/// space aside) starts, if any.
fn later_declaration(bytes: &[u8]) -> Option<usize> {
    let own = bytes.iter().position(|b| !b.is_ascii_whitespace());
    memchr::memmem::find_iter(bytes, b"<?xml").find(|&at| {
        Some(at) != own
            && bytes
                .get(at + 5)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'?')
    })
}

fn owned(text: String) -> Cow<'static, [u8]> {
    match demoronize(&text) {
        Cow::Owned(fixed) => Cow::Owned(fixed.into_bytes()),
        Cow::Borrowed(_) => Cow::Owned(text.into_bytes()),
    }
}

/// C1 control characters (U+0080–U+009F) never occur in real text: they are windows-1252
/// punctuation (’ “ ” – …) that went through a Latin-1 decoder somewhere upstream, or
/// were written as character references (`&#146;`). Read them as what they meant, as
/// browsers (for references) and feedparser do.
fn demoronize(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    // In UTF-8, every C1 control is 0xC2 followed by 0x80..=0x9F.
    let has_c1 = memchr::memchr2_iter(0xC2, b'&', b).any(|i| {
        matches!(
            (b[i], b.get(i + 1)),
            (0xC2, Some(0x80..=0x9F)) | (b'&', Some(b'#'))
        )
    });
    if !has_c1 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '&'
            && let Some((ch, len)) = c1_reference(rest)
        {
            out.push(ch);
            rest = &rest[len..];
            continue;
        }
        out.push(c1_meaning(c));
        rest = &rest[c.len_utf8()..];
    }
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// The windows-1252 character a C1 control stands for (five are unassigned: kept).
fn c1_meaning(c: char) -> char {
    match u8::try_from(u32::from(c)) {
        Ok(b @ 0x80..=0x9F) => {
            let byte = [b];
            let (s, _) = WINDOWS_1252.decode_without_bom_handling(&byte);
            s.chars().next().unwrap_or(c)
        }
        _ => c,
    }
}

/// `&#146;` or `&#x92;` at the start of `s`, naming a C1 control: its meaning and the
/// reference's length.
fn c1_reference(s: &str) -> Option<(char, usize)> {
    let body = s.strip_prefix("&#")?;
    let end = body.find(';').filter(|e| *e <= 8)?;
    let digits = &body[..end];
    let n = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u32>().ok()?,
    };
    let c = char::from_u32(n).filter(|_| (0x80..=0x9F).contains(&n))?;
    let meant = c1_meaning(c);
    (meant != c).then_some((meant, end + 3))
}

/// A character encoding a feed may come in: the WHATWG ones encoding_rs knows, plus
/// UTF-32, which XML allows and encoding_rs does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Encoding(&'static Encoding),
    Utf32 { big_endian: bool },
}

impl Charset {
    pub fn name(self) -> &'static str {
        match self {
            Charset::Encoding(e) => e.name(),
            Charset::Utf32 { big_endian: true } => "UTF-32BE",
            Charset::Utf32 { big_endian: false } => "UTF-32LE",
        }
    }
}

/// The encoding the document is read in, and the length of its byte-order mark.
pub fn detect(bytes: &[u8], http_charset: Option<&str>) -> (Charset, usize) {
    // UTF-32 marks first: FF FE 00 00 also starts a UTF-16LE mark.
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] => return (Charset::Utf32 { big_endian: true }, 4),
        [0xFF, 0xFE, 0x00, 0x00, ..] => return (Charset::Utf32 { big_endian: false }, 4),
        _ => {}
    }
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        return (Charset::Encoding(enc), len);
    }
    // No mark: XML 1.0 Appendix F. A document that starts with "<?" in a wide encoding
    // says so by its zero bytes, whatever a label claims.
    match bytes {
        [0x00, 0x00, 0x00, 0x3C, ..] => return (Charset::Utf32 { big_endian: true }, 0),
        [0x3C, 0x00, 0x00, 0x00, ..] => return (Charset::Utf32 { big_endian: false }, 0),
        [0x00, 0x3C, 0x00, 0x3F, ..] => return (Charset::Encoding(encoding_rs::UTF_16BE), 0),
        [0x3C, 0x00, 0x3F, 0x00, ..] => return (Charset::Encoding(encoding_rs::UTF_16LE), 0),
        _ => {}
    }
    let declared = http_charset
        .and_then(|c| Encoding::for_label(c.trim().trim_matches(['"', '\'']).as_bytes()))
        .or_else(|| xml_declared(bytes).and_then(|l| Encoding::for_label(l.as_bytes())));
    let enc = match declared {
        // A UTF-16 label on a document that reads as ASCII (no zero bytes, checked
        // above) is a lie seen in the wild; trust the bytes.
        Some(enc)
            if (enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE)
                && looks_ascii(bytes) =>
        {
            sniff(bytes)
        }
        Some(enc) => enc,
        None => sniff(bytes),
    };
    (Charset::Encoding(enc), 0)
}

/// A web page's bytes as text. Order of authority (as browsers read it): a byte-order
/// mark, the HTTP `Content-Type` charset, a `<meta charset>` (or `http-equiv`) in the
/// first 1,024 bytes, then the sniff: valid UTF-8 stays UTF-8, anything else is
/// windows-1252. Never fails: undecodable bytes become U+FFFD.
pub fn html_to_utf8(bytes: &[u8], http_charset: Option<&str>) -> String {
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[len..])
            .0
            .into_owned();
    }
    let label = |l: &str| Encoding::for_label(l.trim().trim_matches(['"', '\'']).as_bytes());
    let enc = http_charset
        .and_then(label)
        .or_else(|| meta_charset(bytes).and_then(|l| label(&l)))
        // A page cannot be UTF-16 without a mark (HTML's prescan says the same).
        .filter(|e| *e != encoding_rs::UTF_16LE && *e != encoding_rs::UTF_16BE)
        .unwrap_or_else(|| sniff(bytes));
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// The charset a `<meta>` declares in the first 1,024 bytes: `charset=…` inside a meta
/// tag, whether `<meta charset="…">` or `content="text/html; charset=…"`.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = head[from..].find("<meta") {
        let start = from + at;
        let end = head[start..].find('>').map_or(head.len(), |e| start + e);
        let tag = &head[start..end];
        if let Some(pos) = tag.find("charset") {
            let rest = tag[pos + 7..].trim_start().strip_prefix('=')?.trim_start();
            let value: String = rest
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
                .collect();
            return (!value.is_empty()).then_some(value);
        }
        from = end;
    }
    None
}

/// Undeclared: valid UTF-8 stays UTF-8, anything else is the web's default.
fn sniff(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        UTF_8
    } else {
        WINDOWS_1252
    }
}

fn decode_utf32(bytes: &[u8], big_endian: bool) -> String {
    let mut s = String::with_capacity(bytes.len() / 4);
    for c in bytes.chunks(4) {
        let cp = match <[u8; 4]>::try_from(c) {
            Ok(b) if big_endian => u32::from_be_bytes(b),
            Ok(b) => u32::from_le_bytes(b),
            Err(_) => 0xFFFD, // a truncated last unit
        };
        s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
    }
    s
}

fn looks_ascii(bytes: &[u8]) -> bool {
    bytes.iter().take(256).all(|b| *b != 0)
}

/// The `encoding="…"` of an XML declaration at the start of the document.
fn xml_declared(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let start = head.windows(5).position(|w| w == b"<?xml")?;
    let end = start + head[start..].windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[start..end]).ok()?;
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Rewrite the XML declaration's encoding to UTF-8 (the text now is UTF-8), and drop
/// any later declaration (one in the middle of a document is not XML, and may derail
/// the parser's decoder).
fn relabel(mut text: String) -> String {
    while let Some(at) = later_declaration(text.as_bytes()) {
        let end = text[at..].find("?>").map_or(text.len(), |e| at + e + 2);
        text.replace_range(at..end, "");
    }
    let head = text.floor_char_boundary(512.min(text.len()));
    let Some(start) = text[..head].find("<?xml") else {
        return text;
    };
    let Some(end) = text[start..].find("?>").map(|e| start + e) else {
        return text;
    };
    let decl = &text[start..end];
    if let Some(pos) = decl.find("encoding") {
        let after = start + pos + 8;
        let rest = &text[after..end];
        if let Some(q1) = rest.find(['"', '\'']) {
            let quote = rest.as_bytes()[q1] as char;
            if let Some(q2) = rest[q1 + 1..].find(quote) {
                let value_start = after + q1 + 1;
                text.replace_range(value_start..value_start + q2, "UTF-8");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8], http: Option<&str>) -> String {
        String::from_utf8(to_parseable(bytes, http).into_owned()).unwrap()
    }

    #[test]
    fn prolog_charset_is_applied_and_relabelled() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Gen\xe8ve</a>";
        assert_eq!(
            decoded(doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Genève</a>"
        );
    }

    #[test]
    fn http_charset_wins_over_a_missing_declaration() {
        assert_eq!(
            decoded(b"<a>\xe9t\xe9</a>", Some("iso-8859-1")),
            "<a>été</a>"
        );
        // KOI8-R given only by HTTP
        assert_eq!(
            decoded(b"<a>\xf0\xd2\xc9</a>", Some("koi8-r")),
            "<a>При</a>"
        );
    }

    #[test]
    fn undeclared_non_utf8_falls_back_to_windows_1252() {
        assert_eq!(decoded(b"<a>\x93cit\xe9\x94</a>", None), "<a>“cité”</a>");
        assert_eq!(decoded("<a>déjà</a>".as_bytes(), None), "<a>déjà</a>");
    }

    #[test]
    fn utf16_with_bom_becomes_utf8() {
        let mut doc = vec![0xFF, 0xFE];
        for u in "<?xml version=\"1.0\" encoding=\"utf-16\"?><a>é</a>".encode_utf16() {
            doc.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(
            decoded(&doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>é</a>"
        );
    }
    fn wide(text: &str, unit: usize, big_endian: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for c in text.chars() {
            let cp = c as u32;
            let b = if unit == 4 {
                if big_endian {
                    cp.to_be_bytes().to_vec()
                } else {
                    cp.to_le_bytes().to_vec()
                }
            } else {
                let u = cp as u16;
                if big_endian {
                    u.to_be_bytes().to_vec()
                } else {
                    u.to_le_bytes().to_vec()
                }
            };
            out.extend(b);
        }
        out
    }

    #[test]
    fn wide_encodings_without_a_bom_are_recognised_by_their_zero_bytes() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-32\"?><a>Alep</a>";
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Alep</a>";
        for be in [true, false] {
            assert_eq!(decoded(&wide(doc, 4, be), None), want);
            assert_eq!(decoded(&wide(doc, 2, be), Some("us-ascii")), want);
        }
        let mut bom = vec![0xFF, 0xFE, 0, 0];
        bom.extend(wide(doc, 4, false));
        assert_eq!(decoded(&bom, None), want);
        assert_eq!(detect(&bom, None).0.name(), "UTF-32LE");
    }

    #[test]
    fn an_unknown_label_falls_back_to_sniffing() {
        let doc = b"<?xml version=\"1.0\" encoding=\"x-bogus\"?><a>caf\xe9</a>";
        assert_eq!(
            decoded(doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>café</a>"
        );
        // A truncated wide document still decodes, with a replacement character.
        let mut cut = wide("<a>b</a>", 4, true);
        cut.pop();
        assert!(decoded(&cut, None).ends_with('\u{FFFD}'));
    }

    #[test]
    fn c1_controls_are_read_as_the_windows_1252_punctuation_they_were() {
        assert_eq!(
            decoded("<a>don\u{92}t \u{93}x\u{94}</a>".as_bytes(), None),
            "<a>don’t “x”</a>"
        );
        assert_eq!(
            decoded(
                b"<a>don&#146;t &#x93;x&#X94; &#8217; &#129; &amp;#146;</a>",
                None
            ),
            "<a>don’t “x” &#8217; &#129; &amp;#146;</a>"
        );
        // Unassigned in windows-1252: kept.
        assert_eq!(decoded("<a>\u{81}</a>".as_bytes(), None), "<a>\u{81}</a>");
        // Untouched text is not copied.
        assert!(matches!(to_parseable(b"<a>ok</a>", None), Cow::Borrowed(_)));
    }

    #[test]
    fn a_page_is_read_in_the_charset_it_declares() {
        let latin = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head><body>Gen\xe8ve</body></html>";
        assert!(html_to_utf8(latin, None).contains("Genève"));
        let meta =
            b"<html><head><meta charset='windows-1252'></head><body>\x93Alep\x94</body></html>";
        assert!(html_to_utf8(meta, None).contains("\u{201c}Alep\u{201d}"));
        // The HTTP header outranks the page; a BOM outranks both.
        assert!(html_to_utf8(latin, Some("utf-8")).contains("Gen\u{FFFD}ve"));
        assert!(
            html_to_utf8("\u{FEFF}<p>Genève</p>".as_bytes(), Some("latin1")).contains("Genève")
        );
        // Undeclared: UTF-8 when it is, windows-1252 otherwise; a UTF-16 label is no mark.
        assert!(html_to_utf8("<p>Genève</p>".as_bytes(), None).contains("Genève"));
        assert!(html_to_utf8(b"<p>Gen\xe8ve</p>", Some("utf-16")).contains("Genève"));
    }

    #[test]
    fn a_utf8_label_on_windows_1252_bytes_is_not_believed() {
        // Real case: uolNoticias.rss, sent as UTF-8, written in windows-1252.
        let doc = b"<rss version=\"2.0\"><channel><title>\xdaltimas Not\xedcias</title>\
            <item><guid>1</guid><title>Not\xedcia do dia</title></item></channel></rss>";
        let feed = crate::parse::parse_feed(doc, Some("utf-8")).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Últimas Notícias"));
        assert_eq!(feed.items[0].title, "Notícia do dia");
        // Mostly UTF-8 with one stray byte stays UTF-8, the byte replaced.
        let mut mixed = "<rss><channel><title>Genève, Alep — la Syrie"
            .as_bytes()
            .to_vec();
        mixed.push(0xFF);
        mixed.extend_from_slice(b"</title></channel></rss>");
        let out = to_parseable(&mixed, Some("utf-8"));
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains("Genève, Alep — la Syrie\u{FFFD}"), "{text}");
    }

    #[test]
    fn the_declaration_is_relabelled_wherever_byte_512_falls() {
        for pad in 0..4 {
            let mut doc =
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>"
                    .to_vec();
            doc.extend(std::iter::repeat_n(b'a', pad));
            // 300 × é: 600 bytes once in UTF-8, so byte 512 falls inside one for some pad.
            doc.extend(std::iter::repeat_n(0xE9, 300));
            doc.extend_from_slice(b"</title></channel></rss>");
            let out = to_parseable(&doc, None);
            let text = std::str::from_utf8(&out).unwrap();
            assert!(
                text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
                "pad {pad}: {}",
                text.chars().take(60).collect::<String>()
            );
            let feed = crate::parse::parse_feed(&doc, None).unwrap();
            assert!(feed.title.unwrap().ends_with("éé"));
        }
    }

    #[test]
    fn a_second_declaration_is_dropped_before_parsing() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Alep</title>\
            <?xml version=\"1.0\" encoding=\"iso-8859-1\"?><item><guid>1</guid><title>Genève</title></item></channel></rss>";
        let out = to_parseable(doc.as_bytes(), None);
        assert_eq!(memchr::memmem::find_iter(&out, b"<?xml").count(), 1);
        let feed = crate::parse::parse_feed(doc.as_bytes(), None).unwrap();
        assert_eq!(feed.items[0].title, "Genève");
        // The document's own declaration stays, even after white space.
        let spaced = "\n  <?xml version=\"1.0\"?><rss><channel><title>x</title></channel></rss>";
        assert_eq!(&*to_parseable(spaced.as_bytes(), None), spaced.as_bytes());
    }
}
