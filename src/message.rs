//! What to send: a message composed here from its parts with lettre's
//! builder, or one the caller composed (`raw` + `envelope`).

use crate::error::UsageError;
use crate::value::{Fields, Key, Value};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, MultiPartBuilder, SinglePart};
use lettre::Address;
use std::str::FromStr;

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
}

const MESSAGE_KEYS: &[&str] = &[
    "from", "to", "cc", "bcc", "reply_to", "subject", "text", "html", "headers", "attachments", "charset", "raw", "envelope",
];

/// Headers that have their own `$message` key: setting them through
/// `headers` as well would give a message two From lines or break its MIME structure.
const STRUCTURAL_HEADERS: &[&str] = &[
    "from", "to", "cc", "bcc", "reply-to", "subject", "content-type", "content-transfer-encoding", "mime-version",
];

/// Refuses CR, LF and NUL anywhere a header or an envelope address is built
/// from: one line break lets a contact form add its own Bcc (header injection).
pub fn check_header_safe(field: &str, value: &str) -> Result<(), UsageError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(UsageError::new(format!(
            "{field} contains a line break or NUL byte (CR, LF or NUL): refused as header injection"
        )));
    }
    Ok(())
}

/// `check_header_safe` on a whole argument before it is split at commas and trimmed, so that a line break at
/// either end of an address is refused like one inside it, never silently cut off.
fn check_value_safe(field: &str, value: &Value) -> Result<(), UsageError> {
    match value {
        Value::Bytes(b) => check_header_safe(field, &String::from_utf8_lossy(b)),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, (key, item))| {
            let entry = match key {
                Key::Name(name) => format!("{field}['{}']", name.escape_debug()),
                Key::Index(_) => format!("{field}[{i}]"),
            };
            check_header_safe(&entry, item_key_text(key))?;
            check_value_safe(&entry, item)
        }),
        _ => Ok(()),
    }
}

fn item_key_text(key: &Key) -> &str {
    match key {
        Key::Name(name) => name,
        Key::Index(_) => "",
    }
}

pub fn parse_mailbox(field: &str, text: &str) -> Result<Mailbox, UsageError> {
    check_header_safe(field, text)?;
    let mailbox = Mailbox::from_str(text.trim()).map_err(|e| invalid_address(field, text, &e.to_string()))?;
    Ok(Mailbox { email: ascii_domain(field, mailbox.email)?, ..mailbox })
}

/// An envelope address (`$message['envelope']`, the diagnose walk's `from` and `to`), with or without its
/// angle brackets.
pub fn parse_address(field: &str, text: &str) -> Result<Address, UsageError> {
    check_header_safe(field, text)?;
    let bare = text.trim().trim_start_matches('<').trim_end_matches('>');
    let address = ascii_domain(field, Address::from_str(bare).map_err(|e| invalid_address(field, bare, &e.to_string()))?)?;
    check_envelope_address(field, &address)?;
    Ok(address)
}

/// Refuses an address that would break the line it goes in: `MAIL FROM:<address>` or `RCPT TO:<address>`.
/// RFC 5321 lets a quoted part before the '@' hold spaces and angle brackets, but servers end the address at
/// its first '>' and read what follows a space as parameters: `"a> NOTIFY=NEVER"@example.com` would reach them as
/// the address `"a` with a NOTIFY parameter the caller never meant. Such an address may stay in a header
/// (Reply-To), never in the envelope.
pub fn check_envelope_address(field: &str, address: &Address) -> Result<(), UsageError> {
    let text: &str = address.as_ref();
    let found: Vec<&str> = [
        (text.contains(|c: char| c.is_whitespace()), "a space"),
        (text.contains(|c: char| c.is_control() && !c.is_whitespace()), "a control character"),
        (text.contains('<'), "'<'"),
        (text.contains('>'), "'>'"),
    ]
    .into_iter()
    .filter_map(|(has, what)| has.then_some(what))
    .collect();
    if found.is_empty() {
        return Ok(());
    }
    Err(UsageError::new(format!(
        "{field} '{}' cannot be sent in MAIL FROM or RCPT TO: its quoted part before the '@' has {}, which a server \
         would read as the end of the address and the start of command parameters; use an address without them",
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect::<String>(),
        found.join(" and ")
    )))
}

