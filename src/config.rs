//! `$transport`: where and how to connect, shared by `rust_mail_send()` and
//! `rust_mail_diagnose()`.

use crate::api::{ApiTarget, Provider, API_CHOICES, MAILGUN_REGIONS};
use crate::error::UsageError;
use crate::message::check_header_safe;
use crate::secrets::{self, Secret};
use crate::value::{Fields, Key, Value};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain text throughout.
    None,
    /// STARTTLS (RFC 3207) is required: fail when the server does not offer it.
    Starttls,
    /// STARTTLS when the server offers it, plain text otherwise.
    Opportunistic,
    /// TLS from the first byte (RFC 8314 "implicit TLS", port 465).
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    None,
    Plain,
    Login,
    Xoauth2,
    /// The best mechanism both sides support (PLAIN, then LOGIN).
    Auto,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::Starttls => "starttls",
            Security::Opportunistic => "opportunistic",
            Security::Tls => "tls",
        }
    }
}

/// What to do about STARTTLS once EHLO has said whether the server offers
/// it. The send path and the diagnose walk both act on this one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarttlsDecision {
    /// Send STARTTLS and upgrade the connection.
    Upgrade,
    /// Nothing to do: security 'none' (plain text by choice) or 'tls'
    /// (encrypted from the first byte already).
    Skip,
    /// Security 'opportunistic' and not offered: go on in plain text, warned.
    Warn,
    /// Security 'starttls' and not offered: stop before anything goes in clear text.
    Fail,
}

/// The STARTTLS decision over the security setting and whether the server
/// offers STARTTLS in its EHLO reply.
pub fn starttls_decision(security: Security, offered: bool) -> StarttlsDecision {
    match (security, offered) {
        (Security::None | Security::Tls, _) => StarttlsDecision::Skip,
        (Security::Starttls | Security::Opportunistic, true) => StarttlsDecision::Upgrade,
        (Security::Opportunistic, false) => StarttlsDecision::Warn,
        (Security::Starttls, false) => StarttlsDecision::Fail,
    }
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Plain => "plain",
            AuthMode::Login => "login",
            AuthMode::Xoauth2 => "xoauth2",
            AuthMode::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMinVersion {
    V1_2,
    V1_3,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transport {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub auth: AuthMode,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub timeout: Duration,
    pub tls_min_version: TlsMinVersion,
    pub verify_peer: bool,
    pub ca_file: Option<PathBuf>,
    pub helo: String,
    pub pool: bool,
    pub allow_insecure_auth: bool,
    /// Send the message with `BDAT <n> LAST` (RFC 3030) when the server
    /// offers CHUNKING; off, always DATA.
    pub chunking: bool,
    /// An HTTPS API instead of an SMTP server: the host and port are then its base URL's, the security 'tls'.
    pub api: Option<ApiTarget>,
    /// `dkim`: the key that signs each message that has none of its own (`$message['dkim']` wins).
    pub dkim: Option<crate::message::Dkim>,
}

/// What a `$transport` key holds. The extension parses by this table, and
/// `./build.sh rules` exports it to the plugin, which keeps no second list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Text,
    Int,
    /// A number of seconds, fractions allowed.
    Seconds,
    Bool,
    /// A password or token: never shown, scrubbed from every result.
    Secret,
    /// A file on this machine.
    Path,
    Choice(&'static [&'static str]),
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Text => "text",
            KeyType::Int => "int",
            KeyType::Seconds => "seconds",
            KeyType::Bool => "bool",
            KeyType::Secret => "secret",
            KeyType::Path => "path",
            KeyType::Choice(_) => "choice",
        }
    }
}

pub const SECURITY_CHOICES: &[&str] = &["none", "starttls", "opportunistic", "tls"];
pub const AUTH_CHOICES: &[&str] = &["none", "plain", "login", "xoauth2", "auto"];
pub const TLS_VERSIONS: &[&str] = &["1.2", "1.3"];

