//! TLS with rustls: the client configuration built from `$transport`, the
//! certificate the server presented, and errors a person can act on.

use crate::config::{TlsMinVersion, Transport};
use crate::smtp::error::{CertProblem, TlsProblem};
use once_cell::sync::Lazy;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};

/// The system's trusted roots (Debian's /etc/ssl/certs), read once per
/// process. Empty when the system has none; Mozilla's list is used then.
static SYSTEM_ROOTS: Lazy<Vec<CertificateDer<'static>>> = Lazy::new(|| rustls_native_certs::load_native_certs().certs);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// What was negotiated, for the transcript and the diagnosis.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub certificate: Option<CertInfo>,
}

/// The facts of a certificate that explain why it is or is not accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName (the CN when there are none).
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub expired: bool,
    pub self_signed: bool,
}

/// Reads a DER certificate. `None` when it cannot be parsed.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(ip) => names.push(match ip.len() {
                    4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*ip).ok()?).to_string(),
                    16 => std::net::IpAddr::from(<[u8; 16]>::try_from(*ip).ok()?).to_string(),
                    _ => continue,
                }),
                _ => {}
            }
        }
    }
    if names.is_empty() {
        names.extend(cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(str::to_string));
    }
    let validity = cert.validity();
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: validity.not_before.to_datetime().to_string(),
        not_after: validity.not_after.to_datetime().to_string(),
        expired: validity.not_after.timestamp() < UnixTime::now().as_secs() as i64,
        self_signed: cert.subject() == cert.issuer(),
    })
}

/// Checks the server's certificate like rustls's WebPKI verifier (or not at
/// all when `verify_peer` is off), and keeps the certificate it was shown so
/// that a failure can say what the server presented.
#[derive(Debug)]
pub struct RecordingVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    pub presented: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.presented.lock().unwrap_or_else(|e| e.into_inner()) = Some(end_entity.to_vec());
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A rustls client configuration for this transport, and the verifier that
/// will hold the presented certificate once the handshake ran.
pub fn client_config(transport: &Transport) -> Result<(Arc<ClientConfig>, Arc<RecordingVerifier>), String> {
    let provider = provider();
    let webpki = if transport.verify_peer {
        let mut roots = RootCertStore::empty();
        if SYSTEM_ROOTS.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
        }
        if let Some(path) = &transport.ca_file {
            let certs = crate::files::ca_certificates(path).map_err(|e| format!("ca_file {e}"))?;
            let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
            if added == 0 {
                return Err(format!("ca_file '{}' holds no usable CA certificate", path.display()));
            }
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
        Some(verifier)
    } else {
        None
    };
    let verifier = Arc::new(RecordingVerifier { webpki, provider: provider.clone(), presented: Mutex::new(None) });
    let versions: &[&rustls::SupportedProtocolVersion] = match transport.tls_min_version {
        TlsMinVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsMinVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("cannot configure TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((Arc::new(config), verifier))
}

/// A handshake error in words that point at the fix. The certificate the
/// server presented, when known, names what was wrong with it.
pub fn describe_error(error: &rustls::Error, host: &str, presented: Option<&CertInfo>) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(e) => describe_certificate_error(e, host, presented),
        E::PeerIncompatible(p) => format!("the server and this client share no TLS version or cipher ({p:?})"),
        E::AlertReceived(alert) => format!("the server ended the TLS handshake with alert {alert:?}"),
        E::InvalidMessage(m) => format!("the server did not answer with TLS ({m:?}): is this port plain SMTP?"),
        other => other.to_string(),
    }
}

fn describe_certificate_error(error: &CertificateError, host: &str, presented: Option<&CertInfo>) -> String {
    use CertificateError as C;
    match (error, presented) {
        (C::NotValidForName | C::NotValidForNameContext { .. }, Some(cert)) => {
            format!("the certificate is for {}, not for {host}", cert.names.join(", "))
        }
        (C::NotValidForName | C::NotValidForNameContext { .. }, None) => format!("the certificate is not valid for {host}"),
        (C::Expired | C::ExpiredContext { .. }, Some(cert)) => format!("the certificate expired on {}", cert.not_after),
        (C::Expired | C::ExpiredContext { .. }, None) => "the certificate has expired".to_string(),
        (C::NotValidYet | C::NotValidYetContext { .. }, Some(cert)) => format!("the certificate is not valid before {}", cert.not_before),
        (C::NotValidYet | C::NotValidYetContext { .. }, None) => "the certificate is not valid yet".to_string(),
        // Whatever the chain check tripped on first (an unknown issuer, or a
        // signature that does not match a trusted CA of the same name), a
        // certificate that signed itself is the explanation a person needs.
        (_, Some(cert)) if cert.self_signed => {
            format!("the certificate is self-signed ({}): no trusted authority vouches for it", cert.subject)
        }
        (C::UnknownIssuer, Some(cert)) => format!("the certificate's issuer ({}) is not trusted: add its CA with ca_file", cert.issuer),
        (C::UnknownIssuer, None) => "the certificate's issuer is not trusted".to_string(),
        (C::BadSignature, _) => "the certificate's signature does not match its issuer".to_string(),
        (C::Revoked, _) => "the certificate has been revoked".to_string(),
        (other, _) => format!("the certificate was refused ({other:?})"),
    }
}

pub fn version_name(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
        other => format!("{other:?}"),
    }
}

/// A rustls error as data.
pub fn problem(error: &rustls::Error) -> TlsProblem {
    use rustls::{CertificateError as C, Error as E};
    match error {
        E::InvalidCertificate(c) => TlsProblem::Certificate(match c {
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::NameMismatch,
            C::Expired | C::ExpiredContext { .. } => CertProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => CertProblem::NotYetValid,
            C::UnknownIssuer => CertProblem::UnknownIssuer,
            C::BadSignature => CertProblem::BadSignature,
            C::Revoked => CertProblem::Revoked,
            _ => CertProblem::Other,
        }),
        E::PeerIncompatible(_) | E::AlertReceived(rustls::AlertDescription::ProtocolVersion) => TlsProblem::Version,
        E::AlertReceived(alert) => TlsProblem::Alert(u8::from(*alert)),
        E::InvalidMessage(_) => TlsProblem::NotTls,
        _ => TlsProblem::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str], self_signed: bool) -> CertInfo {
        CertInfo {
            subject: "CN=mail.example.com".into(),
            issuer: if self_signed { "CN=mail.example.com".into() } else { "CN=Example CA".into() },
            names: names.iter().map(|n| n.to_string()).collect(),
            not_before: "2020-01-01 0:00:00.0 +00:00:00".into(),
            not_after: "2020-02-01 0:00:00.0 +00:00:00".into(),
            expired: true,
            self_signed,
        }
    }

    #[test]
    fn certificate_errors_say_what_is_wrong() {
        let other = cert(&["other.example"], false);
        assert_eq!(
            describe_certificate_error(&CertificateError::NotValidForName, "smtp.example.com", Some(&other)),
            "the certificate is for other.example, not for smtp.example.com"
        );
        assert!(describe_certificate_error(&CertificateError::Expired, "h", Some(&other)).contains("expired on 2020-02-01"));
        // A self-signed certificate is named as such whatever the chain check tripped on.
        let own = cert(&["mail.example.com"], true);
        for error in [CertificateError::UnknownIssuer, CertificateError::BadSignature] {
            assert!(describe_certificate_error(&error, "h", Some(&own)).contains("self-signed"));
        }
        assert!(describe_certificate_error(&CertificateError::UnknownIssuer, "h", Some(&other)).contains("add its CA with ca_file"));
    }
}