/// The address with its domain in IDNA form (RFC 5891: `bücher.example` is
/// `xn--bcher-kva.example` on the wire and in headers), which every server
/// takes. A non-ASCII part before the '@' has no such form: it stays, and
/// needs a server that offers SMTPUTF8 (see `send::deliver`).
fn ascii_domain(field: &str, address: Address) -> Result<Address, UsageError> {
    if address.domain().is_ascii() {
        return Ok(address);
    }
    let problem = || UsageError::new(format!("{field}: '{address}' has a domain that is not a valid internationalised domain name (IDNA)"));
    let domain = idna::domain_to_ascii(address.domain()).map_err(|_| problem())?;
    Address::new(address.user(), domain).map_err(|_| problem())
}

fn invalid_address(field: &str, text: &str, parser_said: &str) -> UsageError {
    UsageError::new(format!(
        "{field} is not a valid address ('{text}'): {} (write user@example.com or Name <user@example.com>)",
        address_problem(text.trim()).unwrap_or_else(|| parser_said.to_string())
    ))
}

/// What is wrong with an address the parser refused, in words: the parser
/// itself says no more than "Invalid input".
fn address_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("it is empty".into());
    }
    let (name, spec) = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            if !text[close + 1..].trim().is_empty() {
                return Some(format!("'{}' follows the closing '>'", text[close + 1..].trim()));
            }
            (Some(text[..open].trim()), text[open + 1..close].trim())
        }
        (Some(_), _) => return Some("it has a '<' without its closing '>'".into()),
        (None, Some(_)) => return Some("it has a '>' without its opening '<'".into()),
        (None, None) => (None, text),
    };
    let Some((local, domain)) = spec.rsplit_once('@') else {
        return Some(format!("'{spec}' has no '@' (an address is user@domain)"));
    };
    if name.is_none() && spec.contains(char::is_whitespace) {
        return Some("it has spaces: put a name before the address in angle brackets".into());
    }
    if local.is_empty() {
        return Some("there is nothing before the '@'".into());
    }
    if domain.is_empty() {
        return Some("there is no domain after the '@'".into());
    }
    if local.contains('@') && !local.starts_with('"') {
        return Some("it has more than one '@'".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let literal = domain.starts_with('[') && domain.ends_with(']');
    if !literal && !domain.split('.').all(label_ok) {
        return Some(format!("the domain '{domain}' is not a valid domain name"));
    }
    if Address::from_str(spec).is_err() {
        return Some(format!("the part before the '@' ('{local}') has characters an address cannot have without quotes"));
    }
    if let Some(name) = name {
        return Some(format!("the name '{name}' needs double quotes around it"));
    }
    None
}

/// `to`, `cc`, `bcc` or `reply_to`: a string with commas, a list of strings,
/// or address => name pairs (as PHPMailer and Symfony Mailer users write
/// them), which may be mixed with list items.
fn mailboxes(fields: &Fields, key: &str) -> Result<Vec<Mailbox>, UsageError> {
    let field = fields.path(key);
    if let Some(value) = fields.get(key) {
        check_value_safe(&field, value)?;
    }
    let Some(Value::Array(items)) = fields.get(key) else {
        return fields.string_list(key)?.iter().map(|item| parse_mailbox(&field, item)).collect();
    };
    let mut out = Vec::new();
    for (i, (item_key, item)) in items.iter().enumerate() {
        let text = match item {
            Value::Bytes(b) => String::from_utf8(b.clone())
                .map_err(|_| UsageError::new(format!("{field}[{i}] must be valid UTF-8")))?,
            Value::Null if matches!(item_key, Key::Name(_)) => String::new(),
            v => return Err(UsageError::new(format!("{field}[{i}] must be a string, got {}", v.type_name()))),
        };
        let Key::Name(address) = item_key else {
            for one in crate::value::split_commas(&text) {
                out.push(parse_mailbox(&field, &one)?);
            }
            continue;
        };
        let entry = format!("{field}['{}']", address.escape_debug());
        check_header_safe(&entry, address)?;
        check_header_safe(&entry, &text)?;
        let (address, name) = (address.trim(), text.trim());
        match Address::from_str(address) {
            Ok(address) => out.push(Mailbox::new((!name.is_empty()).then(|| name.to_string()), ascii_domain(&entry, address)?)),
            Err(_) if Address::from_str(name).is_ok() => {
                return Err(UsageError::new(format!(
                    "{field} has a name as a key and an address as its value ('{address}' => '{name}'): \
                     swap them, the key is the address: ['{name}' => '{address}']"
                )))
            }
            Err(e) => {
                return Err(UsageError::new(format!(
                    "{entry}: the key is not a valid address: {} (in the address => name form the key is the address)",
                    address_problem(address).unwrap_or_else(|| e.to_string())
                )))
            }
        }
    }
    Ok(out)
}

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
            Some(n) => u64::try_from(n)
                .map_err(|_| UsageError::new(format!("{} must be a number of bytes (0 or more), got {n}", f.path("max_attachment_bytes"))))?,
        };
        Ok(Limits { attachment_bytes })
    }

    /// The refusal of a file that would take a message's attachments over the limit: it was not read.
    fn attachment_refusal(&self, field: &str, path: &str, size: u64, before: u64) -> UsageError {
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
    if fields.get("raw").is_some() {
        raw_message(&fields)
    } else {
        composed_message(&fields, limits)
    }
}

