//! Rules, explaining: the place names of a document that the place rules set aside — written
//! in lower case, part of a longer name of another place, a street — with the reason, for
//! `vigie rules test`. Pure, and off the matching path: it scans the document once more with a
//! sink that keeps only what was set aside.
//!
//! Invariants: offsets are byte offsets into the original field, on char boundaries (mapped
//! back through the folding like hits); nothing here changes what matches.

use crate::rules::fold::Folded;
use crate::rules::scan::{SetAsideReason, Sink, TermHit};
use crate::rules::{Document, Field, Matcher};

/// A place name found in a field and set aside, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAside {
    pub field: Field,
    /// Byte offsets into the original field.
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub reason: SetAsideReason,
    /// A decision to keep the name, with its evidence (`reason` is then `Context`): not set
    /// aside, but shown so that the user sees why.
    pub kept: bool,
}

impl SetAside {
    /// «a street», «part of «South America», another place», «written in lower case».
    pub fn why(&self) -> String {
        match &self.reason {
            SetAsideReason::LowerCase => "written in lower case: a word, not the place".into(),
            SetAsideReason::Longer(name) => format!("part of «{name}», another place"),
            SetAsideReason::Street => "a street or a square named after the place".into(),
            SetAsideReason::Context(why) => why.clone(),
        }
    }
}

struct Explain<'a> {
    field: Field,
    original: &'a str,
    folded: &'a Folded,
    out: Vec<SetAside>,
}

impl Sink for Explain<'_> {
    fn hit(&mut self, _: TermHit) {}

    fn set_aside(&mut self, start: usize, end: usize, why: SetAsideReason) {
        let r = self.folded.original_range(start, end);
        let text = self.original.get(r.clone()).unwrap_or_default().to_owned();
        self.out.push(SetAside {
            field: self.field,
            start: r.start,
            end: r.end,
            text,
            reason: why,
            kept: false,
        });
    }
}

impl Matcher {
    /// The place names of `doc` that the place rules set aside, and the ambiguous ones that the
    /// article decided (kept or set aside, with the evidence), in field and text order, each
    /// once; `feed` as for [`Matcher::match_document_from`].
    pub fn set_aside_from(&self, doc: &Document, feed: Option<[u8; 2]>) -> Vec<SetAside> {
        let mut all = self.set_aside(doc);
        let mut ctx = self.scan_document(doc);
        let mut decided = Vec::new();
        self.read_article(&mut ctx, feed, Some(&mut decided));
        for (h, kept, why) in decided {
            let field = Field::ALL[h.field as usize % 3];
            let text = doc.field(field);
            let r =
                ctx.s.folded[h.field as usize % 3].original_range(h.start as usize, h.end as usize);
            all.push(SetAside {
                field,
                start: r.start,
                end: r.end,
                text: text.get(r).unwrap_or_default().to_owned(),
                reason: SetAsideReason::Context(why),
                kept,
            });
        }
        ctx.release();
        all.sort_by_key(|a| (a.field as u8, a.start, a.end));
        all.dedup();
        all
    }

    /// The place names of `doc` that the place rules set aside, in field and text order, each
    /// once.
    pub fn set_aside(&self, doc: &Document) -> Vec<SetAside> {
        let mut all = Vec::new();
        for (field, text) in Field::ALL
            .into_iter()
            .zip([doc.title, doc.summary, doc.content])
        {
            let mut folded = Folded::default();
            folded.refold(text);
            let mut sink = Explain {
                field,
                original: text,
                folded: &folded,
                out: Vec::new(),
            };
            self.scan(field as u8, text, &folded, &mut sink);
            all.append(&mut sink.out);
        }
        all.sort_by_key(|a| (a.field as u8, a.start, a.end));
        all.dedup();
        all
    }
}