/// Every `$transport` key, in the order the README lists them.
pub const TRANSPORT_SCHEMA: &[(&str, KeyType)] = &[
    ("host", KeyType::Text),
    ("port", KeyType::Int),
    ("security", KeyType::Choice(SECURITY_CHOICES)),
    ("auth", KeyType::Choice(AUTH_CHOICES)),
    ("username", KeyType::Text),
    ("password", KeyType::Secret),
    ("timeout", KeyType::Seconds),
    ("tls_min_version", KeyType::Choice(TLS_VERSIONS)),
    ("verify_peer", KeyType::Bool),
    ("ca_file", KeyType::Path),
    ("helo", KeyType::Text),
    ("pool", KeyType::Bool),
    ("allow_insecure_auth", KeyType::Bool),
    ("chunking", KeyType::Bool),
    ("api", KeyType::Choice(API_CHOICES)),
    ("api_base", KeyType::Text),
    ("region", KeyType::Text),
];

/// The keys that only mean something to an SMTP server: refused beside `api`.
pub const SMTP_ONLY_KEYS: &[&str] = &["host", "port", "security", "auth", "helo", "allow_insecure_auth", "chunking"];

/// Ports whose security goes without saying, and the reverse: either one
/// given alone implies the other (RFC 8314: 465 is TLS from the first byte;
/// RFC 6409: 587 is submission with STARTTLS).
pub const IMPLIED: [(u16, Security); 2] = [(465, Security::Tls), (587, Security::Starttls)];
/// Any other port and security: what an MTA on port 25 speaks.
pub const OTHERWISE: (u16, Security) = (25, Security::Opportunistic);

fn implied_port(security: Option<Security>) -> u16 {
    IMPLIED.iter().find(|(_, s)| Some(*s) == security).map_or(OTHERWISE.0, |(port, _)| *port)
}

fn implied_security(port: u16) -> Security {
    IMPLIED.iter().find(|(p, _)| *p == port).map_or(OTHERWISE.1, |(_, security)| *security)
}

/// What a `$transport` key left out stands for, where that is one value. Parsing takes these, and
/// `./build.sh rules` exports them for the plugin. The others are derived: port and security imply each
/// other ([`IMPLIED`], [`OTHERWISE`]), auth is 'auto' with a username and 'none' without, and helo is this
/// machine's name.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_TLS_MIN_VERSION: &str = "1.2";
pub const DEFAULT_VERIFY_PEER: bool = true;
pub const DEFAULT_POOL: bool = true;
pub const DEFAULT_ALLOW_INSECURE_AUTH: bool = false;
pub const DEFAULT_CHUNKING: bool = true;

impl Transport {
    /// A transport to connect with: credentials are required when `auth` asks for a login.
    pub fn from_value(entries: &[(Key, Value)]) -> Result<Transport, UsageError> {
        Self::parse(entries, true)
    }

    /// A transport that is only described, never connected with (explaining a
    /// past failure): the password may be left out, so that no caller has to
    /// fetch or decrypt a secret for it.
    pub fn settings_only(entries: &[(Key, Value)]) -> Result<Transport, UsageError> {
        Self::parse(entries, false)
    }

    /// Any refusal is scrubbed of the password in every form it could take: a value put under the wrong key
    /// (`'auth' => $password`) is quoted back in the message, and an exception ends up in logs.
    fn parse(entries: &[(Key, Value)], needs_secret: bool) -> Result<Transport, UsageError> {
        Self::parse_fields(entries, needs_secret).map_err(|e| e.scrubbed(&secrets_in(entries)))
    }

