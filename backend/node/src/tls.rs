//! TLS (rustls, ring provider) shared by the node server, the node client and the gateway's S3
//! endpoint: the `[tls]` certificate and key paths, reading and checking the PEM files, the
//! server side (a [`TlsAcceptor`] and a handshake bounded by [`HANDSHAKE_TIMEOUT`]) and the
//! client side ([`NodeTrust`], the CA bundle node certificates are verified against).
//!
//! Every config is built with an explicit ring provider rather than rustls' process-wide
//! default: a test or tool linking aws-lc-rs as well (aws-sdk-s3 does) would otherwise leave the
//! default ambiguous and panic at the first handshake.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
pub use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete the TLS handshake. The handshake runs in the
/// connection's own task, so a slow or silent client holds only its own connection, and this
/// bound keeps such connections from piling up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[tls]` section of a server's config file: its certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's own certificate first (e.g. `fullchain.pem`).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: PathBuf,
}

/// Why TLS files could not be used. Every variant names the file, so an operator knows which
/// one to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    // The cause is in the message and deliberately not a `source`: `{:#}` would print it twice.
    #[error("cannot read TLS file {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },
    #[error("TLS file {path} is not valid PEM: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("TLS file {path} holds no PEM certificate (\"BEGIN CERTIFICATE\")")]
    NoCertificate { path: PathBuf },
    #[error("TLS file {path} holds no PEM private key (\"BEGIN PRIVATE KEY\")")]
    NoKey { path: PathBuf },
    #[error("TLS key {key} does not fit certificate {cert}: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("CA bundle {path}: {message}")]
    Ca { path: PathBuf, message: String },
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|cause| TlsError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

/// Every certificate in a PEM file, in order; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Pem {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })
}

impl TlsFiles {
    /// Reads both files and builds the server side. Fails if either is missing or unreadable,
    /// holds no certificate or key, or if the key is not the first certificate's.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let certs = certificates(&self.cert)?;
        let key = private_key(&self.key)?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| self.mismatch(e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| self.mismatch(e))?;
        // Both servers speak HTTP/1.1 only; saying so spares clients an HTTP/2 attempt.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    fn mismatch(&self, e: rustls::Error) -> TlsError {
        TlsError::Mismatch {
            cert: self.cert.clone(),
            key: self.key.clone(),
            message: e.to_string(),
        }
    }
}

/// Completes a server handshake within [`HANDSHAKE_TIMEOUT`].
pub async fn handshake<S>(acceptor: &TlsAcceptor, stream: S) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
}

/// The certificate authorities the gateway trusts for `https://` node URLs (its `[tls]
/// node_ca` bundle). Cheap to clone.
#[derive(Clone)]
pub struct NodeTrust {
    config: Arc<ClientConfig>,
    path: PathBuf,
}

impl fmt::Debug for NodeTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeTrust")
            .field("ca", &self.path)
            .finish_non_exhaustive()
    }
}

impl NodeTrust {
    /// Trusts every CA certificate in the PEM file at `path` (and nothing else: node
    /// certificates come from the operator's own CA, not the public web PKI).
    pub fn from_pem_file(path: &Path) -> Result<NodeTrust, TlsError> {
        let ca_error = |message: String| TlsError::Ca {
            path: path.to_path_buf(),
            message,
        };
        let mut roots = RootCertStore::empty();
        for cert in certificates(path)? {
            roots
                .add(cert)
                .map_err(|e| ca_error(format!("unusable certificate: {e}")))?;
        }
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ca_error(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(NodeTrust {
            config: Arc::new(config),
            path: path.to_path_buf(),
        })
    }

    /// The CA bundle's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn client_config(&self) -> ClientConfig {
        (*self.config).clone()
    }

    /// A client config that trusts no one: the connector of a client without `node_ca`
    /// never reaches TLS (https urls are refused up front) but still needs one.
    pub(crate) fn untrusting_config() -> ClientConfig {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        /// A CA, and a server certificate for 127.0.0.1 signed by it, as PEM files.
        fn new() -> Pki {
            let dir = tempfile::tempdir().unwrap();
            floe_testkit::pki::write_test_pki(dir.path());
            Pki { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn files(&self, cert: &str, key: &str) -> TlsFiles {
            TlsFiles {
                cert: self.path(cert),
                key: self.path(key),
            }
        }
    }

    #[test]
    fn good_files_load() {
        let pki = Pki::new();
        pki.files("cert.pem", "key.pem").acceptor().unwrap();
        let trust = NodeTrust::from_pem_file(&pki.path("ca.pem")).unwrap();
        assert_eq!(trust.path(), pki.path("ca.pem"));
    }

    #[test]
    fn errors_name_the_file() {
        let pki = Pki::new();
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(pki.path("other-key.pem"), other.serialize_pem()).unwrap();
        let cases = [
            (pki.files("missing.pem", "key.pem"), "missing.pem"),
            (pki.files("key.pem", "key.pem"), "no PEM certificate"),
            (pki.files("cert.pem", "cert.pem"), "no PEM private key"),
            (pki.files("cert.pem", "other-key.pem"), "does not fit"),
        ];
        for (files, expected) in cases {
            let err = files.acceptor().err().unwrap().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(err.contains(&pki.dir.path().display().to_string()), "{err}");
        }
        let err = NodeTrust::from_pem_file(&pki.path("key.pem")).unwrap_err();
        assert!(err.to_string().contains("key.pem"), "{err}");
    }
}
