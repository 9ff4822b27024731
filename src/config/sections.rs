//! Config stage, the sections of `vigie.toml` one by one (`[poll]`, `[[feed]]`, `[mail]`
//! and `[mail.smtp]`, `[[digest]]`, `[[channel]]`, `[store]`, `[feeds]`): each reads its keys through the `Walker`, which
//! records every fault with its position and lets reading go on. Pure.

use std::path::Path;

use toml_span::Span;
use toml_span::de_helpers::TableHelper;

use super::walk::Walker;
use super::*;

pub(super) fn poll_section(w: &mut Walker<'_>, th: &mut TableHelper<'_>, poll: &mut PollConfig) {
    if let Some(i) = interval(w, th) {
        poll.interval = i;
    }
    if let Some(f) = fulltext(w, th) {
        poll.fulltext = f;
    }
    if let Some(n) = w.count(th, "concurrency", 10_000) {
        poll.concurrency = n as usize;
    }
    if let Some(n) = w.count(th, "per_host", 1_000) {
        poll.per_host = n as usize;
    }
    if let Some(d) = w.duration(th, "timeout", units::ranges::TIMEOUT) {
        poll.timeout = d;
    }
    if let Some(n) = w.size(th, "max_body", units::ranges::MAX_BODY) {
        poll.max_body = n;
    }
}

fn interval(w: &mut Walker<'_>, th: &mut TableHelper<'_>) -> Option<Interval> {
    let s = w.string(th, "interval")?;
    if s.value == "auto" {
        return Some(Interval::Auto);
    }
    w.duration_of(&s, "interval", units::ranges::INTERVAL, " (or \"auto\")")
        .map(Interval::Fixed)
}

fn fulltext(w: &mut Walker<'_>, th: &mut TableHelper<'_>) -> Option<Fulltext> {
    let s = w.string(th, "fulltext")?;
    match s.value.as_str() {
        "auto" => Some(Fulltext::Auto),
        "always" => Some(Fulltext::Always),
        "never" => Some(Fulltext::Never),
        other => {
            w.error(
                s.span,
                format!("`fulltext` must be \"auto\", \"always\" or \"never\", not \"{other}\""),
            );
            None
        }
    }
}

pub(super) fn feed_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    at: Span,
) -> Option<FeedConfig> {
    let name = w.required_string(th, "name", at, "[[feed]]");
    let url = w.required_string(th, "url", at, "[[feed]]");
    let interval = interval(w, th);
    let fulltext = fulltext(w, th);
    let tags = w.strings(th, "tags").unwrap_or_default();
    if let Some(u) = &url {
        match url::Url::parse(&u.value) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            Ok(parsed) => w.error(
                u.span,
                format!("feed url must be http or https, not {}", parsed.scheme()),
            ),
            Err(e) => w.error(u.span, format!("invalid feed url \"{}\": {e}", u.value)),
        }
    }
    if let Some(n) = &name
        && n.value.trim().is_empty()
    {
        w.error(n.span, "feed name must not be empty");
    }
    Some(FeedConfig {
        name: name?.value,
        url: url?.value,
        interval,
        tags: tags.into_iter().map(|t| t.value).collect(),
        fulltext,
    })
}

pub(super) fn mail_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    dir: &Path,
    mail: &mut MailConfig,
) {
    if let Some(f) = w.string(th, "from") {
        if !f.value.contains('@') {
            w.error(
                f.span,
                format!("`from` must be an email address, not \"{}\"", f.value),
            );
        }
        mail.from = f.value;
    }
    if let Some(a) = w.strings(th, "admin") {
        mail.admin = a.into_iter().map(|s| s.value).collect();
    }
    if let Some(tz) = w.string(th, "timezone") {
        if tz.value.parse::<chrono_tz::Tz>().is_err() {
            w.error(
                tz.span,
                format!(
                    "unknown time zone \"{}\" (expected an IANA name such as \"Europe/Paris\")",
                    tz.value
                ),
            );
        }
        mail.timezone = Some(tz.value);
    }
    let maildir = w.string(th, "dir").map(|d| dir.join(d.value));
    let transport = w.string(th, "transport");
    let smtp = th.take("smtp");
    let kind = transport.as_ref().map_or("maildir", |t| t.value.as_str());
    match kind {
        "maildir" => {
            mail.transport = Transport::Maildir {
                dir: maildir.unwrap_or_default(),
            };
            if let Some((k, _)) = smtp {
                w.error(k.span, "[mail.smtp] is set but `transport` is not \"smtp\"");
            }
        }
        "smtp" => match smtp {
            Some((k, mut v)) => {
                if let Some(mut st) = w.table(&mut v, "[mail.smtp]") {
                    if let Some(s) = smtp_section(w, &mut st, k.span) {
                        mail.transport = Transport::Smtp(s);
                    }
                    w.finish(st, "[mail.smtp]");
                }
            }
            None => {
                let span = transport.as_ref().map_or(Span::new(0, 0), |t| t.span);
                w.error(span, "transport = \"smtp\" needs a [mail.smtp] section");
            }
        },
        other => {
            let span = transport.as_ref().map_or(Span::new(0, 0), |t| t.span);
            w.error(
                span,
                format!("unknown mail transport \"{other}\" (expected \"smtp\" or \"maildir\")"),
            );
        }
    }
}