fn raw_message(fields: &Fields) -> Result<Outgoing, UsageError> {
    for key in MESSAGE_KEYS.iter().filter(|k| !matches!(**k, "raw" | "envelope")) {
        if fields.get(key).is_some() {
            return Err(UsageError::new(format!(
                "{} cannot be combined with $message['raw']: a raw message is sent as it is",
                fields.path(key)
            )));
        }
    }
    let raw = fields.bytes("raw")?.unwrap_or_default();
    if raw.is_empty() {
        return Err(UsageError::new("$message['raw'] is empty"));
    }
    let envelope = fields
        .array("envelope")?
        .ok_or_else(|| UsageError::new("$message['envelope'] is required with $message['raw'] (from and to)"))?;
    let envelope = Fields::new("message['envelope']", envelope, &["from", "to"])?;
    for key in ["from", "to"] {
        if let Some(value) = envelope.get(key) {
            check_value_safe(&envelope.path(key), value)?;
        }
    }
    let envelope_from = match envelope.string("from")?.as_deref().map(str::trim) {
        None | Some("") | Some("<>") => None,
        Some(from) => Some(parse_address(&envelope.path("from"), from)?),
    };
    let recipients = envelope
        .string_list("to")?
        .iter()
        .map(|to| parse_address(&envelope.path("to"), to))
        .collect::<Result<Vec<_>, _>>()?;
    if recipients.is_empty() {
        return Err(UsageError::new("$message['envelope']['to'] needs at least one recipient"));
    }
    Ok(Outgoing { envelope_from, recipients, data: raw.to_vec(), message_id: header_value(raw, "message-id") })
}

/// A part of a composed message: one body, or several in a multipart.
enum Part {
    Single(SinglePart),
    Multi(MultiPart),
}

impl Part {
    /// A multipart with this part as its first child.
    fn first_in(self, multipart: MultiPartBuilder) -> MultiPart {
        match self {
            Part::Single(part) => multipart.singlepart(part),
            Part::Multi(part) => multipart.multipart(part),
        }
    }

    /// `multipart` with this part as its next child.
    fn after(self, multipart: MultiPart) -> MultiPart {
        match self {
            Part::Single(part) => multipart.singlepart(part),
            Part::Multi(part) => multipart.multipart(part),
        }
    }
}

