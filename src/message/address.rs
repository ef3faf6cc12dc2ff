//! The addresses of a message: headers' mailboxes and the envelope's
//! addresses, refused in words a caller can act on.

use crate::error::UsageError;
use crate::value::{Fields, Key, Value};
use lettre::message::Mailbox;
use lettre::Address;
use std::str::FromStr;

/// Refuses CR, LF and NUL anywhere a header or an envelope address is built
/// from: one line break lets a contact form add its own Bcc (header injection).
pub fn check_header_safe(field: &str, value: &str) -> Result<(), UsageError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(UsageError::new(format!("{field} contains a line break or NUL byte (CR, LF or NUL): refused as header injection")));
    }
    Ok(())
}

/// `check_header_safe` on a whole argument before it is split at commas and trimmed, so that a line break at
/// either end of an address is refused like one inside it, never silently cut off.
pub(super) fn check_value_safe(field: &str, value: &Value) -> Result<(), UsageError> {
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
    if spec.contains(';') {
        return Some("it has a ';': separate addresses with commas, or give them as a list".into());
    }
    if local.starts_with('"') && local.ends_with('"') && local.len() > 1 && local.contains(char::is_whitespace) {
        return Some(format!(
            "its quoted part before the '@' ({local}) has spaces, which a server would read as the end of the address in RCPT TO: \
             use an address without them"
        ));
    }
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
    if domain.starts_with('[') && domain.ends_with(']') {
        return Some(format!("the domain is an address literal ({domain}), which is not taken: use the host's domain name"));
    }
    if let Some(label) = domain.split('.').find(|l| l.len() > 63) {
        return Some(format!("the domain's label '{label}' is {} characters: a label has at most 63 (RFC 1035)", label.len()));
    }
    let label_ok = |l: &str| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    if !domain.split('.').all(label_ok) {
        return Some(format!("the domain '{domain}' is not a valid domain name"));
    }
    if local.len() > 64 {
        return Some(format!("the part before the '@' is {} characters: it has at most 64 (RFC 5321 section 4.5.3.1.1)", local.len()));
    }
    if Address::from_str(spec).is_err() {
        return Some(format!("the part before the '@' ('{local}') has characters an address cannot have without quotes"));
    }
    if let Some(name) = name {
        return Some(format!("the name '{name}' needs double quotes around it"));
    }
    None
}

/// `from`, `to`, `cc`, `bcc` or `reply_to`: a string with commas, a list of strings,
/// or address => name pairs (as PHPMailer and Symfony Mailer users write
/// them), which may be mixed with list items.
pub(super) fn mailboxes(fields: &Fields, key: &str) -> Result<Vec<Mailbox>, UsageError> {
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
            Value::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| UsageError::new(format!("{field}[{i}] must be valid UTF-8")))?,
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
