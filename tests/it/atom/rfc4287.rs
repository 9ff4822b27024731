//! RFC 4287's required elements, checked on the raw document (not through a lenient
//! parser): what every Atom feed and entry must have, listed below with the section that
//! says so. Returns every breach found.

use quick_xml::events::Event;

const ATOM: &str = "http://www.w3.org/2005/Atom";

/// An element: its name, attributes, children and text.
#[derive(Debug, Default)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
    pub text: String,
}

impl El {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// The document as a tree; panics if it is not well-formed XML.
pub fn tree(doc: &str) -> El {
    let mut r = quick_xml::Reader::from_str(doc);
    let mut stack = vec![El::default()];
    let open = |e: &quick_xml::events::BytesStart<'_>| El {
        name: e.name().as_ref().to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .expect("attribute value")
                    .into_owned();
                (a.key.as_ref().to_string(), v)
            })
            .collect(),
        ..El::default()
    };
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let el = open(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Text(t) => {
                let s = t.to_string();
                stack.last_mut().unwrap().text.push_str(&s);
            }
            Event::GeneralRef(g) => {
                let name = g.to_string();
                let c = match name.as_str() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    n => n
                        .strip_prefix("#x")
                        .map(|h| u32::from_str_radix(h, 16))
                        .or_else(|| n.strip_prefix('#').map(str::parse))
                        .and_then(Result::ok)
                        .and_then(char::from_u32)
                        .unwrap_or_else(|| panic!("undeclared entity &{n};")),
                };
                stack.last_mut().unwrap().text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    stack.pop().unwrap().children.pop().expect("a root element")
}

fn is_date(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok()
}

fn is_iri(s: &str) -> bool {
    url::Url::parse(s.trim()).is_ok()
}

/// The breaches of RFC 4287 in `doc`.
pub fn breaches(doc: &str) -> Vec<String> {
    let feed = tree(doc);
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_string());
        }
    };
    // §4.1.1: the root is atom:feed, in the Atom namespace.
    need(feed.name == "feed", "the root element is atom:feed (4.1.1)");
    need(feed.attr("xmlns") == Some(ATOM), "the Atom namespace (2)");
    let one = |el: &El, name: &str| el.all(name).len() == 1;
    let at_most_one = |el: &El, name: &str| el.all(name).len() <= 1;
    // §4.1.1: exactly one atom:id, atom:title, atom:updated.
    need(one(&feed, "id"), "feed: exactly one atom:id (4.1.1)");
    need(one(&feed, "title"), "feed: exactly one atom:title (4.1.1)");
    need(
        one(&feed, "updated"),
        "feed: exactly one atom:updated (4.1.1)",
    );
    for name in ["generator", "icon", "logo", "rights", "subtitle"] {
        need(
            at_most_one(&feed, name),
            &format!("feed: at most one atom:{name} (4.1.1)"),
        );
    }
    // §4.2.6: an id is an IRI; §3.3: dates are RFC 3339.
    for id in feed.all("id") {
        need(is_iri(&id.text), "feed: atom:id is an IRI (4.2.6)");
    }
    for u in feed.all("updated") {
        need(
            is_date(&u.text),
            "feed: atom:updated is an RFC 3339 date (3.3)",
        );
    }
    let entries = feed.all("entry");
    // §4.1.1: an author in the feed, or in every entry.
    need(
        !feed.all("author").is_empty() || entries.iter().all(|e| !e.all("author").is_empty()),
        "an atom:author in the feed or in every entry (4.1.1)",
    );
    // §4.1.1: SHOULD have a link rel="self"; §4.2.7: every link has an href.
    need(
        feed.all("link")
            .iter()
            .any(|l| l.attr("rel") == Some("self") && l.attr("href").is_some()),
        "feed: a link rel=\"self\" with an href (4.1.1)",
    );
    let mut ids = std::collections::HashSet::new();
    for (k, e) in entries.iter().enumerate() {
        let at = format!("entry {k}");
        // §4.1.2: exactly one atom:id, atom:title, atom:updated.
        need(one(e, "id"), &format!("{at}: exactly one atom:id (4.1.2)"));
        need(
            one(e, "title"),
            &format!("{at}: exactly one atom:title (4.1.2)"),
        );
        need(
            one(e, "updated"),
            &format!("{at}: exactly one atom:updated (4.1.2)"),
        );
        for name in ["content", "published", "rights", "source", "summary"] {
            need(
                at_most_one(e, name),
                &format!("{at}: at most one atom:{name} (4.1.2)"),
            );
        }
        for id in e.all("id") {
            need(
                is_iri(&id.text),
                &format!("{at}: atom:id is an IRI (4.2.6)"),
            );
            need(
                ids.insert(id.text.clone()),
                &format!("{at}: ids are unique (4.2.6)"),
            );
        }
        for name in ["updated", "published"] {
            for d in e.all(name) {
                need(
                    is_date(&d.text),
                    &format!("{at}: atom:{name} is an RFC 3339 date (3.3)"),
                );
            }
        }
        // §4.1.2: atom:content, or a link rel="alternate".
        let alternates: Vec<&El> = e
            .all("link")
            .into_iter()
            .filter(|l| l.attr("rel").is_none_or(|r| r == "alternate"))
            .collect();
        need(
            !e.all("content").is_empty() || !alternates.is_empty(),
            &format!("{at}: atom:content or a link rel=\"alternate\" (4.1.2)"),
        );
        // §4.1.2: at most one alternate link per (type, hreflang).
        let mut kinds = std::collections::HashSet::new();
        for l in &alternates {
            need(
                kinds.insert((l.attr("type"), l.attr("hreflang"))),
                &format!("{at}: one alternate link per type and hreflang (4.1.2)"),
            );
        }
        // §4.1.2: a summary when the content is out of line (src) or not text.
        for c in e.all("content") {
            let t = c.attr("type").unwrap_or("text");
            let inline_text = matches!(t, "text" | "html" | "xhtml") || t.starts_with("text/");
            need(
                (c.attr("src").is_none() && inline_text) || one(e, "summary"),
                &format!("{at}: an atom:summary with out-of-line or binary content (4.1.2)"),
            );
        }
        // §4.2.7, §3.2: every link has an href; every person a name.
        for l in e.all("link") {
            need(
                l.attr("href").is_some(),
                &format!("{at}: every link has an href (4.2.7)"),
            );
        }
        for p in e.all("author").into_iter().chain(e.all("contributor")) {
            need(
                one(p, "name"),
                &format!("{at}: a person has one atom:name (3.2)"),
            );
        }
        // §3.1.1: a text construct's type is text, html or xhtml.
        for name in ["title", "summary", "rights"] {
            for t in e.all(name) {
                need(
                    matches!(t.attr("type").unwrap_or("text"), "text" | "html" | "xhtml"),
                    &format!("{at}: atom:{name} type is text, html or xhtml (3.1.1)"),
                );
            }
        }
    }
    out
}
