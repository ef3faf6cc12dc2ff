//! What went wrong while talking to the server, as data.
//!
//! A [`SendError`] is the network's or the server's answer: it is returned in
//! the result array, with an [`ErrorKind`] a program can branch on, the
//! [`Stage`] and [`Problem`] the classifier reads, and a flag saying whether
//! trying again later may work. Beside the protocol values it carries
//! ([`Reply`]), as lettre keeps its error beside its response type.

use super::reply::Reply;
use std::fmt;

/// What failed while talking to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host name did not resolve (RFC 5321 section 5: the client must
    /// resolve the name before it can connect).
    Dns,
    /// The host answered with a TCP reset: nothing listens on that port.
    ConnectRefused,
    /// No TCP answer at all before the deadline: usually a firewall that
    /// drops packets.
    ConnectTimeout,
    /// STARTTLS was required but not offered (RFC 3207 section 4), or the
    /// TLS handshake or certificate check failed.
    Tls,
    /// AUTH failed (RFC 4954 section 6: 535), no common mechanism, or it
    /// would have sent credentials without TLS.
    Auth,
    /// MAIL FROM was refused (RFC 5321 section 4.1.1.2).
    SenderRejected,
    /// Every RCPT TO was refused (RFC 5321 section 4.1.1.3).
    RecipientRejected,
    /// DATA or the message itself was refused (RFC 5321 section 4.1.1.4).
    DataRejected,
    /// The whole operation ran past its deadline after the connection was made.
    Timeout,
    /// The server broke the protocol: closed the connection, sent garbage, or
    /// refused the greeting or EHLO.
    Protocol,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Dns,
        ErrorKind::ConnectRefused,
        ErrorKind::ConnectTimeout,
        ErrorKind::Tls,
        ErrorKind::Auth,
        ErrorKind::SenderRejected,
        ErrorKind::RecipientRejected,
        ErrorKind::DataRejected,
        ErrorKind::Timeout,
        ErrorKind::Protocol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::SenderRejected => "sender_rejected",
            ErrorKind::RecipientRejected => "recipient_rejected",
            ErrorKind::DataRejected => "data_rejected",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// The step of a session a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dns,
    Connect,
    /// The TLS handshake, right after connecting (implicit TLS) or after STARTTLS.
    TlsHandshake,
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    MailFrom,
    RcptTo,
    /// The DATA command.
    Data,
    /// The message itself and the reply after its final ".".
    Message,
    Rset,
    Quit,
    /// An HTTPS API: sending the request and waiting for its answer.
    Request,
    /// Before anything was sent: the message cannot go as it is (larger than the API takes).
    Input,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "dns",
            Stage::Connect => "connect",
            Stage::TlsHandshake => "tls_handshake",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "ehlo",
            Stage::Starttls => "starttls",
            Stage::Auth => "auth",
            Stage::MailFrom => "mail",
            Stage::RcptTo => "rcpt",
            Stage::Data => "data",
            Stage::Message => "message",
            Stage::Rset => "rset",
            Stage::Quit => "quit",
            Stage::Request => "request",
            Stage::Input => "input",
        }
    }

    /// The stage of a command line, from its verb.
    pub fn of_command(line: &str) -> Stage {
        let verb = line.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => Stage::Ehlo,
            "STARTTLS" => Stage::Starttls,
            "AUTH" => Stage::Auth,
            "MAIL" => Stage::MailFrom,
            "RCPT" => Stage::RcptTo,
            "DATA" => Stage::Data,
            // BDAT's reply is the verdict on the message, as the reply after DATA's final dot.
            "BDAT" => Stage::Message,
            "RSET" => Stage::Rset,
            _ => Stage::Quit,
        }
    }

    /// For messages: "the server did not answer {this}".
    pub fn waiting_for(self) -> &'static str {
        match self {
            Stage::Dns => "the name lookup",
            Stage::Connect => "the connection",
            Stage::TlsHandshake => "the TLS handshake",
            Stage::Greeting => "with its greeting",
            Stage::Ehlo => "to EHLO",
            Stage::Starttls => "to STARTTLS",
            Stage::Auth => "to AUTH",
            Stage::MailFrom => "to MAIL",
            Stage::RcptTo => "to RCPT",
            Stage::Data => "to DATA",
            Stage::Message => "after the message",
            Stage::Rset => "to RSET",
            Stage::Quit => "to QUIT",
            Stage::Request => "to the request",
            Stage::Input => "before sending",
        }
    }
}

/// A certificate the client could not accept, by what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProblem {
    NameMismatch,
    Expired,
    NotYetValid,
    SelfSigned,
    UnknownIssuer,
    BadSignature,
    Revoked,
    Other,
}

