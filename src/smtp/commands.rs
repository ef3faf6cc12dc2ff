//! Command lines built from values, apart from the I/O that sends them
//! (lettre's `commands.rs`). Each is one line without its CRLF.

use crate::message::Dsn;
use crate::smtp::data;
use crate::smtp::reply::Capabilities;
use lettre::transport::smtp::authentication::Mechanism;

pub const STARTTLS: &str = "STARTTLS";
pub const DATA: &str = "DATA";
pub const RSET: &str = "RSET";
pub const QUIT: &str = "QUIT";

/// EHLO with the name this client gives itself (RFC 5321 section 4.1.1.1).
pub fn ehlo(name: &str) -> String {
    format!("EHLO {name}")
}

/// HELO, for a server that does not know EHLO.
pub fn helo(name: &str) -> String {
    format!("HELO {name}")
}

/// The one and last chunk of a message of `size` bytes (RFC 3030).
pub fn bdat_last(size: usize) -> String {
    format!("BDAT {size} LAST")
}

/// AUTH with the mechanism and, when it has one, the base64 initial
/// response (RFC 4954 section 4).
pub fn auth(mechanism: Mechanism, initial_response: Option<&str>) -> String {
    match initial_response {
        Some(response) => format!("AUTH {mechanism} {response}"),
        None => format!("AUTH {mechanism}"),
    }
}

/// One transaction's envelope: the MAIL FROM line with its parameters and
/// one RCPT TO line a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub mail: String,
    pub rcpts: Vec<String>,
}

