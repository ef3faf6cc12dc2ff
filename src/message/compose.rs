//! A message composed from its parts with lettre's builder: the body
//! parts, the headers the caller adds, the Date and Message-ID.

use super::address::{check_envelope_address, check_header_safe, mailboxes};
use super::attachments::{attachments, Attachments};
use super::header::{address_list, unstructured, unstructured_line, MAX_NAME};
use super::{distinct_recipients, envelope_sender, Dsn, Limits, Outgoing};
use crate::error::UsageError;
use crate::value::{Fields, Key, Value};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MaybeString, MultiPart, MultiPartBuilder, SinglePart};

/// Headers that have their own `$message` key: setting them through
/// `headers` as well would give a message two From lines or break its MIME structure.
const STRUCTURAL_HEADERS: &[&str] = &["from", "to", "cc", "bcc", "reply-to", "subject", "content-type", "content-transfer-encoding", "mime-version"];

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

pub(super) fn composed_message(fields: &Fields, limits: &Limits) -> Result<Outgoing, UsageError> {
    // One mailbox, written as the other address fields are (a string, or ['address' => 'name']).
    let from_mailbox = match &mailboxes(fields, "from")?[..] {
        [] => return Err(UsageError::new("$message['from'] is required")),
        [one] => one.clone(),
        more => {
            return Err(UsageError::new(format!(
                "$message['from'] has {} addresses: it takes one (the sender); put the others in $message['reply_to']",
                more.len()
            )))
        }
    };
    // Given as a pair, the address went through lettre's address parser, which takes a quoted part with spaces.
    check_envelope_address(&fields.path("from"), &from_mailbox.email)?;
    let mut builder = lettre::Message::builder().from(from_mailbox.clone());
    // Where bounces go (MAIL FROM), apart from the From header; by default the From address.
    let return_path = envelope_sender(fields, "return_path")?;
    let dsn = Dsn::from_fields(fields)?;

    let mut recipient_count = 0;
    // Each address field's mailboxes, for the header lines written here (see `header`).
    let mut address_fields: Vec<(&str, Vec<Mailbox>)> = vec![("From", vec![from_mailbox.clone()])];
    let mut bcc = Vec::new();
    for (key, header) in [("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To")] {
        let mut field_mailboxes = Vec::new();
        for mailbox in mailboxes(fields, key)? {
            // Reply-To is a header only; the others are the envelope's recipients too (an address => name
            // pair is read by lettre's address parser, which takes a quoted part with spaces).
            if key != "reply_to" {
                check_envelope_address(&fields.path(key), &mailbox.email)?;
                recipient_count += 1;
            }
            field_mailboxes.push(mailbox.clone());
            builder = match key {
                "to" => builder.to(mailbox),
                "cc" => builder.cc(mailbox),
                "bcc" => {
                    bcc.push(mailbox.clone());
                    builder.bcc(mailbox)
                }
                _ => builder.reply_to(mailbox),
            };
        }
        if key != "bcc" && !field_mailboxes.is_empty() {
            address_fields.push((header, field_mailboxes));
        }
    }
    if recipient_count == 0 {
        return Err(UsageError::new("$message needs at least one recipient in 'to', 'cc' or 'bcc'"));
    }

    let subject = fields.string("subject")?.unwrap_or_default();
    check_header_safe(&fields.path("subject"), &subject)?;
    builder = builder.subject(subject.clone());

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
            builder = builder.message_id(Some(message_id(&name, &value)?));
            continue;
        }
        if name.eq_ignore_ascii_case("date") {
            let field = format!("$message['headers']['{name}']");
            if date.is_some() {
                return Err(UsageError::new(format!("{field}: Date may be given only once")));
            }
            if !is_rfc5322_date(&value) {
                return Err(UsageError::new(format!(
                    "{field} '{value}' is not an RFC 5322 date of a day that exists, with its weekday (if given) right: write it as \
                     date(DATE_RFC2822) gives it, e.g. 'Tue, 1 Jul 2025 10:52:37 +0200'"
                )));
            }
            date = Some(value);
            continue;
        }
        extra_headers.push_str(&unstructured_line(&name, &value));
    }
    if !has_message_id {
        builder = builder.message_id(Some(new_message_id(from_mailbox.email.domain())));
    }

    let charset = fields.string("charset")?.unwrap_or_else(|| "UTF-8".to_string());
    check_header_safe(&fields.path("charset"), &charset)?;
    let text = text_of(fields, &charset)?.map(|b| text_part("plain", &charset, &b)).transpose()?;
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
    // In place of lettre's lines, which fold neither address lists nor long words (see `header`).
    let mut replace = |name: &'static str, raw: String, encoded: String| {
        message.headers_mut().insert_raw(HeaderValue::dangerous_new_pre_encoded(HeaderName::new_from_ascii_str(name), raw, encoded));
    };
    replace("Subject", subject.clone(), unstructured("Subject", &subject));
    for (name, mailboxes) in &address_fields {
        let raw = mailboxes.iter().map(Mailbox::to_string).collect::<Vec<_>>().join(", ");
        replace(name, raw, address_list(name, mailboxes));
    }
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
    let bcc_header = (!bcc.is_empty()).then(|| format!("Bcc: {}\r\n", address_list("Bcc", &bcc)));
    let envelope_from = return_path.unwrap_or_else(|| envelope.from().cloned());
    Ok(Outgoing { envelope_from, recipients: distinct_recipients(envelope.to()), data, message_id, bcc_header, dsn })
}

