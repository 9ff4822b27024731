//! Config stage: one rule file — `[entity.NAME]` alias lists (with `spelling = "any"`, each
//! name becomes a `~` name) and `[[watch]]` entries — read into the rule set, with each
//! watch's position kept so that a query fault can be shown at its file, line and column.
//! Pure: works on text already read.

use toml_span::Span;

use super::walk::Walker;
use super::{AlertMode, Entity, FeedSelector, Rules, Watch};
use crate::config::diag::{Diagnostic, SourceFile};

/// Where a watch came from: which rule file (index into the loaded sources), where
/// its table starts, and the byte offset of the first character of its query.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub file: usize,
    pub watch_at: usize,
    pub query_at: usize,
}

/// Read rule file number `file_index` (its index in the caller's list of sources).
pub fn load_rules(
    src: &SourceFile,
    file_index: usize,
    rules: &mut Rules,
    origins: &mut Vec<Origin>,
    errors: &mut Vec<Diagnostic>,
) {
    let mut raw = match toml_span::parse(&src.text) {
        Ok(v) => v,
        Err(e) => {
            let mut w = Walker::new(src);
            w.toml_error(e, "the rule file");
            errors.append(&mut w.errors);
            return;
        }
    };
    let mut w = Walker::new(src);
    if let Some(mut root) = w.table(&mut raw, "the rule file") {
        if let Some((_, mut ents)) = root.take("entity")
            && let Some(mut th) = w.table(&mut ents, "[entity]")
        {
            let keys: Vec<_> = th.table.keys().cloned().collect();
            for key in keys {
                let Some(mut v) = th.table.remove(&key) else {
                    continue;
                };
                let section = format!("[entity.{}]", key.name);
                if let Some(mut et) = w.table(&mut v, &section) {
                    let any = any_spelling(&mut w, &mut et, &section);
                    match w.strings(&mut et, "names") {
                        Some(names) if !names.is_empty() => rules.entities.push(Entity {
                            name: key.name.to_string(),
                            names: names.into_iter().map(|n| spelled(n.value, any)).collect(),
                        }),
                        _ => w.error(
                            key.span,
                            format!("{section} needs a non-empty `names` list"),
                        ),
                    }
                    w.finish(et, &section);
                }
            }
            w.finish(th, "[entity]");
        }
        for mut v in w.array_of_tables(&mut root, "watch") {
            let at = v.span;
            if let Some(mut th) = w.table(&mut v, "[[watch]]") {
                if let Some((watch, query_span)) = watch_section(&mut w, &mut th, at) {
                    origins.push(Origin {
                        file: file_index,
                        watch_at: at.start,
                        query_at: w.string_content_start(query_span),
                    });
                    rules.watches.push(watch);
                }
                w.finish(th, "[[watch]]");
            }
        }
        w.finish(root, "the rule file");
    }
    errors.append(&mut w.errors);
}

/// `spelling = "any"` (each name in any usual spelling, as `~name` in a query) or `"exact"`
/// (the default).
fn any_spelling(
    w: &mut Walker<'_>,
    th: &mut toml_span::de_helpers::TableHelper<'_>,
    section: &str,
) -> bool {
    let Some(s) = w.string(th, "spelling") else {
        return false;
    };
    match s.value.as_str() {
        "any" => true,
        "exact" => false,
        other => {
            w.error(
                s.span,
                format!(
                    "{section}: unknown `spelling` \"{other}\" (expected \"exact\" or \"any\")"
                ),
            );
            false
        }
    }
}

/// An entity's name as the rules compile it: `~name` for any spelling (a prefix stays one).
fn spelled(name: String, any: bool) -> String {
    if any && !name.trim_start().starts_with('~') && !name.trim_end().ends_with('*') {
        format!("~{}", name.trim())
    } else {
        name
    }
}

fn watch_section(
    w: &mut Walker<'_>,
    th: &mut toml_span::de_helpers::TableHelper<'_>,
    at: Span,
) -> Option<(Watch, Span)> {
    let name = w.required_string(th, "name", at, "[[watch]]");
    let query = w.required_string(th, "query", at, "[[watch]]");
    let feeds = w.strings(th, "feeds").unwrap_or_default();
    let alert = match w.string(th, "alert") {
        None => AlertMode::Digest,
        Some(a) => match a.value.as_str() {
            "immediate" => AlertMode::Immediate,
            "digest" => AlertMode::Digest,
            other => {
                w.error(
                    a.span,
                    format!("unknown `alert` \"{other}\" (expected \"immediate\" or \"digest\")"),
                );
                AlertMode::Digest
            }
        },
    };
    let digest = w.string(th, "digest").map(|d| d.value);
    let to = w.strings(th, "to").unwrap_or_default();
    let feed = w.boolean(th, "feed").unwrap_or(false);
    // A watch published as a feed may have no other recipient: its readers are the feed's.
    if alert == AlertMode::Immediate && to.is_empty() && !feed {
        w.error(
            at,
            "an immediate watch needs recipients in `to` (or `feed = true`, to publish it as an Atom feed only)",
        );
    }
    for t in &to {
        if super::channel_of(&t.value).is_none() && !t.value.contains('@') {
            w.error(
                t.span,
                format!("recipient \"{}\" is not an email address", t.value),
            );
        }
    }
    let query = query?;
    Some((
        Watch {
            name: name?.value,
            query: query.value,
            feeds: feeds
                .iter()
                .map(|f| FeedSelector::parse(&f.value))
                .collect(),
            alert,
            digest,
            to: to.into_iter().map(|t| t.value).collect(),
            feed,
        },
        query.span,
    ))
}