fn composed_message(fields: &Fields, limits: &Limits) -> Result<Outgoing, UsageError> {
    let from = fields.string("from")?.ok_or_else(|| UsageError::new("$message['from'] is required"))?;
    // lettre's mailbox parser takes no quoted part with spaces or angle brackets: the sender needs no envelope check.
    let from_mailbox = parse_mailbox(&fields.path("from"), &from)?;
    let mut builder = lettre::Message::builder().from(from_mailbox.clone());

    let mut recipient_count = 0;
    for key in ["to", "cc", "bcc", "reply_to"] {
        for mailbox in mailboxes(fields, key)? {
            // Reply-To is a header only; the others are the envelope's recipients too (an address => name
            // pair is read by lettre's address parser, which takes a quoted part with spaces).
            if key != "reply_to" {
                check_envelope_address(&fields.path(key), &mailbox.email)?;
                recipient_count += 1;
            }
            builder = match key {
                "to" => builder.to(mailbox),
                "cc" => builder.cc(mailbox),
                "bcc" => builder.bcc(mailbox),
                _ => builder.reply_to(mailbox),
            };
        }
    }
    if recipient_count == 0 {
        return Err(UsageError::new("$message needs at least one recipient in 'to', 'cc' or 'bcc'"));
    }

    let subject = fields.string("subject")?.unwrap_or_default();
    check_header_safe(&fields.path("subject"), &subject)?;
    builder = builder.subject(subject);

    let mut has_message_id = false;
    let mut date = None;
    // Each custom header is its own line, in the caller's order: a repeated
    // name (X-List twice) keeps every value. lettre's builder keeps one value
    // per name, so they are formatted here and added to the built message.
    let mut extra_headers = String::new();
    for (name, value) in custom_headers(fields)? {
        if name.eq_ignore_ascii_case("message-id") {
            if has_message_id {
                return Err(UsageError::new("$message['headers']: Message-ID may be given only once"));
            }
            has_message_id = true;
            builder = builder.message_id(Some(value));
            continue;
        }
        if name.eq_ignore_ascii_case("date") {
            let field = format!("$message['headers']['{name}']");
            if date.is_some() {
                return Err(UsageError::new(format!("{field}: Date may be given only once")));
            }
            if !is_rfc5322_date(&value) {
                return Err(UsageError::new(format!(
                    "{field} '{value}' is not an RFC 5322 date: write it as date(DATE_RFC2822) gives it, e.g. 'Tue, 1 Jul 2025 10:52:37 +0200'"
                )));
            }
            date = Some(value);
            continue;
        }
        let header_name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| UsageError::new(format!("$message['headers']: '{name}' is not a valid header name")))?;
        let mut one = lettre::message::header::Headers::new();
        one.insert_raw(HeaderValue::new(header_name, value));
        extra_headers.push_str(&one.to_string());
    }
    if !has_message_id {
        builder = builder.message_id(Some(new_message_id(from_mailbox.email.domain())));
    }

    let charset = fields.string("charset")?.unwrap_or_else(|| "UTF-8".to_string());
    check_header_safe(&fields.path("charset"), &charset)?;
    let text = fields.bytes("text")?.map(|b| text_part("plain", &charset, b)).transpose()?;
    let html = fields.bytes("html")?.map(|b| text_part("html", &charset, b)).transpose()?;
    let Attachments { attached, inline } = attachments(fields, limits)?;
    // Inline parts sit beside the html that shows them (RFC 2387 multipart/related).
    let html = match (html, inline.is_empty()) {
        (html, true) => html.map(Part::Single),
        (Some(html), false) => Some(Part::Multi(inline.into_iter().fold(MultiPart::related().singlepart(html), MultiPart::singlepart))),
        (None, false) => {
            return Err(UsageError::new(
                "$message['attachments'] has inline parts but no $message['html'] to show them: refer to each as <img src=\"cid:...\"> in the html",
            ))
        }
    };
    let body = match (text, html) {
        (Some(text), Some(html)) => Part::Multi(html.after(MultiPart::alternative().singlepart(text))),
        (text, html) => match html.or(text.map(Part::Single)) {
            Some(part) => part,
            None => Part::Single(text_part("plain", &charset, b"")?),
        },
    };
    let message = if attached.is_empty() {
        match body {
            Part::Single(part) => builder.singlepart(part),
            Part::Multi(multipart) => builder.multipart(multipart),
        }
    } else {
        builder.multipart(attached.into_iter().fold(body.first_in(MultiPart::mixed()), MultiPart::singlepart))
    }
    .map_err(|e| UsageError::new(format!("$message could not be built: {e}")))?;
    let mut message = message;
    if let Some(date) = date {
        // In place of the Date lettre added, as PHPMailer honours a caller's Date.
        let name = HeaderName::new_from_ascii_str("Date");
        message.headers_mut().insert_raw(HeaderValue::dangerous_new_pre_encoded(name, date.clone(), date));
    }

    let envelope = message.envelope();
    let message_id = message.headers().get_raw("Message-ID").map(str::to_string);
    let mut data = message.formatted();
    if !extra_headers.is_empty() {
        // The top header section ends at the first empty line.
        let end = data.windows(4).position(|w| w == b"\r\n\r\n").map_or(data.len(), |i| i + 2);
        data.splice(end..end, extra_headers.into_bytes());
    }
    Ok(Outgoing { envelope_from: envelope.from().cloned(), recipients: envelope.to().to_vec(), data, message_id })
}

