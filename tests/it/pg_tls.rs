//! TLS to PostgreSQL, against a real server the tests start on 127.0.0.1 with `ssl = on`
//! and a certificate they make (a CA, and a server certificate for 127.0.0.1 and
//! localhost): verify-full with the right CA connects and vigie polls; another CA, another
//! host name, a missing CA file, or a server without TLS under require is refused in one
//! sentence; require encrypts without verifying; prefer and disable connect in clear to a
//! server without TLS; a password goes over SCRAM with channel binding; `vigie check`
//! says what each mode does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vigie::config::{PasswordSource, StoreConfig};
use vigie::store::Store;

use crate::support::http::{HttpServer, Route};
use crate::support::pg::{Pg, Tls, shared};
use crate::support::*;

/// A certificate authority of the test's own.
fn authority(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

/// The server's certificate (127.0.0.1 as an IP name, localhost as a DNS name) and key.
fn server_certificate(ca: &rcgen::Issuer<'_, rcgen::KeyPair>) -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vigie test database");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Server {
    pg: Pg,
    /// The CA that signed the server's certificate, PEM.
    ca: PathBuf,
    /// A CA that did not.
    other_ca: PathBuf,
}

/// One cluster with TLS for every test here. `vigie` (the superuser) may connect with or
/// without TLS; `scram` only over TLS, with its password.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let ca = authority("vigie test CA");
        let other = authority("another CA");
        let (cert, key) = server_certificate(&ca);
        let hba = "local all all trust\n\
                   hostssl all scram 127.0.0.1/32 scram-sha-256\n\
                   hostssl all vigie 127.0.0.1/32 trust\n\
                   host all vigie 127.0.0.1/32 trust\n";
        let pg = Pg::start_tls(&Tls {
            cert,
            key,
            hba: hba.to_owned(),
        });
        pg.stop_at_exit();
        let write = |name: &str, pem: String| {
            let path = pg.dir().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Server {
            ca: write("ca.pem", ca.pem()),
            other_ca: write("other-ca.pem", other.pem()),
            pg,
        }
    })
}

fn open_with(url: &str, password: Option<PasswordSource>) -> Result<Store, String> {
    let cfg = StoreConfig {
        url: url.to_owned(),
        password,
    };
    Store::open_config(Path::new("/nonexistent"), Some(&cfg)).map_err(|e| e.to_string())
}

fn open(url: &str) -> Result<Store, String> {
    open_with(url, None)
}

