//! Sending over an HTTPS API instead of SMTP: Microsoft Graph, the Gmail API, Amazon SES (v2) and Mailgun.
//!
//! Every API gets the MIME message the extension composed, byte for byte what the SMTP path sends. The protocol
//! values are apart from the I/O, as in `smtp/`: [`request`] builds each provider's request and [`response`]
//! judges its answer, both pure and tested on fixtures; [`client`] is the thin driver that sends them with one
//! keep-alive HTTP client per process and TLS setting.

pub mod client;
pub mod request;
pub mod response;

use crate::judge::Cause;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};

/// The values of `$transport['api']`, in [`Provider::ALL`]'s order.
pub const API_CHOICES: &[&str] = &["graph", "gmail", "ses", "mailgun"];
/// The values of `$transport['region']` for Mailgun.
pub const MAILGUN_REGIONS: &[&str] = &["us", "eu"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Microsoft Graph `sendMail` (Microsoft 365 mailboxes).
    Graph,
    /// The Gmail API's `messages.send`, media upload.
    Gmail,
    /// Amazon SES v2 `SendEmail` with raw content, signed with SigV4.
    Ses,
    /// Mailgun's `messages.mime`.
    Mailgun,
}

impl Provider {
    pub const ALL: [Provider; 4] = [Provider::Graph, Provider::Gmail, Provider::Ses, Provider::Mailgun];

    pub fn as_str(self) -> &'static str {
        API_CHOICES[Provider::ALL.iter().position(|p| *p == self).expect("in ALL")]
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// For people: the provider's name.
    pub fn title(self) -> &'static str {
        match self {
            Provider::Graph => "Microsoft Graph",
            Provider::Gmail => "the Gmail API",
            Provider::Ses => "Amazon SES",
            Provider::Mailgun => "Mailgun",
        }
    }

    /// The base URL without `api_base`; SES's and Mailgun's depend on the region.
    pub fn default_base(self, region: Option<&str>) -> String {
        match (self, region) {
            (Provider::Graph, _) => "https://graph.microsoft.com".to_string(),
            (Provider::Gmail, _) => "https://gmail.googleapis.com".to_string(),
            (Provider::Ses, region) => format!("https://email.{}.amazonaws.com", region.unwrap_or_default()),
            (Provider::Mailgun, Some("eu")) => "https://api.eu.mailgun.net".to_string(),
            (Provider::Mailgun, _) => "https://api.mailgun.net".to_string(),
        }
    }

    /// What `username` holds for this API, for refusals.
    pub fn username_means(self) -> &'static str {
        match self {
            Provider::Graph => "the mailbox that sends (its address or object id)",
            Provider::Gmail => "the mailbox that sends, or 'me' (the default)",
            Provider::Ses => "the AWS access key id",
            Provider::Mailgun => "the sending domain (by default the envelope sender's domain)",
        }
    }

    /// What `password` holds for this API, for refusals.
    pub fn password_means(self) -> &'static str {
        match self {
            Provider::Graph | Provider::Gmail => "an OAuth2 access token",
            Provider::Ses => "the AWS secret access key",
            Provider::Mailgun => "the Mailgun API key",
        }
    }

    /// The largest message the API takes, in bytes of the request body it is sent in (Graph: base64 of the
    /// message), as each provider documents it; a larger one is refused before sending.
    pub fn size_limit(self) -> usize {
        match self {
            Provider::Graph => 4 * 1024 * 1024,
            Provider::Gmail => 35 * 1024 * 1024,
            Provider::Ses => 40 * 1024 * 1024,
            Provider::Mailgun => 25 * 1024 * 1024,
        }
    }

    /// Requests in flight at once in one `rust_mail_send_many()`: Graph allows 4 per mailbox.
    pub fn max_in_flight(self) -> usize {
        match self {
            Provider::Graph => 4,
            _ => 8,
        }
    }
}

