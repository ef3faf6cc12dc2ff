//! The invariants of every parser of outside input, shared by the stable
//! corpus test (tests/fuzz_corpus.rs) and the coverage-guided cargo-fuzz
//! targets (fuzz/fuzz_targets/, which include this file by path). Each
//! function takes one input, panics when an invariant breaks, and names the
//! input with `name` in its message.
#![allow(dead_code)]

use rust_mail::message;
use rust_mail::smtp::data::on_the_wire;
use rust_mail::smtp::reply::{parse_line, Capabilities, LineParse, Reply};
use rust_mail::value::{Key, Value};

/// A server's bytes read as replies, each checked with its capabilities.
pub fn replies(name: &str, bytes: &[u8]) {
    for reply in read_replies(bytes) {
        if let Some(enhanced) = &reply.enhanced {
            assert_eq!(enhanced.split('.').count(), 3, "{name}: {enhanced}");
            assert!(enhanced.starts_with(&(reply.code / 100).to_string()), "{name}: {enhanced} for {}", reply.code);
        }
        assert!(reply.one_line().starts_with(&reply.code.to_string()), "{name}");
        let capabilities = Capabilities::from_ehlo(&reply);
        assert_eq!(capabilities.lines.len(), reply.lines.len().saturating_sub(1), "{name}");
        for mechanism in capabilities.auth_mechanisms() {
            assert!(!mechanism.is_empty() && !mechanism.contains(char::is_whitespace), "{name}: {mechanism:?}");
            assert_eq!(mechanism, mechanism.to_ascii_uppercase(), "{name}");
        }
        for keyword in capabilities.keywords() {
            assert!(capabilities.has(&keyword), "{name}: {keyword}");
        }
    }
}

/// Reads a server's bytes as the client's driver does: lines split at LF,
/// decoded lossily, CR and LF trimmed; a reply ends at its last line or
/// at the first line that is not SMTP.
fn read_replies(bytes: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::new();
    let mut texts = Vec::new();
    for raw in bytes.split_inclusive(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(raw).trim_end_matches(['\r', '\n']).to_string();
        match parse_line(&line) {
            Some(LineParse::More(code, text)) => {
                check_line(&line, code, &text);
                texts.push(text);
            }
            Some(LineParse::Last(code, text)) => {
                check_line(&line, code, &text);
                texts.push(text);
                replies.push(Reply::new(code, std::mem::take(&mut texts)));
            }
            None => break,
        }
    }
    replies
}

fn check_line(line: &str, code: u16, text: &str) {
    assert!((200..600).contains(&code), "code {code} from {line:?}");
    assert!(line.starts_with(&code.to_string()), "{line:?}");
    assert!(line.ends_with(text), "text {text:?} is not the end of {line:?}");
}

/// The wire form and the input have the same lines (any of CRLF, CR or LF
/// ending one), each dot-stuffed, and nothing else ends DATA.
pub fn wire(name: &str, message: &[u8]) {
    let wire = on_the_wire(message);
    assert!(wire.ends_with(b"\r\n.\r\n"), "{name}");
    let body = &wire[..wire.len() - 3];
    for (i, &byte) in body.iter().enumerate() {
        match byte {
            b'\r' => assert_eq!(body.get(i + 1), Some(&b'\n'), "{name}: bare CR at {i}"),
            b'\n' => assert!(i > 0 && body[i - 1] == b'\r', "{name}: bare LF at {i}"),
            _ => {}
        }
    }
    // Every line ends in CRLF, so the split leaves an empty piece after the last.
    let mut wire_lines: Vec<&[u8]> = body.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    assert_eq!(wire_lines.pop(), Some(&b""[..]), "{name}");
    assert!(wire_lines.iter().all(|line| *line != b"."), "{name}: a lone dot before the end");
    let unstuffed: Vec<&[u8]> = wire_lines.iter().map(|line| if line.starts_with(b".") { &line[1..] } else { *line }).collect();
    assert_eq!(unstuffed, lines_of(message), "{name}");
}

/// The lines of a message as any receiver reads them: CRLF, CR or LF ends
/// a line; a message that does not end in a line end still has a last line.
fn lines_of(message: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < message.len() {
        if message[i] == b'\r' || message[i] == b'\n' {
            lines.push(&message[start..i]);
            i += if message[i] == b'\r' && message.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
            start = i;
        } else {
            i += 1;
        }
    }
    if start < message.len() || message.is_empty() {
        lines.push(&message[start..]);
    }
    lines
}

fn field(name: &str, value: Value) -> (Key, Value) {
    (Key::Name(name.to_string()), value)
}

/// An address list goes through `to` of a composed message and of a raw
/// message's envelope.
pub fn address_list(name: &str, bytes: &[u8]) {
    let composed = vec![field("from", Value::str("me@example.com")), field("to", Value::Bytes(bytes.to_vec()))];
    let envelope = Value::Array(vec![field("from", Value::str("me@example.com")), field("to", Value::Bytes(bytes.to_vec()))]);
    let raw = vec![field("raw", Value::str("Subject: x\r\n\r\nbody\r\n")), field("envelope", envelope)];
    for message in [composed, raw] {
        message_value(name, &message);
    }
}

