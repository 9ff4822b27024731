//! CLI, `vigie rules variants [--since 30d] [--watch NAME]`: for each `~` name of the rules,
//! the spellings its hits had in the stored articles, with how many articles — what the watch
//! catches before it alerts, so that a wrong one can be excluded with `-"that spelling"`. And
//! `vigie check`'s lines on the `~` names (a warning for short ones). Reads only.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use super::fail;
use crate::config::{self, Config};
use crate::rules::{Document, LooseNameInfo, Matcher};
use crate::store::Store;

/// The spellings of one name: lower-cased spelling → (article count, written forms and their
/// counts, as written).
type Seen = HashMap<String, (usize, HashMap<String, usize>, bool)>;

pub fn variants(cfg: &Config, since: &str, watch: Option<&str>) -> ExitCode {
    let window = match config::units::parse_duration(since) {
        Ok(d) => d,
        Err(e) => return fail(format!("--since: {e}"), 2),
    };
    let only = match watch {
        Some(w) => match cfg.rules.watches.iter().position(|x| x.name == w) {
            Some(k) => Some(k),
            None => return fail(format!("no watch named \"{w}\""), 2),
        },
        None => None,
    };
    let Ok(matcher) = cfg.matcher() else {
        return ExitCode::from(2);
    };
    let names: Vec<(usize, LooseNameInfo)> = (matcher.loose_names().into_iter().enumerate())
        .filter(|(_, n)| only.is_none_or(|w| n.watches.contains(&w)))
        .collect();
    if names.is_empty() {
        match watch {
            Some(w) => outln!("no ~ name in watch \"{w}\""),
            None => outln!("no ~ name in the watches"),
        }
        return ExitCode::SUCCESS;
    }
    let store = match Store::open_config(&cfg.state_dir, cfg.store.as_ref()) {
        Ok(s) => s,
        Err(e) => return fail(e, 1),
    };
    let from = chrono::Utc::now()
        - chrono::Duration::from_std(window).unwrap_or_else(|_| chrono::Duration::days(3650));
    let articles = match crate::store::articles::since(&store.conn, from) {
        Ok(a) => a,
        Err(e) => return fail(e, 1),
    };
    let seen = count(&matcher, &articles);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} articles since {since} ago", articles.len());
    for (k, info) in &names {
        if print_name(&mut out, cfg, info, seen.get(k)).is_err() {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

/// For each `~` name (by index), the spellings of its hits, each counted once an article.
fn count(matcher: &Matcher, articles: &[crate::store::articles::Carried]) -> HashMap<usize, Seen> {
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    for a in articles {
        let doc = Document {
            title: &a.title,
            summary: &a.summary,
            content: &a.content,
        };
        let mut in_article: Vec<(usize, String)> = Vec::new();
        for s in matcher.spellings(&doc) {
            let text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let key = text.to_lowercase();
            let entry = seen.entry(s.name).or_default().entry(key.clone());
            let (n, forms, written) = entry.or_default();
            *forms.entry(text).or_default() += 1;
            *written |= s.as_written;
            if !in_article.contains(&(s.name, key.clone())) {
                *n += 1;
                in_article.push((s.name, key));
            }
        }
    }
    seen
}

fn print_name(
    out: &mut impl Write,
    cfg: &Config,
    info: &LooseNameInfo,
    seen: Option<&Seen>,
) -> std::io::Result<()> {
    let watches: Vec<&str> = (info.watches.iter())
        .filter_map(|&w| cfg.rules.watches.get(w).map(|w| w.name.as_str()))
        .collect();
    let label = if watches.len() == 1 {
        "watch"
    } else {
        "watches"
    };
    writeln!(out, "{}  ({label} {})", info.name, watches.join(", "))?;
    let mut rows: Vec<(usize, String, bool)> = (seen.into_iter().flatten())
        .map(|(_, (n, forms, written))| {
            let shown = (forms.iter())
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(f, _)| f.clone())
                .unwrap_or_default();
            (*n, shown, *written)
        })
        .collect();
    rows.sort_by(|a, b| (b.2, b.0, &a.1).cmp(&(a.2, a.0, &b.1)));
    if rows.is_empty() {
        writeln!(out, "    (no hit)")?;
    }
    for (n, text, written) in rows {
        let note = if written {
            "as written".to_owned()
        } else if info.consonants <= 2 {
            format!("← write -\"{text}\" to exclude it")
        } else {
            String::new()
        };
        writeln!(out, "  {n:>5}  {text:<24} {note}")?;
    }
    Ok(())
}

/// `vigie check`: how many `~` names the rules have, and a warning for each short one (2
/// consonants or fewer), which may catch other names.
pub fn check_loose(cfg: &Config, matcher: &Matcher) {
    let names = matcher.loose_names();
    if names.is_empty() {
        return;
    }
    outln!("  ~ names:    {}", names.len());
    for n in names.iter().filter(|n| n.consonants <= 2) {
        let watch = (n.watches.first())
            .and_then(|&w| cfg.rules.watches.get(w))
            .map_or("", |w| w.name.as_str());
        errln!(
            "warning: watch \"{watch}\": {} has {} consonant{}: in any spelling it may catch \
             other names; `vigie rules variants` shows what it catches",
            n.name,
            n.consonants,
            if n.consonants == 1 { "" } else { "s" }
        );
    }
}