/// An RFC 5322 date-time (section 3.3, with the obsolete zone names of
/// section 4.3): `[Tue, ]1 Jul 2025 10:52:37 +0200`, as PHP's
/// `date(DATE_RFC2822)` writes it. A trailing comment such as `(UTC)` is allowed.
pub fn is_rfc5322_date(value: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const ZONES: [&str; 10] = ["UT", "GMT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"];
    let mut text = value.trim();
    if let Some(open) = text.rfind('(') {
        if text.ends_with(')') {
            text = text[..open].trim_end();
        }
    }
    if let Some((day, rest)) = text.split_once(',') {
        if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(day.trim())) {
            return false;
        }
        text = rest;
    }
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [day, month, year, time, zone] = parts[..] else { return false };
    let number = |s: &str, min: usize, max: usize, range: std::ops::RangeInclusive<u32>| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && s.parse().is_ok_and(|n| range.contains(&n))
    };
    let time_ok = match time.split(':').collect::<Vec<_>>()[..] {
        [h, m] => number(h, 2, 2, 0..=23) && number(m, 2, 2, 0..=59),
        [h, m, s] => number(h, 2, 2, 0..=23) && number(m, 2, 2, 0..=59) && number(s, 2, 2, 0..=60),
        _ => false,
    };
    let zone_ok = match zone.as_bytes() {
        [b'+' | b'-', digits @ ..] => digits.len() == 4 && number(&zone[1..3], 2, 2, 0..=99) && number(&zone[3..], 2, 2, 0..=59),
        _ => ZONES.iter().any(|z| z.eq_ignore_ascii_case(zone)),
    };
    number(day, 1, 2, 1..=31)
        && MONTHS.iter().any(|m| m.eq_ignore_ascii_case(month))
        && number(year, 4, 4, 1900..=9999)
        && time_ok
        && zone_ok
}

/// A text/plain or text/html part in the caller's charset. UTF-8 text may be
/// sent as 7bit or quoted-printable; bytes in any other charset go base64 so
/// they reach the reader exactly as given.
fn text_part(subtype: &str, charset: &str, bytes: &[u8]) -> Result<SinglePart, UsageError> {
    let content_type = ContentType::parse(&format!("text/{subtype}; charset={charset}"))
        .map_err(|_| UsageError::new(format!("$message['charset'] '{charset}' is not a valid charset name")))?;
    let body = match (charset.eq_ignore_ascii_case("utf-8"), std::str::from_utf8(bytes)) {
        (true, Ok(text)) => Body::new(crlf_line_ends(text)),
        (true, Err(_)) => {
            let key = if subtype == "html" { "html" } else { "text" };
            return Err(UsageError::new(format!(
                "$message['{key}'] is not valid UTF-8: set $message['charset'] to the charset it is in"
            )));
        }
        (false, _) => Body::new(bytes.to_vec()),
    };
    Ok(SinglePart::builder().header(content_type).body(body))
}