/// `$message['text']`: as given, or with `true` made from `$message['html']`.
fn text_of(fields: &Fields, charset: &str) -> Result<Option<Vec<u8>>, UsageError> {
    match fields.get("text") {
        Some(Value::Bool(true)) => {
            let html =
                fields.bytes("html")?.ok_or_else(|| UsageError::new("$message['text'] true makes the text from $message['html'], which is not given"))?;
            match std::str::from_utf8(html) {
                Ok(html) if charset.eq_ignore_ascii_case("utf-8") => Ok(Some(super::html_text::html_to_text(html).into_bytes())),
                _ => Err(UsageError::new(
                    "$message['text'] true reads $message['html'] as UTF-8: give the html in UTF-8 (the default charset), or the text as well",
                )),
            }
        }
        Some(Value::Bool(false)) => Err(UsageError::new("$message['text'] must be a string, or true to make it from $message['html']")),
        _ => Ok(fields.bytes("text")?.map(<[u8]>::to_vec)),
    }
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
    let mut weekday = None;
    if let Some((day, rest)) = text.split_once(',') {
        let Some(index) = DAYS.iter().position(|d| d.eq_ignore_ascii_case(day.trim())) else { return false };
        weekday = Some(index);
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
    let Some(month) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month)) else { return false };
    if !(number(day, 1, 2, 1..=31) && number(year, 4, 4, 1900..=9999) && time_ok && zone_ok) {
        return false;
    }
    let (day, year): (u32, i64) = (day.parse().expect("checked"), year.parse().expect("checked"));
    // A day the month has (no 31 February), and the weekday of that date when one is given.
    day <= days_in_month(year, month) && weekday.is_none_or(|w| w == weekday_of(year, month, day))
}

fn days_in_month(year: i64, month: usize) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
}

/// The weekday (0 = Monday) of a date in the Gregorian calendar, from its day count since 1970-01-01, a Thursday
/// (Howard Hinnant's days_from_civil).
fn weekday_of(year: i64, month: usize, day: u32) -> usize {
    let (m, d) = (month as i64 + 1, day as i64);
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    (days + 3).rem_euclid(7) as usize
}

