//! CLI, `vigie rules test [--json] FILE...`: feed files or article files matched against the
//! watches offline, as the daemon would match them. Output is the contract's (§1): a line
//! per matching item and its hits, or one JSON object per match; a hit that a `~` name found
//! in another spelling says which name (`(≈ ~Name)`, `"matched"` in JSON).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::rules::{Document, Matcher};

pub fn rules_test(cfg: &Config, json: bool, files: &[PathBuf]) -> ExitCode {
    let Ok(matcher) = cfg.matcher() else {
        return ExitCode::from(2);
    };
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                errln!("vigie: {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let items = crate::parse::parse_any(&bytes, &name);
        for (i, item) in items.iter().enumerate() {
            let id = item
                .guid
                .clone()
                .or_else(|| item.link.clone())
                .unwrap_or_else(|| format!("{name}#{}", i + 1));
            if print_item_matches(&mut out, cfg, &matcher, item, &id, json).is_err() {
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(if failed { 1 } else { 0 })
}

fn print_item_matches(
    out: &mut impl Write,
    cfg: &Config,
    matcher: &Matcher,
    item: &crate::parse::Item,
    id: &str,
    json: bool,
) -> std::io::Result<()> {
    let doc = Document {
        title: &item.title,
        summary: &item.summary,
        content: &item.content,
    };
    let matches = matcher.match_document(&doc);
    // Place names the place rules set aside, with why (not in JSON: one line is one match).
    let aside = if json {
        Vec::new()
    } else {
        matcher.set_aside_from(&doc, None)
    };
    if !json && (!matches.is_empty() || !aside.is_empty()) {
        let title = if item.title.is_empty() {
            "(untitled)"
        } else {
            &item.title
        };
        writeln!(out, "{id}  {title}")?;
    }
    for m in matches {
        let watch = &cfg.rules.watches[m.watch].name;
        // The `~` name a hit spells otherwise, if any.
        let spelled = |k: usize| m.loose.iter().find(|l| l.hit == k).map(|l| l.name.as_str());
        if json {
            let hits: Vec<JsonHit> = (m.hits.iter().enumerate())
                .map(|(k, hit)| JsonHit {
                    hit,
                    matched: spelled(k),
                })
                .collect();
            let line = JsonMatch {
                item: id,
                title: &item.title,
                watch,
                hits: &hits,
            };
            writeln!(out, "{}", serde_json::to_string(&line).unwrap_or_default())?;
        } else {
            let hits: Vec<String> = (m.hits.iter().enumerate())
                .map(|(k, h)| {
                    let name = spelled(k).map(|n| format!(" (≈ {n})")).unwrap_or_default();
                    format!(
                        "«{}» {} {}..{}{name}",
                        h.text,
                        field_name(h.field),
                        h.start,
                        h.end
                    )
                })
                .collect();
            writeln!(out, "  {watch}: {}", hits.join(", "))?;
        }
    }
    for a in &aside {
        writeln!(
            out,
            "  {}: «{}» {} {}..{}: {}",
            if a.kept { "kept" } else { "set aside" },
            a.text,
            a.field.name(),
            a.start,
            a.end,
            a.why()
        )?;
    }
    Ok(())
}

/// One line of `rules test --json`, fields in the contract's order.
#[derive(serde::Serialize)]
struct JsonMatch<'a> {
    item: &'a str,
    title: &'a str,
    watch: &'a str,
    hits: &'a [JsonHit<'a>],
}

/// A hit, and for one that a `~` name found in another spelling, that name (`"matched":
/// "~\"al-Kallabiyeh\""`).
#[derive(serde::Serialize)]
struct JsonHit<'a> {
    #[serde(flatten)]
    hit: &'a crate::rules::Hit,
    #[serde(skip_serializing_if = "Option::is_none")]
    matched: Option<&'a str>,
}

fn field_name(f: crate::rules::Field) -> &'static str {
    match f {
        crate::rules::Field::Title => "title",
        crate::rules::Field::Summary => "summary",
        crate::rules::Field::Content => "content",
    }
}
