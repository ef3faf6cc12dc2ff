//! What to send: a message composed here from its parts with lettre's
//! builder ([`compose`], with its [`address`]es and [`attachments`]), or one
//! the caller composed (`raw` + `envelope`).

mod address;
mod attachments;
mod compose;
mod dkim;
mod dsn;
mod header;
mod html_text;

pub use address::{check_envelope_address, check_header_safe, parse_address, parse_mailbox};
pub use compose::is_rfc5322_date;
pub use dkim::{Dkim, Published};
pub use dsn::Dsn;

use crate::error::UsageError;
use crate::value::{Fields, Key, Value};
use address::check_value_safe;
use compose::composed_message;
use lettre::Address;

/// A message ready for the wire: the envelope for MAIL FROM / RCPT TO and
/// the bytes for DATA.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `None` is the null reverse-path `<>` (RFC 5321 section 4.5.5).
    pub envelope_from: Option<Address>,
    pub recipients: Vec<Address>,
    /// The message; its line ends are made CRLF on the wire (`smtp::data`).
    pub data: Vec<u8>,
    pub message_id: Option<String>,
    /// The `Bcc:` header line of a composed message's bcc recipients, folded as the other address headers and
    /// ended by CRLF; never in `data`. Only for an API that takes the recipients from the headers (Graph, Gmail).
    pub bcc_header: Option<String>,
    /// The delivery status notifications asked for (RFC 3461), sent to a server that offers DSN.
    pub dsn: Option<Dsn>,
}

const MESSAGE_KEYS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "subject",
    "text",
    "html",
    "headers",
    "attachments",
    "charset",
    "raw",
    "envelope",
    "message_id",
    "return_path",
    "dsn",
    "dkim",
];

/// The keys a raw message takes: what `rust_mail_compose()` returns, so that its result can be sent as it is.
/// `dkim` too: a raw message is signed with the key given with it.
const RAW_KEYS: &[&str] = &["raw", "envelope", "message_id", "dsn", "dkim"];

/// What one message may take in from outside PHP: the files it attaches by path are read by the extension, where
/// PHP's memory_limit does not count them (nor the base64 and the message made of them, about three times the
/// files' size while the message is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the files one message attaches by path, together.
    pub attachment_bytes: u64,
}

/// 25 MiB: a whole message of about that size is what common providers accept (Gmail 25 MB; Microsoft 365 35 MB by
/// default), and base64 grows attachments by a third on the way, so a provider would refuse more anyway, while a
/// path to a backup or a log of gigabytes is refused before it is read.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;

/// The `$options` keys of [`Limits`], which `rust_mail_send()` and `rust_mail_send_many()` both take.
pub const LIMIT_KEYS: &[&str] = &["max_attachment_bytes"];

impl Default for Limits {
    fn default() -> Limits {
        Limits { attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES }
    }
}

impl Limits {
    /// `rust_mail_send()`'s `$options`.
    pub fn from_value(entries: &[(Key, Value)]) -> Result<Limits, UsageError> {
        Limits::from_fields(&Fields::new("options", entries, LIMIT_KEYS)?)
    }

    /// The limits among a call's options.
    pub fn from_fields(f: &Fields) -> Result<Limits, UsageError> {
        let attachment_bytes = match f.int("max_attachment_bytes")? {
            None => DEFAULT_MAX_ATTACHMENT_BYTES,
            Some(n) => {
                u64::try_from(n).map_err(|_| UsageError::new(format!("{} must be a number of bytes (0 or more), got {n}", f.path("max_attachment_bytes"))))?
            }
        };
        Ok(Limits { attachment_bytes })
    }

    /// The refusal of a file that would take a message's attachments over the limit: it was not read.
    pub(super) fn attachment_refusal(&self, field: &str, path: &str, size: u64, before: u64) -> UsageError {
        let before = if before > 0 { format!(", and the files attached before it {before}") } else { String::new() };
        UsageError::new(format!(
            "{field} '{path}' is {size} bytes{before}: more than the {} bytes a message may attach from files \
             ($options['max_attachment_bytes']); nothing was sent",
            self.attachment_bytes
        ))
    }
}

