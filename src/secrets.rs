//! One redactor for everything: what a secret is, every form in which it
//! can cross the wire, and the one marker that stands where it was. Results,
//! transcripts, refusals and the plugin (through src/export.rs) all use these.

use serde_json::Value as Json;
use std::fmt;

/// What stands wherever a secret was: in transcripts, results and refusals.
pub const REDACTED: &str = "[redacted]";

/// A password or OAuth2 token. Its `Debug` never shows it, so it cannot
/// leak through a log line or a panic message.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

/// How a secret can cross the wire, each the text that is sent with `{user}`
/// and `{secret}` filled in, plain or in base64: as given, and as AUTH
/// LOGIN, AUTH PLAIN (RFC 4616) and XOAUTH2 encode it, and as Mailgun's HTTP basic auth (user `api`) does.
/// Every form is kept out of results, transcripts and exceptions.
pub const SECRET_FORMS: [(bool, &str); 5] =
    [(false, "{secret}"), (true, "{secret}"), (true, "\0{user}\0{secret}"), (true, "user={user}\x01auth=Bearer {secret}\x01\x01"), (true, "api:{secret}")];

/// Shorter forms are not scrubbed: they would match ordinary text.
pub const SECRET_MIN_LENGTH: usize = 4;

/// The secret as it could leak: plain, and as each SASL mechanism puts it on the wire.
pub fn forms(user: &str, secret: &str) -> Vec<String> {
    use base64::Engine;
    if secret.is_empty() {
        return Vec::new();
    }
    let forms = SECRET_FORMS.iter().map(|(base64, template)| {
        let text = template.replace("{user}", user).replace("{secret}", secret);
        if *base64 {
            base64::engine::general_purpose::STANDARD.encode(text)
        } else {
            text
        }
    });
    forms.filter(|form| form.len() >= SECRET_MIN_LENGTH).collect()
}

/// Replaces every occurrence of each secret in `text`: the last line of
/// defence for anything a server echoes back.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |t, s| if t.contains(s.as_str()) { t.replace(s.as_str(), REDACTED) } else { t })
}

/// Replaces every secret in every string of a result.
pub fn scrub_json(value: &mut Json, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Json::String(s) => *s = scrub(s, secrets),
        Json::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Json::Object(map) => map.values_mut().for_each(|v| scrub_json(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_all_secrets() {
        let secrets = vec!["hunter22".to_string(), "aHVudGVyMjI=".to_string()];
        assert_eq!(scrub("535 bad hunter22 aHVudGVyMjI=", &secrets), "535 bad [redacted] [redacted]");
    }
}
