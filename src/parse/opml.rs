//! Parse stage, feed lists as OPML (the format every feed reader exports). Pure: bytes
//! in, feed entries out; configured feeds in, OPML 2.0 out. Invariants: an OPML file is
//! hostile input (any encoding, any nesting, missing attributes) and yields feeds or one
//! clear error; a title becomes a name through [`slug`]. Which feeds an import adds is
//! the `feeds import` command's decision (`cli::feeds`).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use unicode_normalization::UnicodeNormalization;

use crate::config::FeedConfig;

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not valid OPML: {0}")]
    Xml(String),
    #[error("not an OPML document (no <opml> element)")]
    NotOpml,
}

/// A feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub title: String,
    pub xml_url: String,
    pub html_url: Option<String>,
    /// Names of the folders (outer outlines) it sits in.
    pub folders: Vec<String>,
}

/// Every outline with an `xmlUrl`, in document order.
pub fn parse(bytes: &[u8]) -> Result<Vec<OpmlFeed>, OpmlError> {
    let utf8 = crate::parse::charset::to_parseable(bytes, None);
    let mut reader = Reader::from_reader(utf8.as_ref());
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut feeds = Vec::new();
    let mut seen_opml = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| OpmlError::Xml(format!("{e} at byte {}", reader.buffer_position())))?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "opml" => seen_opml = true,
            Event::Start(e) if e.name().as_ref() == "outline" => {
                let o = outline(&e);
                let folder = match &o {
                    Some(feed) => {
                        feeds.push(with_folders(feed.clone(), &folders));
                        None
                    }
                    None => attr(&e, "text").or_else(|| attr(&e, "title")),
                };
                folders.push(folder);
            }
            Event::Empty(e) if e.name().as_ref() == "outline" => {
                if let Some(feed) = outline(&e) {
                    feeds.push(with_folders(feed, &folders));
                }
            }
            Event::End(e) if e.name().as_ref() == "outline" => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_opml {
        return Err(OpmlError::NotOpml);
    }
    Ok(feeds)
}

fn with_folders(mut feed: OpmlFeed, folders: &[Option<String>]) -> OpmlFeed {
    feed.folders = folders.iter().flatten().cloned().collect();
    feed
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref().eq_ignore_ascii_case(name))
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
        .filter(|v| !v.is_empty())
}

fn outline(e: &BytesStart<'_>) -> Option<OpmlFeed> {
    let xml_url = attr(e, "xmlUrl")?;
    let title = attr(e, "title")
        .or_else(|| attr(e, "text"))
        .unwrap_or_else(|| xml_url.clone());
    Some(OpmlFeed {
        title,
        xml_url,
        html_url: attr(e, "htmlUrl"),
        folders: Vec::new(),
    })
}

/// A feed name from a title: lower-case ASCII letters and digits joined by hyphens.
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title
        .nfkd()
        .filter(|c| c.is_alphanumeric() || !unicode_normalization::char::is_combining_mark(*c))
    {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s: String = s.trim_end_matches('-').chars().take(60).collect();
    s.trim_end_matches('-').to_string()
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// The configured feeds as an OPML 2.0 document, grouped by their first tag.
pub fn export(feeds: &[FeedConfig], date: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>vigie feeds</title>\n    <dateCreated>{}</dateCreated>\n  </head>\n  <body>\n",
        date.to_rfc2822()
    );
    let line = |f: &FeedConfig| {
        format!(
            "<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"/>\n",
            xml_attr(&f.name),
            xml_attr(&f.url)
        )
    };
    let mut groups: Vec<(Option<&String>, Vec<&FeedConfig>)> = Vec::new();
    for f in feeds {
        let key = f.tags.first();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    for (tag, members) in groups {
        match tag {
            Some(t) => {
                out.push_str(&format!(
                    "    <outline text=\"{0}\" title=\"{0}\">\n",
                    xml_attr(t)
                ));
                for f in members {
                    out.push_str(&format!("      {}", line(f)));
                }
                out.push_str("    </outline>\n");
            }
            None => {
                for f in members {
                    out.push_str(&format!("    {}", line(f)));
                }
            }
        }
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPML: &str = include_str!("../../tests/fixtures/opml/sample.opml");

    #[test]
    fn outlines_with_urls_become_feeds_with_folder_tags() {
        let feeds = parse(OPML.as_bytes()).unwrap();
        assert_eq!(feeds.len(), 4);
        assert_eq!(feeds[0].title, "Le Monde & International");
        assert_eq!(feeds[0].folders, vec!["Presse française"]);
        assert_eq!(feeds[2].title, "BBC World");
        assert!(feeds[2].folders.is_empty());
    }

    #[test]
    fn export_round_trips() {
        let feeds = vec![
            FeedConfig {
                name: "a&b".into(),
                url: "https://ex.org/?a=1&b=2".into(),
                interval: None,
                tags: vec!["fr".into()],
                fulltext: None,
            },
            FeedConfig {
                name: "c".into(),
                url: "https://ex.org/c".into(),
                interval: None,
                tags: vec![],
                fulltext: None,
            },
        ];
        let xml = export(&feeds, chrono::DateTime::from_timestamp(0, 0).unwrap());
        let back = parse(xml.as_bytes()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].xml_url, "https://ex.org/?a=1&b=2");
        assert_eq!(back[0].title, "a&b");
        assert_eq!(back[0].folders, vec!["fr"]);
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        assert!(parse(b"<html><body/></html>").is_err());
        assert!(parse(b"<opml><body><outline xmlUrl=").is_err());
        assert!(parse(b"\xff\xfe\x00garbage").is_err());
        assert_eq!(slug("  Élysée : «Déclaration» !  "), "elysee-declaration");
    }
}