/// Builds the outgoing message from `$message`.
pub fn from_value(message: &[(Key, Value)], limits: &Limits) -> Result<Outgoing, UsageError> {
    let fields = Fields::new("message", message, MESSAGE_KEYS)?;
    signed_by_own_key(&fields, || {
        if fields.get("raw").is_some() {
            raw_message(&fields, fields.bytes("raw")?.unwrap_or_default().to_vec())
        } else if fields.get("message_id").is_some() {
            Err(UsageError::new(format!(
                "{} goes with $message['raw'], as rust_mail_compose() returns it: set a composed message's Message-ID in $message['headers']",
                fields.path("message_id")
            )))
        } else {
            composed_message(&fields, limits)
        }
    })
}

/// The message `outgoing` makes, signed with the message's own `dkim` when it has one. The key is read first, so
/// that a bad one is refused before any file is read or anything composed.
fn signed_by_own_key(fields: &Fields, outgoing: impl FnOnce() -> Result<Outgoing, UsageError>) -> Result<Outgoing, UsageError> {
    let dkim = Dkim::from_fields(fields, "dkim")?;
    let outgoing = outgoing()?;
    match dkim {
        Some(dkim) => signed(outgoing, &dkim, &fields.path("dkim")),
        None => Ok(outgoing),
    }
}

/// The message signed with the transport's `dkim`, unless it carries a DKIM-Signature already: one of its own
/// `dkim` (which wins), or of a raw message `rust_mail_compose()` signed, sent back as it is.
pub fn signed_by_transport(message: Outgoing, dkim: Option<&Dkim>) -> Result<Outgoing, UsageError> {
    match dkim {
        Some(dkim) if header_value(&message.data, "dkim-signature").is_none() => signed(message, dkim, "$transport['dkim']"),
        _ => Ok(message),
    }
}

/// `message` with its bytes signed by `dkim`, named `field` in a refusal.
fn signed(mut message: Outgoing, dkim: &Dkim, field: &str) -> Result<Outgoing, UsageError> {
    message.data = dkim.sign(&message.data).map_err(|why| UsageError::new(format!("{field} cannot sign the message: {why}")))?;
    Ok(message)
}