    fn parse_fields(entries: &[(Key, Value)], needs_secret: bool) -> Result<Transport, UsageError> {
        // `dkim` is an array of its own, not a setting of the schema the plugin's connection form is made from.
        let keys: Vec<&str> = TRANSPORT_SCHEMA.iter().map(|(key, _)| *key).chain(["dkim"]).collect();
        let f = Fields::new("transport", entries, &keys)?;

        let username = f.string("username")?.filter(|u| !u.is_empty());
        let password = f.string("password")?.filter(|p| !p.is_empty()).map(Secret);
        if let Some(user) = &username {
            check_header_safe(&f.path("username"), user)?;
        }
        let api = api_target(&f, username.as_deref(), password.is_some() || !needs_secret)?;
        let endpoint = match &api {
            Some(api) => Endpoint { host: api.host.clone(), port: api.port, security: Security::Tls, auth: AuthMode::None, helo: default_helo() },
            None => smtp_endpoint(&f, username.is_some(), password.is_some() || !needs_secret)?,
        };

        let tls_min_version = match f.choice("tls_min_version", TLS_VERSIONS)?.unwrap_or(DEFAULT_TLS_MIN_VERSION) {
            "1.3" => TlsMinVersion::V1_3,
            _ => TlsMinVersion::V1_2,
        };
        let ca_file = f.string("ca_file")?.filter(|p| !p.is_empty()).map(PathBuf::from);
        if let Some(path) = &ca_file {
            crate::files::ca_certificates(path).map_err(|e| UsageError::new(format!("$transport['ca_file'] {e}")))?;
        }

        Ok(Transport {
            host: endpoint.host,
            port: endpoint.port,
            security: endpoint.security,
            auth: endpoint.auth,
            username,
            password,
            timeout: f.seconds("timeout")?.map(Duration::from_secs_f64).unwrap_or(DEFAULT_TIMEOUT),
            tls_min_version,
            verify_peer: f.bool("verify_peer")?.unwrap_or(DEFAULT_VERIFY_PEER),
            ca_file,
            helo: endpoint.helo,
            pool: f.bool("pool")?.unwrap_or(DEFAULT_POOL),
            allow_insecure_auth: f.bool("allow_insecure_auth")?.unwrap_or(DEFAULT_ALLOW_INSECURE_AUTH),
            chunking: f.bool("chunking")?.unwrap_or(DEFAULT_CHUNKING),
            api,
            dkim: crate::message::Dkim::from_fields(&f, "dkim")?,
        })
    }

    /// Connections are pooled per configuration: two transports share idle
    /// connections only when every setting (credentials included) is equal.
    /// The timeout is left out, as it bounds one call, not the connection.
    pub fn pool_key(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut key = self.clone();
        key.timeout = Duration::ZERO;
        key.dkim = None; // signing is done before the message reaches a connection
        key.hash(&mut hasher);
        hasher.finish()
    }

    /// Every string that must never appear in a result: the secret and the
    /// encodings in which it crosses the wire.
    pub fn secrets(&self) -> Vec<String> {
        let Some(Secret(secret)) = &self.password else { return Vec::new() };
        secrets::forms(self.username.as_deref().unwrap_or_default(), secret)
    }
}

/// Where an SMTP transport connects and how it logs in.
struct Endpoint {
    host: String,
    port: u16,
    security: Security,
    auth: AuthMode,
    helo: String,
}

/// The SMTP server of a transport without `api`: host, port and security (each implied by the other), the login,
/// and the EHLO name. `has_password` is true too when the transport is only described.
fn smtp_endpoint(f: &Fields, has_username: bool, has_password: bool) -> Result<Endpoint, UsageError> {
    for key in ["api_base", "region"] {
        if f.get(key).is_some() {
            return Err(UsageError::new(format!("$transport['{key}'] is only for an HTTPS API: set 'api' too, or leave '{key}' out for SMTP")));
        }
    }
    // CR, LF and NUL are refused before trimming: a trailing line break is an injection attempt too.
    let host = f.string("host")?.unwrap_or_default();
    check_header_safe(&f.path("host"), &host)?;
    let host = host.trim().to_string();
    if host.is_empty() {
        return Err(UsageError::new("$transport['host'] is required"));
    }
    if host.contains(char::is_whitespace) || host.contains('/') {
        return Err(UsageError::new(format!("$transport['host'] '{host}' is not a host name or address")));
    }

    let security = f.choice("security", SECURITY_CHOICES)?.map(|s| match s {
        "none" => Security::None,
        "starttls" => Security::Starttls,
        "tls" => Security::Tls,
        _ => Security::Opportunistic,
    });
    let port = match f.int("port")? {
        Some(p) => {
            u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| UsageError::new(format!("$transport['port'] must be between 1 and 65535, got {p}")))?
        }
        None => implied_port(security),
    };
    let security = security.unwrap_or_else(|| implied_security(port));

    let auth = match f.choice("auth", AUTH_CHOICES)? {
        Some("none") => AuthMode::None,
        Some("plain") => AuthMode::Plain,
        Some("login") => AuthMode::Login,
        Some("xoauth2") => AuthMode::Xoauth2,
        Some(_) => AuthMode::Auto,
        None if has_username => AuthMode::Auto,
        None => AuthMode::None,
    };
    if auth != AuthMode::None && !(has_username && has_password) {
        let what = if auth == AuthMode::Xoauth2 { "'username' and 'password' (the OAuth2 access token)" } else { "'username' and 'password'" };
        return Err(UsageError::new(format!("$transport needs {what} when 'auth' is not 'none'")));
    }

    let helo = f.string("helo")?;
    if let Some(h) = &helo {
        check_header_safe(&f.path("helo"), h)?;
    }
    let helo = match helo {
        Some(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => default_helo(),
    };
    if helo.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(UsageError::new(format!("$transport['helo'] '{}' must be a single host name", helo.escape_debug())));
    }
    Ok(Endpoint { host, port, security, auth, helo })
}