/// `text` with a CR before every LF that has none: the line ends lettre's
/// `Body::new` makes of a string. Done here in one pass, because lettre
/// inserts each CR with `String::insert`, which moves the rest of the text
/// every time: quadratic, 10 s for a 10 MB text with LF line ends.
fn crlf_line_ends(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    let mut start = 0;
    for lf in memchr::memchr_iter(b'\n', bytes) {
        out.extend_from_slice(&bytes[start..lf]);
        if lf == 0 || bytes[lf - 1] != b'\r' {
            out.push(b'\r');
        }
        out.push(b'\n');
        start = lf + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    String::from_utf8(out).expect("ASCII CRs added next to ASCII LFs keep the text valid UTF-8")
}

/// `headers` as a list of "Name: value" lines or a name => value map.
fn custom_headers(fields: &Fields) -> Result<Vec<(String, String)>, UsageError> {
    let Some(entries) = fields.array("headers")? else { return Ok(Vec::new()) };
    let mut headers = Vec::new();
    for (key, value) in entries {
        let Value::Bytes(bytes) = value else {
            return Err(UsageError::new(format!("$message['headers'] values must be strings, got {}", value.type_name())));
        };
        let text = String::from_utf8_lossy(bytes).into_owned();
        let (name, value) = match key {
            Key::Name(name) => (name.clone(), text),
            Key::Index(_) => match text.split_once(':') {
                Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
                None => return Err(UsageError::new(format!("$message['headers'] line '{text}' is not 'Name: value'"))),
            },
        };
        let field = format!("$message['headers']['{}']", name.escape_debug());
        check_header_safe(&field, &name)?;
        check_header_safe(&field, &value)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(UsageError::new(format!("{field}: the header name must be printable ASCII without ':' or spaces")));
        }
        let lower = name.to_ascii_lowercase();
        if STRUCTURAL_HEADERS.contains(&lower.as_str()) {
            return Err(UsageError::new(match lower.as_str() {
                "content-type" | "content-transfer-encoding" | "mime-version" => format!(
                    "{field}: {name} is not set as a custom header: it is made from $message['text'] (text/plain), \
                     $message['html'] (text/html; both: multipart/alternative), $message['charset'] and each attachment's 'type'"
                ),
                _ => format!("{field}: set {name} with $message['{}'], not as a custom header", lower.replace('-', "_")),
            }));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

/// A composed message's attachments: `attached` ones go around the body
/// (multipart/mixed), `inline` ones beside the html that shows them by
/// Content-ID (multipart/related).
struct Attachments {
    attached: Vec<SinglePart>,
    inline: Vec<SinglePart>,
}

/// `attachments`: a list of paths, a name => path map (as WordPress passes
/// them), or entries with `path` or in-memory `content`, plus `name` and
/// `type`, and `cid` (with `inline`, which a `cid` implies) for a part the
/// html shows as `<img src="cid:...">`. The files given by path may add up to `limits.attachment_bytes`: each
/// file's size is checked before it is read.
fn attachments(fields: &Fields, limits: &Limits) -> Result<Attachments, UsageError> {
    let mut found = Attachments { attached: Vec::new(), inline: Vec::new() };
    let Some(entries) = fields.array("attachments")? else { return Ok(found) };
    let mut cids: Vec<String> = Vec::new();
    let mut read: u64 = 0;
    for (i, (key, value)) in entries.iter().enumerate() {
        let entry_name = match key {
            Key::Name(n) => format!("message['attachments']['{n}']"),
            Key::Index(_) => format!("message['attachments'][{i}]"),
        };
        let field = format!("${entry_name}");
        let (path, content, name, mime, cid) = match value {
            Value::Bytes(b) => (Some(String::from_utf8_lossy(b).into_owned()), None, None, None, None),
            Value::Array(entry) => {
                let f = Fields::new(entry_name.as_str(), entry, &["path", "content", "name", "type", "inline", "cid"])?;
                let cid = match (f.bool("inline")?, f.string("cid")?) {
                    (Some(true) | None, Some(cid)) => Some(content_id(&f.path("cid"), cid)?),
                    (Some(false), Some(_)) => return Err(UsageError::new(format!("{field}: a 'cid' is for an inline part, but 'inline' is false"))),
                    (Some(true), None) => return Err(UsageError::new(format!("{field}: an inline part needs a 'cid', the name the html refers to it by (<img src=\"cid:logo\">)"))),
                    (Some(false) | None, None) => None,
                };
                (f.string("path")?, f.bytes("content")?.map(<[u8]>::to_vec), f.string("name")?, f.string("type")?, cid)
            }
            v => return Err(UsageError::new(format!("{field} must be a path or an array, got {}", v.type_name()))),
        };
        let content = match (content, &path) {
            (Some(c), None) => c,
            (None, Some(p)) => {
                let path = std::path::Path::new(p);
                let size = crate::files::check(path, None).map_err(|e| UsageError::new(format!("{field} {e}")))?.len();
                let room = limits.attachment_bytes - read;
                if size > room {
                    return Err(limits.attachment_refusal(&field, p, size, read));
                }
                // Bounded by the room left, should the file grow after its size was checked.
                let content = crate::files::read(path, Some(room)).map_err(|e| UsageError::new(format!("{field} {e}")))?;
                read += content.len() as u64;
                content
            }
            _ => return Err(UsageError::new(format!("{field} needs exactly one of 'path' or 'content'"))),
        };
        let name = match (name, key, &path) {
            (Some(n), _, _) => Some(n),
            (None, Key::Name(n), _) => Some(n.clone()),
            (None, _, Some(p)) => Some(std::path::Path::new(p).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()),
            (None, _, None) if cid.is_some() => None,
            (None, _, None) => return Err(UsageError::new(format!("{field} with 'content' needs a 'name'"))),
        };
        if let Some(name) = &name {
            check_header_safe(&field, name)?;
        }
        // An inline part without a name (in-memory content) is typed by its type alone.
        let mime = mime.unwrap_or_else(|| guess_mime(name.as_deref().unwrap_or_default()).to_string());
        check_header_safe(&format!("{field}['type']"), &mime)?;
        let content_type = ContentType::parse(&mime)
            .map_err(|_| UsageError::new(format!("{field}: '{mime}' is not a valid MIME type")))?;
        match cid {
            None => found.attached.push(Attachment::new(name.unwrap_or_default()).body(Body::new(content), content_type)),
            Some(cid) => {
                if cids.contains(&cid) {
                    return Err(UsageError::new(format!("{field}: the cid '{cid}' is given to another inline part already")));
                }
                cids.push(cid.clone());
                let attachment = match name {
                    Some(name) => Attachment::new_inline_with_name(cid, name),
                    None => Attachment::new_inline(cid),
                };
                found.inline.push(attachment.body(Body::new(content), content_type));
            }
        }
    }
    Ok(found)
}

/// A `cid` as the html refers to it (`cid:logo`) and the Content-ID header
/// carries it (`<logo>`, RFC 2392): printable ASCII with no space, no angle
/// bracket, no quote, no parenthesis.
fn content_id(field: &str, cid: String) -> Result<String, UsageError> {
    let allowed = |c: char| c.is_ascii_graphic() && !"<>\"()[],;:\\".contains(c);
    if cid.is_empty() || !cid.chars().all(allowed) {
        return Err(UsageError::new(format!(
            "{field} '{}' is not a usable Content-ID: use letters, digits and . - _ @ (e.g. 'logo' or 'logo@example.com'), and refer to it as cid:logo",
            cid.escape_debug()
        )));
    }
    Ok(cid)
}

/// The common types by file extension; anything else is sent as bytes.
fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "ics" => "text/calendar",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A Message-ID in the sender's domain (RFC 5322 section 3.6.4): unique,
/// and it does not reveal this machine's name.
fn new_message_id(domain: &str) -> String {
    let random: String = std::iter::repeat_with(fastrand::alphanumeric).take(24).collect();
    format!("<{random}@{domain}>")
}

/// The value of the first header `name` in the header block of a raw message.
fn header_value(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("").split("\n\n").next().unwrap_or("");
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn line_ends_become_crlf_in_linear_time() {
        assert_eq!(super::crlf_line_ends("a\nb\r\nc\n\n\rd\n"), "a\r\nb\r\nc\r\n\r\n\rd\r\n");
        assert_eq!(super::crlf_line_ends("\n✉\n"), "\r\n✉\r\n");
        // 10 MB of short lines: milliseconds, where inserting each CR took seconds.
        let started = std::time::Instant::now();
        let big = super::crlf_line_ends(&"a line of text\n".repeat(700_000));
        assert_eq!(big.len(), 16 * 700_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

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
    fn header_injection_is_refused_with_the_field_named() {
        for (key, value) in [("subject", "Hi\r\nBcc: x@evil.test"), ("to", "a@example.com\nBcc: x@evil.test"), ("from", "a@example.com\0")] {
            let mut m = msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com"))]);
            m.retain(|(k, _)| *k != Key::Name(key.into()));
            m.push((Key::Name(key.into()), Value::str(value)));
            let err = from_value(&m).unwrap_err();
            assert!(err.0.contains(&format!("$message['{key}']")) && err.0.contains("header injection"), "{}", err.0);
        }
        let m = msg(&[
            ("from", Value::str("me@example.com")),
            ("to", Value::str("you@example.com")),
            ("headers", list(&["X-Test: a\r\nBcc: evil@example.com"])),
        ]);
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
            from_value(&msg(&[
                ("from", Value::str("me@example.com")),
                ("to", Value::str("you@example.com")),
                ("headers", list(&[&format!("Date: {date}")])),
            ]))
        };
        let data = String::from_utf8(with_date("Tue, 1 Jul 2025 10:52:37 +0200").unwrap().data).unwrap();
        assert_eq!(data.matches("Date:").count(), 1, "{data}");
        assert!(data.contains("Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n"), "{data}");
        for ok in ["1 Jul 2025 10:52 -0700", "Wed, 02 Oct 2002 08:00:00 EST", "Tue, 01 Jul 2025 08:52:37 +0000 (UTC)"] {
            assert!(is_rfc5322_date(ok), "{ok}");
        }
        for bad in ["tomorrow", "2025-07-01T10:52:37Z", "Tue, 32 Jul 2025 10:52:37 +0200", "Tue, 1 Jul 2025 25:00 +0200", "Xyz, 1 Jul 2025 10:52 +0200"] {
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
        let pairs = Value::Array(vec![
            (Key::Name("bob@example.com".into()), Value::str("Bob Smith")),
            (Key::Index(0), Value::str("carol@example.com")),
        ]);
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
        let m = msg(&[
            ("raw", Value::Bytes(raw)),
            ("envelope", Value::Array(msg(&[("from", Value::str("")), ("to", list(&["a@example.com"]))]))),
        ]);
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
        let m = msg(&[
            ("from", Value::str("me@example.com")),
            ("to", Value::str("you@example.com")),
            ("attachments", Value::Array(vec![(Key::Index(0), entry)])),
        ]);
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
        assert!(err.starts_with(&format!("$message['attachments'][1] '{small}' is 10 bytes, and the files attached before it 10: more than the 15 bytes")), "{err}");
        assert!(attaching(&[&small, &small], &[("max_attachment_bytes", Value::str("20"))]).is_ok());
        // Content given in memory is in PHP's memory already, under its memory_limit: not counted.
        let content = Value::Array(msg(&[("content", Value::Bytes(vec![b'x'; 100])), ("name", Value::str("x.txt"))]));
        let m = msg(&[("from", Value::str("me@example.com")), ("to", Value::str("you@example.com")), ("attachments", Value::Array(vec![(Key::Index(0), content)]))]);
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
}