fn smtp_section(w: &mut Walker<'_>, th: &mut TableHelper<'_>, at: Span) -> Option<SmtpConfig> {
    let host = w.required_string(th, "host", at, "[mail.smtp]");
    let security = match w.string(th, "security") {
        None => Security::StartTls,
        Some(s) => match s.value.as_str() {
            "starttls" => Security::StartTls,
            "tls" => Security::Tls,
            "none" => Security::None,
            other => {
                w.error(s.span, format!("unknown `security` \"{other}\" (expected \"starttls\", \"tls\" or \"none\")"));
                Security::StartTls
            }
        },
    };
    let default_port = match security {
        Security::Tls => 465,
        Security::StartTls => 587,
        Security::None => 25,
    };
    let port = w
        .count(th, "port", 65_535)
        .map_or(default_port, |p| p as u16);
    let username = w.string(th, "username").map(|s| s.value);
    let password = secret_source(w, th, "password_file", "password_env");
    Some(SmtpConfig {
        host: host?.value,
        port,
        security,
        username,
        password,
    })
}

pub(super) fn digest_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    at: Span,
) -> Option<DigestConfig> {
    use super::units::{parse_cron, parse_zone};
    let name = w.required_string(th, "name", at, "[[digest]]");
    let at_s = w.string(th, "at");
    let cron = w.string(th, "cron");
    let timezone = match w.string(th, "timezone") {
        None => "UTC".to_string(),
        Some(t) => {
            if let Err(e) = parse_zone(&t.value) {
                w.error(t.span, format!("`timezone`: {e}"));
            }
            t.value
        }
    };
    let to = w.strings(th, "to").unwrap_or_default();
    let feed = w.boolean(th, "feed").unwrap_or(false);
    for t in to.iter().filter(|t| channel_of(&t.value).is_none()) {
        if let Err(e) = t.value.parse::<lettre::message::Mailbox>() {
            w.error(
                t.span,
                format!("`to`: \"{}\" is not an email address ({e})", t.value),
            );
        }
    }
    let schedule = match (at_s, cron) {
        (Some(a), None) => match parse_hhmm(&a.value) {
            Some((hour, minute)) => Some(Schedule::At { hour, minute }),
            None => {
                w.error(
                    a.span,
                    format!("`at` must be a time HH:MM, not \"{}\"", a.value),
                );
                None
            }
        },
        (None, Some(c)) => {
            if c.value.split_whitespace().count() != 5 && !c.value.trim_start().starts_with('@') {
                w.error(
                    c.span,
                    format!(
                        "`cron` must have five fields (minute hour day month weekday), not \"{}\"",
                        c.value
                    ),
                );
            } else if let Err(e) = parse_cron(&c.value) {
                w.error(c.span, format!("`cron`: {e}"));
            }
            Some(Schedule::Cron(c.value))
        }
        (Some(a), Some(_)) => {
            w.error(a.span, "set one of `at` and `cron`, not both");
            None
        }
        (None, None) => {
            w.error(at, "a [[digest]] needs `at` or `cron`");
            None
        }
    };
    Some(DigestConfig {
        name: name?.value,
        schedule: schedule?,
        timezone,
        to: to.into_iter().map(|t| t.value).collect(),
        feed,
    })
}

fn parse_hhmm(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() <= 5).then_some((h, m))
}

