//! Rules stage 1 — the query language's syntax tree ([`Expr`]) and parse errors; the parser
//! itself is in `parser.rs`, which builds on this file (never the other way round).
//!
//! Invariants: every error carries a byte offset `<= src.len()` on a char boundary of the
//! query; every node carries the byte offset where it starts; terms (words, phrases, prefixes)
//! contain something to match once folded; NEAR operands are only terms, entities, places or
//! OR-groups of them.

use crate::rules::Field;
use crate::rules::fold::fold_term;

/// Largest NEAR distance accepted.
pub(crate) const MAX_NEAR: u32 = 1000;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A bare word: `Palmyre` (a bare `al-Bayarat` or `l'ONU` works as a phrase).
    Word { text: String, offset: usize },
    /// A quoted phrase: `"Etat islamique"` (also `«…»` and `“…”`).
    Phrase { text: String, offset: usize },
    /// A prefix: `syri*` (the stem is `syri`); also `"inter syri*"`.
    Prefix { stem: String, offset: usize },
    /// `~word` or `~"phrase"`: the name in any usual spelling of its transliteration.
    Loose { text: String, offset: usize },
    /// `@name`: any name of an entity.
    Entity { name: String, offset: usize },
    /// `place:NAME` or `place:NAME/CC`.
    Place {
        name: String,
        country: Option<String>,
        offset: usize,
    },
    /// `within(50km, NAME)`.
    Within {
        km: f64,
        name: String,
        offset: usize,
    },
    /// `title:X`, `summary:X`, `content:X`.
    Scope {
        field: Field,
        expr: Box<Expr>,
        offset: usize,
    },
    /// `NEAR/n(a, b)`.
    Near {
        distance: u32,
        left: Box<Expr>,
        right: Box<Expr>,
        offset: usize,
    },
    /// `a b`, `a AND b` (two or more operands).
    And(Vec<Expr>),
    /// `a OR b` (two or more operands).
    Or(Vec<Expr>),
    /// `NOT a`, `-a`.
    Not { expr: Box<Expr>, offset: usize },
}

impl Expr {
    /// Byte offset in the query where this expression starts.
    pub fn offset(&self) -> usize {
        match self {
            Expr::Word { offset, .. }
            | Expr::Phrase { offset, .. }
            | Expr::Prefix { offset, .. }
            | Expr::Loose { offset, .. }
            | Expr::Entity { offset, .. }
            | Expr::Place { offset, .. }
            | Expr::Within { offset, .. }
            | Expr::Scope { offset, .. }
            | Expr::Near { offset, .. }
            | Expr::Not { offset, .. } => *offset,
            Expr::And(v) | Expr::Or(v) => v.first().map_or(0, Expr::offset),
        }
    }
}

/// Why a query could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("the query is empty")]
    Empty,
    #[error("this `(` is never closed")]
    UnclosedParen,
    #[error("this quote is never closed")]
    UnterminatedQuote,
    #[error("unexpected `{0}`")]
    Unexpected(String),
    #[error("expected {0}")]
    Expected(&'static str),
    #[error("`{0}` has no letters or digits to match")]
    NothingToMatch(String),
    #[error("`*` is only allowed at the end of a term")]
    MisplacedStar,
    #[error("a prefix needs at least 2 letters or digits before `*`")]
    ShortPrefix,
    #[error("NEAR needs a distance from 1 to {MAX_NEAR}, as in NEAR/8(a, b)")]
    NearDistance,
    #[error(
        "NEAR takes words, phrases, prefixes, entities, places or OR-groups of them, separated by a comma"
    )]
    NearOperand,
    #[error("unknown field `{0}`: expected title:, summary:, content: or place:")]
    UnknownField(String),
    #[error("a field scope inside another field scope")]
    NestedScope,
    #[error("`{0}` is not a valid entity name")]
    EntityName(String),
    #[error("expected a place name")]
    PlaceName,
    #[error(
        "`{0}` is not a country code (two letters, as in SY) nor a division code (as in US-WV)"
    )]
    CountryCode(String),
    #[error("within needs a distance in km, as in within(50km, Palmyra)")]
    WithinDistance,
    #[error("the query nests too deeply")]
    TooDeep,
    #[error(
        "`~` goes right before a name: ~Kallabiyeh, ~\"Bachar al-Assad\" (title:~Name for a field)"
    )]
    LooseName,
    #[error("`~` takes a whole name, not a prefix")]
    LoosePrefix,
    #[error("`~` does not widen place:, whose names are the gazetteer's as they are")]
    LoosePlace,
}

