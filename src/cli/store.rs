//! CLI, `vigie store copy --to postgres://…`: the SQLite store of `state_dir` copied into an
//! empty PostgreSQL database (`store::pg::copy`), the rows per table printed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, PasswordSource, StoreConfig};
use crate::store::Store;
use crate::store::pg::copy;

/// A store URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    // By hand rather than with a URL parser: PostgreSQL's client reads `user:password`
    // up to the last `@` (a password may hold `/` or `?`), where a URL parser stops at the
    // first `/`; whatever the client would take for a password is hidden.
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return "an invalid URL".to_owned();
    };
    let mut out = url.to_owned();
    if let Some(at) = url[start..].rfind('@').map(|i| start + i)
        && let Some(colon) = url[start..at].find(':').map(|i| start + i)
    {
        out = format!("{}***{}", &url[..=colon], &url[at..]);
    }
    match out.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => out,
    }
}

/// `vigie store copy`: exit 0 with the counts, 1 on a failure (the target untouched).
pub fn copy(
    cfg: &Config,
    to: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
) -> ExitCode {
    let configured = cfg.store.as_ref();
    let Some(to) = to.or_else(|| configured.map(|s| s.url.clone())) else {
        return super::fail("give --to postgres://…, or set [store] url", 2);
    };
    let source_of_password = match (password_file, password_env) {
        (Some(_), Some(_)) => {
            return super::fail("give --password-file or --password-env, not both", 2);
        }
        (Some(f), None) => Some(PasswordSource::File(f)),
        (None, Some(e)) => Some(PasswordSource::Env(e)),
        (None, None) => configured.and_then(|s| s.password.clone()),
    };
    let store = match Store::open_in(&cfg.state_dir) {
        Ok(s) => s,
        Err(e) => return super::fail(e, 1),
    };
    let Some(source) = store.conn.as_sqlite() else {
        return super::fail("the store to copy from is not a SQLite file", 2);
    };
    let target = StoreConfig {
        url: to,
        password: source_of_password,
    };
    let mut target = match Store::open_config(&cfg.state_dir, Some(&target)) {
        Ok(t) => t,
        Err(e) => return super::fail(e, 1),
    };
    match copy::copy(source, &mut target.conn, chrono::Utc::now()) {
        Ok(counts) => {
            for (table, n) in counts {
                println!("{table}: {n} rows");
            }
            println!("copied into PostgreSQL");
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(e, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_password_in_the_url_or_its_query_is_hidden() {
        assert_eq!(
            redacted("postgres://vigie:s3cret@db.example.org/vigie"),
            "postgres://vigie:***@db.example.org/vigie"
        );
        let q = redacted("postgres://vigie@db.example.org/vigie?password=s3cret&sslmode=disable");
        assert!(
            !q.contains("s3cret") && q.contains("sslmode=disable"),
            "{q}"
        );
        assert_eq!(redacted("not a url"), "an invalid URL");
        // What the PostgreSQL client takes for a password, a URL parser would not.
        for tricky in [
            "postgres://vigie:2024/ab@db/vigie",
            "postgres://vigie:?s3cret@db/vigie",
        ] {
            let r = redacted(tricky);
            assert!(!r.contains("2024/ab") && !r.contains("s3cret"), "{r}");
            assert!(r.ends_with("@db/vigie"), "{r}");
        }
    }
}
