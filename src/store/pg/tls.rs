//! Store stage, TLS to PostgreSQL: the rustls client (ring, the one TLS stack vigie has,
//! as for HTTPS and SMTP) that `sslmode` and `sslrootcert` ask for, through
//! `tokio-postgres-rustls` (which also gives SCRAM-SHA-256-PLUS its channel binding), and a
//! refusal told in one sentence.
//!
//! Invariants: a certificate is verified exactly as [`PgUrl`] says — its chain against the
//! roots read at each connection, its host name only under verify-full — and without roots
//! only the handshake's own signatures are checked; an explanation names the server, the
//! cause and the CA file, never the connection string nor the password.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::pgurl::{PgUrl, Roots};

/// Why a connection over TLS could not be made, as the middle of one sentence.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA certificates in {path} (sslrootcert): {source}")]
    Roots {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} (sslrootcert) holds no valid PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error(
        "no CA to verify the server's certificate against: libpq's default, {path}, does \
         not exist; set sslrootcert=/path/to/ca.pem, or sslrootcert=system, in [store] url"
    )]
    NoDefaultRoots { path: String },
    #[error("this machine's trusted roots cannot be used: {0}")]
    Platform(String),
    #[error("the server does not accept TLS, which sslmode={0} demands")]
    NotOffered(&'static str),
    #[error("the server's certificate is not signed by {0}")]
    UnknownIssuer(String),
    #[error("the server's certificate is not valid for the host name {0}")]
    WrongName(String),
    #[error("the server's certificate has expired")]
    Expired,
    #[error("the server's certificate is not valid yet")]
    NotYetValid,
    #[error("the server's certificate is refused: {0}")]
    Certificate(String),
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
}

/// What follows a refusal's sentence: the sslmode, unless the sentence named it.
pub fn mode_note(cause: &TlsError, url_mode: &str) -> String {
    match cause {
        TlsError::NotOffered(_) => String::new(),
        _ => format!(" (sslmode={url_mode})"),
    }
}

/// The client for a connection that may use TLS (`prefer` and stricter), its roots read
/// now: a CA file replaced on disk is used from the next connection on.
pub fn connector(url: &PgUrl) -> Result<MakeRustlsConnect, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match &url.roots {
        Roots::System => Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| TlsError::Platform(e.to_string()))?,
        ),
        roots => Arc::new(Verifier {
            roots: match roots {
                Roots::File(path) => Some(Arc::new(read_roots(path.clone())?)),
                Roots::HomeDefault => Some(Arc::new(read_roots(home_default()?)?)),
                _ => None,
            },
            check_name: url.checks_host_name(),
            provider: provider.clone(),
        }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Handshake(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `~/.postgresql/root.crt`, where libpq looks when a verify mode names no CA file.
fn home_default() -> Result<PathBuf, TlsError> {
    let path = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
        .filter(|p| p.is_file());
    path.ok_or_else(|| TlsError::NoDefaultRoots {
        path: match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h)
                .join(".postgresql/root.crt")
                .display()
                .to_string(),
            None => "~/.postgresql/root.crt".to_owned(),
        },
    })
}

fn read_roots(path: PathBuf) -> Result<RootCertStore, TlsError> {
    let pem = match std::fs::read(&path) {
        Ok(p) => p,
        Err(source) => return Err(TlsError::Roots { path, source }),
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        match cert.map(|c| roots.add(c)) {
            Ok(Ok(())) => {}
            _ => return Err(TlsError::NoCertificate { path }),
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoCertificate { path });
    }
    Ok(roots)
}

/// The server's certificate checked as the sslmode says: its chain against `roots` (when
/// there are roots), its name too when `check_name`. The handshake's signatures are always
/// checked, so that the key the server proves it holds is its certificate's.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
            if self.check_name {
                rustls::client::verify_server_name(&cert, server_name)?;
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Where the URL connects, for a message: `host:port` for each server, or a socket's folder.
pub fn place(url: &PgUrl) -> String {
    use postgres::config::Host;
    let ports = url.config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let hosts: Vec<String> = match url.config.get_hosts() {
        [] => (url.config.get_hostaddrs().iter().enumerate())
            .map(|(i, a)| format!("{a}:{}", port(i)))
            .collect(),
        hosts => (hosts.iter().enumerate())
            .map(|(i, h)| match h {
                Host::Tcp(name) => format!("{name}:{}", port(i)),
                Host::Unix(dir) => dir.display().to_string(),
            })
            .collect(),
    };
    hosts.join(", ")
}

/// A connection's failure told as what TLS refused, when that is why it failed.
pub fn explain(e: &postgres::Error, url: &PgUrl) -> Option<TlsError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        let rustls = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = rustls {
            return Some(from_rustls(r, url));
        }
        // tokio-postgres's own words when the server answers the TLS request with "no".
        if c.to_string() == "server does not support TLS" {
            return Some(TlsError::NotOffered(url.mode.name()));
        }
        cause = c.source();
    }
    None
}

fn from_rustls(e: &rustls::Error, url: &PgUrl) -> TlsError {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return TlsError::Handshake(e.to_string());
    };
    match c {
        C::UnknownIssuer => TlsError::UnknownIssuer(match &url.roots {
            Roots::File(f) => format!("the CA in {}", f.display()),
            Roots::HomeDefault => "the CA in ~/.postgresql/root.crt".to_owned(),
            _ => "a certificate authority this machine trusts".to_owned(),
        }),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            TlsError::WrongName(match url.config.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                _ => place(url),
            })
        }
        C::Expired | C::ExpiredContext { .. } => TlsError::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => TlsError::NotYetValid,
        _ => TlsError::Certificate(e.to_string()),
    }
}