/// A text/plain or text/html part in the caller's charset. UTF-8 text may be
/// sent as 7bit or quoted-printable; bytes in any other charset go base64 so
/// they reach the reader exactly as given. Either way its line ends are
/// CRLF before it is encoded (RFC 2045 section 6.8: base64 of text encodes
/// the canonical form), except in UTF-16 and UTF-32, whose line ends are not
/// the bytes CR and LF.
fn text_part(subtype: &str, charset: &str, bytes: &[u8]) -> Result<SinglePart, UsageError> {
    let content_type = ContentType::parse(&format!("text/{subtype}; charset={charset}"))
        .map_err(|_| UsageError::new(format!("$message['charset'] '{charset}' is not a valid charset name")))?;
    let body = match (charset.eq_ignore_ascii_case("utf-8"), std::str::from_utf8(bytes)) {
        (true, Ok(text)) => without_raw_nul(crlf_line_ends(text)),
        (true, Err(_)) => {
            let key = if subtype == "html" { "html" } else { "text" };
            return Err(UsageError::new(format!("$message['{key}'] is not valid UTF-8: set $message['charset'] to the charset it is in")));
        }
        (false, _) if ["utf-16", "utf-32"].iter().any(|wide| charset.to_ascii_lowercase().starts_with(wide)) => Body::new(bytes.to_vec()),
        (false, _) => without_raw_nul(crlf_byte_line_ends(bytes)),
    };
    Ok(SinglePart::builder().header(content_type).body(body))
}

/// A body as lettre encodes it, but never a NUL under 7bit or 8bit, which
/// RFC 2045 section 2.7 forbids there and lettre would send raw:
/// quoted-printable then, which writes it as =00.
fn without_raw_nul<B: Into<MaybeString> + AsRef<[u8]>>(text: B) -> Body {
    if text.as_ref().contains(&0) {
        Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable).expect("quoted-printable encodes any bytes")
    } else {
        Body::new(text)
    }
}

/// `text` with a CR before every LF that has none: the line ends lettre's
/// `Body::new` makes of a string. Done here in one pass, because lettre
/// inserts each CR with `String::insert`, which moves the rest of the text
/// every time: quadratic, 10 s for a 10 MB text with LF line ends.
fn crlf_line_ends(text: &str) -> String {
    String::from_utf8(crlf_byte_line_ends(text.as_bytes())).expect("ASCII CRs added next to ASCII LFs keep the text valid UTF-8")
}

/// [`crlf_line_ends`] of text in any charset whose LF is the byte 0x0A.
fn crlf_byte_line_ends(bytes: &[u8]) -> Vec<u8> {
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
    out
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
        // RFC 5322 section 3.6.8: ftext, printable ASCII but ':'.
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(UsageError::new(format!("{field}: the header name must be printable ASCII without ':' or spaces")));
        }
        if name.len() > MAX_NAME {
            return Err(UsageError::new(format!(
                "{field}: the header name is {} characters, more than {MAX_NAME}: a name cannot be folded, and with its ': ' it must fit \
                 the 78 characters RFC 5322 section 2.1.1 wants a line to keep to",
                name.len()
            )));
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

/// A caller's Message-ID as RFC 5322 section 3.6.4 writes it, `<left@right>`: the angle brackets are added
/// when missing; without an '@', or with spaces, it is refused.
fn message_id(name: &str, value: &str) -> Result<String, UsageError> {
    let id = value.trim();
    let bare = id.strip_prefix('<').and_then(|rest| rest.strip_suffix('>')).unwrap_or(id);
    let well_formed = bare.split_once('@').is_some_and(|(left, right)| {
        !left.is_empty() && !right.is_empty() && !bare.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
    });
    if !well_formed {
        return Err(UsageError::new(format!(
            "$message['headers']['{name}'] '{value}' is not a message id: write it as <unique-part@example.com> (RFC 5322 section 3.6.4), \
             or leave it out and one is made"
        )));
    }
    Ok(format!("<{bare}>"))
}

/// A Message-ID in the sender's domain (RFC 5322 section 3.6.4): unique,
/// and it does not reveal this machine's name.
fn new_message_id(domain: &str) -> String {
    let random: String = std::iter::repeat_with(fastrand::alphanumeric).take(24).collect();
    format!("<{random}@{domain}>")
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
}
