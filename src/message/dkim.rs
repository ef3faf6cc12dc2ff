//! DKIM signing (RFC 6376; Ed25519 by RFC 8463) with the `mail-auth` crate, which canonicalises and signs:
//! `['domain' => ..., 'selector' => ..., 'private_key' => PEM or the path of a PEM file]`, on a message or on its
//! transport, read and checked here, and the signature put in front of the bytes that are sent.
//!
//! The private key never leaves this module: no refusal quotes it (nor a path that might be one), and
//! [`Dkim`]'s `Debug` shows the domain, selector and algorithm only.

use crate::error::UsageError;
use crate::value::Fields;
use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls::pki_types::PrivateKeyDer;
use std::fmt;
use std::sync::Arc;

/// The headers signed, when the message has them. Those it lacks are signed as absent (mail-auth lists them in
/// `h=` too, RFC 6376 section 5.4), so that none of them can be added on the way without breaking the signature.
/// Left out: trace and transport headers (Received, Return-Path), which servers add, and Bcc.
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// RFC 8301 section 3.2: signers MUST use RSA keys of at least 1024 bits (verifiers refuse smaller ones).
const MIN_RSA_BITS: usize = 1024;

/// A PEM key file is a few kilobytes; a bigger file is not one.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The keys of a `dkim` array.
const DKIM_KEYS: &[&str] = &["domain", "selector", "private_key"];

/// A DKIM key ready to sign: the signer keeps the key, the domain (`d=`), the selector (`s=`), the headers to
/// sign and relaxed/relaxed canonicalisation.
#[derive(Clone)]
pub struct Dkim {
    signer: Arc<DkimSigner<DkimKey, Done>>,
    domain: String,
    selector: String,
    algorithm: &'static str,
}

impl Dkim {
    /// `owner[key]` (`$message['dkim']`, `$transport['dkim']`), or `None` when it is not given.
    pub fn from_fields(owner: &Fields, key: &str) -> Result<Option<Dkim>, UsageError> {
        let Some(entries) = owner.array(key)? else { return Ok(None) };
        let arg = owner.path(key);
        let f = Fields::new(arg.trim_start_matches('$'), entries, DKIM_KEYS)?;
        let domain = domain(&f)?;
        let selector = selector(&f)?;
        let key = private_key(&f)?;
        let algorithm = match key {
            DkimKey::Rsa(_) => "rsa-sha256",
            DkimKey::Ed25519(_) => "ed25519-sha256",
        };
        let signer = DkimSigner::from_key(key)
            .domain(domain.clone())
            .selector(selector.clone())
            .headers(SIGNED_HEADERS.iter().copied())
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(Some(Dkim { signer: Arc::new(signer), domain, selector, algorithm }))
    }

    /// `message` as it goes on the wire (every line ended by CRLF, as `smtp::data::chunk` sends it), with a
    /// DKIM-Signature header in front that covers exactly those bytes. `Err` says why it cannot be signed.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let wire = crate::smtp::data::chunk(message);
        if super::header_value(&wire, "from").is_none() {
            return Err("the message has no From header, which DKIM must sign (RFC 6376 section 5.4)".into());
        }
        let signature = self.signer.sign(&wire).map_err(|e| format!("signing failed: {e}"))?;
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(&wire);
        Ok(signed)
    }
}

impl fmt::Debug for Dkim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dkim {{ domain: {:?}, selector: {:?}, algorithm: {} }}", self.domain, self.selector, self.algorithm)
    }
}

/// Two keys for the same domain and selector sign the same way as far as a connection is concerned; the pool
/// leaves signing out of its key anyway ([`crate::config::Transport::pool_key`]).
impl PartialEq for Dkim {
    fn eq(&self, other: &Dkim) -> bool {
        (&self.domain, &self.selector, self.algorithm) == (&other.domain, &other.selector, other.algorithm) && Arc::ptr_eq(&self.signer, &other.signer)
    }
}

impl Eq for Dkim {}

impl std::hash::Hash for Dkim {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.domain, &self.selector, self.algorithm).hash(state);
    }
}

/// `d=`: a domain name of letter, digit and hyphen labels (an internationalised one as its A-labels).
fn domain(f: &Fields) -> Result<String, UsageError> {
    let given = f.string("domain")?.unwrap_or_default();
    let given = given.trim();
    if given.is_empty() {
        return Err(UsageError::new(format!("{} is required: the domain that signs (d=), whose DNS has the public key", f.path("domain"))));
    }
    let ascii = idna::domain_to_ascii(given).ok().filter(|d| is_dns_name(d, false));
    ascii.map(|d| d.trim_end_matches('.').to_string()).ok_or_else(|| {
        UsageError::new(format!("{} {} is not a domain name (letters, digits and hyphens, in labels parted by dots)", f.path("domain"), shown(given)))
    })
}