impl CertProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            CertProblem::NameMismatch => "name_mismatch",
            CertProblem::Expired => "expired",
            CertProblem::NotYetValid => "not_yet_valid",
            CertProblem::SelfSigned => "self_signed",
            CertProblem::UnknownIssuer => "unknown_issuer",
            CertProblem::BadSignature => "bad_signature",
            CertProblem::Revoked => "revoked",
            CertProblem::Other => "other",
        }
    }
}

impl SendError {
    /// What is wrong with the server's certificate, when that is why the handshake failed.
    pub fn certificate_problem(&self) -> Option<CertProblem> {
        match self.problem {
            Problem::Tls(TlsProblem::Certificate(problem)) => Some(problem),
            _ => None,
        }
    }
}

/// How a TLS handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    Certificate(CertProblem),
    /// No TLS version (or cipher) both sides support.
    Version,
    /// The server ended the handshake with this alert (RFC 8446 section 6, by number).
    Alert(u8),
    /// The bytes that came back are not TLS.
    NotTls,
    /// The server closed the connection during the handshake.
    Closed,
    /// The client's own TLS settings (a CA file, a host name that cannot be checked).
    Config,
    Other,
}

/// What happened, as data: what a classifier reads, instead of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The server answered with a negative reply (in [`SendError::reply`]).
    Refused,
    /// The host name did not resolve.
    Unresolved,
    /// TCP reset (or another error answered at once): nothing listens.
    ConnectRefused,
    /// No TCP answer before the deadline.
    ConnectTimeout,
    /// No route to the host or network.
    Unreachable,
    /// The server closed the connection.
    Closed,
    /// Another I/O error.
    Io(std::io::ErrorKind),
    /// No answer before the call's deadline.
    Timeout,
    /// A line that is not an SMTP reply (an HTTP server, a TLS record).
    NotSmtp,
    /// A reply longer than any real server sends.
    ReplyTooLarge,
    /// security 'starttls' and the EHLO reply lists no STARTTLS.
    StarttlsNotOffered,
    Tls(TlsProblem),
    /// No AUTH mechanism offered that the auth setting allows.
    NoAuthMechanism,
    /// The login would have gone without TLS to a remote server.
    InsecureAuth,
    /// The port speaks TLS from the first byte, but security is not 'tls'.
    ImplicitTlsPort,
    /// security is 'tls', but the port greets in plain text.
    PlainTextPort,
    /// No greeting, yet an answer to EHLO.
    NoGreeting,
    /// An address has non-ASCII characters before the '@' and the server
    /// does not offer SMTPUTF8 (RFC 6531 section 3.4: such a message must
    /// not be sent to it).
    NeedsSmtputf8,
    /// The message is larger than the SIZE the server offered (RFC 1870): not sent.
    OverSizeLimit,
    /// A state the client should never be in.
    Internal,
    /// An HTTPS API refused the request or answered with what is not its API: its answer, judged.
    Api(Box<crate::api::Refusal>),
}

/// A failed delivery attempt.
#[derive(Debug, Clone)]
pub struct SendError {
    pub kind: ErrorKind,
    pub stage: Stage,
    pub problem: Problem,
    /// For people; never read back by the code.
    pub message: String,
    /// The server reply that caused it, when there was one.
    pub reply: Option<Reply>,
    /// The SIZE the server offered in EHLO, when known.
    pub size_limit: Option<u64>,
}

impl SendError {
    pub fn new(kind: ErrorKind, stage: Stage, problem: Problem, message: impl Into<String>) -> Self {
        SendError { kind, stage, problem, message: message.into(), reply: None, size_limit: None }
    }

    pub fn from_reply(kind: ErrorKind, stage: Stage, what: &str, reply: Reply) -> Self {
        SendError { kind, stage, problem: Problem::Refused, message: format!("{what}: {}", reply.one_line()), reply: Some(reply), size_limit: None }
    }

    /// Worth retrying later: a 4xx reply (RFC 5321 section 4.2.1, "transient
    /// negative completion") or a network failure. A 5xx is permanent, and so
    /// are TLS and credential problems, which need a configuration change.
    /// An API's refusal says for itself (see [`crate::api::Refusal::transient`]).
    pub fn is_transient(&self) -> bool {
        if let Problem::Api(refusal) = &self.problem {
            return refusal.transient;
        }
        match &self.reply {
            Some(reply) => reply.is_transient(),
            None => matches!(self.kind, ErrorKind::Dns | ErrorKind::ConnectRefused | ErrorKind::ConnectTimeout | ErrorKind::Timeout | ErrorKind::Protocol),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}
