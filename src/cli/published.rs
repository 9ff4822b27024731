//! CLI, the Atom feeds vigie publishes: `vigie feeds url NAME` prints the URL to give a
//! reader (the watch's or digest's feed, its token included), and `vigie check`'s line about
//! them. Invariants: no network; the token is read only to print the URL the user asked
//! for, never in an error; a name that is both a watch and a digest is never guessed.

use std::process::ExitCode;

use super::fail;
use crate::config::Config;
use crate::deliver::atom;
use crate::store::published::Which;

/// `vigie feeds url NAME [--watch | --digest]`.
pub fn url(cfg: &Config, name: &str, watch: bool, digest: bool) -> ExitCode {
    let is_watch = cfg.rules.watches.iter().find(|w| w.name == name);
    let is_digest = cfg.digests.iter().find(|d| d.name == name);
    let (which, feed) = match (is_watch, is_digest) {
        (Some(_), Some(_)) if !watch && !digest => {
            return fail(
                format!("\"{name}\" is both a watch and a digest: add --watch or --digest"),
                2,
            );
        }
        (Some(w), _) if !digest => (Which::Watch(name), w.feed),
        (_, Some(d)) if !watch => (Which::Digest(name), d.feed),
        _ => {
            let what = match (watch, digest) {
                (true, _) => "watch",
                (_, true) => "digest",
                _ => "watch or digest",
            };
            return fail(
                format!("no {what} named \"{name}\" in the configuration"),
                2,
            );
        }
    };
    let kind = match which {
        Which::Watch(_) => "watch",
        Which::Digest(_) => "digest",
    };
    if !feed {
        return fail(
            format!("the {kind} \"{name}\" is not published: add `feed = true` to it"),
            2,
        );
    }
    // A loaded configuration with `feed = true` has both: `vigie check` demands them.
    let (Some(source), Some(base)) = (&cfg.atom.token, atom::base_url(cfg)) else {
        return fail(
            "[feeds] needs token_file or token_env, and [server] listen",
            2,
        );
    };
    let token = match source.read() {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        Ok(_) => return fail("the Atom feeds' token is empty", 1),
        Err(e) => return fail(format!("cannot read the Atom feeds' token: {e}"), 1),
    };
    outln!("{}", atom::url(&base, which, &token));
    if cfg.atom.base_url.is_none()
        && let Some(srv) = &cfg.server
        && srv
            .listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_unspecified())
    {
        errln!(
            "note: [server] listen is {}: readers on other machines use this host's name instead of 127.0.0.1 (or set [feeds] base_url)",
            srv.listen
        );
    }
    ExitCode::SUCCESS
}

/// `vigie check`'s line about the published feeds, if any.
pub fn summary(cfg: &Config) -> Option<String> {
    let names: Vec<String> = (cfg.rules.watches.iter())
        .filter(|w| w.feed)
        .map(|w| format!("watch {}", w.name))
        .chain(
            (cfg.digests.iter())
                .filter(|d| d.feed)
                .map(|d| format!("digest {}", d.name)),
        )
        .collect();
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "  atom feeds: {} ({}) at {}/feeds/…; `vigie feeds url NAME` prints each URL",
        names.len(),
        names.join(", "),
        atom::base_url(cfg).unwrap_or_default()
    ))
}
