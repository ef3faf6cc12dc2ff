//! Command lines built from values, apart from the I/O that sends them
//! (lettre's `commands.rs`). Each is one line without its CRLF.

use crate::message::Dsn;
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
/// the reverse-path ("" for the null sender `<>`); `body_8bit` says the
/// message has bytes outside ASCII. Parameters only when the server
/// offers them in `capabilities`: SMTPUTF8 (RFC 6531) when an address is
/// not ASCII, BODY=8BITMIME (RFC 6152) for an 8-bit message, the `dsn`
/// asked for (RFC 3461: RET and ENVID on MAIL FROM, NOTIFY on each RCPT TO)
/// when the server offers DSN. SIZE (RFC 1870) is not sent.
pub fn envelope<R: AsRef<str>>(from: &str, recipients: &[R], body_8bit: bool, dsn: Option<&Dsn>, capabilities: &Capabilities) -> Envelope {
    let mut parameters = String::new();
    let non_ascii_address = !from.is_ascii() || recipients.iter().any(|r| !r.as_ref().is_ascii());
    if non_ascii_address && capabilities.has("SMTPUTF8") {
        parameters.push_str(" SMTPUTF8");
    }
    if body_8bit && capabilities.has("8BITMIME") {
        parameters.push_str(" BODY=8BITMIME");
    }
    let dsn = dsn.filter(|_| capabilities.has("DSN"));
    let (dsn_mail, dsn_rcpt) = dsn.map(|d| (d.mail_parameters(), d.rcpt_parameters())).unwrap_or_default();
    Envelope {
        mail: format!("MAIL FROM:<{from}>{parameters}{dsn_mail}"),
        rcpts: recipients.iter().map(|r| format!("RCPT TO:<{}>{dsn_rcpt}", r.as_ref())).collect(),
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
    fn plain_envelope_has_no_parameters() {
        let all = offering(&["SMTPUTF8", "8BITMIME", "SIZE 1000"]);
        let e = envelope("a@example.com", &["b@example.com", "c@example.com"], false, None, &all);
        assert_eq!(e.mail, "MAIL FROM:<a@example.com>");
        assert_eq!(e.rcpts, ["RCPT TO:<b@example.com>", "RCPT TO:<c@example.com>"]);
        assert_eq!(envelope("", &["b@example.com"], false, None, &all).mail, "MAIL FROM:<>");
    }

    #[test]
    fn smtputf8_when_an_address_needs_it_and_the_server_offers_it() {
        let all = offering(&["SMTPUTF8", "8BITMIME"]);
        assert_eq!(envelope("jörg@example.com", &["b@example.com"], false, None, &all).mail, "MAIL FROM:<jörg@example.com> SMTPUTF8");
        assert_eq!(envelope("a@example.com", &["b@bücher.example"], false, None, &all).mail, "MAIL FROM:<a@example.com> SMTPUTF8");
        assert_eq!(envelope("jörg@example.com", &["b@example.com"], false, None, &offering(&["8BITMIME"])).mail, "MAIL FROM:<jörg@example.com>");
    }

    #[test]
    fn dsn_parameters_only_when_the_server_offers_dsn() {
        let fields = crate::value::named(&[("notify", Value::str("failure,delay")), ("ret", Value::str("headers")), ("envid", Value::str("id-1"))]);
        let message = vec![(Key::Name("dsn".into()), Value::Array(fields))];
        let dsn = Dsn::from_fields(&crate::value::Fields::new("message", &message, &["dsn"]).unwrap()).unwrap();
        let e = envelope("a@example.com", &["b@example.com", "c@example.com"], true, dsn.as_ref(), &offering(&["8BITMIME", "DSN"]));
        assert_eq!(e.mail, "MAIL FROM:<a@example.com> BODY=8BITMIME RET=HDRS ENVID=id-1");
        assert_eq!(e.rcpts, ["RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY", "RCPT TO:<c@example.com> NOTIFY=FAILURE,DELAY"]);
        let e = envelope("a@example.com", &["b@example.com"], false, dsn.as_ref(), &offering(&["8BITMIME"]));
        assert_eq!((e.mail.as_str(), e.rcpts[0].as_str()), ("MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>"));
    }

    #[test]
    fn eight_bit_body_when_the_server_offers_8bitmime() {
        let all = offering(&["SMTPUTF8", "8BITMIME"]);
        assert_eq!(envelope("a@example.com", &["b@example.com"], true, None, &all).mail, "MAIL FROM:<a@example.com> BODY=8BITMIME");
        assert_eq!(envelope("jörg@example.com", &["b@example.com"], true, None, &all).mail, "MAIL FROM:<jörg@example.com> SMTPUTF8 BODY=8BITMIME");
        assert_eq!(envelope("a@example.com", &["b@example.com"], true, None, &offering(&["SMTPUTF8"])).mail, "MAIL FROM:<a@example.com>");
    }
}