/// `s=`: one or more labels, as the name `<selector>._domainkey.<domain>` takes them (RFC 6376 section 3.1).
fn selector(f: &Fields) -> Result<String, UsageError> {
    let given = f.string("selector")?.unwrap_or_default();
    let given = given.trim();
    if given.is_empty() {
        return Err(UsageError::new(format!("{} is required: the name under _domainkey whose TXT record holds the public key (s=)", f.path("selector"))));
    }
    if !given.is_ascii() || !is_dns_name(given, true) {
        return Err(UsageError::new(format!(
            "{} {} is not a selector: ASCII letters, digits, hyphens and underscores, in labels parted by dots",
            f.path("selector"),
            shown(given)
        )));
    }
    Ok(given.to_string())
}

/// Whether `name` is labels of 1 to 63 letters, digits and hyphens (and underscores, when allowed), not starting
/// or ending with a hyphen, at most 253 characters.
fn is_dns_name(name: &str, underscore: bool) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_'))
        })
}

/// A refused domain or selector as the refusal quotes it: a value that cannot be one (a line break, too long) may
/// be a key put under the wrong name, and is not quoted.
fn shown(value: &str) -> String {
    if value.len() <= 253 && !value.contains(['\r', '\n']) {
        format!("'{value}'")
    } else {
        format!("(a value of {} characters)", value.chars().count())
    }
}

/// The signing key: a PEM key (PKCS #1 RSA, or PKCS #8 RSA or Ed25519), given itself or as the path of a file.
fn private_key(f: &Fields) -> Result<DkimKey, UsageError> {
    let path = f.path("private_key");
    let given = f.bytes("private_key")?.filter(|k| !k.trim_ascii().is_empty());
    let given = given.ok_or_else(|| UsageError::new(format!("{path} is required: a PEM private key, or the path of a PEM file")))?;
    let pem = if given.windows(11).any(|w| w == b"-----BEGIN ") {
        given.to_vec()
    } else {
        read_key_file(given).map_err(|why| UsageError::new(format!("{path} is not a PEM key, and as a path {why}")))?
    };
    parse_key(&pem).map_err(|why| UsageError::new(format!("{path} {why}")))
}

/// The key file at `path`, read as attachments and `ca_file` are (open_basedir applies). The refusal does not
/// quote the path: a key given without its PEM lines would be quoted back.
fn read_key_file(path: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(path).map_err(|_| "it is not valid UTF-8".to_string())?;
    if !text.starts_with('/') || text.contains(['\r', '\n', '\0']) {
        return Err("it is not absolute: give the PEM key itself or the absolute path of its file".into());
    }
    let path = std::path::Path::new(text);
    crate::files::read(path, Some(MAX_KEY_FILE)).map_err(|e| e.strip_prefix(&format!("'{}' ", path.display())).unwrap_or(&e).to_string())
}

/// The first private key in `pem`, as mail-auth signs with it. The reasons never quote the key.
fn parse_key(pem: &[u8]) -> Result<DkimKey, String> {
    let der = rustls_pemfile::private_key(&mut &pem[..])
        .map_err(|_| "is not a readable PEM key".to_string())?
        .ok_or_else(|| "has no private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)".to_string())?;
    if let PrivateKeyDer::Pkcs8(pkcs8) = &der {
        if let Ok(ed25519) = Ed25519Key::from_pkcs8_der(pkcs8.secret_pkcs8_der()) {
            return Ok(DkimKey::Ed25519(ed25519));
        }
    }
    match der {
        PrivateKeyDer::Sec1(_) => Err("is an EC key: DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)".into()),
        der => rsa_key(der),
    }
}

