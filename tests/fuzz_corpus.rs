//! Fuzz-style tests of everything that parses outside input, on the stable
//! toolchain: each file of tests/fuzz-corpus/ and a fixed set of mutations of
//! it go through the parser, which must not panic and must keep its
//! invariants (tests/fuzz_checks/, shared with the cargo-fuzz targets in
//! fuzz/). A new case found anywhere (a bug report, a hostile server, a
//! cargo-fuzz crash) is added as a file to the corpus.
//!
//! Run with `cargo test --no-default-features --test fuzz_corpus`.

mod fuzz_checks;

use std::path::PathBuf;

/// Mutations of each corpus file; fixed seeds, so a failure reproduces.
const MUTATIONS: u64 = 300;

fn corpus(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|entry| entry.unwrap().path()).collect();
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

#[test]
fn replies_and_capabilities_parse_without_panic_and_keep_their_invariants() {
    for (name, bytes) in inputs("reply") {
        fuzz_checks::replies(&name, &bytes);
    }
}

/// The wire form and the input have the same lines (any of CRLF, CR or LF
/// ending one), each dot-stuffed, and nothing else ends DATA.
#[test]
fn the_wire_form_of_any_message_has_its_lines_and_one_end() {
    for (name, message) in inputs("data") {
        fuzz_checks::wire(&name, &message);
    }
}

/// Address lists go through `to` of a composed message and of a raw
/// message's envelope: either they are refused with the field named, or the
/// message has recipients and no line break came from them into a header.
#[test]
fn address_lists_are_refused_by_name_or_give_clean_recipients() {
    for (name, bytes) in inputs("address") {
        fuzz_checks::address_list(&name, &bytes);
    }
}

/// Whole `$message` arrays, written as form lines (`to[]=a@example.com`, see
/// `fuzz_checks::form_to_value`): refused with the field named, or built
/// with clean recipients and a DATA wire form that keeps its invariants.
#[test]
fn message_fields_and_headers_are_refused_by_name_or_build_a_clean_message() {
    for (name, form) in inputs("message") {
        fuzz_checks::message_form(&name, &form);
    }
}

#[test]
fn the_form_lines_give_the_php_array_they_spell() {
    use rust_mail::value::{Key, Value};
    let value = fuzz_checks::form_to_value(b"from=a@b.c\nto[]=x\nto[]=y\nheaders[X-A]=1%0D%0A2\nport=(int)25\nno equals sign\n");
    let list = Value::Array(vec![(Key::Index(0), Value::str("x")), (Key::Index(1), Value::str("y"))]);
    let headers = Value::Array(vec![(Key::Name("X-A".into()), Value::str("1\r\n2"))]);
    assert_eq!(
        value,
        vec![
            (Key::Name("from".into()), Value::str("a@b.c")),
            (Key::Name("to".into()), list),
            (Key::Name("headers".into()), headers),
            (Key::Name("port".into()), Value::Int(25)),
        ]
    );
}

/// The seeds that spell a good message build one, so the fuzzing gets past
/// the first refusal.
#[test]
fn the_good_message_seeds_build() {
    for (name, form) in corpus("message") {
        let good = !matches!(name.as_str(), "headers" | "not-utf8" | "raw-with-subject" | "subject-injection" | "wrong-types");
        let built = rust_mail::message::from_value(&fuzz_checks::form_to_value(&form), &rust_mail::message::Limits::default());
        assert_eq!(built.is_ok(), good, "{name}: {:?}", built.err());
    }
}
