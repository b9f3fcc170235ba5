//! TLS for every variant: one rustls configuration (ring provider), one protocol version and
//! one cipher suite for servers and clients alike, ALPN by the variant's HTTP version, and the
//! per-run certificate authority.
//!
//! Fairness: every variant, REST and gRPC, HTTP/1.1 and HTTP/2, negotiates exactly
//! [`TLS_VERSION`] with [`CIPHER_SUITE`] and [`KEY_EXCHANGE`], so TLS costs the same per byte and
//! per handshake everywhere. HTTP/2 is negotiated by ALPN (`h2`), HTTP/1.1 as `http/1.1`; a
//! variant offers only its own protocol.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use rpcbench_model::HttpVersion;

/// The one TLS protocol version of every run.
pub const TLS_VERSION: &str = "TLSv1.3";
/// The one cipher suite of every run.
pub const CIPHER_SUITE: &str = "TLS13_AES_128_GCM_SHA256";
/// The one key-exchange group of every run.
pub const KEY_EXCHANGE: &str = "X25519";
/// The name the per-run certificate is issued for (also `127.0.0.1` and `::1`).
pub const SERVER_NAME: &str = "localhost";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {message}")]
    Read {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{path} holds no {what}")]
    Empty { what: &'static str, path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("invalid TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot generate the run's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

/// The crypto provider every side uses: ring, restricted to one suite and one group.
pub fn provider() -> Arc<CryptoProvider> {
    let ring = rustls::crypto::ring::default_provider();
    Arc::new(CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        kx_groups: vec![rustls::crypto::ring::kx_group::X25519],
        ..ring
    })
}

/// The ALPN protocol id a variant speaks.
pub fn alpn(http: HttpVersion) -> &'static [u8] {
    match http {
        HttpVersion::Http1 => b"http/1.1",
        HttpVersion::Http2 => b"h2",
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |message: String| TlsError::Read {
        what: "certificates",
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what: "PEM certificate",
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// A server configuration from PEM files (certificate chain, private key), offering only the
/// variant's ALPN protocol.
pub fn server_config(cert: &Path, key: &Path, http: HttpVersion) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Read {
        what: "private key",
        path: key.to_owned(),
        message: e.to_string(),
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![alpn(http).to_vec()];
    Ok(Arc::new(config))
}

/// What a client needs to speak TLS to a server: trusted roots, the name to verify, ALPN.
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

impl ClientTls {
    /// Trusts the certificates in `root_pem` (the run's `ca.pem`, or your own) and verifies the
    /// server as `server_name`, offering only the variant's ALPN protocol.
    pub fn new(root_pem: &Path, server_name: &str, http: HttpVersion) -> Result<ClientTls, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in read_certs(root_pem)? {
            roots.add(cert)?;
        }
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn(http).to_vec()];
        // No session resumption: a cold connection pays a full handshake, as the issue defines.
        config.resumption = rustls::client::Resumption::disabled();
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsError::ServerName(server_name.into()))?;
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// The PEM files of a run's certificate authority and server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The root certificate outside clients trust (`curl --cacert`, grpcio root certificates).
    pub ca: PathBuf,
    /// The server's certificate chain (leaf, then the root).
    pub cert: PathBuf,
    /// The server's private key (PKCS#8), readable by the owner only.
    pub key: PathBuf,
}

/// Generates a fresh certificate authority and a server certificate for `localhost`,
/// `127.0.0.1` and `::1` (plus `extra_names`), and writes them into `dir` as `ca.pem`,
/// `server.pem` and `server.key`.
pub fn generate_run_certificate(dir: &Path, extra_names: &[String]) -> Result<CertFiles, TlsError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rpcbench run CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![SERVER_NAME.to_owned(), "127.0.0.1".into(), "::1".into()];
    names.extend(extra_names.iter().cloned());
    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(names)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "rpcbench server");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;

    let files = CertFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    write_file(&files.ca, ca_cert.pem().as_bytes(), 0o644)?;
    write_file(
        &files.cert,
        format!("{}{}", leaf.pem(), ca_cert.pem()).as_bytes(),
        0o644,
    )?;
    write_file(&files.key, leaf_key.serialize_pem().as_bytes(), 0o600)?;
    Ok(files)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_on_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate_run_certificate(dir.path(), &[]).unwrap();
        for http in [HttpVersion::Http1, HttpVersion::Http2] {
            let server = server_config(&files.cert, &files.key, http).unwrap();
            assert_eq!(server.alpn_protocols, vec![alpn(http).to_vec()]);
            ClientTls::new(&files.ca, SERVER_NAME, http).unwrap();
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is private: {mode:o}");
    }

    #[test]
    fn missing_and_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = server_config(&missing, &missing, HttpVersion::Http1).unwrap_err();
        assert!(err.to_string().contains("nope.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = ClientTls::new(&empty, SERVER_NAME, HttpVersion::Http2).unwrap_err();
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}
