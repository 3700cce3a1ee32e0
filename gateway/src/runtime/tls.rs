//! The gateway's `[tls]` section: HTTPS on the S3 endpoint (`cert` + `key`) and the CA bundle
//! `https://` storage nodes are verified against (`node_ca`). Each part is optional; without
//! the section everything stays plain HTTP.
//!
//! The shape is checked when the configuration is resolved; the files are read and parsed by
//! [`TlsSection::load`], at startup and by `floe serve --check-config`.

use std::path::PathBuf;

use floe_node::tls::{NodeTrust, TlsAcceptor, TlsError, TlsFiles};
use serde::Deserialize;

/// `[tls]` as written in the gateway's config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain of the S3 endpoint; with `key`, the endpoint serves HTTPS.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// PEM CA bundle that `https://` node certificates must chain to.
    pub node_ca: Option<PathBuf>,
}

/// The section's files, read and checked.
#[derive(Default)]
pub struct LoadedTls {
    /// `Some` when the S3 endpoint serves HTTPS.
    pub s3: Option<TlsAcceptor>,
    /// `Some` when `node_ca` is set.
    pub nodes: Option<NodeTrust>,
}

impl TlsSection {
    /// Checks what needs no file: `cert` and `key` come together, and `https://` node urls
    /// need `node_ca` (a gateway that cannot verify its nodes must not start and then fail
    /// every write).
    pub fn validate(&self, nodes: &[String]) -> Result<(), String> {
        if self.cert.is_some() != self.key.is_some() {
            return Err("[tls] needs both cert and key to serve HTTPS, or neither".into());
        }
        if self.node_ca.is_none()
            && let Some(url) = nodes.iter().find(|u| u.starts_with("https://"))
        {
            return Err(format!(
                "node {url} uses https://: set [tls] node_ca to the CA bundle that signed the \
                 nodes' certificates"
            ));
        }
        Ok(())
    }

    /// Whether the S3 endpoint serves HTTPS.
    pub fn serves_https(&self) -> bool {
        self.cert.is_some()
    }

    /// Reads and parses every file the section names.
    pub fn load(&self) -> Result<LoadedTls, TlsError> {
        let s3 = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(
                TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }
                .acceptor()?,
            ),
            _ => None,
        };
        let nodes = self
            .node_ca
            .as_deref()
            .map(NodeTrust::from_pem_file)
            .transpose()?;
        Ok(LoadedTls { s3, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> TlsSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn shape_rules() {
        let https = ["https://10.0.0.1:9100".to_string()];
        let http = ["http://10.0.0.1:9100".to_string()];
        assert!(TlsSection::default().validate(&http).is_ok());
        let err = TlsSection::default().validate(&https).unwrap_err();
        assert!(err.contains("node_ca"), "{err}");
        assert!(section("node_ca = \"ca.pem\"").validate(&https).is_ok());
        let err = section("cert = \"c.pem\"").validate(&http).unwrap_err();
        assert!(err.contains("both cert and key"), "{err}");
        let full = section("cert = \"c.pem\"\nkey = \"k.pem\"");
        assert!(full.validate(&http).is_ok() && full.serves_https());
        assert!(toml::from_str::<TlsSection>("certificate = \"c.pem\"").is_err());
    }

    #[test]
    fn load_names_the_missing_file() {
        let err = section("node_ca = \"/nonexistent/floe-ca.pem\"")
            .load()
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent/floe-ca.pem"),
            "{err}"
        );
        let err = section("cert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"")
            .load()
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/c.pem"), "{err}");
        assert!(TlsSection::default().load().unwrap().s3.is_none());
    }
}