/// An RSA key of at least [`MIN_RSA_BITS`]; `rsa` (mail-auth's own RSA crate) reads its size.
fn rsa_key(der: PrivateKeyDer<'_>) -> Result<DkimKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let parsed = match &der {
        PrivateKeyDer::Pkcs1(pkcs1) => rsa::RsaPrivateKey::from_pkcs1_der(pkcs1.secret_pkcs1_der()).ok(),
        PrivateKeyDer::Pkcs8(pkcs8) => rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.secret_pkcs8_der()).ok(),
        _ => None,
    };
    let bits = parsed
        .map(|key| key.size() * 8)
        .ok_or_else(|| "is neither an RSA nor an Ed25519 key: DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)".to_string())?;
    if bits < MIN_RSA_BITS {
        return Err(format!("is an RSA key of {bits} bits: verifiers refuse keys under {MIN_RSA_BITS} bits (RFC 8301); 2048 is usual"));
    }
    RsaKey::<Sha256>::from_key_der(der).map(DkimKey::Rsa).map_err(|_| "is not a readable RSA key".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{named, Key, Value};
    use base64::Engine;

    /// A new Ed25519 key as PEM (PKCS #8), as `openssl genpkey -algorithm ed25519` writes it.
    fn ed25519_pem() -> String {
        let der = Ed25519Key::generate_pkcs8().unwrap();
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", base64::engine::general_purpose::STANDARD.encode(der))
    }

    fn dkim(fields: &[(&str, Value)]) -> Result<Option<Dkim>, UsageError> {
        let mut option = named(&[("domain", Value::str("example.com")), ("selector", Value::str("s1")), ("private_key", Value::str(&ed25519_pem()))]);
        for (key, value) in fields {
            option.retain(|(k, _)| *k != Key::Name(key.to_string()));
            if *value != Value::Null {
                option.push((Key::Name(key.to_string()), value.clone()));
            }
        }
        let message = named(&[("dkim", Value::Array(option))]);
        Dkim::from_fields(&Fields::new("message", &message, &["dkim"]).unwrap(), "dkim")
    }

    #[test]
    fn the_signature_goes_in_front_of_the_bytes_as_sent() {
        let signer = dkim(&[]).unwrap().unwrap();
        let signed = String::from_utf8(signer.sign(b"From: a@example.com\nTo: b@example.com\nSubject: x\n\nbody\n").unwrap()).unwrap();
        let (signature, rest) = signed.split_once("\r\nFrom:").unwrap();
        assert!(signature.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; s=s1; d=example.com; c=relaxed/relaxed;"), "{signature}");
        assert_eq!(rest, " a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n");
        // Signed when present, and as absent otherwise: h= lists every default header.
        let h = signature.split("h=").nth(1).unwrap().split(';').next().unwrap().replace(['\r', '\n', '\t', ' '], "");
        for name in SIGNED_HEADERS {
            assert!(h.split(':').any(|n| n.eq_ignore_ascii_case(name)), "{name} in {h}");
        }
        assert!(signer.sign(b"Subject: x\r\n\r\nbody\r\n").unwrap_err().contains("no From header"));
    }

    #[test]
    fn a_bad_domain_selector_or_key_is_refused_by_name_without_quoting_a_key() {
        let refusal = |fields: &[(&str, Value)]| dkim(fields).unwrap_err().0;
        assert!(refusal(&[("domain", Value::str("exa mple.com"))]).starts_with("$message['dkim']['domain'] 'exa mple.com' is not a domain name"));
        assert!(refusal(&[("domain", Value::str("-x.example"))]).contains("is not a domain name"));
        assert!(refusal(&[("selector", Value::str("a;b"))]).starts_with("$message['dkim']['selector'] 'a;b' is not a selector"));
        assert!(refusal(&[("selector", Value::str("s\r\nX: y"))]).starts_with("$message['dkim']['selector'] (a value of 7 characters)"));
        let pem = ed25519_pem();
        let key_body = pem.lines().nth(1).unwrap();
        for (given, expected) in [
            (pem.replace(key_body, "AAAA"), "$message['dkim']['private_key'] "),
            (key_body.to_string(), "$message['dkim']['private_key'] is not a PEM key, and as a path it is not absolute"),
            (format!("/{key_body}"), "$message['dkim']['private_key'] is not a PEM key, and as a path"),
        ] {
            let refusal = refusal(&[("private_key", Value::str(&given))]);
            assert!(refusal.starts_with(expected) && !refusal.contains(key_body) && !refusal.contains("AAAA"), "{refusal}");
        }
        assert!(refusal(&[("private_key", Value::Null)]).starts_with("$message['dkim']['private_key'] is required"));
        assert!(refusal(&[("domain", Value::str(&pem))]).starts_with("$message['dkim']['domain'] (a value of"));
    }

    #[test]
    fn an_internationalised_domain_signs_as_its_a_labels_and_debug_shows_no_key() {
        let signer = dkim(&[("domain", Value::str("bücher.example"))]).unwrap().unwrap();
        assert_eq!(format!("{signer:?}"), "Dkim { domain: \"xn--bcher-kva.example\", selector: \"s1\", algorithm: ed25519-sha256 }");
        assert!(String::from_utf8(signer.sign(b"From: a@example.com\r\n\r\nx\r\n").unwrap()).unwrap().contains("d=xn--bcher-kva.example;"));
        assert!(dkim(&[]).unwrap() != dkim(&[]).unwrap(), "two keys read apart are not taken for one");
    }
}
