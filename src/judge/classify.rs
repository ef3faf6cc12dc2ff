//! The one place that judges: from what happened (a [`SendError`]: stage,
//! problem, reply) and a few facts about the settings to a [`Cause`].
//! Pure; the walk of `rust_mail_diagnose()`, `rust_mail_send()` and
//! `rust_mail_explain()` all call [`classify`], and [`super::texts::verdict`] turns the
//! cause into a summary and advice.
//!
//! A server's reply is judged by what servers say, kept as data in
//! [`super::rules`].

use super::cause::Cause;
use super::rules::{classify_reply, fallback};
use crate::config::{Security, Transport};
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage, TlsProblem};
use crate::smtp::reply::Reply;
use std::net::IpAddr;

/// What is known besides the failure itself.
#[derive(Debug, Clone)]
pub struct Facts {
    pub security: Security,
    /// The greeting named another domain than the host asked for.
    pub foreign_banner: bool,
    /// A verified certificate proved the server is the host asked for.
    pub identity_proven: bool,
}

impl Default for Facts {
    fn default() -> Facts {
        Facts { security: Security::Starttls, foreign_banner: false, identity_proven: false }
    }
}

impl Facts {
    pub fn of(transport: &Transport) -> Facts {
        Facts { security: transport.security, ..Facts::default() }
    }
}

/// The cause of a failure (`None`: nothing failed).
pub fn classify(failure: Option<&SendError>, facts: &Facts) -> Cause {
    let Some(f) = failure else {
        return if facts.foreign_banner && !facts.identity_proven { Cause::Intercepted } else { Cause::Ok };
    };
    let cause = match (&f.problem, &f.reply) {
        (Problem::Refused, Some(reply)) => classify_reply(f.stage, reply, facts.security),
        (Problem::Refused, None) => fallback(f.stage, None),
        (Problem::Unresolved, _) => Cause::DnsFailed,
        (Problem::ConnectRefused, _) => Cause::ConnectionRefused,
        (Problem::ConnectTimeout | Problem::Unreachable, _) => Cause::PortBlocked,
        (Problem::Timeout, _) if f.stage == Stage::Dns => Cause::DnsFailed,
        (Problem::Timeout, _) => Cause::Timeout,
        (Problem::NotSmtp | Problem::ImplicitTlsPort | Problem::PlainTextPort | Problem::NoGreeting, _) => Cause::NotSmtp,
        // A server that hangs up before its greeting is not the SMTP server the settings expect.
        (Problem::Closed, _) if f.stage == Stage::Greeting => Cause::NotSmtp,
        (Problem::Closed | Problem::Io(_) | Problem::ReplyTooLarge | Problem::Internal, _) => Cause::Unknown,
        (Problem::StarttlsNotOffered, _) => Cause::StarttlsUnavailable,
        (Problem::Tls(TlsProblem::Certificate(_)), _) => Cause::TlsCertificateInvalid,
        (Problem::Tls(TlsProblem::Version), _) => Cause::TlsVersionUnsupported,
        (Problem::Tls(TlsProblem::NotTls), _) if facts.security == Security::Tls => Cause::NotSmtp,
        (Problem::Tls(_), _) => Cause::TlsHandshakeFailed,
        (Problem::NoAuthMechanism | Problem::InsecureAuth, _) => Cause::AuthUnavailable,
        (Problem::NeedsSmtputf8, _) => Cause::AddressNeedsSmtputf8,
        (Problem::OverSizeLimit, _) => Cause::MessageTooLarge,
        // Judged from the API's answer by api::response, which knows each provider's codes.
        (Problem::Api(refusal), _) => refusal.cause,
    };
    // A redirecting provider explains these better than they explain
    // themselves: its server has another certificate and does not know the
    // site's account.
    let explained_by_interception = matches!(
        cause,
        Cause::TlsCertificateInvalid | Cause::AuthFailed | Cause::AuthUnavailable | Cause::RelayDenied | Cause::AnonymousRejected | Cause::StarttlsUnavailable
    );
    if facts.foreign_banner && explained_by_interception {
        Cause::Intercepted
    } else {
        cause
    }
}

/// A send's error as a log row keeps it (kind, message, reply), back as
/// data: the stage and problem each kind stands for.
pub fn logged_error(kind: ErrorKind, message: String, reply: Option<Reply>) -> SendError {
    let (stage, problem) = logged_stage(kind, reply.is_some());
    SendError { kind, stage, problem, message, reply, size_limit: None }
}

