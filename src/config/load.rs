//! Config stage: reading `vigie.toml` and its rule files into a validated `Config`.
//! Every fault of every file is collected (file:line:col) before anything is reported;
//! only reading the files touches the disk, the rest is pure.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::sections::{
    channel_section, digest_section, feed_section, feeds_section, mail_section, poll_section,
    store_section,
};
use super::units::ranges;
use super::walk::Walker;
use super::*;
use crate::config::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::rules::Matcher;

/// Load the configuration at `path` and every rule file it names.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let text = read(path, None)?;
    load_str(path, text, &mut |p: &Path| read(p, Some(path)))
}

fn read(path: &Path, from: Option<&Path>) -> Result<String, Diagnostics> {
    std::fs::read_to_string(path).map_err(|e| {
        let message = match from {
            Some(cfg) => format!("cannot read rule file named in {}: {e}", cfg.display()),
            None => format!("cannot read configuration: {e}"),
        };
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message,
            detail: None,
        }])
    })
}

/// Load a configuration from text; `read_rules` reads a rule file (injected for tests).
pub fn load_str(
    path: &Path,
    text: String,
    read_rules: &mut dyn FnMut(&Path) -> Result<String, Diagnostics>,
) -> Result<Config, Diagnostics> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let src = SourceFile::new(path, text);
    let mut errors = Vec::new();
    let mut raw = match toml_span::parse(&src.text) {
        Ok(v) => v,
        Err(e) => {
            let mut w = Walker::new(&src);
            w.toml_error(e, "the configuration");
            return Err(Diagnostics(w.errors));
        }
    };
    let mut w = Walker::new(&src);
    let mut cfg = Config {
        path: path.to_path_buf(),
        dir: dir.clone(),
        state_dir: dir.join("var"),
        backfill: std::time::Duration::from_secs(48 * 3600),
        retention: std::time::Duration::from_secs(90 * 86_400),
        story_window: std::time::Duration::from_secs(7 * 86_400),
        poll: PollConfig::default(),
        feeds: Vec::new(),
        server: None,
        mail: MailConfig {
            from: "vigie <vigie@localhost>".into(),
            admin: Vec::new(),
            transport: Transport::Maildir {
                dir: PathBuf::new(),
            },
            timezone: None,
        },
        digests: Vec::new(),
        channels: Vec::new(),
        store: None,
        atom: AtomConfig::default(),
        rules: Rules::default(),
        files: vec![path.to_path_buf()],
        compiled: None,
    };
    let mut rule_paths = Vec::new();
    if let Some(mut root) = w.table(&mut raw, "the configuration") {
        if let Some(s) = w.string(&mut root, "state_dir") {
            cfg.state_dir = dir.join(&s.value);
        }
        if let Some(d) = w.duration(&mut root, "backfill", ranges::BACKFILL) {
            cfg.backfill = d;
        }
        if let Some(d) = w.duration(&mut root, "retention", ranges::RETENTION) {
            cfg.retention = d;
        }
        if let Some(d) = w.duration(&mut root, "story_window", ranges::STORY_WINDOW) {
            cfg.story_window = d;
        }
        if let Some((_, mut v)) = root.take("poll")
            && let Some(mut th) = w.table(&mut v, "[poll]")
        {
            poll_section(&mut w, &mut th, &mut cfg.poll);
            w.finish(th, "[poll]");
        }
        for mut v in w.array_of_tables(&mut root, "feed") {
            let span = v.span;
            if let Some(mut th) = w.table(&mut v, "[[feed]]") {
                if let Some(feed) = feed_section(&mut w, &mut th, span) {
                    cfg.feeds.push(feed);
                }
                w.finish(th, "[[feed]]");
            }
        }
        if let Some((_, mut v)) = root.take("server") {
            let span = v.span;
            if let Some(mut th) = w.table(&mut v, "[server]") {
                if let Some(l) = w.required_string(&mut th, "listen", span, "[server]") {
                    if l.value.parse::<std::net::SocketAddr>().is_err() {
                        w.error(l.span, format!("`listen` must be an address such as \"127.0.0.1:9477\", not \"{}\"", l.value));
                    }
                    cfg.server = Some(ServerConfig { listen: l.value });
                }
                w.finish(th, "[server]");
            }
        }
        if let Some((_, mut v)) = root.take("mail")
            && let Some(mut th) = w.table(&mut v, "[mail]")
        {
            mail_section(&mut w, &mut th, &dir, &mut cfg.mail);
            w.finish(th, "[mail]");
        }
        if let Some((_, mut v)) = root.take("feeds")
            && let Some(mut th) = w.table(&mut v, "[feeds]")
        {
            cfg.atom = feeds_section(&mut w, &mut th, &dir);
            w.finish(th, "[feeds]");
        }
        for mut v in w.array_of_tables(&mut root, "digest") {
            let span = v.span;
            if let Some(mut th) = w.table(&mut v, "[[digest]]") {
                if let Some(d) = digest_section(&mut w, &mut th, span) {
                    if let Some(why) = unpublishable(&cfg, d.feed) {
                        w.error(span, format!("digest \"{}\" {why}", d.name));
                    }
                    cfg.digests.push(d);
                }
                w.finish(th, "[[digest]]");
            }
        }
        if let Some((_, mut v)) = root.take("store") {
            let span = v.span;
            if let Some(mut th) = w.table(&mut v, "[store]") {
                cfg.store = store_section(&mut w, &mut th, &dir, span);
                w.finish(th, "[store]");
            }
        }
        for mut v in w.array_of_tables(&mut root, "channel") {
            let span = v.span;
            if let Some(mut th) = w.table(&mut v, "[[channel]]") {
                if let Some(c) = channel_section(&mut w, &mut th, span) {
                    cfg.channels.push(c);
                }
                w.finish(th, "[[channel]]");
            }
        }
        if let Some(list) = w.strings(&mut root, "rules") {
            rule_paths = list;
        }
        w.finish(root, "the configuration");
    }
    if let Transport::Maildir { dir: d } = &mut cfg.mail.transport
        && d.as_os_str().is_empty()
    {
        *d = cfg.state_dir.join("mail");
    }
    check_feeds(&mut w, &cfg.feeds);
    check_channels(&mut w, &cfg);
    errors.append(&mut w.errors);

    // Rule files, in order; each one's faults located in that file.
    let mut sources = Vec::new();
    for p in &rule_paths {
        let rp = dir.join(&p.value);
        cfg.files.push(rp.clone());
        match read_rules(&rp) {
            Ok(text) => sources.push(SourceFile::new(&rp, text)),
            Err(d) => {
                let (line, col) = src.line_col(p.span.start);
                errors.extend(d.0.into_iter().map(|mut x| {
                    x.message = format!(
                        "{} (named at {}:{line}:{col})",
                        x.message,
                        src.path.display()
                    );
                    x
                }));
            }
        }
    }
    let mut query_origin = Vec::new();
    for (i, rsrc) in sources.iter().enumerate() {
        super::rulefile::load_rules(rsrc, i, &mut cfg.rules, &mut query_origin, &mut errors);
    }
    cfg.compiled = cross_check(&cfg, &sources, &query_origin, &mut errors).map(std::sync::Arc::new);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(Diagnostics(errors))
    }
}