/// Whether the store's own session is encrypted, as the server sees it.
fn encrypted(s: &Store) -> bool {
    s.conn()
        .query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn refusal(url: &str) -> String {
    match open(url) {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects_over_tls_and_vigie_polls() {
    let srv = server();
    let db = srv.pg.database();
    let url = format!("{db}?sslmode=verify-full&sslrootcert={}", srv.ca.display());
    let http = HttpServer::start().await;
    let items = [
        FeedItem::new(
            "a1",
            "Palmyre",
            "https://x.example/1",
            "Nouvelles de Palmyre.",
        ),
        FeedItem::new("a2", "Alep", "https://x.example/2", "Nouvelles d'Alep."),
    ];
    http.route(
        "/feed.xml",
        Route::ok("application/rss+xml", rss("Fil", &items, "UTF-8")),
    );
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n{}\n[store]\nurl = \"{url}\"\n",
        feeds_toml(&[("fil", http.url("/feed.xml"))])
    );
    let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
    let out = vigie(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let s = open(&url).expect("verify-full with the right CA connects");
    assert!(encrypted(&s), "the session is encrypted");
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM articles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "vigie poll stored the feed's articles over TLS");
    // By its DNS name too (the connection itself goes to 127.0.0.1).
    let by_name = format!(
        "{}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
        db.replace("@127.0.0.1:", "@localhost:"),
        srv.ca.display()
    );
    assert!(encrypted(
        &open(&by_name).expect("localhost is in the certificate")
    ));
}

#[tokio::test]
async fn another_ca_or_host_name_is_refused_in_one_sentence() {
    let srv = server();
    let db = srv.pg.database();
    let at = format!("cannot connect to PostgreSQL at 127.0.0.1:{}", srv.pg.port);
    let other = srv.other_ca.display();
    assert_eq!(
        refusal(&format!("{db}?sslmode=verify-full&sslrootcert={other}")),
        format!(
            "{at}: the server's certificate is not signed by the CA in {other} (sslmode=verify-full)"
        )
    );
    // require with a root file verifies the chain, as libpq's does.
    assert_eq!(
        refusal(&format!("{db}?sslmode=require&sslrootcert={other}")),
        format!(
            "{at}: the server's certificate is not signed by the CA in {other} (sslmode=require)"
        )
    );
    assert_eq!(
        refusal(&format!("{db}?sslrootcert=system")),
        format!(
            "{at}: the server's certificate is not signed by a certificate authority this \
             machine trusts (sslmode=verify-full)"
        )
    );
    assert_eq!(
        refusal(&format!(
            "{db}?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"
        )),
        format!(
            "{at}: cannot read the CA certificates in /nonexistent/ca.pem (sslrootcert): No such \
             file or directory (os error 2) (sslmode=verify-ca)"
        )
    );
    // A name the certificate does not carry: verify-full refuses it, verify-ca does not
    // look at it.
    let elsewhere = db.replace("@127.0.0.1:", "@db.example.invalid:");
    let ca = srv.ca.display();
    let err = refusal(&format!(
        "{elsewhere}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
    ));
    assert_eq!(
        err,
        format!(
            "cannot connect to PostgreSQL at db.example.invalid:{}: the server's certificate \
             is not valid for the host name db.example.invalid (sslmode=verify-full)",
            srv.pg.port
        )
    );
    let ca_only = format!("{elsewhere}?hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}");
    assert!(encrypted(
        &open(&ca_only).expect("verify-ca checks the chain only")
    ));

    // The command says it in the same words, and stores nothing elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "state_dir = \"state\"\nrules = [\"rules.toml\"]\n[store]\nurl = \"{db}?sslmode=verify-full&sslrootcert={other}\"\n"
    );
    let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
    let out = vigie(&cfg, &["poll"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.trim(),
        format!(
            "vigie: {at}: the server's certificate is not signed by the CA in {other} (sslmode=verify-full)"
        )
    );
    assert!(!dir.path().join("state/vigie.db").exists());
}

#[test]
fn require_encrypts_without_verifying_and_disable_stays_in_clear() {
    let srv = server();
    let db = srv.pg.database();
    for query in ["sslmode=require", "sslmode=prefer", ""] {
        let s = open(&format!("{db}?{query}")).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(encrypted(&s), "{query}: encrypted, certificate not checked");
    }
    let s = open(&format!("{db}?sslmode=disable")).unwrap();
    assert!(!encrypted(&s), "disable never asks for TLS");
}

#[test]
fn a_server_without_tls_is_refused_under_require_and_used_in_clear_under_prefer() {
    let plain = shared();
    let db = plain.database();
    let ca = server().ca.display();
    let at = format!("cannot connect to PostgreSQL at 127.0.0.1:{}", plain.port);
    assert_eq!(
        refusal(&format!("{db}?sslmode=require")),
        format!("{at}: the server does not accept TLS, which sslmode=require demands")
    );
    assert_eq!(
        refusal(&format!("{db}?sslmode=verify-full&sslrootcert={ca}")),
        format!("{at}: the server does not accept TLS, which sslmode=verify-full demands")
    );
    for query in ["sslmode=prefer", "", "sslmode=disable"] {
        let s = open(&format!("{db}?{query}")).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(!encrypted(&s), "{query}: in clear");
    }
}

#[test]
fn a_password_goes_over_tls_with_channel_binding_and_never_into_a_message() {
    let srv = server();
    srv.pg
        .execute("CREATE ROLE scram LOGIN PASSWORD 'correct-horse-battery'");
    srv.pg.execute("CREATE DATABASE scramdb OWNER scram");
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, secret: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{secret}\n")).unwrap();
        Some(PasswordSource::File(p))
    };
    let base = format!("postgres://scram@127.0.0.1:{}/scramdb", srv.pg.port);
    // channel_binding=require: the client accepts nothing but SCRAM-SHA-256-PLUS, bound
    // to this TLS session.
    let url = format!(
        "{base}?sslmode=verify-full&sslrootcert={}&channel_binding=require",
        srv.ca.display()
    );
    let s = open_with(&url, file("right", "correct-horse-battery")).expect("SCRAM over TLS");
    assert!(encrypted(&s));
    let wrong = open_with(&url, file("wrong", "wrong-staple-mule"));
    let err = wrong.err().expect("a wrong password is refused");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("wrong-staple-mule"), "{err}");
    // This user may only come over TLS; in clear the server turns it away.
    let clear = open_with(
        &format!("{base}?sslmode=disable"),
        file("right", "correct-horse-battery"),
    );
    let err = clear.err().expect("no TLS, no entry");
    assert!(err.contains("no pg_hba.conf entry"), "{err}");
    assert!(!err.contains("correct-horse-battery"), "{err}");
}