/// The stage and problem a logged error kind stands for, with or without a reply.
pub fn logged_stage(kind: ErrorKind, has_reply: bool) -> (Stage, Problem) {
    match (kind, has_reply) {
        (ErrorKind::Dns, _) => (Stage::Dns, Problem::Unresolved),
        (ErrorKind::ConnectRefused, _) => (Stage::Connect, Problem::ConnectRefused),
        (ErrorKind::ConnectTimeout, _) => (Stage::Connect, Problem::ConnectTimeout),
        (ErrorKind::Timeout, _) => (Stage::Greeting, Problem::Timeout),
        (ErrorKind::Tls, true) => (Stage::Starttls, Problem::Refused),
        (ErrorKind::Tls, false) => (Stage::TlsHandshake, Problem::Tls(TlsProblem::Other)),
        (ErrorKind::Auth, true) => (Stage::Auth, Problem::Refused),
        (ErrorKind::Auth, false) => (Stage::Auth, Problem::NoAuthMechanism),
        (ErrorKind::SenderRejected, _) => (Stage::MailFrom, Problem::Refused),
        (ErrorKind::RecipientRejected, _) => (Stage::RcptTo, Problem::Refused),
        (ErrorKind::DataRejected, _) => (Stage::Message, Problem::Refused),
        (ErrorKind::Protocol, true) => (Stage::Greeting, Problem::Refused),
        (ErrorKind::Protocol, false) => (Stage::Quit, Problem::Closed),
    }
}

/// With implicit TLS, a handshake that failed without a TLS reason (the
/// peer spoke no TLS, hung up, or failed otherwise) may have met a port that
/// answers in plain text: worth a look for its greeting, which makes the
/// failure [`Problem::PlainTextPort`].
pub fn may_be_plain_text_port(security: Security, problem: &Problem) -> bool {
    security == Security::Tls && matches!(problem, Problem::Tls(TlsProblem::NotTls | TlsProblem::Closed | TlsProblem::Other))
}

/// Whether a greeting's server name belongs to another domain than the host
/// asked for. Only names can be compared: an address or "localhost" says
/// nothing about which server was meant, and a bare word is no domain.
pub fn names_other_domain(host: &str, greeting_name: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.parse::<IpAddr>().is_ok() || !greeting_name.contains('.') || greeting_name.starts_with('[') {
        return false;
    }
    registered_domain(&host) != registered_domain(greeting_name)
}

