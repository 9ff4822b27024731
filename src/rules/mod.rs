//! Rules: the watch language, from query text to matches (user documentation: docs/rules.md).
//! Stages:
//! 1. `query` + `parser`: query text → [`Expr`], or a positioned [`ParseError`] (`fold`:
//!    text folding, shared with storage and stories; `gazetteer`: the built-in places);
//! 2. `compile` (`lower`, `places`, `code`, `trigger`): entities and places (from the built-in
//!    gazetteer, loaded only when a watch uses `place:` or `within()`) expanded, every term
//!    folded into ONE aho-corasick automaton, the `~` names compiled into one table beside it
//!    (`translit`), each watch lowered into a boolean tree over term hits and indexed under the
//!    terms that trigger it;
//! 3. `scan` (+ `context`: streets; `explain`: what the place rules set aside; `spellings`: what
//!    the `~` names found) + `eval`: each field of a document folded once and scanned once
//!    (and its capitalised words looked up once in the `~` table), then only the watches
//!    triggered by a found term (or that hold with no hit) are evaluated.
//!
//! Invariants: offsets in errors are byte offsets into the watch's query string; offsets in hits
//! are byte offsets into the original field text, on char boundaries; nothing here panics on any
//! query or any document.

mod code;
mod compile;
mod context;
mod eval;
mod explain;
pub mod fold;
pub mod gazetteer;
mod lower;
mod parser;
mod places;
pub mod query;
mod reading;
mod scan;
pub mod sense;
mod spellings;
#[cfg(test)]
mod tests;
pub mod translit;
mod trigger;

pub use compile::Matcher;
pub use explain::SetAside;
pub use places::PlaceReport;
pub use query::{Expr, ParseError, ParseErrorKind};
pub use scan::SetAsideReason;
pub use spellings::{LooseNameInfo, Spelling};

/// A field of an article.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
}

impl Field {
    /// Every field, in order.
    pub const ALL: [Field; 3] = [Field::Title, Field::Summary, Field::Content];

    /// The field's name as written in queries and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A named list of aliases: `@name` in a query means any of `names`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityDef {
    pub name: String,
    pub names: Vec<String>,
}

/// One watch as far as matching is concerned: its name and query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchDef {
    pub name: String,
    pub query: String,
}

/// A fault in one watch's query: `offset` is a byte offset into that watch's query string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("watch #{watch}, byte {offset}: {message}")]
pub struct RuleError {
    /// Index into the `WatchDef` slice given to [`Matcher::build`].
    pub watch: usize,
    /// Byte offset into that watch's query, `<= query.len()`, on a char boundary.
    pub offset: usize,
    pub message: String,
}

/// The plain text of an article's fields (HTML already reduced to text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Document<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub content: &'a str,
}

impl<'a> Document<'a> {
    /// The text of one field.
    pub fn field(&self, field: Field) -> &'a str {
        match field {
            Field::Title => self.title,
            Field::Summary => self.summary,
            Field::Content => self.content,
        }
    }
}

/// One matched piece of text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    pub field: Field,
    /// Byte offsets into that field's ORIGINAL plain text, on char boundaries.
    pub start: usize,
    pub end: usize,
    /// The original text at `start..end`.
    pub text: String,
}

/// A watch that a document matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchMatch {
    /// Index into the `WatchDef` slice given to [`Matcher::build`].
    pub watch: usize,
    /// The text that made the watch true, sorted by (field, start), deduplicated. Empty for a
    /// watch that holds without any hit (such as `NOT spam`).
    pub hits: Vec<Hit>,
    /// The hits that a `~` name found in another spelling than the watch's, by index into
    /// `hits` (ascending): the hit's text is the spelling found.
    pub loose: Vec<LooseHit>,
}

/// A hit of a `~` name spelled otherwise than in the watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseHit {
    /// Index into [`WatchMatch::hits`].
    pub hit: usize,
    /// The name as the watch (or entity) wrote it, with its `~`: `~"al-Kallabiyeh"`.
    pub name: String,
}

/// Parse a query alone (for error reporting and tests). Error carries byte offset + message.
pub fn parse_query(src: &str) -> Result<Expr, ParseError> {
    parser::parse(src)
}

/// Render an error the way `vigie check` shows it: the query on one line, a caret under the
/// fault on the next. Line breaks and tabs in the query are shown as spaces; the caret column
/// counts characters (wide CJK characters as two, combining marks as none).
pub fn caret_line(query: &str, offset: usize) -> String {
    let mut offset = offset.min(query.len());
    while !query.is_char_boundary(offset) {
        offset -= 1;
    }
    let line: String = query
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let column: usize = query[..offset].chars().map(display_width).sum();
    format!("{line}\n{}^", " ".repeat(column))
}

fn display_width(c: char) -> usize {
    if c.is_control() {
        return 1;
    }
    if unicode_normalization::char::is_combining_mark(c) || matches!(c, '\u{200B}'..='\u{200D}') {
        return 0;
    }
    let wide = matches!(c,
        '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{303E}' | '\u{3041}'..='\u{33FF}'
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{A000}'..='\u{A4CF}'
        | '\u{AC00}'..='\u{D7A3}' | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFE6}' | '\u{1F300}'..='\u{1F64F}'
        | '\u{1F900}'..='\u{1F9FF}' | '\u{20000}'..='\u{3FFFD}');
    if wide { 2 } else { 1 }
}