/// Why a watch or digest with `feed = true` (when `feed`) cannot be published: no token to
/// give its readers, or no server to serve it.
fn unpublishable(cfg: &Config, feed: bool) -> Option<&'static str> {
    if !feed {
        None
    } else if cfg.atom.token.is_none() {
        Some(
            "sets feed = true, but [feeds] has no `token_file` nor `token_env`: a published feed is read with a token (its URL ends in ?token=…)",
        )
    } else if cfg.server.is_none() {
        Some(
            "sets feed = true, but there is no [server] `listen`: the Atom feeds are served by the daemon's HTTP server",
        )
    } else {
        None
    }
}

/// Channel names are unique, and every `channel:NAME` of `[mail] admin` and of the digests'
/// `to` names one (the watches' are checked with their rule files).
fn check_channels(w: &mut Walker<'_>, cfg: &Config) {
    let mut seen = HashSet::new();
    let mut folded = HashSet::new();
    for c in &cfg.channels {
        seen.insert(c.name.as_str());
        // Recipients are compared without case (Message-IDs fold them): «Ops» is «ops».
        if !folded.insert(c.name.to_lowercase()) {
            let at = w.src.text.find(&format!("\"{}\"", c.name)).unwrap_or(0);
            w.errors.push(
                w.src
                    .diag(at, format!("channel name \"{}\" is used twice", c.name)),
            );
        }
    }
    let named = (cfg.mail.admin.iter()).chain(cfg.digests.iter().flat_map(|d| d.to.iter()));
    for r in named {
        if let Some(name) = super::channel_of(r)
            && !seen.contains(name)
        {
            let at = w.src.text.find(&format!("\"{r}\"")).map_or(0, |k| k + 1);
            w.errors.push(w.src.diag(at, unknown_channel(name)));
        }
    }
}

