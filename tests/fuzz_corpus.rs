//! Fuzz-style tests of everything that parses outside input, on the stable
//! toolchain: each file of tests/fuzz-corpus/ and a fixed set of mutations of
//! it go through the parser, which must not panic and must keep its
//! invariants. A new case found anywhere (a bug report, a hostile server) is
//! added as a file to the corpus.
//!
//! Run with `cargo test --no-default-features --test fuzz_corpus`.

use rust_mail::message;
use rust_mail::smtp::data::on_the_wire;
use rust_mail::smtp::reply::{parse_line, Capabilities, LineParse, Reply};
use rust_mail::value::{Key, Value};
use std::path::PathBuf;

/// Mutations of each corpus file; fixed seeds, so a failure reproduces.
const MUTATIONS: u64 = 300;

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files.into_iter().map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())).collect()
}

/// Bytes that matter to the parsers: line ends, dots, separators, digits.
const INTERESTING: &[u8] = b"\r\n.-: @<>,\"\\0259\x00\xff";

/// The input with a few random edits: a byte replaced, inserted or
/// removed, or the input cut short.
fn mutate(input: &[u8], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let at = rng.usize(..=out.len());
        let byte = if rng.bool() { INTERESTING[rng.usize(..INTERESTING.len())] } else { rng.u8(..) };
        match rng.u8(..4) {
            0 if at < out.len() => out[at] = byte,
            1 => out.insert(at, byte),
            2 if at < out.len() => {
                out.remove(at);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// Each corpus input, then its mutations.
fn inputs(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for (name, input) in corpus(kind) {
        let mut rng = fastrand::Rng::with_seed(name.bytes().map(u64::from).sum());
        for i in 0..MUTATIONS {
            all.push((format!("{name} mutation {i}"), mutate(&input, &mut rng)));
        }
        all.push((name, input));
    }
    all
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

#[test]
fn replies_and_capabilities_parse_without_panic_and_keep_their_invariants() {
    for (name, bytes) in inputs("reply") {
        for reply in read_replies(&bytes) {
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
}

/// The wire form and the input have the same lines (any of CRLF, CR or LF
/// ending one), each dot-stuffed, and nothing else ends DATA.
#[test]
fn the_wire_form_of_any_message_has_its_lines_and_one_end() {
    for (name, message) in inputs("data") {
        let wire = on_the_wire(&message);
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
        assert_eq!(unstuffed, lines_of(&message), "{name}");
    }
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

/// Address lists go through `to` of a composed message and of a raw
/// message's envelope: either they are refused with the field named, or the
/// message has recipients and no line break came from them into a header.
#[test]
fn address_lists_are_refused_by_name_or_give_clean_recipients() {
    for (name, bytes) in inputs("address") {
        let composed = vec![field("from", Value::str("me@example.com")), field("to", Value::Bytes(bytes.clone()))];
        let envelope = Value::Array(vec![field("from", Value::str("me@example.com")), field("to", Value::Bytes(bytes.clone()))]);
        let raw = vec![field("raw", Value::str("Subject: x\r\n\r\nbody\r\n")), field("envelope", envelope)];
        for message in [composed, raw] {
            match message::from_value(&message) {
                Ok(out) => {
                    assert!(!out.recipients.is_empty(), "{name}");
                    for recipient in &out.recipients {
                        let text = recipient.to_string();
                        assert!(!text.contains(['\r', '\n', '\0']), "{name}: {text:?}");
                    }
                }
                Err(e) => assert!(e.0.starts_with("$message"), "{name}: {}", e.0),
            }
        }
    }
}
