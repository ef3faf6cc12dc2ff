//! The two ways a call can go wrong.
//!
//! A [`UsageError`] is the caller's mistake (a missing host, a header with a
//! line break): it becomes a PHP exception, because no retry can fix it.
//! A [`SendError`] is the network's or the server's answer: it is returned in
//! the result array, with a [`ErrorKind`] a program can branch on and a flag
//! saying whether trying again later may work.

use crate::smtp::reply::Reply;
use std::fmt;

/// A programming error in the arguments; the message names the field.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// A failed delivery attempt.
#[derive(Debug, Clone)]
pub struct SendError {
    pub kind: ErrorKind,
    pub message: String,
    /// The server reply that caused it, when there was one.
    pub reply: Option<Reply>,
}

impl SendError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SendError { kind, message: message.into(), reply: None }
    }

    pub fn from_reply(kind: ErrorKind, what: &str, reply: Reply) -> Self {
        SendError { kind, message: format!("{what}: {}", reply.one_line()), reply: Some(reply) }
    }

    /// Worth retrying later: a 4xx reply (RFC 5321 section 4.2.1, "transient
    /// negative completion") or a network failure. A 5xx is permanent, and so
    /// are TLS and credential problems, which need a configuration change.
    pub fn is_transient(&self) -> bool {
        match &self.reply {
            Some(reply) => reply.is_transient(),
            None => matches!(
                self.kind,
                ErrorKind::Dns | ErrorKind::ConnectRefused | ErrorKind::ConnectTimeout | ErrorKind::Timeout | ErrorKind::Protocol
            ),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}
