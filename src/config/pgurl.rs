//! Config stage, `[store] url`: a PostgreSQL connection string read as libpq reads it
//! (a `postgres://` URL, or `key=value` pairs), its TLS parameters (`sslmode`,
//! `sslrootcert`) taken out for vigie's own TLS and the rest left to the client as written.
//!
//! Invariants: pure (`sslrootcert` names a file read only when connecting); an error never
//! repeats the connection string, nor any value but sslmode's, so a password cannot reach
//! it; [`PgUrl::describe`] says what connecting will do, as `vigie check` prints it.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(s: &str) -> Option<SslMode> {
        [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }
}

/// What the server's certificate is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// Nothing: the certificate is not checked.
    Unchecked,
    /// The CA certificates of this PEM file (`sslrootcert=PATH`; in `vigie.toml`, a
    /// relative path starts from its folder, see [`rooted`]).
    File(PathBuf),
    /// libpq's default when a verify mode names no file: `~/.postgresql/root.crt` of the
    /// user vigie runs as.
    HomeDefault,
    /// The roots this machine trusts (`sslrootcert=system`).
    System,
}

/// A `[store] url`, read.
pub struct PgUrl {
    /// The connection string without `sslmode` and `sslrootcert`, as the client parsed it.
    pub config: postgres::Config,
    /// `sslmode` as written, or libpq's default (`prefer`, or `verify-full` with
    /// `sslrootcert=system`).
    pub mode: SslMode,
    /// Whether `sslmode` was written.
    pub mode_given: bool,
    /// What the chain is verified against (`require` with a root file verifies it, as libpq
    /// documents; `disable` and `prefer` never do).
    pub roots: Roots,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PgUrlError {
    #[error("not a valid PostgreSQL connection string{0}")]
    Invalid(String),
    #[error("sslmode must be disable, prefer, require, verify-ca or verify-full, not \"{0}\"")]
    SslMode(String),
    #[error(
        "sslrootcert=system needs sslmode=verify-full (as libpq), not {0}: this machine's \
         roots vouch for host names"
    )]
    System(&'static str),
    #[error("{0} is not valid UTF-8 once %-decoded")]
    NotUtf8(&'static str),
}

impl PgUrl {
    pub fn parse(s: &str) -> Result<PgUrl, PgUrlError> {
        let (rest, ssl) = if let Some(i) = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|p| s.starts_with(p).then_some(p.len()))
        {
            split_url(s, i)?
        } else {
            split_pairs(s)?
        };
        let config: postgres::Config = rest.parse().map_err(|e: postgres::Error| {
            // Only the client's messages that name an option, never a value.
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            PgUrlError::Invalid(match cause {
                Some(c) if c.starts_with("unknown option `ssl") => {
                    format!(": {c} (vigie reads sslmode and sslrootcert)")
                }
                Some(c) if c.starts_with("unknown option") || c.starts_with("invalid value") => {
                    format!(": {c}")
                }
                _ => String::new(),
            })
        })?;
        let mut mode = None;
        let mut root = None;
        for (k, v) in ssl {
            match k {
                "sslmode" => mode = Some(SslMode::parse(&v).ok_or(PgUrlError::SslMode(v))?),
                _ => root = Some(v),
            }
        }
        let system = root.as_deref() == Some("system");
        let mode_given = mode.is_some();
        let mode = match mode {
            Some(m) if system && m != SslMode::VerifyFull => {
                return Err(PgUrlError::System(m.name()));
            }
            Some(m) => m,
            None if system => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        let file = root.filter(|r| !r.is_empty()).map(PathBuf::from);
        let roots = match (mode, file) {
            (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => Roots::Unchecked,
            (_, Some(_)) if system => Roots::System,
            (_, Some(f)) => Roots::File(f),
            (_, None) => Roots::HomeDefault,
        };
        Ok(PgUrl {
            config,
            mode,
            mode_given,
            roots,
        })
    }

    /// Whether the host name is checked against the certificate (verify-full).
    pub fn checks_host_name(&self) -> bool {
        self.mode == SslMode::VerifyFull
    }

    /// Every host is a Unix socket, where PostgreSQL has no TLS (libpq ignores sslmode).
    pub fn unix_socket(&self) -> bool {
        use postgres::config::Host;
        let hosts = self.config.get_hosts();
        !hosts.is_empty()
            && self.config.get_hostaddrs().is_empty()
            && hosts.iter().all(|h| !matches!(h, Host::Tcp(_)))
    }

    /// What connecting will do, in words: whether the connection is encrypted, and what
    /// the server's certificate is verified against.
    pub fn describe(&self) -> String {
        if self.unix_socket() {
            return "Unix socket: no TLS, sslmode applies to TCP only".to_owned();
        }
        let mode = format!("sslmode={}", self.mode.name());
        let against = match &self.roots {
            Roots::Unchecked => String::new(),
            Roots::File(f) => f.display().to_string(),
            Roots::HomeDefault => {
                "~/.postgresql/root.crt of the user vigie runs as (libpq's default; set \
                 sslrootcert)"
                    .to_owned()
            }
            Roots::System => "the roots this machine trusts (sslrootcert=system)".to_owned(),
        };
        match (self.mode, &self.roots) {
            (SslMode::Disable, _) => format!("no TLS: {mode}"),
            (SslMode::Prefer, _) if self.mode_given => {
                format!("TLS if the server offers it, not verified: {mode}")
            }
            (SslMode::Prefer, _) => {
                format!("TLS if the server offers it, not verified: {mode}, libpq's default")
            }
            (_, Roots::Unchecked) => format!("TLS required, certificate not verified: {mode}"),
            (SslMode::Require, _) => format!(
                "TLS required, certificate verified against {against}, host name not checked: \
                 {mode} with sslrootcert works as verify-ca"
            ),
            (SslMode::VerifyCa, _) => format!(
                "TLS required, certificate verified against {against}, host name not checked: \
                 {mode}"
            ),
            (SslMode::VerifyFull, _) => format!(
                "TLS required, certificate and host name verified against {against}: {mode}"
            ),
        }
    }
}

/// What `rooted` %-encodes in a path it writes into a URL's query.
const IN_QUERY: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b'&')
    .add(b'#')
    .add(b' ')
    .add(b'+');

/// The `postgres://` URL with a relative `sslrootcert` made to start from `dir`, the
/// configuration's folder, where every relative path of the configuration starts (libpq
/// would start from the working directory, `/` for a service). Anything else is kept as
/// written.
pub fn rooted(url: &str, dir: &Path) -> String {
    let Some(prefix) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|p| url.starts_with(p).then_some(p.len()))
    else {
        return url.to_owned();
    };
    let after_at = url[prefix..].find('@').map_or(prefix, |i| prefix + i + 1);
    let Some(q) = url[after_at..].find('?').map(|i| after_at + i) else {
        return url.to_owned();
    };
    let pieces: Vec<String> = (url[q + 1..].split('&'))
        .map(|piece| match piece.split_once('=') {
            Some((k, v))
                if percent_decode_str(k)
                    .decode_utf8()
                    .is_ok_and(|k| k == "sslrootcert") =>
            {
                match percent_decode_str(v).decode_utf8() {
                    Ok(path)
                        if !path.is_empty()
                            && path != "system"
                            && Path::new(&*path).is_relative() =>
                    {
                        let full = dir.join(&*path).display().to_string();
                        format!(
                            "{k}={}",
                            percent_encoding::utf8_percent_encode(&full, IN_QUERY)
                        )
                    }
                    _ => piece.to_owned(),
                }
            }
            _ => piece.to_owned(),
        })
        .collect();
    format!("{}?{}", &url[..q], pieces.join("&"))
}

