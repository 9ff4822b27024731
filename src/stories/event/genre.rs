//! Stories stage, events: the kind of piece a headline announces. Pure.
//!
//! Invariants: only the headline is read, folded as the watches fold text; a piece that is
//! not a report of one event — a question, a gallery of many events, an explainer, an
//! analysis or an opinion — is a story of its own, because grouping it with the report it
//! comments on would hide it (and, for a gallery, would pull unrelated events together).
//! The cues are closed lists of the press's own labels in French and English, not words of
//! any one story.

/// What a headline announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Genre {
    /// A report: compared with the others.
    #[default]
    Report,
    /// The headline asks a question.
    Question,
    /// A gallery: «en images», "in pictures".
    Gallery,
    /// An explainer, an analysis or an opinion.
    Comment,
    /// An earlier piece put back in the feed: its address is dated days before its
    /// publication ([`super::reprint`]).
    Reprint,
}

impl Genre {
    /// The stored code (0–4).
    pub fn code(self) -> u8 {
        match self {
            Genre::Report => 0,
            Genre::Question => 1,
            Genre::Gallery => 2,
            Genre::Comment => 3,
            Genre::Reprint => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Genre> {
        Some(match code {
            0 => Genre::Report,
            1 => Genre::Question,
            2 => Genre::Gallery,
            3 => Genre::Comment,
            4 => Genre::Reprint,
            _ => return None,
        })
    }

    /// Why a piece of this kind is a story of its own, for explanations.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Genre::Report => None,
            Genre::Question => Some("its headline asks a question (an explainer or an opinion)"),
            Genre::Gallery => Some("its headline announces a gallery (many events in pictures)"),
            Genre::Comment => {
                Some("its headline announces an explainer, an analysis or an opinion")
            }
            Genre::Reprint => Some(
                "its address is dated days before its publication (an earlier piece put back: a portrait, a feature, an archive)",
            ),
        }
    }
}

/// Galleries, anywhere in the headline.
const GALLERY: &[&str] = &[
    "en images",
    "en photos",
    "diaporama",
    "in pictures",
    "in photos",
    "photo gallery",
    "photos of the week",
    "pictures of the week",
];

/// Explainers, anywhere in the headline.
const EXPLAINER: &[&str] = &[
    "ce qu il faut savoir",
    "ce que l on sait",
    "ce qu on sait",
    "choses a savoir",
    "questions sur",
    "ce qu il faut retenir",
    "what we know",
    "what you need to know",
    "things to know",
    "things we know",
];

/// Labels of analysis and opinion: the headline's first words, before a colon, a dash or a
/// bar («ANALYSE - …», "Opinion: …").
const KICKER: &[&str] = &[
    "analyse",
    "analysis",
    "decryptage",
    "edito",
    "editorial",
    "opinion",
    "tribune",
    "chronique",
    "commentary",
    "comment",
    "explainer",
    "point de vue",
    "the big read",
];

/// The kind of piece `title` announces.
pub fn genre(title: &str) -> Genre {
    let trimmed = title.trim_end();
    if trimmed.ends_with('?') {
        return Genre::Question;
    }
    let folded = crate::rules::fold::fold(trimmed).text;
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let line = format!(" {} ", words.join(" "));
    let has = |cue: &&str| line.contains(&format!(" {cue} "));
    if GALLERY.iter().any(has) {
        return Genre::Gallery;
    }
    if EXPLAINER.iter().any(has) {
        return Genre::Comment;
    }
    // A kicker: the first words up to the first colon, dash or bar are one of the labels.
    let head = folded
        .split([':', '|', '-', '–', '—'])
        .next()
        .unwrap_or_default();
    let head: Vec<&str> = head
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if head.len() < words.len() && KICKER.contains(&head.join(" ").as_str()) {
        return Genre::Comment;
    }
    Genre::Report
}
