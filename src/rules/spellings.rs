//! Rules, what the `~` names find: each `~` name of the rules with the watches that use it
//! (for `vigie check` and `vigie rules variants`), the spellings its hits in a document have,
//! and whether a hit is spelled otherwise than the watch wrote it (shown with every hit).
//!
//! Invariants: pure, off the matching path but for [`Matcher::spelled_otherwise`], which runs
//! only on the hits of `~` names of a matching watch; texts are the original text of the hits.

use crate::rules::code::collect_terms;
use crate::rules::translit::{consonants, spelling_key};
use crate::rules::{Document, Field, Matcher};

/// A `~` name of the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseNameInfo {
    /// As the rules write it, with its `~`: `~Daech`, `~"al-Kallabiyeh"`.
    pub name: String,
    /// Indices of the watches that use it (directly or through an entity), ascending.
    pub watches: Vec<usize>,
    /// Its consonants, w and y counted: at 2 or fewer it may catch other names.
    pub consonants: usize,
}

/// A hit of a `~` name in a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spelling {
    /// Index into [`Matcher::loose_names`].
    pub name: usize,
    pub field: Field,
    /// Byte offset of the hit in that field's original text.
    pub start: usize,
    /// The spelling found: the hit's original text.
    pub text: String,
    /// The name as the rules write it (case, accents, hyphens and the article aside).
    pub as_written: bool,
}

/// `~Name`, or `~"Two words"` when the name is not one plain word.
fn display(text: &str) -> String {
    if text.chars().all(char::is_alphanumeric) {
        format!("~{text}")
    } else {
        format!("~\"{text}\"")
    }
}

impl Matcher {
    /// Every `~` name of the rules, in order of first use.
    pub fn loose_names(&self) -> Vec<LooseNameInfo> {
        let Some(table) = &self.loose else {
            return Vec::new();
        };
        let mut out: Vec<LooseNameInfo> = (table.names.iter())
            .map(|n| LooseNameInfo {
                name: display(&n.text),
                watches: Vec::new(),
                consonants: consonants(&n.text),
            })
            .collect();
        let by_term: std::collections::HashMap<u32, usize> = (table.names.iter().enumerate())
            .map(|(k, n)| (n.term, k))
            .collect();
        let mut terms = Vec::new();
        for (w, &root) in self.roots.iter().enumerate() {
            terms.clear();
            collect_terms(&self.code, root, &mut terms);
            for t in &terms {
                if let Some(&k) = by_term.get(t)
                    && out[k].watches.last() != Some(&w)
                {
                    out[k].watches.push(w);
                }
            }
        }
        out
    }

    /// The hits of the `~` names in `doc`, in field and text order.
    pub fn spellings(&self, doc: &Document) -> Vec<Spelling> {
        let Some(table) = &self.loose else {
            return Vec::new();
        };
        let mut ctx = self.scan_document(doc);
        let mut out = Vec::new();
        for i in 0..ctx.s.hits.len() {
            let h = ctx.hit(i);
            let Some(name) = (self.terms.get(h.term as usize))
                .and_then(|t| t.loose.checked_sub(1))
                .and_then(|k| table.names.get(k as usize).map(|n| (k as usize, n)))
            else {
                continue;
            };
            let r = ctx.original_range(i);
            let start = r.start;
            let text = ctx.texts[h.field as usize].get(r).unwrap_or_default();
            out.push(Spelling {
                name: name.0,
                field: Field::ALL[h.field as usize],
                start,
                text: text.to_owned(),
                as_written: spelling_key(text) == spelling_key(&name.1.text),
            });
        }
        ctx.release();
        out.sort_by_key(|s| (s.field, s.start, s.name));
        out
    }

    /// For a hit of term `term` whose text is `text`: the `~` name it stands for, if the term is
    /// one and the text spells it otherwise.
    pub(crate) fn spelled_otherwise(&self, term: u32, text: &str) -> Option<String> {
        let k = self.terms.get(term as usize)?.loose.checked_sub(1)?;
        let name = &self.loose.as_ref()?.names.get(k as usize)?.text;
        (spelling_key(text) != spelling_key(name)).then(|| display(name))
    }
}