/// A `postgres://` URL (its scheme `prefix` bytes long) without its TLS parameters, and
/// those, %-decoded. The query starts at the first `?` after the first `@`, as the client
/// reads it (a password may hold a `?`).
type Split = (String, Vec<(&'static str, String)>);

fn split_url(s: &str, prefix: usize) -> Result<Split, PgUrlError> {
    let after_at = s[prefix..].find('@').map_or(prefix, |i| prefix + i + 1);
    let Some(q) = s[after_at..].find('?').map(|i| after_at + i) else {
        return Ok((s.to_owned(), Vec::new()));
    };
    let mut kept = Vec::new();
    let mut ssl = Vec::new();
    for piece in s[q + 1..].split('&') {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        match ["sslmode", "sslrootcert"]
            .into_iter()
            .find(|t| percent_decode_str(k).decode_utf8().is_ok_and(|k| k == *t))
        {
            Some(key) => {
                let v = percent_decode_str(v)
                    .decode_utf8()
                    .map_err(|_| PgUrlError::NotUtf8(key))?;
                ssl.push((key, v.into_owned()));
            }
            None => kept.push(piece),
        }
    }
    let mut rest = s[..q].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok((rest, ssl))
}

/// `key=value` pairs (values bare or in single quotes, `\` escaping the next character, as
/// the client reads them) without the TLS ones, written again quoted; and those.
fn split_pairs(s: &str) -> Result<Split, PgUrlError> {
    let invalid = || PgUrlError::Invalid(String::new());
    let mut chars = s.chars().peekable();
    let mut rest = String::new();
    let mut ssl = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=').ok_or_else(invalid)?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\'') if quoted => break,
                Some(c) if !quoted && c.is_whitespace() => break,
                Some('\\') => value.push(chars.next().ok_or_else(invalid)?),
                Some(c) => value.push(c),
                None if quoted => return Err(invalid()),
                None => break,
            }
        }
        match ["sslmode", "sslrootcert"].into_iter().find(|t| *t == key) {
            Some(k) => ssl.push((k, value)),
            None => {
                let value = value.replace('\\', "\\\\").replace('\'', "\\'");
                rest.push_str(&format!("{key}='{value}' "));
            }
        }
    }
    Ok((rest, ssl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PgUrl {
        PgUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_modes_read_as_libpq_reads_them() {
        let u = parse("postgres://vigie@db/vigie");
        assert_eq!(
            (u.mode, u.mode_given, &u.roots),
            (SslMode::Prefer, false, &Roots::Unchecked)
        );
        let u = parse(
            "postgres://vigie:p%3Fw@db:5433/vigie?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        );
        assert_eq!(u.mode, SslMode::VerifyFull);
        assert_eq!(u.roots, Roots::File("/etc/ca.pem".into()));
        assert_eq!(u.config.get_password(), Some(&b"p?w"[..]));
        assert_eq!(u.config.get_application_name(), Some("x"));
        assert_eq!(u.config.get_ports(), &[5433]);
        let u = parse("postgres://db/vigie?sslmode=require&sslrootcert=ca.pem");
        assert_eq!(
            u.roots,
            Roots::File("ca.pem".into()),
            "require verifies as verify-ca"
        );
        assert!(!u.checks_host_name());
        let u = parse("postgres://db/vigie?sslmode=verify-ca");
        assert_eq!(u.roots, Roots::HomeDefault);
        let u = parse("postgres://db/vigie?sslrootcert=system");
        assert_eq!((u.mode, &u.roots), (SslMode::VerifyFull, &Roots::System));
        let u = parse("postgres://db/vigie?sslmode=prefer&sslrootcert=ca.pem");
        assert_eq!(u.roots, Roots::Unchecked, "prefer never verifies");
        let u = parse("postgres://db/vigie?sslmode=disable");
        assert!(u.describe().starts_with("no TLS"), "{}", u.describe());
    }

    #[test]
    fn key_value_pairs_too() {
        let u = parse(
            "host=db user=vigie password='a b\\'c' sslmode=verify-ca sslrootcert='/etc/my ca.pem'",
        );
        assert_eq!(u.mode, SslMode::VerifyCa);
        assert_eq!(u.roots, Roots::File("/etc/my ca.pem".into()));
        assert_eq!(u.config.get_password(), Some(&b"a b'c"[..]));
        assert_eq!(u.config.get_user(), Some("vigie"));
    }

    #[test]
    fn faults_are_named_without_the_secret() {
        let e = PgUrl::parse("postgres://vigie:s3cret@db/vigie?sslmode=verify_full").err();
        assert_eq!(e, Some(PgUrlError::SslMode("verify_full".into())));
        let e = PgUrl::parse("postgres://db/v?sslrootcert=system&sslmode=require").err();
        assert_eq!(e, Some(PgUrlError::System("require")));
        let e = PgUrl::parse("postgres://vigie:s3cret@db/vigie?sslcert=x").err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("unknown option `sslcert`"), "{msg}");
        let e = PgUrl::parse("host=db password='s3cret").err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            !msg.contains("s3cret") && msg.contains("not a valid"),
            "{msg}"
        );
    }

    #[test]
    fn a_relative_root_file_starts_from_the_configuration_folder() {
        let dir = Path::new("/etc/vigie");
        assert_eq!(
            rooted(
                "postgres://u:p?w@db/v?sslrootcert=ca%20x.pem&sslmode=verify-ca",
                dir
            ),
            "postgres://u:p?w@db/v?sslrootcert=/etc/vigie/ca%20x.pem&sslmode=verify-ca"
        );
        for kept in [
            "postgres://db/v?sslrootcert=/abs/ca.pem",
            "postgres://db/v?sslrootcert=system",
            "postgres://db/v",
        ] {
            assert_eq!(rooted(kept, dir), kept);
        }
        let u = parse(&rooted(
            "postgres://db/v?sslmode=verify-full&sslrootcert=a%26b.pem",
            dir,
        ));
        assert_eq!(u.roots, Roots::File("/etc/vigie/a&b.pem".into()));
    }

    #[test]
    fn a_unix_socket_has_no_tls() {
        let u = parse("postgres://vigie@%2Frun%2Fpostgresql/vigie?sslmode=require");
        assert!(u.unix_socket());
        assert!(u.describe().contains("Unix socket"), "{}", u.describe());
    }
}