/// The envelope the send path and the diagnose walk both send. `from` is
/// the reverse-path ("" for the null sender `<>`); `message` is the message
/// that follows, when there is one. Parameters only when the server offers
/// them in `capabilities`: SIZE (RFC 1870) with the message's size,
/// SMTPUTF8 (RFC 6531) when an address is not ASCII, BODY=8BITMIME
/// (RFC 6152) for an 8-bit message, the `dsn` asked for (RFC 3461: RET and
/// ENVID on MAIL FROM, NOTIFY and ORCPT on each RCPT TO) when the server
/// offers DSN.
pub fn envelope<R: AsRef<str>>(from: &str, recipients: &[R], message: Option<&[u8]>, dsn: Option<&Dsn>, capabilities: &Capabilities) -> Envelope {
    let mut parameters = String::new();
    if let Some(message) = message.filter(|_| capabilities.has("SIZE")) {
        // RFC 1870 section 3: the octets after DATA's 354 with CRLF line ends, without dot-stuffing or the final
        // dot, which is also the BDAT chunk's length.
        parameters.push_str(&format!(" SIZE={}", data::size(message)));
    }
    let utf8_addresses = capabilities.has("SMTPUTF8") && (!from.is_ascii() || recipients.iter().any(|r| !r.as_ref().is_ascii()));
    if utf8_addresses {
        parameters.push_str(" SMTPUTF8");
    }
    if message.is_some_and(|m| !m.is_ascii()) && capabilities.has("8BITMIME") {
        parameters.push_str(" BODY=8BITMIME");
    }
    let dsn = dsn.filter(|_| capabilities.has("DSN"));
    let rcpt = |r: &str| format!("RCPT TO:<{r}>{}", dsn.map(|d| d.rcpt_parameters_for(r)).unwrap_or_default());
    Envelope {
        mail: format!("MAIL FROM:<{from}>{parameters}{}", dsn.map(Dsn::mail_parameters).unwrap_or_default()),
        rcpts: recipients.iter().map(|r| rcpt(r.as_ref())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::Reply;
    use crate::value::{Key, Value};

    fn offering(extensions: &[&str]) -> Capabilities {
        let lines = std::iter::once("mail.example.com").chain(extensions.iter().copied()).map(String::from).collect();
        Capabilities::from_ehlo(&Reply::new(250, lines))
    }

    #[test]
    fn command_lines() {
        assert_eq!(ehlo("client.example"), "EHLO client.example");
        assert_eq!(helo("client.example"), "HELO client.example");
        assert_eq!(bdat_last(1234), "BDAT 1234 LAST");
        assert_eq!(auth(Mechanism::Plain, Some("AGEAYg==")), "AUTH PLAIN AGEAYg==");
        assert_eq!(auth(Mechanism::Login, None), "AUTH LOGIN");
    }

    #[test]
    fn size_is_declared_when_the_server_offers_it_and_a_message_follows() {
        let message: &[u8] = b"Subject: x\n\n.dot\r\n";
        let e = envelope("a@example.com", &["b@example.com"], Some(message), None, &offering(&["SIZE 1000"]));
        assert_eq!(e.mail, format!("MAIL FROM:<a@example.com> SIZE={}", data::chunk(message).len()));
        assert_eq!(e.mail, "MAIL FROM:<a@example.com> SIZE=20");
        // SIZE without a limit (or 0) is still the extension.
        assert_eq!(envelope("a@example.com", &["b@example.com"], Some(message), None, &offering(&["SIZE"])).mail, "MAIL FROM:<a@example.com> SIZE=20");
        assert_eq!(envelope("a@example.com", &["b@example.com"], None, None, &offering(&["SIZE 1000"])).mail, "MAIL FROM:<a@example.com>");
        assert_eq!(envelope("a@example.com", &["b@example.com"], Some(message), None, &offering(&["8BITMIME"])).mail, "MAIL FROM:<a@example.com>");
    }

    #[test]
    fn plain_envelope_has_no_parameters() {
        let all = offering(&["SMTPUTF8", "8BITMIME"]);
        let e = envelope("a@example.com", &["b@example.com", "c@example.com"], Some(b"x".as_slice()), None, &all);
        assert_eq!(e.mail, "MAIL FROM:<a@example.com>");
        assert_eq!(e.rcpts, ["RCPT TO:<b@example.com>", "RCPT TO:<c@example.com>"]);
        assert_eq!(envelope("", &["b@example.com"], Some(b"x".as_slice()), None, &all).mail, "MAIL FROM:<>");
    }

    #[test]
    fn smtputf8_when_an_address_needs_it_and_the_server_offers_it() {
        let all = offering(&["SMTPUTF8", "8BITMIME"]);
        assert_eq!(envelope("jörg@example.com", &["b@example.com"], Some(b"x".as_slice()), None, &all).mail, "MAIL FROM:<jörg@example.com> SMTPUTF8");
        assert_eq!(envelope("a@example.com", &["b@bücher.example"], Some(b"x".as_slice()), None, &all).mail, "MAIL FROM:<a@example.com> SMTPUTF8");
        assert_eq!(
            envelope("jörg@example.com", &["b@example.com"], Some(b"x".as_slice()), None, &offering(&["8BITMIME"])).mail,
            "MAIL FROM:<jörg@example.com>"
        );
    }

    #[test]
    fn dsn_parameters_only_when_the_server_offers_dsn() {
        let fields = crate::value::named(&[("notify", Value::str("failure,delay")), ("ret", Value::str("headers")), ("envid", Value::str("id-1"))]);
        let message = vec![(Key::Name("dsn".into()), Value::Array(fields))];
        let dsn = Dsn::from_fields(&crate::value::Fields::new("message", &message, &["dsn"]).unwrap()).unwrap();
        let e = envelope("a@example.com", &["b@example.com", "c@example.com"], Some("ü".as_bytes()), dsn.as_ref(), &offering(&["8BITMIME", "DSN"]));
        assert_eq!(e.mail, "MAIL FROM:<a@example.com> BODY=8BITMIME RET=HDRS ENVID=id-1");
        assert_eq!(
            e.rcpts,
            [
                "RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com",
                "RCPT TO:<c@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;c@example.com"
            ]
        );
        let e = envelope("a@example.com", &["jürgen@example.com"], Some(b"x".as_slice()), dsn.as_ref(), &offering(&["DSN", "SMTPUTF8"]));
        assert_eq!(e.rcpts, ["RCPT TO:<jürgen@example.com> NOTIFY=FAILURE,DELAY ORCPT=utf-8;jürgen@example.com"]);
        let e = envelope("a@example.com", &["b@example.com"], Some(b"x".as_slice()), dsn.as_ref(), &offering(&["8BITMIME"]));
        assert_eq!((e.mail.as_str(), e.rcpts[0].as_str()), ("MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>"));
    }

    #[test]
    fn eight_bit_body_when_the_server_offers_8bitmime() {
        let all = offering(&["SMTPUTF8", "8BITMIME"]);
        assert_eq!(envelope("a@example.com", &["b@example.com"], Some("ü".as_bytes()), None, &all).mail, "MAIL FROM:<a@example.com> BODY=8BITMIME");
        assert_eq!(
            envelope("jörg@example.com", &["b@example.com"], Some("ü".as_bytes()), None, &all).mail,
            "MAIL FROM:<jörg@example.com> SMTPUTF8 BODY=8BITMIME"
        );
        assert_eq!(envelope("a@example.com", &["b@example.com"], Some("ü".as_bytes()), None, &offering(&["SMTPUTF8"])).mail, "MAIL FROM:<a@example.com>");
    }
}