/// One `[[channel]]`: its name, its type, where it posts, and where its credential is read.
pub(super) fn channel_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    at: Span,
) -> Option<ChannelConfig> {
    let name = w.required_string(th, "name", at, "[[channel]]");
    if let Some(n) = &name
        && (n.value.is_empty() || n.value.contains(char::is_whitespace))
    {
        w.error(n.span, "a channel name must be one word");
    }
    let kind = w.required_string(th, "type", at, "[[channel]]");
    let kind = match kind.as_ref().map(|k| k.value.as_str()) {
        Some("webhook") => Some(ChannelKind::Webhook),
        Some("ntfy") => Some(ChannelKind::Ntfy),
        Some("slack") => Some(ChannelKind::Slack),
        Some("telegram") => Some(ChannelKind::Telegram),
        Some("matrix") => Some(ChannelKind::Matrix),
        Some(other) => {
            let span = kind.as_ref().map_or(at, |k| k.span);
            w.error(span, format!("unknown channel `type` \"{other}\" (expected \"webhook\", \"ntfy\", \"slack\", \"telegram\" or \"matrix\")"));
            None
        }
        None => None,
    };
    let url = match kind {
        Some(ChannelKind::Telegram) => w.string(th, "url"),
        _ => w.required_string(th, "url", at, "[[channel]]"),
    };
    if let Some(u) = &url
        && !(u.value.starts_with("https://") || u.value.starts_with("http://"))
    {
        w.error(
            u.span,
            format!(
                "`url` must be an http:// or https:// URL, not \"{}\"",
                u.value
            ),
        );
    }
    let chat_id = w.string(th, "chat_id");
    let room = w.string(th, "room");
    let secret = secret_source(w, th, "secret_file", "secret_env");
    let kind = kind?;
    let needs = |what: &str| format!("a {} channel needs {what}", kind.name());
    match kind {
        ChannelKind::Webhook | ChannelKind::Telegram | ChannelKind::Matrix if secret.is_none() => {
            let what = match kind {
                ChannelKind::Webhook => {
                    "its signing secret (`secret_file` or `secret_env`, whsec_…)"
                }
                ChannelKind::Telegram => "its bot token (`secret_file` or `secret_env`)",
                _ => "its access token (`secret_file` or `secret_env`)",
            };
            w.error(at, needs(what));
        }
        ChannelKind::Telegram if chat_id.is_none() => w.error(at, needs("`chat_id`")),
        ChannelKind::Matrix if room.is_none() => w.error(at, needs("`room`")),
        _ => {}
    }
    Some(ChannelConfig {
        name: name?.value,
        kind,
        url: url.map_or_else(|| "https://api.telegram.org".to_owned(), |u| u.value),
        chat_id: chat_id.map(|c| c.value),
        room: room.map(|r| r.value),
        secret,
    })
}

/// Where a secret is read: the file of key `file`, or the environment variable of key `env`
/// (not both). The secret itself is read later, by whoever uses it.
fn secret_source(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    file: &'static str,
    env: &'static str,
) -> Option<PasswordSource> {
    match (w.string(th, file), w.string(th, env)) {
        (Some(f), Some(_)) => {
            w.error(f.span, format!("set one of `{file}` and `{env}`, not both"));
            None
        }
        (Some(f), None) => Some(PasswordSource::File(PathBuf::from(f.value))),
        (None, Some(e)) => Some(PasswordSource::Env(e.value)),
        (None, None) => None,
    }
}

/// `[store]`: `url` (a `postgres://` URL, a relative `sslrootcert` in it starting from
/// the configuration's folder `dir`) and where its password is read.
pub(super) fn store_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    dir: &Path,
    at: Span,
) -> Option<StoreConfig> {
    let url = w.required_string(th, "url", at, "[store]")?;
    if !(url.value.starts_with("postgres://") || url.value.starts_with("postgresql://")) {
        w.error(
            url.span,
            // Not repeated: a connection string may hold a password.
            "`url` must be a postgres:// URL".to_string(),
        );
    } else if let Err(e) = super::pgurl::PgUrl::parse(&url.value) {
        w.error(url.span, format!("`url`: {e}"));
    }
    let password = secret_source(w, th, "password_file", "password_env");
    Some(StoreConfig {
        url: super::pgurl::rooted(&url.value, dir),
        password,
    })
}

/// `[feeds]`: where the Atom feeds' token is read (a relative `token_file` starts from the
/// configuration's folder `dir`), and the address readers reach the daemon's server at.
pub(super) fn feeds_section(
    w: &mut Walker<'_>,
    th: &mut TableHelper<'_>,
    dir: &Path,
) -> AtomConfig {
    let token = secret_source(w, th, "token_file", "token_env").map(|s| match s {
        PasswordSource::File(p) => PasswordSource::File(dir.join(p)),
        env => env,
    });
    let base_url = w.string(th, "base_url").and_then(|b| {
        let bad = match url::Url::parse(&b.value) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                Some(format!("must be http or https, not {}", u.scheme()))
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                Some("must have no query (`?…`) nor fragment (`#…`)".to_string())
            }
            Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("needs a host".into()),
            Ok(_) => None,
            Err(e) => Some(format!("is not a URL ({e})")),
        };
        match bad {
            Some(why) => {
                w.error(b.span, format!("`base_url` \"{}\" {why}", b.value));
                None
            }
            None => Some(b.value.trim_end_matches('/').to_string()),
        }
    });
    AtomConfig { token, base_url }
}
