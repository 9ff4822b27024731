//! CLI, `vigie check`: the configuration was loaded (every fault reported, exit 2) before
//! this runs; it prints the summary and what each place name resolved to. No network.

use std::process::ExitCode;

use crate::config::pgurl::{PgUrl, Roots};
use crate::config::{AlertMode, Config};
use crate::rules::Matcher;

pub fn check(cfg: &Config) -> ExitCode {
    let matcher = match cfg.matcher() {
        Ok(m) => m,
        Err(errs) => {
            // Unreachable for a loaded configuration: loading compiled its rules.
            for e in errs {
                errln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    let immediate = cfg
        .rules
        .watches
        .iter()
        .filter(|w| w.alert == AlertMode::Immediate)
        .count();
    let mut recipients: Vec<&str> = cfg
        .rules
        .watches
        .iter()
        .flat_map(|w| w.to.iter())
        .chain(cfg.digests.iter().flat_map(|d| d.to.iter()))
        .chain(cfg.mail.admin.iter())
        .map(String::as_str)
        .collect();
    recipients.sort_unstable();
    recipients.dedup();
    outln!("configuration {} is valid", cfg.path.display());
    outln!("  feeds:      {}", cfg.feeds.len());
    outln!(
        "  watches:    {} ({immediate} immediate, {} digest)",
        cfg.rules.watches.len(),
        cfg.rules.watches.len() - immediate
    );
    outln!("  entities:   {}", cfg.rules.entities.len());
    outln!("  patterns:   {}", matcher.pattern_count());
    check_places(cfg, &matcher);
    super::variants::check_loose(cfg, &matcher);
    outln!("  digests:    {}", cfg.digests.len());
    outln!("  recipients: {}", recipients.len());
    outln!("  state:      {}", cfg.state_dir.display());
    if let Some(line) = super::published::summary(cfg) {
        outln!("{line}");
    }
    if let Some(store) = &cfg.store {
        check_store(&store.url);
    }
    ExitCode::SUCCESS
}

/// `vigie check`'s store: where (its password hidden), whether the connection will be
/// encrypted and what the server's certificate is verified against; a warning when the CA
/// file it names is not there (it is read when connecting, so this is not an error).
fn check_store(url: &str) {
    // A loaded configuration's url parsed; `describe` is only missing for another one.
    let parsed = PgUrl::parse(url);
    let tls = parsed
        .as_ref()
        .map_or_else(|e| e.to_string(), PgUrl::describe);
    outln!(
        "  store:      PostgreSQL at {} ({tls})",
        super::store::redacted(url)
    );
    if let Ok(PgUrl {
        roots: Roots::File(f),
        ..
    }) = &parsed
        && !f.is_file()
    {
        errln!(
            "warning: [store] url: sslrootcert {} is not a file here",
            f.display()
        );
    }
}

/// `vigie check`'s places: what each `place:` and `within()` resolved to, so that the user sees
/// which Homs they got, and a warning on stderr for a name that another place of comparable size
/// also carries. Whether the gazetteer was loaded at all is shown too (it is only for rules
/// that need it).
fn check_places(cfg: &Config, matcher: &Matcher) {
    let places = matcher.places();
    // `get()` only after `is_loaded()`: asking must not load it.
    let loaded = match crate::rules::gazetteer::is_loaded().then(crate::rules::gazetteer::get) {
        Some(Ok(_)) => "gazetteer loaded".to_owned(),
        Some(Err(e)) => e.to_string(),
        None => "gazetteer not loaded".to_owned(),
    };
    if places.is_empty() {
        outln!("  places:     none ({loaded})");
        return;
    }
    outln!("  places:     {} ({loaded})", places.len());
    for report in places {
        let names: Vec<&str> = (report.watches.iter())
            .filter_map(|&w| cfg.rules.watches.get(w).map(|w| w.name.as_str()))
            .collect();
        let used_by = match names.as_slice() {
            [] => String::new(),
            [one] => format!(" [watch {one}]"),
            [first, rest @ ..] => format!(" [watches {first} and {} more]", rest.len()),
        };
        outln!("    {}{used_by}", report.describe());
        for warning in [report.name_warning(), report.warning()]
            .into_iter()
            .flatten()
        {
            errln!(
                "warning: watch \"{}\": {warning}",
                names.first().copied().unwrap_or_default()
            );
        }
    }
}