#[tokio::test]
async fn vigie_check_says_whether_the_store_is_encrypted_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("db-ca.pem");
    std::fs::write(&ca, authority("check").pem()).unwrap();
    let ca = ca.display();
    let db = "postgres://vigie:s3cret@127.0.0.1:9/vigie";
    let cases = [
        (
            format!("{db}?sslmode=verify-full&sslrootcert={ca}"),
            format!("TLS required, certificate and host name verified against {ca}: sslmode=verify-full"),
        ),
        (
            format!("{db}?sslmode=verify-ca&sslrootcert={ca}"),
            format!("TLS required, certificate verified against {ca}, host name not checked: sslmode=verify-ca"),
        ),
        (
            format!("{db}?sslmode=require&sslrootcert={ca}"),
            format!("TLS required, certificate verified against {ca}, host name not checked: sslmode=require with sslrootcert works as verify-ca"),
        ),
        (
            format!("{db}?sslmode=require"),
            "TLS required, certificate not verified: sslmode=require".to_owned(),
        ),
        (
            db.to_owned(),
            "TLS if the server offers it, not verified: sslmode=prefer, libpq's default".to_owned(),
        ),
        (
            format!("{db}?sslmode=disable"),
            "no TLS: sslmode=disable".to_owned(),
        ),
        (
            format!("{db}?sslrootcert=system"),
            "TLS required, certificate and host name verified against the roots this machine trusts (sslrootcert=system): sslmode=verify-full".to_owned(),
        ),
    ];
    for (url, says) in cases {
        let main = format!("rules = [\"rules.toml\"]\n[store]\nurl = \"{url}\"\n");
        let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
        let out = vigie(&cfg, &["check"]).await;
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        let printed = stdout(&out);
        let shown = url.replace("s3cret", "***");
        assert!(
            printed.contains(&format!("store:      PostgreSQL at {shown} ({says})")),
            "{printed}"
        );
        assert!(!printed.contains("s3cret") && !stderr(&out).contains("s3cret"));
    }
    // A relative CA file starts from the configuration's folder, as every path there.
    let main = format!(
        "rules = [\"rules.toml\"]\n[store]\nurl = \"{db}?sslmode=verify-ca&sslrootcert=db-ca.pem\"\n"
    );
    let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
    let out = vigie(&cfg, &["check"]).await;
    assert!(
        stdout(&out).contains(&format!("certificate verified against {ca}, host name")),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    // A CA file that is not there is read only when connecting: a warning, not an error.
    let main = format!(
        "rules = [\"rules.toml\"]\n[store]\nurl = \"{db}?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem\"\n"
    );
    let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
    let out = vigie(&cfg, &["check"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("warning: [store] url: sslrootcert /nonexistent/ca.pem is not a file here"),
        "{}",
        stderr(&out)
    );

    // A mode libpq does not know, or the platform's roots under a weaker mode: an error
    // at the url's position, the password not repeated.
    for (query, says) in [
        (
            "sslmode=verify_full",
            "`url`: sslmode must be disable, prefer, require, verify-ca or verify-full, not \"verify_full\"",
        ),
        (
            "sslmode=require&sslrootcert=system",
            "`url`: sslrootcert=system needs sslmode=verify-full (as libpq), not require",
        ),
    ] {
        let main = format!("rules = [\"rules.toml\"]\n[store]\nurl = \"{db}?{query}\"\n");
        let cfg = write_config(dir.path(), &main, PALMYRA_FRONT);
        let out = vigie(&cfg, &["check"]).await;
        assert_eq!(out.status.code(), Some(2), "{query}");
        let err = stderr(&out);
        assert!(err.contains(&format!("vigie.toml:3:8: {says}")), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
