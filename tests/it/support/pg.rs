//! A real PostgreSQL for the storage tests: a cluster made by `initdb` in a temporary folder,
//! started by `pg_ctl` on a Unix socket in that folder (no TCP port), `fsync=off`, and stopped
//! when dropped. Nothing is downloaded at test time: the binaries are Debian's `postgresql`
//! package, which `.ci/run` installs when missing (and which the first test that needs it
//! installs itself with apt, as root on a Debian machine where it is missing). `initdb` refuses to run as root; as root, the cluster
//! belongs to the `postgres` user that the package creates, and every command runs through
//! `runuser`. A cluster can also listen with TLS (`start_tls`): a certificate and key the
//! test made, and the `pg_hba.conf` lines it wants.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a cluster with TLS serves, and whom it lets in.
pub struct Tls {
    /// The server's certificate chain, PEM.
    pub cert: String,
    /// Its private key, PEM.
    pub key: String,
    /// The whole `pg_hba.conf` (`hostssl` lines for TLS, `host` for either).
    pub hba: String,
}

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_root: bool,
    /// The TCP port on 127.0.0.1, for a cluster that listens there (0: a Unix socket only).
    pub port: u16,
    /// libpq-style connection parameters for the `postgres` database, as user `vigie`.
    pub params: String,
}

impl Pg {
    /// Make and start a cluster; panics with the reason when PostgreSQL is not installed or
    /// will not start (a test that needs it cannot go on without it).
    pub fn start() -> Pg {
        Pg::start_on(None, None)
    }

    /// The same, listening on 127.0.0.1 (for a `postgres://` URL in a configuration).
    pub fn start_tcp() -> Pg {
        Pg::start_on(Some(super::free_port()), None)
    }

    /// A cluster on 127.0.0.1 with `ssl = on`, serving `tls.cert` (PEM: the server's
    /// certificate, then any intermediates) with `tls.key`, and `tls.hba` as its whole
    /// `pg_hba.conf`.
    pub fn start_tls(tls: &Tls) -> Pg {
        Pg::start_on(Some(super::free_port()), Some(tls))
    }

    fn start_on(port: Option<u16>, tls: Option<&Tls>) -> Pg {
        let bin = INSTALLED
            .get_or_init(|| binaries().or_else(|| install().and_then(|()| binaries())))
            .clone()
            .expect(
                "PostgreSQL is not installed (initdb not found) and apt could not install it: \
                 run `apt-get install postgresql` (`.ci/run` does)",
            );
        let dir = tempfile::Builder::new()
            .prefix("vigie-pg")
            .tempdir()
            .expect("a temporary folder");
        let as_root = output("id", &["-u"]).trim() == "0";
        let owner = as_root.then(|| {
            let id = |flag| output("id", &[flag, "postgres"]).trim().parse::<u32>();
            (
                id("-u").expect("a postgres user"),
                id("-g").expect("its group"),
            )
        });
        // Files the server reads belong to the user it runs as (its key must be 0600).
        let give = |path: &Path| {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
            }
        };
        give(dir.path());
        let pg = Pg {
            params: match port {
                Some(p) => format!("host=127.0.0.1 port={p} user=vigie dbname=postgres"),
                None => format!("host={} user=vigie dbname=postgres", dir.path().display()),
            },
            dir,
            bin,
            as_root,
            port: port.unwrap_or(0),
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "vigie",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let mut listen = match port {
            Some(p) => format!("-c listen_addresses=127.0.0.1 -p {p}"),
            None => "-c listen_addresses=''".to_string(),
        };
        if let Some(tls) = tls {
            let write = |name: &str, text: &str, mode: u32| {
                use std::os::unix::fs::PermissionsExt;
                let path = pg.dir.path().join(name);
                std::fs::write(&path, text).expect("write a server file");
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
                give(&path);
                path.display().to_string()
            };
            let cert = write("server.crt", &tls.cert, 0o644);
            let key = write("server.key", &tls.key, 0o600);
            let hba = write("pg_hba.conf", &tls.hba, 0o644);
            listen.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key} -c hba_file={hba}"
            ));
        }
        let options = format!(
            "-k {} {listen} -c max_connections=200 -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("log").display().to_string();
        pg.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
        pg
    }

    /// The cluster's own folder (the server's files, the test's as it likes).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Keep this cluster (a static's, never dropped) until the test process ends, then
    /// stop it and remove its folder.
    pub fn stop_at_exit(&self) {
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runas}{ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            runas = if self.as_root {
                "runuser -u postgres -- "
            } else {
                ""
            },
            ctl = self.bin.join("pg_ctl").display(),
            data = self.data(),
            dir = self.dir.path().display(),
        );
        // Left running on purpose: it outlives this process to stop the cluster.
        #[allow(clippy::zombie_processes)]
        let _reaper = Command::new("sh")
            .args(["-c", &stop])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the cluster's reaper");
    }

    /// Stop the server (ending every connection) and start it again, as a restart by its
    /// operator would.
    pub fn restart(&self) {
        let data = self.data();
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-m", "fast", "-w", "restart"],
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Run one of PostgreSQL's programs as the cluster's owner; panics with its output if it
    /// fails.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd.args(args).output().expect("run a PostgreSQL program");
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
    }
}

