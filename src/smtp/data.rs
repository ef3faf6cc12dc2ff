//! The message as it goes on the wire: after DATA (RFC 5321 section 4.5.2),
//! or as the one chunk of `BDAT <n> LAST` (RFC 3030).

use std::borrow::Cow;

/// Every line ended by CRLF, a "." added to each line that starts with one,
/// and the terminating ".".
///
/// A bare CR or a bare LF becomes a CRLF of its own. Receivers disagree on
/// what ends a line; left as they are, "\r.\r\n" or "\n.\n" in a body ends
/// DATA early on a receiver that takes a bare CR or LF as a line end, and
/// what follows is read as a second message nobody checked (SMTP smuggling).
/// Normalised, every receiver sees the same lines, and each dot-stuffed.
pub fn on_the_wire(message: &[u8]) -> Vec<u8> {
    let mut wire = canonical(message, true);
    wire.extend_from_slice(b".\r\n");
    wire
}

/// The chunk for `BDAT <n> LAST`: the same lines as after DATA, each ended
/// by CRLF, but no dot-stuffing and no terminator, since the length ends
/// the chunk (RFC 3030 section 2). The receiver sees the same message
/// either way. A message whose lines all end in CRLF already (what the
/// composer and PHPMailer give) is that chunk as it is: borrowed, not
/// copied, since it can be megabytes.
pub fn chunk(message: &[u8]) -> Cow<'_, [u8]> {
    if size(message) == message.len() as u64 {
        Cow::Borrowed(message)
    } else {
        Cow::Owned(canonical(message, false))
    }
}

/// The size of the message as [`chunk`] gives it, as RFC 1870 counts it
/// (CRLF line ends, no dot-stuffing), without building it: each bare CR or
/// LF becomes two octets, and an unended last line gets its CRLF.
pub fn size(message: &[u8]) -> u64 {
    let mut size = message.len() as u64;
    let mut ends_a_line = false;
    let mut at = 0;
    while let Some(found) = memchr::memchr2(b'\r', b'\n', &message[at..]) {
        let end = at + found;
        let crlf = message[end] == b'\r' && message.get(end + 1) == Some(&b'\n');
        if !crlf {
            size += 1;
        }
        at = end + if crlf { 2 } else { 1 };
        ends_a_line = at == message.len();
    }
    if !ends_a_line {
        size += 2;
    }
    size
}

/// Every line ended by CRLF (bare CR and bare LF included), the last one
/// too; with `stuff_dots`, a "." added to each line that starts with one.
fn canonical(message: &[u8], stuff_dots: bool) -> Vec<u8> {
    let mut wire = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut at_line_start = true;
    let mut rest = message;
    // Line by line, each line's bytes copied at once: the message can be megabytes.
    while !rest.is_empty() {
        if stuff_dots && at_line_start && rest[0] == b'.' {
            wire.push(b'.');
        }
        let Some(end) = memchr::memchr2(b'\r', b'\n', rest) else {
            wire.extend_from_slice(rest);
            at_line_start = false;
            break;
        };
        wire.extend_from_slice(&rest[..end]);
        wire.extend_from_slice(b"\r\n");
        // A CR right before an LF is one line end; any other CR or LF is one of its own.
        let crlf = rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n');
        rest = &rest[end + if crlf { 2 } else { 1 }..];
        at_line_start = true;
    }
    // The terminator must start a line of its own; an empty message is one
    // empty line.
    if !at_line_start || message.is_empty() {
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(message: &str) -> String {
        String::from_utf8(on_the_wire(message.as_bytes())).unwrap()
    }

    #[test]
    fn lines_end_in_crlf_and_the_message_in_a_dot() {
        assert_eq!(wire("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
        assert_eq!(wire("a\r\nb"), "a\r\nb\r\n.\r\n");
        assert_eq!(wire(""), "\r\n.\r\n");
    }

    #[test]
    fn leading_dots_are_doubled() {
        assert_eq!(wire(".a\r\n..b\r\nc.d\r\n.\r\n"), "..a\r\n...b\r\nc.d\r\n..\r\n.\r\n");
    }

    #[test]
    fn a_chunk_has_the_same_lines_without_stuffing_or_terminator() {
        let chunk = |m: &str| String::from_utf8(chunk(m.as_bytes()).into_owned()).unwrap();
        assert_eq!(chunk(".a\r\n..b\nc\rd"), ".a\r\n..b\r\nc\r\nd\r\n");
        assert_eq!(chunk("a\r\n.\r\n"), "a\r\n.\r\n");
        assert_eq!(chunk(""), "\r\n");
        // Unstuffed, the DATA form is the chunk plus the terminator.
        let message = "Subject: x\r\n\r\nbody\nmore";
        assert_eq!(wire(message), format!("{}.\r\n", chunk(message)));
    }

    #[test]
    fn a_message_already_in_crlf_lines_is_its_own_chunk_not_a_copy() {
        assert!(matches!(chunk(b"Subject: x\r\n\r\nbody\r\n"), Cow::Borrowed(_)));
        for message in ["Subject: x\r\n\r\nbody", "a\nb\r\n", "a\rb\r\n", ""] {
            assert!(matches!(chunk(message.as_bytes()), Cow::Owned(_)), "{}", message.escape_debug());
        }
    }

    #[test]
    fn size_is_the_length_of_the_chunk() {
        for message in ["", "a", "a\r\n", "a\n", "a\r", "\r\n", "\n\r", "a\r\r\nb", ".x\r\n.\r\n", "x\n\ny\r\n\r\n"] {
            assert_eq!(size(message.as_bytes()), chunk(message.as_bytes()).len() as u64, "{}", message.escape_debug());
        }
    }

    /// The sequences of the SMTP smuggling research (SEC Consult, 2023): each
    /// is a line holding a dot on a receiver that reads bare CR or LF as a
    /// line end. On the wire, each becomes a dot-stuffed ".." line, followed
    /// by the smuggled command as an ordinary body line.
    #[test]
    fn smuggling_sequences_become_stuffed_lines() {
        for ending in ["\n.\n", "\r.\r", "\r\n.\r", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\n.\r", "\r.\n"] {
            let message = format!("Hi{ending}MAIL FROM:<evil@example.com>\r\n");
            assert_eq!(wire(&message), "Hi\r\n..\r\nMAIL FROM:<evil@example.com>\r\n.\r\n", "{}", ending.escape_debug());
        }
        // A CR right before an LF is one line end; any other CR is one of its own.
        assert_eq!(wire("Hi\r\r\n.\r\r\n"), "Hi\r\n\r\n..\r\n\r\n.\r\n");
        assert_eq!(wire("Hi\n\r.\n\r"), "Hi\r\n\r\n..\r\n\r\n.\r\n");
    }
}