/// Where a transport with `api` sends: the provider and its base URL, split for the connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiTarget {
    pub provider: Provider,
    /// `https://host[:port][/prefix]`, without a trailing slash.
    pub base: String,
    pub host: String,
    pub port: u16,
    /// SES: the AWS region; Mailgun: 'us' or 'eu'.
    pub region: Option<String>,
}

impl ApiTarget {
    /// The target at `base`; the error says what is wrong with the URL (after "'{base}' ").
    pub fn new(provider: Provider, base: &str, region: Option<String>) -> Result<ApiTarget, String> {
        let rest = base.strip_prefix("https://").ok_or("must start with https:// (an API is only reached over TLS)")?;
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) || rest.contains(char::is_whitespace) {
            return Err("is not a URL of the form https://host[:port][/path]".to_string());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("has no valid port ('{port}')"))?)
            }
            _ => (authority, 443),
        };
        Ok(ApiTarget {
            provider,
            base: base.trim_end_matches('/').to_string(),
            host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
            port,
            region,
        })
    }
}

/// An API's answer that is not an acceptance, judged by [`response::judge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub kind: ErrorKind,
    pub cause: Cause,
    /// The provider's error code (`ErrorSendAsDenied`, `MessageRejected`, `rateLimitExceeded`), if it gave one.
    pub provider_code: Option<String>,
    /// The provider's own words, one line.
    pub message: String,
    /// Seconds to wait, from `Retry-After` on a 429 or 503.
    pub retry_after: Option<u64>,
    /// Worth sending again later as it is: throttling and the provider's own failures.
    pub transient: bool,
    /// Every recipient was refused (an invalid-recipients error).
    pub recipients_refused: bool,
}

impl Refusal {
    /// The result's `reply`: "{status} {reason or provider code}: {provider message}".
    pub fn reply_line(&self, reason: &str) -> String {
        let name = self.provider_code.as_deref().unwrap_or(reason);
        if self.message.is_empty() {
            format!("{} {name}", self.status)
        } else {
            format!("{} {name}: {}", self.status, self.message)
        }
    }
}

/// A failure with its cause decided here, without an answer from the API: a message refused before sending, or
/// what Diagnose read in the token. It is judged as the API's refusals are.
pub fn local_failure(kind: ErrorKind, stage: Stage, cause: Cause, message: String) -> SendError {
    let refusal =
        Refusal { status: 0, kind, cause, provider_code: None, message: message.clone(), retry_after: None, transient: false, recipients_refused: false };
    SendError { kind, stage, problem: Problem::Api(Box::new(refusal)), message, reply: None, size_limit: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_keeps_its_path_and_names_its_port() {
        let t = ApiTarget::new(Provider::Graph, "https://127.0.0.1:8443/graph/", None).unwrap();
        assert_eq!((t.base.as_str(), t.host.as_str(), t.port), ("https://127.0.0.1:8443/graph", "127.0.0.1", 8443));
        let t = ApiTarget::new(Provider::Gmail, "https://gmail.googleapis.com", None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("gmail.googleapis.com", 443));
        let t = ApiTarget::new(Provider::Ses, "https://[::1]:9443", None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9443));
        assert!(ApiTarget::new(Provider::Graph, "http://graph.example", None).unwrap_err().contains("https://"));
        assert!(ApiTarget::new(Provider::Graph, "https://user@graph.example", None).is_err());
        assert!(ApiTarget::new(Provider::Graph, "https://graph.example:99999", None).is_err());
    }

    #[test]
    fn defaults_follow_the_region() {
        assert_eq!(Provider::Ses.default_base(Some("eu-west-1")), "https://email.eu-west-1.amazonaws.com");
        assert_eq!(Provider::Mailgun.default_base(Some("eu")), "https://api.eu.mailgun.net");
        assert_eq!(Provider::Mailgun.default_base(None), "https://api.mailgun.net");
        assert_eq!(Provider::from_name("gmail").map(Provider::as_str), Some("gmail"));
    }
}