/// Where PostgreSQL's programs are, found (or installed) once for every test.
static INSTALLED: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// Install Debian's `postgresql` with apt, as root; `None` when that is not possible here.
fn install() -> Option<()> {
    if output("id", &["-u"]).trim() != "0" {
        return None;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    (apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "postgresql"])).then_some(())
}

/// The folder of `initdb` and `pg_ctl`: on the PATH, else Debian's newest version.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|d| d.join("initdb").is_file()) {
        let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
        return real.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether this run of the suite stores in PostgreSQL (`VIGIE_TEST_BACKEND=postgres`, as
/// `.ci/run`'s second pass sets it) rather than in each test's SQLite file.
pub fn backend_is_postgres() -> bool {
    std::env::var("VIGIE_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// The one cluster every test of a PostgreSQL run shares (each test has a database of its
/// own on it), started at the first need. A process started with it stops it and removes its
/// folder when this test process ends, since a static is never dropped.
pub fn shared() -> &'static Pg {
    static SHARED: std::sync::OnceLock<Pg> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let pg = Pg::start_tcp();
        pg.stop_at_exit();
        pg
    })
}

impl Pg {
    /// A fresh, empty database on this cluster; its `postgres://` URL.
    pub fn database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.execute(&format!("CREATE DATABASE {name}"));
        format!("postgres://vigie@127.0.0.1:{}/{name}", self.port)
    }

    /// Run SQL on the `postgres` database as the superuser `vigie` (in clear); panics if it
    /// fails.
    pub fn execute(&self, sql: &str) {
        let params = self.params.clone();
        let sql = sql.to_owned();
        // The `postgres` client runs a runtime of its own: not on a tokio test's thread.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&params, postgres::NoTls).expect("connect");
            c.batch_execute(&sql).expect("run SQL");
        })
        .join()
        .expect("run SQL");
    }
}

/// What a test's `vigie.toml` says of its store: nothing (the SQLite file in `state_dir`),
/// or in a PostgreSQL run a `[store]` section naming a database of its own.
/// One database per test folder: a test that rewrites its configuration (a reload) keeps
/// its store.
pub fn store_toml(dir: &Path) -> String {
    if !backend_is_postgres() {
        return String::new();
    }
    static BY_DIR: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let mut known = BY_DIR.lock().unwrap_or_else(|p| p.into_inner());
    let url = match known.iter().find(|(d, _)| d == dir) {
        Some((_, url)) => url.clone(),
        None => {
            let url = shared().database();
            known.push((dir.to_path_buf(), url.clone()));
            url
        }
    };
    format!("\n[store]\nurl = \"{url}\"\n")
}