/// The last two labels: "smtp.office365.com" -> "office365.com". Enough to
/// tell one provider from another without a public-suffix list.
fn registered_domain(name: &str) -> String {
    let labels: Vec<&str> = name.trim_end_matches('.').rsplit('.').take(2).collect();
    labels.into_iter().rev().collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::rules::{named_blocklist, RULES};

    fn reply(line: &str) -> Reply {
        let code = line[..3].parse().unwrap();
        Reply::new(code, vec![line.get(4..).unwrap_or("").to_string()])
    }

    fn stage(name: &str) -> Stage {
        match name {
            "auth" => Stage::Auth,
            "mail" => Stage::MailFrom,
            "rcpt" => Stage::RcptTo,
            "data" => Stage::Message,
            "starttls" => Stage::Starttls,
            "greeting" => Stage::Greeting,
            other => panic!("no stage {other}"),
        }
    }

    /// tests/replies.tsv: provider, stage, cause, reply line; shared with the pytest.
    #[test]
    fn real_reply_lines_map_to_their_causes() {
        let table = include_str!("../../tests/replies.tsv");
        let mut count = 0;
        let mut failures = Vec::new();
        for line in table.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            let [provider, stage_name, cause, text] = fields[..] else { panic!("bad row {line}") };
            let security = if cause == "starttls_required" { Security::None } else { Security::Starttls };
            let got = classify_reply(stage(stage_name), &reply(text), security);
            if got.as_str() != cause {
                failures.push(format!("{provider} {stage_name}: {text}\n  expected {cause}, got {}", got.as_str()));
            }
            count += 1;
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(count >= 60, "only {count} reply lines");
    }

    #[test]
    fn the_enhanced_code_decides_over_the_wording() {
        // Relay wording, but 5.7.60 is Microsoft's send-as refusal.
        let r = reply("550 5.7.60 SMTP; Client does not have permissions to send as this sender; relay");
        assert_eq!(classify_reply(Stage::MailFrom, &r, Security::Starttls), Cause::SenderNotAllowed);
        // Rate wording, but 5.7.26 is Google's unauthenticated sender.
        let r = reply("550 5.7.26 rate limit: This mail has been blocked because the sender is unauthenticated.");
        assert_eq!(classify_reply(Stage::Message, &r, Security::Starttls), Cause::SenderUnauthenticated);
    }

    #[test]
    fn sending_limits_are_told_apart_from_each_other_and_from_other_refusals() {
        let cause = |stage, line| classify_reply(stage, &reply(line), Security::Starttls);
        // Per day: Microsoft 365's submission quota (its 5.2.0 is generic, the wording decides), Gmail's daily limits.
        let m365 = "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.";
        assert_eq!(cause(Stage::Message, m365), Cause::DailyLimitReached);
        assert_eq!(
            cause(
                Stage::Message,
                "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852"
            ),
            Cause::DailyLimitReached
        );
        assert_eq!(cause(Stage::RcptTo, "550 5.4.5 Daily SMTP relay sending limit exceeded for customer."), Cause::DailyLimitReached);
        // The relay's daily limit with a generic code: "relay" in it does not make it a relay refusal.
        assert_eq!(cause(Stage::RcptTo, "550 5.7.1 Daily SMTP relay limit exceeded for customer."), Cause::DailyLimitReached);
        // Microsoft's name for its 10,000 recipients a day, a day's limit whatever the reply code says.
        assert_eq!(cause(Stage::RcptTo, "421 4.7.0 Recipient rate limit exceeded"), Cause::DailyLimitReached);
        // A rate: Gmail's, Microsoft's throttling, Microsoft's connections at once.
        assert_eq!(
            cause(Stage::MailFrom, "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address, rate limited."),
            Cause::Throttled
        );
        assert_eq!(cause(Stage::MailFrom, "451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (AS761)"), Cause::Throttled);
        assert_eq!(cause(Stage::Message, "432 4.3.2 Concurrent connections limit exceeded."), Cause::Throttled);
        // Recipients in one message, and Postfix's recipients from one client (a rate).
        assert_eq!(cause(Stage::RcptTo, "452 4.5.3 Your message has too many recipients."), Cause::TooManyRecipients);
        assert_eq!(cause(Stage::RcptTo, "452 Too many recipients"), Cause::TooManyRecipients);
        assert_eq!(cause(Stage::RcptTo, "450 4.7.1 Error: too many recipients from 203.0.113.5"), Cause::Throttled);
        // Quotas that are no sending limit: Microsoft's send-as refusal, the sending mailbox full, a recipient's full
        // mailbox, Microsoft's blocked tenant.
        assert_eq!(cause(Stage::MailFrom, "550 5.7.60 SMTP; Client does not have permissions to send as this sender"), Cause::SenderNotAllowed);
        assert_eq!(
            cause(Stage::Message, "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded"),
            Cause::SenderMailboxFull
        );
        assert_eq!(cause(Stage::RcptTo, "552 5.2.2 <rcpt@example.com> Quota exceeded (mailbox for user is full)"), Cause::RecipientRejected);
        assert_eq!(cause(Stage::MailFrom, "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP."), Cause::Unknown);
    }

    #[test]
    fn starttls_required_only_when_the_setting_says_no_encryption() {
        let r = reply("530 5.7.0 Must issue a STARTTLS command first");
        assert_eq!(classify_reply(Stage::MailFrom, &r, Security::None), Cause::StarttlsRequired);
        assert_eq!(classify_reply(Stage::MailFrom, &r, Security::Opportunistic), Cause::StarttlsUnavailable);
    }

    #[test]
    fn disagreements_of_old_are_settled() {
        let facts = Facts::default();
        // 454 to STARTTLS: the server refuses STARTTLS.
        let e = SendError::from_reply(ErrorKind::Tls, Stage::Starttls, "refused", reply("454 4.7.0 TLS not available due to local problem"));
        assert_eq!(classify(Some(&e), &facts), Cause::StarttlsUnavailable);
        // An unrecognised 5xx to AUTH: a refused login.
        let e = SendError::from_reply(ErrorKind::Auth, Stage::Auth, "refused", reply("554 5.0.0 nope"));
        assert_eq!(classify(Some(&e), &facts), Cause::AuthFailed);
        let e = SendError::new(ErrorKind::Auth, Stage::Auth, Problem::NoAuthMechanism, "x");
        assert_eq!(classify(Some(&e), &facts), Cause::AuthUnavailable);
    }

    #[test]
    fn problems_without_replies() {
        let facts = Facts::default();
        let cause = |problem: Problem, stage: Stage| classify(Some(&SendError::new(ErrorKind::Protocol, stage, problem, "")), &facts);
        assert_eq!(cause(Problem::ConnectTimeout, Stage::Connect), Cause::PortBlocked);
        assert_eq!(cause(Problem::Unreachable, Stage::Connect), Cause::PortBlocked);
        assert_eq!(cause(Problem::ConnectRefused, Stage::Connect), Cause::ConnectionRefused);
        assert_eq!(cause(Problem::Tls(TlsProblem::Certificate(crate::smtp::error::CertProblem::Expired)), Stage::TlsHandshake), Cause::TlsCertificateInvalid);
        assert_eq!(cause(Problem::StarttlsNotOffered, Stage::Ehlo), Cause::StarttlsUnavailable);
        assert_eq!(cause(Problem::NotSmtp, Stage::Greeting), Cause::NotSmtp);
        assert_eq!(cause(Problem::Tls(TlsProblem::NotTls), Stage::TlsHandshake), Cause::TlsHandshakeFailed);
        let implicit = Facts { security: Security::Tls, ..Facts::default() };
        let e = SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(TlsProblem::NotTls), "");
        assert_eq!(classify(Some(&e), &implicit), Cause::NotSmtp);
        let foreign = Facts { foreign_banner: true, ..Facts::default() };
        assert_eq!(classify(None, &foreign), Cause::Intercepted);
        assert_eq!(classify(None, &Facts { identity_proven: true, ..foreign }), Cause::Ok);
    }

    #[test]
    fn only_an_unexplained_implicit_tls_handshake_may_have_met_a_plain_text_port() {
        assert!(may_be_plain_text_port(Security::Tls, &Problem::Tls(TlsProblem::NotTls)));
        assert!(may_be_plain_text_port(Security::Tls, &Problem::Tls(TlsProblem::Closed)));
        assert!(!may_be_plain_text_port(Security::Starttls, &Problem::Tls(TlsProblem::NotTls)));
        assert!(!may_be_plain_text_port(Security::Tls, &Problem::Tls(TlsProblem::Version)));
        assert!(!may_be_plain_text_port(Security::Tls, &Problem::Tls(TlsProblem::Certificate(crate::smtp::error::CertProblem::Expired))));
        assert!(!may_be_plain_text_port(Security::Tls, &Problem::Timeout));
    }

    #[test]
    fn block_lists_are_named() {
        assert_eq!(
            named_blocklist("Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1")
                .as_deref(),
            Some("zen.spamhaus.org")
        );
        assert_eq!(named_blocklist("Rejected: 192.0.2.1 listed at bl.spamcop.net").as_deref(), Some("bl.spamcop.net"));
        assert_eq!(named_blocklist("nothing here"), None);
    }

    #[test]
    fn foreign_banners_are_told_apart_from_the_same_provider() {
        assert!(!names_other_domain("smtp.office365.com", "ph0pr07ca0003.outlook.office365.com"));
        assert!(names_other_domain("smtp.office365.com", "p3plcpnl0123.prod.phx3.secureserver.net"));
        assert!(!names_other_domain("localhost", "web01.example.com"));
        assert!(!names_other_domain("127.0.0.1", "relay.other.example"));
        assert!(!names_other_domain("smtp.gmail.com", "mx"));
    }

    #[test]
    fn a_logged_kind_stands_for_its_stage_and_problem() {
        assert_eq!(logged_stage(ErrorKind::Tls, true), (Stage::Starttls, Problem::Refused));
        assert_eq!(logged_stage(ErrorKind::Auth, false), (Stage::Auth, Problem::NoAuthMechanism));
        assert_eq!(logged_stage(ErrorKind::Protocol, false), (Stage::Quit, Problem::Closed));
        let facts = Facts::default();
        let cause = |kind, line: Option<&str>| classify(Some(&logged_error(kind, "m".into(), line.map(reply))), &facts);
        assert_eq!(cause(ErrorKind::ConnectTimeout, None), Cause::PortBlocked);
        assert_eq!(cause(ErrorKind::Tls, None), Cause::TlsHandshakeFailed);
        assert_eq!(cause(ErrorKind::Tls, Some("454 4.7.0 TLS not available")), Cause::StarttlsUnavailable);
        assert_eq!(cause(ErrorKind::Auth, Some("535 5.7.8 Username and Password not accepted")), Cause::AuthFailed);
        assert_eq!(cause(ErrorKind::RecipientRejected, Some("550 5.1.1 User unknown")), Cause::RecipientRejected);
        assert_eq!(cause(ErrorKind::Protocol, None), Cause::Unknown);
        let e = logged_error(ErrorKind::DataRejected, "m".into(), Some(reply("552 5.3.4 Message too big")));
        assert_eq!((e.stage, e.message.as_str(), e.size_limit), (Stage::Message, "m", None));
    }

    /// The rule count per provider, printed for the notes (`cargo test -- --nocapture rule_counts`).
    #[test]
    fn rule_counts() {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for r in RULES {
            match counts.iter_mut().find(|(p, _)| *p == r.provider) {
                Some((_, n)) => *n += 1,
                None => counts.push((r.provider, 1)),
            }
        }
        println!("{counts:?}");
        assert!(counts.len() >= 8);
    }
}