/// A query that cannot be parsed: what is wrong and at which byte of the query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {offset})")]
pub struct ParseError {
    /// Byte offset into the query, `<= query.len()`, on a char boundary.
    pub offset: usize,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// The message without the position.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

pub(crate) type PResult<T> = Result<T, ParseError>;

pub(crate) fn err<T>(offset: usize, kind: ParseErrorKind) -> PResult<T> {
    Err(ParseError { offset, kind })
}

pub(crate) fn check_near_operand(expr: &Expr) -> PResult<()> {
    match expr {
        Expr::Word { .. }
        | Expr::Phrase { .. }
        | Expr::Prefix { .. }
        | Expr::Loose { .. }
        | Expr::Entity { .. }
        | Expr::Place { .. }
        | Expr::Within { .. } => Ok(()),
        Expr::Scope { expr, .. } => check_near_operand(expr),
        Expr::Or(items) => items.iter().try_for_each(check_near_operand),
        Expr::And(_) | Expr::Not { .. } | Expr::Near { .. } => {
            err(expr.offset(), ParseErrorKind::NearOperand)
        }
    }
}

/// Build a word, phrase or prefix node from `body` (which starts at byte `body_at` of the query;
/// the node itself is reported at `offset`).
pub(crate) fn term(body: &str, offset: usize, body_at: usize, quoted: bool) -> PResult<Expr> {
    // `"~Bachar al-Assad"`: the `~` inside the quotes, as in an entity's names.
    if let Some(name) = body.trim_start().strip_prefix('~').filter(|_| quoted) {
        let at = body_at + (body.len() - name.len());
        return loose(term(name, at, at, true)?, offset);
    }
    let (stem, prefix) = match body.trim_end().strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (body, false),
    };
    if let Some(k) = stem.find('*') {
        return err(body_at + k, ParseErrorKind::MisplacedStar);
    }
    let folded = fold_term(stem);
    if !folded.chars().any(char::is_alphanumeric) {
        return err(offset, ParseErrorKind::NothingToMatch(body.to_owned()));
    }
    if prefix {
        if folded.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return err(offset, ParseErrorKind::ShortPrefix);
        }
        return Ok(Expr::Prefix {
            stem: stem.trim().to_owned(),
            offset,
        });
    }
    let text = body.trim().to_owned();
    Ok(if quoted {
        Expr::Phrase { text, offset }
    } else {
        Expr::Word { text, offset }
    })
}

/// `~` and the term after it (parsed at byte `offset` + 1): a word or a phrase becomes a
/// [`Expr::Loose`]; anything else is an error at the `~`.
pub(crate) fn loose(inner: Expr, offset: usize) -> PResult<Expr> {
    match inner {
        Expr::Word { text, .. } | Expr::Phrase { text, .. } => Ok(Expr::Loose { text, offset }),
        Expr::Prefix { .. } => err(offset, ParseErrorKind::LoosePrefix),
        Expr::Place { .. } | Expr::Within { .. } => err(offset, ParseErrorKind::LoosePlace),
        _ => err(offset, ParseErrorKind::LooseName),
    }
}

/// `cc` upper-cased if it is a country or division qualifier ([`is_place_qualifier`]), else the
/// error at `at`.
pub(crate) fn place_qualifier(cc: &str, at: usize) -> PResult<String> {
    if !is_place_qualifier(cc) {
        return err(at, ParseErrorKind::CountryCode(cc.to_owned()));
    }
    Ok(cc.to_ascii_uppercase())
}

/// `SY`, or a first-level division `US-WV`, `FR-PAC`, `FR-20R` (ISO 3166-1 alpha-2, then
/// optionally a hyphen and ISO 3166-2's one to three letters or digits).
pub(crate) fn is_place_qualifier(q: &str) -> bool {
    let (cc, division) = match q.split_once('-') {
        Some((cc, d)) => (cc, Some(d)),
        None => (q, None),
    };
    cc.len() == 2
        && cc.chars().all(|c| c.is_ascii_alphabetic())
        && division.is_none_or(|d| {
            (1..=3).contains(&d.len()) && d.chars().all(|c| c.is_ascii_alphanumeric())
        })
}
