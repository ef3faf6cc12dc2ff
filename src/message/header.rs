//! Header fields as RFC 5322 wants them on the wire: folded at whitespace to
//! about 78 octets, and never a line over 998 (section 2.1.1). What cannot
//! be folded or sent as it is goes as RFC 2047 encoded-words: non-ASCII
//! text, text that reads as an encoded-word (a reader would decode it, RFC
//! 2047 section 5), and a word too long for any line. Address lists fold
//! between addresses. lettre's own encoders fold neither address lists nor
//! long ASCII words, and send lookalikes raw.

use email_encoding::headers::writer::EmailWriter;
use email_encoding::headers::{quoted_string, rfc2047};
use lettre::message::Mailbox;
use std::fmt::Write;

/// The line length folding aims at (RFC 5322 section 2.1.1's 78, less the
/// margin email-encoding's writer keeps).
const FOLD_AT: usize = 76;
/// The longest header name taken: with its ": " it fills the 78 characters
/// RFC 5322 section 2.1.1 wants a line to keep to. A name cannot be folded,
/// so a longer one would crowd its value toward the hard limit.
pub const MAX_NAME: usize = 76;
/// RFC 5322's hard limit on a line, without its CRLF.
const MAX_LINE: usize = 998;
/// The longest word of a name sent as a quoted string, escapes counted: it
/// fits a line with its quotes, after the longest "Name: " of an address field.
const LONGEST_NAME_WORD: usize = MAX_LINE - 80;

/// "Name: value\r\n" of an unstructured field (Subject, a custom header).
pub fn unstructured_line(name: &str, value: &str) -> String {
    format!("{name}: {}\r\n", unstructured(name, value))
}

/// The folded, encoded value of an unstructured field called `name`, for
/// after its "Name: ". Runs of words that need encoding are encoded
/// together, so that the spaces between them survive (a reader drops the
/// whitespace between adjacent encoded-words).
pub fn unstructured(name: &str, value: &str) -> String {
    // A plain word may land on the first line, after "Name: ", and the value's trailing spaces after the last.
    let longest_plain_word = MAX_LINE.saturating_sub(name.len() + 2 + MAX_SPACE_RUN);
    let mut out = String::with_capacity(value.len() + value.len() / 32);
    let mut w = EmailWriter::new(&mut out, name.len() + 2, 0, false);
    let mut to_encode = String::new();
    for (i, (spaces, word)) in spaced_words(value).enumerate() {
        let plain = !needs_encoding(word) && spaces <= MAX_SPACE_RUN && spaces + word.len() <= longest_plain_word;
        if plain {
            flush_encoded(&mut to_encode, &mut w);
            (0..spaces).for_each(|_| w.space());
            w.folding().write_str(word).expect("writing to a String");
        } else if to_encode.is_empty() && spaces <= MAX_SPACE_RUN {
            (0..spaces).for_each(|_| w.space());
            to_encode.push_str(word);
        } else {
            // A long run of spaces goes inside the encoded-word, all but the one that separates it from a word before
            // (a reader drops the spaces that start a value, so a value's own leading run is all inside).
            let inside = if to_encode.is_empty() && spaces > 0 && i > 0 {
                w.space();
                spaces - 1
            } else {
                spaces
            };
            to_encode.extend(std::iter::repeat_n(' ', inside));
            to_encode.push_str(word);
        }
    }
    flush_encoded(&mut to_encode, &mut w);
    drop(w);
    out
}

/// The most spaces written as they are between two words. The writer puts a
/// run of spaces on one line, where the next word goes, folding before the
/// run but never within it: a longer run (a thousand spaces would make a
/// line over 998 octets) goes inside an encoded-word instead.
const MAX_SPACE_RUN: usize = 76;

/// `value` as (spaces before, word) pairs; trailing spaces come as a last
/// pair with an empty word.
fn spaced_words(value: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let word = rest.trim_start_matches(' ');
        let spaces = rest.len() - word.len();
        let end = word.find(' ').unwrap_or(word.len());
        rest = &word[end..];
        Some((spaces, &word[..end]))
    })
}

/// Writes the words gathered in `words` (spaces between them included) as encoded-words.
fn flush_encoded(words: &mut String, w: &mut EmailWriter<'_>) {
    if words.is_empty() {
        return;
    }
    rfc2047::encode(words, w).expect("writing to a String");
    words.clear();
}

/// A word that cannot go as it is: non-ASCII or control characters (other
/// than tab), or one a reader would decode as an RFC 2047 encoded-word.
fn needs_encoding(word: &str) -> bool {
    word.bytes().any(|b| !(b == b'\t' || (b' '..=b'~').contains(&b))) || looks_encoded(word)
}

/// `=?` followed later by `?=`: what readers decode, even inside a longer word.
fn looks_encoded(word: &str) -> bool {
    word.find("=?").is_some_and(|start| word[start + 2..].contains("?="))
}

/// The value of an address field (From, To, Cc, Reply-To, Bcc): the
/// mailboxes separated by ", ", folded between them.
pub fn address_list(name: &str, mailboxes: &[Mailbox]) -> String {
    let mut out = String::new();
    let mut column = name.len() + 2;
    for (i, mailbox) in mailboxes.iter().enumerate() {
        // The first begins after "Name: "; each other one where the line it goes on is known only once it is written.
        let text = mailbox_text(mailbox, if i == 0 { column } else { 1 });
        let first_line = text.split("\r\n").next().unwrap_or_default().len();
        if i > 0 {
            out.push(',');
            column += 1;
            if column + 1 + first_line > FOLD_AT {
                out.push_str("\r\n ");
                column = 1;
            } else {
                out.push(' ');
                column += 1;
            }
        }
        out.push_str(&text);
        column = match text.rsplit_once("\r\n") {
            Some((_, last)) => last.len(),
            None => column + first_line,
        };
    }
    out
}

