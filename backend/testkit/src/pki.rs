//! A throwaway public-key infrastructure for TLS tests, made by rcgen.

use std::path::Path;

/// Writes `ca.pem`, and `cert.pem` + `key.pem` for 127.0.0.1 and localhost signed by that CA,
/// into `dir` (created if need be).
pub fn write_test_pki(dir: &Path) {
    let ca_key = rcgen::KeyPair::generate().expect("key generation");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Floe test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("self-signed CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("key generation");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate parameters")
        .signed_by(&key, &issuer)
        .expect("certificate signed by the CA");
    std::fs::create_dir_all(dir).expect("PKI directory");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("ca.pem");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("cert.pem");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("key.pem");
}
