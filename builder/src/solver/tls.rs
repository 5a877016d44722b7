//! TLS for ADD of https URLs: rustls (ring), trusting the host's CA file
//! ($SSL_CERT_FILE, else Debian's /etc/ssl/certs/ca-certificates.crt), as
//! curl and git on the host do. No bundled roots: a private registry's or
//! mirror's CA installed on the host is what a build should trust.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

const DEFAULT_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A byte stream: plain TCP or TLS over it.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn roots() -> Result<RootCertStore, String> {
    let path = std::env::var("SSL_CERT_FILE").unwrap_or_else(|_| DEFAULT_CA_FILE.into());
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("reading the CA file {path}: {e}"))?;
    for c in certs.flatten() {
        let _ = store.add(c);
    }
    if store.is_empty() {
        return Err(format!("no CA certificates in {path} (set SSL_CERT_FILE)"));
    }
    Ok(store)
}

/// A TLS session to `host` over `tcp`, the server's certificate checked.
pub fn wrap(tcp: TcpStream, host: &str) -> Result<Box<dyn Stream>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots()?)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("TLS: {host}: {e}"))?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
    Ok(Box::new(StreamOwned::new(conn, tcp)))
}