/// The error for `channel:NAME` when no `[[channel]]` has that name.
pub(super) fn unknown_channel(name: &str) -> String {
    format!("no [[channel]] named \"{name}\" in the configuration")
}

fn check_feeds(w: &mut Walker<'_>, feeds: &[FeedConfig]) {
    let mut seen = HashSet::new();
    for f in feeds {
        if !seen.insert(f.name.as_str()) {
            let at = w.src.text.find(&format!("\"{}\"", f.name)).unwrap_or(0);
            w.errors.push(
                w.src
                    .diag(at, format!("feed name \"{}\" is used twice", f.name)),
            );
        }
    }
}

/// Checks that need both files: a watch's digest exists, its feeds exist, its query
/// compiles. Returns the compiled watches, so that nothing compiles them a second time.
fn cross_check(
    cfg: &Config,
    sources: &[SourceFile],
    origin: &[super::rulefile::Origin],
    errors: &mut Vec<Diagnostic>,
) -> Option<Matcher> {
    let digests: HashSet<&str> = cfg.digests.iter().map(|d| d.name.as_str()).collect();
    let feeds: HashSet<&str> = cfg.feeds.iter().map(|f| f.name.as_str()).collect();
    let tags: HashSet<&str> = cfg
        .feeds
        .iter()
        .flat_map(|f| f.tags.iter().map(String::as_str))
        .collect();
    for (w, o) in cfg.rules.watches.iter().zip(origin) {
        let src = &sources[o.file];
        if let Some(why) = unpublishable(cfg, w.feed) {
            errors.push(src.diag(o.watch_at, format!("watch \"{}\" {why}", w.name)));
        }
        if w.alert == AlertMode::Digest {
            match &w.digest {
                Some(d) if !digests.contains(d.as_str()) => {
                    errors.push(src.diag(o.watch_at, format!("watch \"{}\" names digest \"{d}\", which is not defined in the configuration", w.name)));
                }
                None if cfg.digests.len() > 1 => {
                    errors.push(src.diag(o.watch_at, format!("watch \"{}\" must name its `digest`: the configuration defines several", w.name)));
                }
                // With feeds to match and no digest to receive them, its matches would
                // wait forever (a configuration without feeds only tests rules).
                None if cfg.digests.is_empty() && !cfg.feeds.is_empty() => {
                    errors.push(src.diag(o.watch_at, format!("watch \"{}\" alerts by digest (the default), but the configuration defines no [[digest]] to send it: add one, or set alert = \"immediate\"", w.name)));
                }
                _ => {}
            }
        }
        for r in &w.to {
            if let Some(name) = super::channel_of(r)
                && !cfg.channels.iter().any(|c| c.name == name)
            {
                let at = (src.text.get(o.watch_at..).unwrap_or_default())
                    .find(&format!("\"{r}\""))
                    .map_or(o.watch_at, |k| o.watch_at + k + 1);
                errors.push(src.diag(
                    at,
                    format!("watch \"{}\": {}", w.name, unknown_channel(name)),
                ));
            }
        }
        for sel in &w.feeds {
            let unknown = match sel {
                FeedSelector::Name(n) => !feeds.is_empty() && !feeds.contains(n.as_str()),
                FeedSelector::Tag(t) => !feeds.is_empty() && !tags.contains(t.as_str()),
                FeedSelector::All => false,
            };
            if unknown {
                errors.push(src.diag(o.watch_at, format!("watch \"{}\" names feed selector {sel:?}, which matches no configured feed", w.name)));
            }
        }
    }
    let compiled = cfg.rules.compile();
    if let Err(rule_errors) = &compiled {
        for e in rule_errors {
            let Some(o) = origin.get(e.watch) else {
                continue;
            };
            let src = &sources[o.file];
            let mut d = src.diag(
                o.query_at + e.offset,
                format!(
                    "watch \"{}\": {}",
                    cfg.rules.watches[e.watch].name, e.message
                ),
            );
            d.detail = Some(crate::rules::caret_line(
                &cfg.rules.watches[e.watch].query,
                e.offset,
            ));
            errors.push(d);
        }
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, w) in cfg.rules.watches.iter().enumerate() {
        if names.insert(w.name.as_str(), i).is_some() {
            let o = &origin[i];
            errors.push(sources[o.file].diag(
                o.watch_at,
                format!("watch name \"{}\" is used twice", w.name),
            ));
        }
    }
    compiled.ok()
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