/// What `rust_mail_compose()` returns: the bytes `rust_mail_send()` sends (every line ended by CRLF, before
/// dot-stuffing, as in `BDAT <n> LAST`), apart; and the envelope, Message-ID and DSN asked for, which with them make
/// a raw message `rust_mail_send()` takes back as it is.
pub fn composed(message: &Outgoing) -> (Vec<u8>, serde_json::Value) {
    let envelope = serde_json::json!({
        "from": message.envelope_from.as_ref().map(ToString::to_string).unwrap_or_default(),
        "to": message.recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let mut rest = serde_json::json!({ "envelope": envelope, "message_id": message.message_id });
    if let Some(dsn) = &message.dsn {
        rest["dsn"] = dsn.to_json();
    }
    (crate::smtp::data::chunk(&message.data).into_owned(), rest)
}

/// As [`from_value`], taking `message` over: a raw message's bytes become the message sent as they are, not a
/// copy of them (a batch of large raw messages holds each once).
pub fn from_entries(mut message: Vec<(Key, Value)>, limits: &Limits) -> Result<Outgoing, UsageError> {
    let raw = message.iter_mut().find_map(|(key, value)| match (key, value) {
        (Key::Name(name), Value::Bytes(bytes)) if name == "raw" => Some(std::mem::take(bytes)),
        _ => None,
    });
    match raw {
        Some(raw) => {
            let fields = Fields::new("message", &message, MESSAGE_KEYS)?;
            signed_by_own_key(&fields, || raw_message(&fields, raw))
        }
        None => from_value(&message, limits),
    }
}

/// `$message['raw']`, whose bytes are `raw`, and its envelope.
fn raw_message(fields: &Fields, raw: Vec<u8>) -> Result<Outgoing, UsageError> {
    for key in MESSAGE_KEYS.iter().filter(|k| !RAW_KEYS.contains(k)) {
        if fields.get(key).is_some() {
            return Err(UsageError::new(format!("{} cannot be combined with $message['raw']: a raw message is sent as it is", fields.path(key))));
        }
    }
    if raw.is_empty() {
        return Err(UsageError::new("$message['raw'] is empty"));
    }
    let envelope = fields.array("envelope")?.ok_or_else(|| UsageError::new("$message['envelope'] is required with $message['raw'] (from and to)"))?;
    let envelope = Fields::new("message['envelope']", envelope, &["from", "to"])?;
    if let Some(to) = envelope.get("to") {
        check_value_safe(&envelope.path("to"), to)?;
    }
    let envelope_from = envelope_sender(&envelope, "from")?.unwrap_or(None);
    let recipients = envelope.string_list("to")?.iter().map(|to| parse_address(&envelope.path("to"), to)).collect::<Result<Vec<_>, _>>()?;
    let recipients = distinct_recipients(&recipients);
    if recipients.is_empty() {
        return Err(UsageError::new("$message['envelope']['to'] needs at least one recipient"));
    }
    let message_id = header_value(&raw, "message-id");
    if let Some(given) = fields.string("message_id")? {
        // The id a result reports is the one the message carries: a different one would name another message.
        if message_id.as_deref() != Some(given.trim()) {
            let carried = message_id.map_or("none".to_string(), |id| format!("'{id}'"));
            return Err(UsageError::new(format!(
                "{} '{given}' is not the Message-ID $message['raw'] carries ({carried}): pass the id of that message, or leave it out",
                fields.path("message_id")
            )));
        }
    }
    Ok(Outgoing { envelope_from, recipients, data: raw, message_id, bcc_header: None, dsn: Dsn::from_fields(fields)? })
}

/// The address for MAIL FROM in `fields[key]`: `None` when the key is not given, `Some(None)` for the null
/// reverse-path, given as '' or '<>' (RFC 5321 section 4.5.5: no bounce comes back).
fn envelope_sender(fields: &Fields, key: &str) -> Result<Option<Option<Address>>, UsageError> {
    if let Some(value) = fields.get(key) {
        check_value_safe(&fields.path(key), value)?;
    }
    Ok(match fields.string(key)?.as_deref().map(str::trim) {
        None => None,
        Some("") | Some("<>") => Some(None),
        Some(from) => Some(Some(parse_address(&fields.path(key), from)?)),
    })
}

/// Each recipient once, in the order first given: one RCPT TO per mailbox, however often it is in to, cc and bcc.
/// Domains compare without case (RFC 5321 section 2.4); the part before the '@' is compared exactly, because RFC
/// 5321 lets a server tell `Bob@` from `bob@`, so both are kept.
fn distinct_recipients(recipients: &[Address]) -> Vec<Address> {
    let mut seen = std::collections::HashSet::new();
    recipients.iter().filter(|r| seen.insert((r.user().to_string(), r.domain().to_ascii_lowercase()))).cloned().collect()
}

/// The value of the first header `name` in the header block of a raw message.
fn header_value(raw: &[u8], name: &str) -> Option<String> {
    // Only the header block is read, up to its first empty line (CRLF or LF): the body can be megabytes.
    let crlf_end = memchr::memmem::find(raw, b"\n\r\n").unwrap_or(raw.len());
    let end = memchr::memmem::find(&raw[..crlf_end], b"\n\n").unwrap_or(crlf_end);
    String::from_utf8_lossy(&raw[..end])
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {

    use super::*;

    fn msg(pairs: &[(&str, Value)]) -> Vec<(Key, Value)> {
        crate::value::named(pairs)
    }

    /// A message under the default limits.
    fn from_value(message: &[(Key, Value)]) -> Result<Outgoing, UsageError> {
        super::from_value(message, &Limits::default())
    }

    fn list(items: &[&str]) -> Value {
        Value::Array(items.iter().enumerate().map(|(i, s)| (Key::Index(i as i64), Value::str(s))).collect())
    }

    #[test]
    fn composes_alternative_with_bcc_only_in_envelope() {
        let out = from_value(&msg(&[
            ("from", Value::str("Zoë <zoe@example.com>")),
            ("to", Value::str("a@example.com, \"Doe, J\" <j@example.com>")),
            ("bcc", list(&["hidden@example.com"])),
            ("subject", Value::str("Grüße")),
            ("text", Value::str("plain")),
            ("html", Value::str("<b>html</b>")),
        ]))
        .unwrap();
        let data = String::from_utf8(out.data).unwrap();
        assert!(data.contains("multipart/alternative"));
        assert!(!data.contains("hidden@example.com"));
        assert_eq!(out.recipients.len(), 3);
        assert_eq!(out.envelope_from.unwrap().to_string(), "zoe@example.com");
        assert!(out.message_id.unwrap().ends_with("@example.com>"));
    }

    #[test]
    fn composed_is_the_chunk_with_its_envelope_and_taken_back_as_raw() {
        let out =
            from_value(&msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("bcc", Value::str("b@example.com"))])).unwrap();
        let (raw, rest) = composed(&out);
        assert_eq!(raw, *crate::smtp::data::chunk(&out.data));
        assert_eq!(rest["envelope"], serde_json::json!({"from": "me@example.com", "to": ["you@example.com", "b@example.com"]}));
        let id = rest["message_id"].as_str().unwrap();
        let back = |id: &str| {
            let envelope = Value::Array(msg(&[("from", Value::str("me@example.com")), ("to", list(&["you@example.com", "b@example.com"]))]));
            from_value(&msg(&[("raw", Value::Bytes(raw.clone())), ("envelope", envelope), ("message_id", Value::str(id))]))
        };
        let again = back(id).unwrap();
        assert_eq!((again.data, again.recipients, again.message_id.as_deref()), (raw.clone(), out.recipients, Some(id)));
        assert!(back("<other@example.com>").unwrap_err().0.contains("is not the Message-ID $message['raw'] carries"));
    }

    #[test]
    fn header_injection_is_refused_with_the_field_named() {
        for (key, value) in [("subject", "Hi\r\nBcc: x@evil.test"), ("to", "a@example.com\nBcc: x@evil.test"), ("from", "a@example.com\0")] {
            let mut m = msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com"))]);
            m.retain(|(k, _)| *k != Key::Name(key.into()));
            m.push((Key::Name(key.into()), Value::str(value)));
            let err = from_value(&m).unwrap_err();
            assert!(err.0.contains(&format!("$message['{key}']")) && err.0.contains("header injection"), "{}", err.0);
        }
        let m =
            msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("headers", list(&["X-Test: a\r\nBcc: evil@example.com"]))]);
        assert!(from_value(&m).unwrap_err().0.contains("header injection"));
    }

    #[test]
    fn repeated_headers_keep_every_value_in_order() {
        let m = msg(&[
            ("from", Value::str("me@example.com")),
            ("to", Value::str("you@example.com")),
            ("headers", list(&["X-List: one", "X-Other: x", "X-List: two"])),
        ]);
        let data = String::from_utf8(from_value(&m).unwrap().data).unwrap();
        let head = data.split("\r\n\r\n").next().unwrap();
        let lines: Vec<&str> = head.lines().filter(|l| l.starts_with("X-")).collect();
        assert_eq!(lines, ["X-List: one", "X-Other: x", "X-List: two"], "{data}");
    }

    #[test]
    fn custom_date_is_honoured_or_refused() {
        let with_date = |date: &str| {
            from_value(&msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("headers", list(&[&format!("Date: {date}")]))]))
        };
        let data = String::from_utf8(with_date("Tue, 1 Jul 2025 10:52:37 +0200").unwrap().data).unwrap();
        assert_eq!(data.matches("Date:").count(), 1, "{data}");
        assert!(data.contains("Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n"), "{data}");
        for ok in ["1 Jul 2025 10:52 -0700", "Wed, 02 Oct 2002 08:00:00 EST", "Tue, 01 Jul 2025 08:52:37 +0000 (UTC)"] {
            assert!(is_rfc5322_date(ok), "{ok}");
        }
        assert!(is_rfc5322_date("Thu, 29 Feb 2024 12:00:00 +0000") && is_rfc5322_date("Thu, 1 Jan 1970 00:00 +0000"));
        assert!(is_rfc5322_date("Sat, 1 Jan 2000 00:00 +0000") && is_rfc5322_date("Mon, 1 Mar 2100 00:00 +0000"));
        for bad in [
            "tomorrow",
            "2025-07-01T10:52:37Z",
            "Tue, 32 Jul 2025 10:52:37 +0200",
            "Tue, 1 Jul 2025 25:00 +0200",
            "Xyz, 1 Jul 2025 10:52 +0200",
            "31 Feb 2025 10:52 +0200",
            "29 Feb 2025 10:52 +0200",
            "31 Apr 2025 10:52 +0200",
            "Wed, 1 Jul 2025 10:52:37 +0200",
        ] {
            let err = with_date(bad).unwrap_err().0;
            assert!(err.starts_with("$message['headers']['Date']") && err.contains("not an RFC 5322 date"), "{err}");
        }
    }

    #[test]
    fn structural_headers_are_refused() {
        let with_header = |name: &str| {
            from_value(&msg(&[
                ("from", Value::str("me@example.com")),
                ("to", Value::str("you@example.com")),
                ("headers", Value::Array(vec![(Key::Name(name.into()), Value::str("x"))])),
            ]))
            .unwrap_err()
            .0
        };
        let err = with_header("Content-Type");
        assert!(err.contains("$message['text']") && err.contains("$message['html']") && err.contains("$message['charset']"), "{err}");
        assert!(with_header("Reply-To").contains("set Reply-To with $message['reply_to']"));
    }

    #[test]
    fn invalid_addresses_say_what_is_wrong() {
        for (address, problem) in [
            ("not an address", "'not an address' has no '@'"),
            ("bob@", "no domain after the '@'"),
            ("@example.com", "nothing before the '@'"),
            ("bob@exa mple.com", "has spaces"),
            ("bob@@example.com", "more than one '@'"),
            ("bob@-example.com", "the domain '-example.com' is not a valid domain name"),
            ("Bob <bob@example.com", "without its closing '>'"),
            (&format!("bob@{}.example.com", "d".repeat(64)), "is 64 characters: a label has at most 63"),
            (&format!("{}@example.com", "b".repeat(65)), "the part before the '@' is 65 characters: it has at most 64"),
            ("x@[127.0.0.1]", "an address literal ([127.0.0.1])"),
            ("\"john doe\"@example.com", "its quoted part before the '@' (\"john doe\") has spaces"),
            ("a@example.com; b@example.com", "it has a ';': separate addresses with commas"),
        ] {
            let err = from_value(&msg(&[("from", Value::str("me@example.com")), ("to", Value::str(address))])).unwrap_err().0;
            assert!(err.starts_with(&format!("$message['to'] is not a valid address ('{address}'): ")), "{err}");
            assert!(err.contains(problem) && !err.contains("Invalid input"), "{err}");
        }
    }

    #[test]
    fn an_address_that_would_break_the_envelope_line_is_refused() {
        let raw = |from: &str, to: &str| {
            let envelope = Value::Array(msg(&[("from", Value::str(from)), ("to", Value::str(to))]));
            from_value(&msg(&[("raw", Value::str("Subject: x\r\n\r\nx\r\n")), ("envelope", envelope)]))
        };
        let composed = |key: &str, value: Value| {
            let mut m = msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com"))]);
            m.retain(|(k, _)| *k != Key::Name(key.into()));
            m.push((Key::Name(key.into()), value));
            from_value(&m)
        };
        let injected = r#""a> NOTIFY=NEVER"@example.com"#;
        let as_pair = Value::Array(vec![(Key::Name(injected.into()), Value::str("Bob"))]);
        for (err, field, address, problem) in [
            (raw(&format!("<{injected}>"), "you@example.com"), "$message['envelope']['from']", injected, "a space and '>'"),
            (raw("me@example.com", injected), "$message['envelope']['to']", injected, "a space and '>'"),
            (composed("bcc", as_pair), "$message['bcc']", injected, "a space and '>'"),
            (raw("me@example.com", r#""<a"@example.com"#), "$message['envelope']['to']", r#""<a"@example.com"#, "has '<',"),
        ] {
            let err = err.unwrap_err().0;
            assert!(err.starts_with(&format!("{field} '{address}' cannot be sent in MAIL FROM or RCPT TO")), "{err}");
            assert!(err.contains(problem), "{problem}: {err}");
        }
        // A quoted part without them is fine in the envelope; with them, fine in Reply-To, a header only.
        assert_eq!(raw("me@example.com", r#""a.b"@example.com"#).unwrap().recipients[0].to_string(), r#""a.b"@example.com"#);
        let out = composed("reply_to", Value::Array(vec![(Key::Name(injected.into()), Value::str("Bob"))])).unwrap();
        assert!(String::from_utf8(out.data).unwrap().contains(injected));
        assert!(crate::diagnose::options::Options::from_value(&msg(&[("from", Value::str(injected))])).is_err());
    }

    #[test]
    fn address_to_name_pairs() {
        let pairs = Value::Array(vec![(Key::Name("bob@example.com".into()), Value::str("Bob Smith")), (Key::Index(0), Value::str("carol@example.com"))]);
        let out = from_value(&msg(&[("from", Value::str("me@example.com")), ("to", pairs)])).unwrap();
        let data = String::from_utf8(out.data).unwrap();
        assert!(data.contains("To: \"Bob Smith\" <bob@example.com>, carol@example.com\r\n"), "{data}");
        let reversed = Value::Array(vec![(Key::Name("Bob Smith".into()), Value::str("bob@example.com"))]);
        let err = from_value(&msg(&[("from", Value::str("me@example.com")), ("cc", reversed)])).unwrap_err().0;
        assert!(err.contains("swap them") && err.contains("['bob@example.com' => 'Bob Smith']"), "{err}");
    }

    #[test]
    fn raw_message_keeps_bytes_and_reads_message_id() {
        let raw = b"Message-ID: <abc@example.com>\nSubject: x\n\nbody \xe9\n".to_vec();
        let m = msg(&[("raw", Value::Bytes(raw)), ("envelope", Value::Array(msg(&[("from", Value::str("")), ("to", list(&["a@example.com"]))])))]);
        let out = from_value(&m).unwrap();
        assert_eq!(out.data, b"Message-ID: <abc@example.com>\nSubject: x\n\nbody \xe9\n");
        assert_eq!(out.message_id.as_deref(), Some("<abc@example.com>"));
        assert!(out.envelope_from.is_none());
    }

    #[test]
    fn missing_fields_are_named() {
        assert!(from_value(&msg(&[("to", Value::str("a@example.com"))])).unwrap_err().0.contains("$message['from']"));
        assert!(from_value(&msg(&[("from", Value::str("a@example.com"))])).unwrap_err().0.contains("recipient"));
        let bad = from_value(&msg(&[("from", Value::str("not an address")), ("to", Value::str("a@example.com"))]));
        assert!(bad.unwrap_err().0.contains("$message['from'] is not a valid address"));
    }

    #[test]
    fn attachment_entry_errors_name_the_entry() {
        let entry = Value::Array(vec![(Key::Name("path".into()), Value::Array(vec![]))]);
        let m =
            msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("attachments", Value::Array(vec![(Key::Index(0), entry)]))]);
        assert_eq!(from_value(&m).unwrap_err().0, "$message['attachments'][0]['path'] must be a string, got array");
    }

    #[test]
    fn files_attached_by_path_are_bounded_together_before_they_are_read() {
        let file = |name: &str, len: u64| {
            let path = std::env::temp_dir().join(format!("rust-mail-limits-{}-{name}", std::process::id()));
            std::fs::File::create(&path).unwrap().set_len(len).unwrap();
            path.to_string_lossy().into_owned()
        };
        // 64 GiB, sparse: read whole, it would take the machine's memory; refused by its size, it takes nothing.
        let (small, huge) = (file("small", 10), file("huge", 64 << 30));
        let attaching = |paths: &[&str], options: &[(&str, Value)]| {
            let list = Value::Array(paths.iter().enumerate().map(|(i, p)| (Key::Index(i as i64), Value::str(p))).collect());
            let limits = Limits::from_value(&msg(options))?;
            super::from_value(&msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("attachments", list)]), &limits)
        };
        let err = attaching(&[&huge], &[]).unwrap_err().0;
        let expected = format!("$message['attachments'][0] '{huge}' is 68719476736 bytes: more than the 26214400 bytes a message may attach from files");
        assert!(err.starts_with(&expected) && err.contains("$options['max_attachment_bytes']"), "{err}");
        let err = attaching(&[&small, &small], &[("max_attachment_bytes", Value::Int(15))]).unwrap_err().0;
        assert!(
            err.starts_with(&format!("$message['attachments'][1] '{small}' is 10 bytes, and the files attached before it 10: more than the 15 bytes")),
            "{err}"
        );
        assert!(attaching(&[&small, &small], &[("max_attachment_bytes", Value::str("20"))]).is_ok());
        // Content given in memory is in PHP's memory already, under its memory_limit: not counted.
        let content = Value::Array(msg(&[("content", Value::Bytes(vec![b'x'; 100])), ("name", Value::str("x.txt"))]));
        let m = msg(&[
            ("from", Value::str("me@example.com")),
            ("to", Value::str("you@example.com")),
            ("attachments", Value::Array(vec![(Key::Index(0), content)])),
        ]);
        assert!(super::from_value(&m, &Limits { attachment_bytes: 0 }).is_ok());
        let err = Limits::from_value(&msg(&[("max_attachment_bytes", Value::Int(-1))])).unwrap_err().0;
        assert_eq!(err, "$options['max_attachment_bytes'] must be a number of bytes (0 or more), got -1");
        assert!(Limits::from_value(&msg(&[("max_attachment_size", Value::Int(1))])).unwrap_err().0.contains("max_attachment_size"));
        std::fs::remove_file(small).unwrap();
        std::fs::remove_file(huge).unwrap();
    }

    #[test]
    fn non_utf8_body_needs_its_charset() {
        let base = [("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("text", Value::Bytes(b"caf\xe9".to_vec()))];
        assert!(from_value(&msg(&base)).unwrap_err().0.contains("charset"));
        let mut latin = base.to_vec();
        latin.push(("charset", Value::str("ISO-8859-1")));
        let out = from_value(&msg(&latin)).unwrap();
        let data = String::from_utf8_lossy(&out.data);
        assert!(data.to_lowercase().contains("charset=iso-8859-1") && data.contains("Y2Fm6Q=="), "{data}");
    }

    /// A minimal valid composed message with `fields` put over it (`Value::Null`: left out), as the end-to-end
    /// tests compose theirs.
    fn composed_with(fields: &[(&str, Value)]) -> Vec<(Key, Value)> {
        let mut m = msg(&[
            ("from", Value::str("sender@example.com")),
            ("to", Value::str("rcpt@example.com")),
            ("subject", Value::str("Hello")),
            ("text", Value::str("Hello there")),
        ]);
        for (key, value) in fields {
            m.retain(|(k, _)| *k != Key::Name(key.to_string()));
            if *value != Value::Null {
                m.push((Key::Name(key.to_string()), value.clone()));
            }
        }
        m
    }

    fn entry(pairs: &[(&str, Value)]) -> Value {
        Value::Array(msg(pairs))
    }

    fn items(values: Vec<Value>) -> Value {
        Value::Array(values.into_iter().enumerate().map(|(i, v)| (Key::Index(i as i64), v)).collect())
    }

    #[test]
    fn a_bad_message_is_refused_naming_its_field_before_anything_is_sent() {
        let html = ("html", Value::str("<p>"));
        let content = |more: &[(&str, Value)]| entry(&[&[("content", Value::str("x"))], more].concat());
        let cases = vec![
            ("header name with CRLF", vec![("headers", entry(&[("X-Bad\r\nBcc", Value::str("evil@example.com"))]))], "header"),
            (
                "header name too long for a line",
                vec![("headers", list(&[&format!("X-{}: v", "n".repeat(900))]))],
                "the header name is 902 characters, more than 76",
            ),
            ("header name with a space", vec![("headers", entry(&[("X Note", Value::str("v"))]))], "['X Note']: the header name must be printable ASCII"),
            ("header value with CRLF", vec![("headers", list(&["X-Note: fine\r\nBcc: evil@example.com"]))], "header"),
            ("header value with NUL", vec![("headers", entry(&[("X-Note", Value::str("a\0b"))]))], "header"),
            ("subject with LF", vec![("subject", Value::str("Hi\nBcc: evil@example.com"))], "subject"),
            ("to with CRLF", vec![("to", Value::str("rcpt@example.com\r\nBcc: evil@example.com"))], "to"),
            ("from with NUL", vec![("from", Value::str("sender@example.com\0"))], "from"),
            ("cc with CR", vec![("cc", list(&["ok@example.com", "x@example.com\rBcc: evil@example.com"]))], "cc"),
            ("unreadable attachment", vec![("attachments", list(&["/nonexistent/rust-mail/missing.pdf"]))], "attachments"),
            ("attachments of wrong type", vec![("attachments", Value::Int(42))], "attachments"),
            ("inline part without html", vec![("attachments", items(vec![content(&[("cid", Value::str("logo"))])]))], "html"),
            (
                "inline without a cid",
                vec![html.clone(), ("attachments", items(vec![content(&[("name", Value::str("a.png")), ("inline", Value::Bool(true))])]))],
                "cid",
            ),
            (
                "cid with inline false",
                vec![html.clone(), ("attachments", items(vec![content(&[("inline", Value::Bool(false)), ("cid", Value::str("a"))])]))],
                "cid",
            ),
            ("cid written as a URL", vec![html.clone(), ("attachments", items(vec![content(&[("cid", Value::str("cid:logo"))])]))], "cid"),
            ("cid with CRLF", vec![html.clone(), ("attachments", items(vec![content(&[("cid", Value::str("logo\r\nBcc: evil@example.com"))])]))], "cid"),
            (
                "cid given twice",
                vec![html.clone(), ("attachments", items(vec![content(&[("cid", Value::str("logo"))]), content(&[("cid", Value::str("logo"))])]))],
                "cid",
            ),
            ("to of wrong type", vec![("to", Value::Int(42))], "to"),
            ("missing from", vec![("from", Value::Null)], "from"),
            ("a date that is no date", vec![("headers", list(&["Date: next Tuesday"]))], "headers']['Date'] 'next Tuesday' is not an RFC 5322 date"),
        ];
        for (name, fields, field) in cases {
            let refusal = from_value(&composed_with(&fields)).expect_err(name).0;
            assert!(refusal.to_lowercase().contains(&field.to_lowercase()), "{name}: {refusal}");
        }
    }

    #[test]
    fn a_name_given_as_the_key_is_refused_with_the_swap_to_make() {
        let cc = entry(&[("Bob Smith", Value::str("bob@example.com"))]);
        assert_eq!(
            from_value(&composed_with(&[("cc", cc)])).unwrap_err().0,
            "$message['cc'] has a name as a key and an address as its value ('Bob Smith' => 'bob@example.com'): swap them, the key is the address: ['bob@example.com' => 'Bob Smith']"
        );
    }

    #[test]
    fn an_internationalised_domain_goes_as_idna_and_an_invalid_one_is_named() {
        let out = from_value(&composed_with(&[("to", Value::str("anna@bücher.example"))])).unwrap();
        assert_eq!(out.recipients[0].to_string(), "anna@xn--bcher-kva.example");
        assert!(String::from_utf8(out.data).unwrap().contains("To: anna@xn--bcher-kva.example\r\n"));
        let refusal = from_value(&composed_with(&[("to", Value::str("anna@\u{2488}x.example"))])).unwrap_err().0;
        assert!(
            refusal.starts_with("$message['to']: 'anna@\u{2488}x.example' has a domain that is not a valid internationalised domain name (IDNA)"),
            "{refusal}"
        );
    }

    #[test]
    fn an_inline_image_sits_beside_the_html_in_multipart_related() {
        let image = entry(&[("content", Value::Bytes(b"\x89PNG".to_vec())), ("name", Value::str("logo.png")), ("cid", Value::str("logo"))]);
        let out = from_value(&composed_with(&[("html", Value::str("<img src=\"cid:logo\">")), ("attachments", items(vec![image]))])).unwrap();
        let data = String::from_utf8(out.data).unwrap();
        let (related, logo) = (data.find("multipart/related").expect("a related part"), data.find("Content-ID: <logo>").expect("the image's Content-ID"));
        assert!(data.find("multipart/alternative").is_some_and(|alternative| alternative < related) && related < logo, "{data}");
        assert!(data.contains("Content-Type: image/png"), "{data}");
    }
}