/// One mailbox, written from `column` on: `addr` or `name <addr>`, the name
/// folded or encoded as a phrase.
fn mailbox_text(mailbox: &Mailbox, column: usize) -> String {
    let mut out = String::new();
    let mut w = EmailWriter::new(&mut out, column, 0, false);
    match mailbox.name.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => {
            // A name is a quoted string, folded at its spaces; one with a word no line can hold, or a run of
            // spaces the writer would put on one line, is encoded (RFC 2047 section 6.2: a reader joins the
            // encoded-words; Python's policy=default phrase parser puts a space between them, as it does in what it
            // writes itself).
            let too_long = |word: &str| word.len() + word.matches(['"', '\\']).count() > LONGEST_NAME_WORD;
            if name.split(' ').any(too_long) || spaced_words(name).any(|(spaces, _)| spaces > MAX_SPACE_RUN) {
                rfc2047::encode(name, &mut w)
            } else {
                quoted_string::encode(name, &mut w)
            }
            .expect("writing to a String");
            w.space();
            w.folding().write_str(&format!("<{}>", mailbox.email)).expect("writing to a String");
        }
        None => w.write_str(mailbox.email.as_ref()).expect("writing to a String"),
    }
    drop(w);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(name: &str, value: &str) -> Vec<String> {
        format!("{name}: {value}").split("\r\n").map(str::to_string).collect()
    }

    #[test]
    fn long_unbroken_text_is_encoded_and_every_line_fits() {
        let subject = "x".repeat(5000);
        let value = unstructured("Subject", &subject);
        assert!(value.starts_with("=?utf-8?b?"), "{value}");
        assert!(lines("Subject", &value).iter().all(|l| l.len() <= 78 && l.len() > 1), "{value}");
    }

    #[test]
    fn text_with_spaces_is_folded_not_encoded() {
        let subject = "word ".repeat(200);
        let value = unstructured("Subject", subject.trim_end());
        assert!(!value.contains("=?"), "{value}");
        assert!(lines("Subject", &value).iter().all(|l| l.len() <= 78), "{value}");
        assert_eq!(value.replace("\r\n", ""), subject.trim_end());
        // A word longer than a fold but shorter than a line stays as it is, on its own line.
        let url = format!("<https://example.com/{}>", "u".repeat(300));
        assert_eq!(unstructured("List-Unsubscribe", &url), url);
    }

    #[test]
    fn a_long_run_of_spaces_goes_inside_an_encoded_word() {
        for subject in
            [format!("a{}b", " ".repeat(1500)), format!("{}x", " ".repeat(1200)), format!("x{}", " ".repeat(3000)), format!("ü{}b", " ".repeat(2000))]
        {
            let value = unstructured("Subject", &subject);
            assert!(lines("Subject", &value).iter().all(|l| l.len() <= MAX_LINE), "{}", subject.len());
            assert!(value.contains("=?utf-8?b?"), "{value}");
        }
        // Short runs stay as they are, and words keep their spaces.
        assert_eq!(unstructured("Subject", "a   b  "), "a   b  ");
        assert_eq!(unstructured("Subject", "  a"), "  a");
        assert!(unstructured("Subject", &format!("{}x", " ".repeat(1200))).starts_with("=?utf-8?b?ICAg"));
        let words: Vec<_> = spaced_words(" a  bc ").collect();
        assert_eq!(words, [(1, "a"), (2, "bc"), (1, "")]);
    }

    #[test]
    fn encoded_word_lookalikes_are_encoded() {
        let value = unstructured("Subject", "Price =?utf-8?q?x?= list");
        assert!(value.starts_with("Price =?utf-8?b?") && value.ends_with("?= list"), "{value}");
        assert!(!value.contains("?q?"), "{value}");
        assert_eq!(unstructured("Subject", "what? =? no"), "what? =? no");
    }

    #[test]
    fn address_lists_fold_between_addresses() {
        let mailboxes: Vec<Mailbox> = (0..60).map(|i| format!("user{i}@example.com").parse().unwrap()).collect();
        let value = address_list("To", &mailboxes);
        let all = lines("To", &value);
        assert!(all.len() > 10 && all.iter().all(|l| l.len() <= 78), "{value}");
        assert_eq!(value.replace("\r\n", ""), mailboxes.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "));
        let named = Mailbox::new(Some("N".repeat(1200)), "n@example.com".parse().unwrap());
        assert!(lines("To", &address_list("To", &[named])).iter().all(|l| l.len() <= 78));
        let spaced = Mailbox::new(Some(format!("a{}b", " ".repeat(1500))), "n@example.com".parse().unwrap());
        assert!(lines("To", &address_list("To", &[spaced])).iter().all(|l| l.len() <= 78));
        // A long name that fits a line is sent as it is, on a line of its own.
        let named = Mailbox::new(Some("N".repeat(900)), "n@example.com".parse().unwrap());
        let value = address_list("To", &[Mailbox::new(None, "a@example.com".parse().unwrap()), named]);
        assert_eq!(value, format!("a@example.com,\r\n {}\r\n <n@example.com>", "N".repeat(900)));
    }
}