/// The HTTPS API of a transport with `api`, `None` without. `has_password`: as for [`smtp_endpoint`].
fn api_target(f: &Fields, username: Option<&str>, has_password: bool) -> Result<Option<ApiTarget>, UsageError> {
    let Some(name) = f.choice("api", API_CHOICES)? else { return Ok(None) };
    let provider = Provider::from_name(name).expect("one of API_CHOICES");
    if let Some(key) = SMTP_ONLY_KEYS.iter().find(|key| f.get(key).is_some()) {
        return Err(UsageError::new(format!(
            "$transport['{key}'] is for SMTP and cannot be combined with 'api' => '{name}': the API's address is 'api_base', its login 'username' and 'password'"
        )));
    }
    if !has_password {
        return Err(UsageError::new(format!("$transport['password'] is required with 'api' => '{name}': {}", provider.password_means())));
    }
    if username.is_none() && matches!(provider, Provider::Graph | Provider::Ses) {
        return Err(UsageError::new(format!("$transport['username'] is required with 'api' => '{name}': {}", provider.username_means())));
    }
    let region = f.string("region")?.map(|r| r.trim().to_ascii_lowercase()).filter(|r| !r.is_empty());
    let region = match (provider, region) {
        (Provider::Graph | Provider::Gmail, Some(_)) => {
            return Err(UsageError::new(format!("$transport['region'] does not apply to 'api' => '{name}': its region is in 'api_base' (national clouds)")));
        }
        (Provider::Graph | Provider::Gmail, None) => None,
        (Provider::Ses, None) => {
            return Err(UsageError::new("$transport['region'] is required with 'api' => 'ses': the AWS region of the SES account, e.g. 'eu-west-1'"))
        }
        (Provider::Ses, Some(r)) if r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => Some(r),
        (Provider::Ses, Some(r)) => {
            return Err(UsageError::new(format!("$transport['region'] '{}' is not an AWS region, such as 'eu-west-1'", r.escape_debug())))
        }
        (Provider::Mailgun, Some(r)) if MAILGUN_REGIONS.contains(&r.as_str()) => Some(r),
        (Provider::Mailgun, Some(r)) => {
            return Err(UsageError::new(format!("$transport['region'] must be 'us' or 'eu' for Mailgun, got '{}'", r.escape_debug())))
        }
        (Provider::Mailgun, None) => None,
    };
    let base = match f.string("api_base")?.map(|b| b.trim().to_string()).filter(|b| !b.is_empty()) {
        Some(base) => {
            check_header_safe(&f.path("api_base"), &base)?;
            base
        }
        None => provider.default_base(region.as_deref()),
    };
    ApiTarget::new(provider, &base, region).map(Some).map_err(|why| UsageError::new(format!("$transport['api_base'] '{base}' {why}")))
}

