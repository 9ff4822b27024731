//! CLI, `vigie store copy --to postgres://…`: the SQLite store of `state_dir` copied into an
//! empty PostgreSQL database (`store::pg::copy`), the rows per table printed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{Config, PasswordSource};
use crate::store::Store;
use crate::store::pg::{PgStore, copy};

/// `vigie store copy`: exit 0 with the counts, 1 on a failure (the target untouched).
pub fn copy(
    cfg: &Config,
    to: &str,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
) -> ExitCode {
    let source = match (password_file, password_env) {
        (Some(_), Some(_)) => {
            return super::fail("give --password-file or --password-env, not both", 2);
        }
        (Some(f), None) => Some(PasswordSource::File(f)),
        (None, Some(e)) => Some(PasswordSource::Env(e)),
        (None, None) => None,
    };
    let password = match source.as_ref().map(crate::deliver::read_secret) {
        Some(Err(e)) => return super::fail(format!("the database password: {e}"), 1),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let store = match Store::open_in(&cfg.state_dir) {
        Ok(s) => s,
        Err(e) => return super::fail(e, 1),
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let mut target = match PgStore::connect(to, password.as_deref()).await {
            Ok(t) => t,
            Err(e) => return super::fail(e, 1),
        };
        match copy::copy(&store.conn, &mut target).await {
            Ok(counts) => {
                for (table, n) in counts {
                    println!("{table}: {n} rows");
                }
                println!("copied into PostgreSQL");
                ExitCode::SUCCESS
            }
            Err(e) => super::fail(e, 1),
        }
    })
}