/// A `$message` is either refused with the field named, or it has
/// recipients, no envelope address has a line break or anything else that
/// would end it early in MAIL FROM or RCPT TO (a control character, a
/// space, '<' or '>'), and its bytes keep the wire-form invariants.
pub fn message_value(name: &str, message: &[(Key, Value)]) {
    match message::from_value(message, &message::Limits::default()) {
        Ok(out) => {
            assert!(!out.recipients.is_empty(), "{name}");
            for address in out.recipients.iter().chain(&out.envelope_from) {
                let text = address.to_string();
                assert!(!text.contains(|c: char| c.is_control() || matches!(c, ' ' | '<' | '>')), "{name}: {text:?}");
            }
            wire(name, &out.data);
        }
        Err(e) => assert!(e.0.starts_with("$message"), "{name}: {}", e.0),
    }
}

/// `$message` written as the lines of a PHP form post, one `key=value` a line:
///
/// ```text
/// from=Me <me@example.com>
/// to[]=a@example.com
/// headers[X-Tag]=a%0D%0ABcc: evil@example.com
/// attachments[0][content]=hello
/// attachments[0][name]=a.txt
/// ```
///
/// Keys nest with `[name]`, `[3]` or `[]` (the next index); a numeric key is
/// an index, as in PHP. Values are percent-decoded bytes, or `(null)`,
/// `(true)`, `(false)`, `(int)N`, `(float)X`. A line without `=` is skipped.
/// Attachments are read from memory only: a `path` key becomes `content`
/// and a bare string entry an in-memory attachment, so that no input makes
/// the run read files.
pub fn message_form(name: &str, form: &[u8]) {
    message_value(name, &form_to_value(form));
}

pub fn form_to_value(form: &[u8]) -> Vec<(Key, Value)> {
    let mut root = Vec::new();
    for line in form.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(eq) = line.iter().position(|b| *b == b'=') else { continue };
        let (path, value) = (&line[..eq], &line[eq + 1..]);
        let mut keys = Vec::new();
        let first_end = path.iter().position(|b| *b == b'[').unwrap_or(path.len());
        keys.push(&path[..first_end]);
        let mut rest = &path[first_end..];
        while let Some(inner) = rest.strip_prefix(b"[") {
            let Some(close) = inner.iter().position(|b| *b == b']') else { break };
            keys.push(&inner[..close]);
            rest = &inner[close + 1..];
        }
        insert(&mut root, &keys, form_value(value));
    }
    in_memory_attachments(&mut root);
    root
}

fn insert(entries: &mut Vec<(Key, Value)>, keys: &[&[u8]], value: Value) {
    let key = match keys[0] {
        b"" => Key::Index(entries.iter().filter_map(|(k, _)| if let Key::Index(i) = k { Some(*i + 1) } else { None }).max().unwrap_or(0)),
        k => {
            let text = String::from_utf8_lossy(k).into_owned();
            match text.parse::<i64>() {
                Ok(i) if i.to_string() == text => Key::Index(i),
                _ => Key::Name(text),
            }
        }
    };
    let position = entries.iter().position(|(k, _)| *k == key);
    if keys.len() == 1 {
        match position {
            Some(p) => entries[p].1 = value,
            None => entries.push((key, value)),
        }
        return;
    }
    let p = position.unwrap_or_else(|| {
        entries.push((key, Value::Array(Vec::new())));
        entries.len() - 1
    });
    if !matches!(entries[p].1, Value::Array(_)) {
        entries[p].1 = Value::Array(Vec::new());
    }
    if let Value::Array(inner) = &mut entries[p].1 {
        insert(inner, &keys[1..], value);
    }
}

fn form_value(text: &[u8]) -> Value {
    match text {
        b"(null)" => return Value::Null,
        b"(true)" => return Value::Bool(true),
        b"(false)" => return Value::Bool(false),
        _ => {}
    }
    let as_str = std::str::from_utf8(text).ok();
    if let Some(n) = as_str.and_then(|s| s.strip_prefix("(int)")).and_then(|n| n.parse().ok()) {
        return Value::Int(n);
    }
    if let Some(x) = as_str.and_then(|s| s.strip_prefix("(float)")).and_then(|x| x.parse().ok()) {
        return Value::Float(x);
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hex = text.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (text[i], hex) {
            (b'%', Some(byte)) => {
                bytes.push(byte);
                i += 3;
            }
            (byte, _) => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    Value::Bytes(bytes)
}

fn in_memory_attachments(message: &mut [(Key, Value)]) {
    for (key, value) in message.iter_mut() {
        let (Key::Name(k), Value::Array(entries)) = (key, value) else { continue };
        if k != "attachments" {
            continue;
        }
        for (_, entry) in entries.iter_mut() {
            match entry {
                Value::Bytes(content) => {
                    *entry = Value::Array(vec![field("content", Value::Bytes(std::mem::take(content))), field("name", Value::str("a.bin"))]);
                }
                Value::Array(fields) => {
                    for (k, _) in fields.iter_mut() {
                        if *k == Key::Name("path".into()) {
                            *k = Key::Name("content".into());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