/// The secrets of a transport array as given, before (or without) parsing it: for
/// scrubbing a refusal of it, or of another argument of the same call.
pub fn secrets_in(entries: &[(Key, Value)]) -> Vec<String> {
    let text = |key: &str| match entries.iter().find(|(k, _)| matches!(k, Key::Name(n) if n == key)) {
        Some((_, Value::Bytes(b))) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    secrets::forms(&text("username"), &text("password"))
}

/// This machine's name, as RFC 5321 section 4.1.4 asks the EHLO argument to be;
/// an address literal when it has none.
fn default_helo() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or_else(|| "[127.0.0.1]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(pairs: &[(&str, Value)]) -> Result<Transport, UsageError> {
        Transport::from_value(&crate::value::named(pairs))
    }

    #[test]
    fn a_bad_transport_is_refused_naming_its_key() {
        for (name, key, value) in [
            ("port of wrong type", "port", Value::str("twenty-five")),
            ("timeout of wrong type", "timeout", Value::str("soon")),
            ("unknown security", "security", Value::str("ssl-please")),
            ("missing host", "host", Value::Null),
        ] {
            let mut pairs =
                vec![("host", Value::str("smtp.example.com")), ("port", Value::Int(2525)), ("security", Value::str("none")), ("timeout", Value::Int(10))];
            pairs.retain(|(k, _)| *k != key);
            if value != Value::Null {
                pairs.push((key, value));
            }
            let refusal = transport(&pairs).expect_err(name).0;
            assert!(refusal.contains(&format!("$transport['{key}']")), "{name}: {refusal}");
        }
    }

    #[test]
    fn starttls_is_decided_by_security_and_offer() {
        use StarttlsDecision::*;
        let cases = [
            (Security::None, false, Skip),
            (Security::None, true, Skip),
            (Security::Tls, false, Skip),
            (Security::Tls, true, Skip),
            (Security::Opportunistic, true, Upgrade),
            (Security::Opportunistic, false, Warn),
            (Security::Starttls, true, Upgrade),
            (Security::Starttls, false, Fail),
        ];
        for (security, offered, decision) in cases {
            assert_eq!(starttls_decision(security, offered), decision, "{security:?} offered={offered}");
        }
    }

    #[test]
    fn security_and_port_default_from_each_other() {
        let t = transport(&[("host", Value::str("h")), ("port", Value::Int(465))]).unwrap();
        assert_eq!(t.security, Security::Tls);
        let t = transport(&[("host", Value::str("h")), ("port", Value::Int(587))]).unwrap();
        assert_eq!(t.security, Security::Starttls);
        let t = transport(&[("host", Value::str("h"))]).unwrap();
        assert_eq!((t.port, t.security), (25, Security::Opportunistic));
        let t = transport(&[("host", Value::str("h")), ("security", Value::str("tls"))]).unwrap();
        assert_eq!(t.port, 465);
    }

    #[test]
    fn bad_transports_name_the_field() {
        assert!(transport(&[]).unwrap_err().0.contains("$transport['host'] is required"));
        assert!(transport(&[("host", Value::str("h")), ("port", Value::Int(70000))]).unwrap_err().0.contains("$transport['port']"));
        assert!(transport(&[("host", Value::str("h\r\nX"))]).unwrap_err().0.contains("header injection"));
        assert!(transport(&[("host", Value::str("h")), ("auth", Value::str("login"))]).unwrap_err().0.contains("'username'"));
        assert!(transport(&[("host", Value::str("h")), ("timeout", Value::Int(0))]).unwrap_err().0.contains("$transport['timeout']"));
        assert!(transport(&[("host", Value::str("h")), ("ca_file", Value::str("/nonexistent.pem"))]).unwrap_err().0.contains("ca_file"));
    }

    #[test]
    fn only_a_transport_to_connect_with_needs_the_password() {
        let entries: Vec<_> = [("host", "h"), ("auth", "login"), ("username", "u")].iter().map(|(k, v)| (Key::Name(k.to_string()), Value::str(v))).collect();
        assert!(Transport::from_value(&entries).unwrap_err().0.contains("'password'"));
        assert_eq!(Transport::settings_only(&entries).unwrap().username.as_deref(), Some("u"));
    }

    #[test]
    fn username_implies_auto_auth_and_secret_never_debugs() {
        let t = transport(&[("host", Value::str("h")), ("username", Value::str("u")), ("password", Value::str("hunter22"))]).unwrap();
        assert_eq!(t.auth, AuthMode::Auto);
        assert!(!format!("{t:?}").contains("hunter22"));
        assert!(t.secrets().contains(&"hunter22".to_string()));
    }

    #[test]
    fn line_breaks_are_refused_before_trimming() {
        for (key, value) in [("helo", "client.example\r\n"), ("host", "h\n"), ("username", "u\r")] {
            let mut pairs = vec![("host", Value::str("h")), ("password", Value::str("p"))];
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, Value::str(value)));
            assert!(transport(&pairs).unwrap_err().0.contains("header injection"), "{key}");
        }
    }

    #[test]
    fn refusals_never_quote_the_password() {
        let err =
            transport(&[("host", Value::str("h")), ("username", Value::str("u")), ("password", Value::str("hunter22")), ("auth", Value::str("hunter22"))])
                .unwrap_err()
                .0;
        assert!(err.starts_with("$transport['auth'] must be one of") && !err.contains("hunter22"), "{err}");
    }

    #[test]
    fn an_api_transport_takes_its_address_from_the_base_and_refuses_smtp_keys() {
        let graph = |extra: &[(&str, Value)]| {
            let mut pairs = vec![("api", Value::str("graph")), ("username", Value::str("me@example.com")), ("password", Value::str("token-1"))];
            pairs.extend(extra.iter().cloned());
            transport(&pairs)
        };
        let t = graph(&[]).unwrap();
        let api = t.api.as_ref().unwrap();
        assert_eq!((api.base.as_str(), t.host.as_str(), t.port, t.security), ("https://graph.microsoft.com", "graph.microsoft.com", 443, Security::Tls));
        let t = graph(&[("api_base", Value::str("https://127.0.0.1:8443/graph"))]).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8443));
        for key in SMTP_ONLY_KEYS {
            let refusal = graph(&[(key, Value::str("x"))]).unwrap_err().0;
            assert!(refusal.starts_with(&format!("$transport['{key}'] is for SMTP")), "{refusal}");
        }
        assert!(graph(&[("region", Value::str("eu"))]).unwrap_err().0.starts_with("$transport['region'] does not apply"));
        assert!(graph(&[("api_base", Value::str("http://graph.example"))]).unwrap_err().0.contains("must start with https://"));
        let ses = |pairs: &[(&str, Value)]| transport(&[&[("api", Value::str("ses")), ("password", Value::str("secret-1"))], pairs].concat());
        assert!(ses(&[("username", Value::str("AKID"))]).unwrap_err().0.starts_with("$transport['region'] is required"));
        assert!(ses(&[("region", Value::str("eu-west-1"))]).unwrap_err().0.starts_with("$transport['username'] is required"));
        let t = ses(&[("username", Value::str("AKID")), ("region", Value::str("eu-west-1"))]).unwrap();
        assert_eq!(t.host, "email.eu-west-1.amazonaws.com");
        let mailgun = transport(&[("api", Value::str("mailgun")), ("region", Value::str("eu"))]);
        assert!(mailgun.unwrap_err().0.starts_with("$transport['password'] is required"));
        // SMTP stays as it was, and the API keys are refused without 'api'.
        assert!(transport(&[("host", Value::str("h")), ("region", Value::str("eu"))])
            .unwrap_err()
            .0
            .starts_with("$transport['region'] is only for an HTTPS API"));
    }

    #[test]
    fn pool_key_ignores_timeout_but_not_credentials() {
        let a = transport(&[("host", Value::str("h")), ("timeout", Value::Int(5))]).unwrap();
        let b = transport(&[("host", Value::str("h")), ("timeout", Value::Int(9))]).unwrap();
        let c = transport(&[("host", Value::str("h")), ("username", Value::str("u")), ("password", Value::str("p"))]).unwrap();
        assert_eq!(a.pool_key(), b.pool_key());
        assert_ne!(a.pool_key(), c.pool_key());
    }
}
