//! From what was observed to a cause, a summary and advice: pure functions,
//! tested on fixtures. The Microsoft 365 codes come from
//! shared/notes/mail-servers.md.

use crate::config::{AuthMode, Security, Transport};
use crate::smtp::reply::Reply;

/// Why a connection or a send fails. Documented one by one in README.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Ok,
    DnsFailed,
    PortBlocked,
    ConnectionRefused,
    NotSmtp,
    TlsHandshakeFailed,
    TlsVersionUnsupported,
    TlsCertificateInvalid,
    StarttlsUnavailable,
    AuthUnavailable,
    AuthFailed,
    AuthDisabled,
    BasicAuthRetired,
    AnonymousRejected,
    SenderNotAllowed,
    RelayDenied,
    DirectSendRejected,
    Intercepted,
    RecipientRejected,
    Throttled,
    Timeout,
    Unknown,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Ok => "ok",
            Cause::DnsFailed => "dns_failed",
            Cause::PortBlocked => "port_blocked",
            Cause::ConnectionRefused => "connection_refused",
            Cause::NotSmtp => "not_smtp",
            Cause::TlsHandshakeFailed => "tls_handshake_failed",
            Cause::TlsVersionUnsupported => "tls_version_unsupported",
            Cause::TlsCertificateInvalid => "tls_certificate_invalid",
            Cause::StarttlsUnavailable => "starttls_unavailable",
            Cause::AuthUnavailable => "auth_unavailable",
            Cause::AuthFailed => "auth_failed",
            Cause::AuthDisabled => "auth_disabled",
            Cause::BasicAuthRetired => "basic_auth_retired",
            Cause::AnonymousRejected => "anonymous_rejected",
            Cause::SenderNotAllowed => "sender_not_allowed",
            Cause::RelayDenied => "relay_denied",
            Cause::DirectSendRejected => "direct_send_rejected",
            Cause::Intercepted => "intercepted",
            Cause::RecipientRejected => "recipient_rejected",
            Cause::Throttled => "throttled",
            Cause::Timeout => "timeout",
            Cause::Unknown => "unknown",
        }
    }
}

/// The SMTP command a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Greeting,
    Auth,
    MailFrom,
    RcptTo,
    Data,
}

/// The cause a server's negative reply points to. Enhanced codes decide
/// first (they are precise); the basic code and words decide the rest.
pub fn classify_reply(stage: Stage, reply: &Reply) -> Cause {
    let enhanced = reply.enhanced.as_deref().unwrap_or("");
    let text = reply.text().to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| text.contains(w));
    match enhanced {
        "5.7.139" => return Cause::AuthDisabled,
        "5.7.30" => return Cause::BasicAuthRetired,
        "5.7.57" => return Cause::AnonymousRejected,
        "5.7.60" => return Cause::SenderNotAllowed,
        "5.7.68" => return Cause::DirectSendRejected,
        "5.7.54" | "5.7.64" => return Cause::RelayDenied,
        "5.2.2" | "5.1.90" | "4.3.2" => return Cause::Throttled,
        _ => {}
    }
    if is_throttling_code(enhanced) || (reply.is_transient() && says(&["rate", "too many", "quota", "limit", "throttl", "slow down"])) {
        return Cause::Throttled;
    }
    if says(&["relay"]) {
        return Cause::RelayDenied;
    }
    if says(&["must issue a starttls", "starttls first", "encryption required", "must use tls"]) || reply.code == 538 {
        return Cause::StarttlsUnavailable;
    }
    match stage {
        Stage::Auth if reply.code == 534 || reply.code == 535 || enhanced == "5.7.8" || enhanced == "5.7.3" => Cause::AuthFailed,
        Stage::Auth if reply.code == 504 => Cause::AuthUnavailable,
        Stage::MailFrom | Stage::RcptTo if reply.code == 530 || says(&["authentication required", "not authenticated"]) => {
            Cause::AnonymousRejected
        }
        Stage::MailFrom if says(&["send as", "send on behalf", "not owned", "permission"]) || enhanced == "5.7.1" => {
            Cause::SenderNotAllowed
        }
        Stage::RcptTo if enhanced == "5.7.1" => Cause::RelayDenied,
        Stage::RcptTo if enhanced.starts_with("5.1.") || matches!(reply.code, 550 | 551 | 553) => Cause::RecipientRejected,
        _ => Cause::Unknown,
    }
}

/// The cause of a failed `rust_mail_send()`, from its error kind and message
/// and the server's reply, for explaining a send after the fact (a log entry).
pub fn cause_of_send_failure(kind: &str, message: &str, reply: Option<&Reply>) -> Cause {
    let stage = match kind {
        "auth" => Stage::Auth,
        "sender_rejected" => Stage::MailFrom,
        "recipient_rejected" => Stage::RcptTo,
        "data_rejected" => Stage::Data,
        _ => Stage::Greeting,
    };
    if let Some(cause) = reply.map(|r| classify_reply(stage, r)).filter(|c| *c != Cause::Unknown) {
        return cause;
    }
    // The client's own messages for the kinds that have several causes.
    let says = |words: &str| message.contains(words);
    match kind {
        "dns" => Cause::DnsFailed,
        "connect_refused" => Cause::ConnectionRefused,
        "connect_timeout" => Cause::PortBlocked,
        "timeout" => Cause::Timeout,
        "tls" if says("does not offer STARTTLS") => Cause::StarttlsUnavailable,
        "tls" if says("the certificate") => Cause::TlsCertificateInvalid,
        "tls" if says("share no TLS version") => Cause::TlsVersionUnsupported,
        "tls" if says("did not answer with TLS") => Cause::NotSmtp,
        "tls" => Cause::TlsHandshakeFailed,
        "auth" if reply.is_some() => Cause::AuthFailed,
        "auth" => Cause::AuthUnavailable,
        "recipient_rejected" => Cause::RecipientRejected,
        "protocol" if says("not SMTP") => Cause::NotSmtp,
        _ => Cause::Unknown,
    }
}

/// Microsoft's temporary throttling range 4.7.500 to 4.7.699.
fn is_throttling_code(enhanced: &str) -> bool {
    enhanced
        .strip_prefix("4.7.")
        .and_then(|d| d.parse::<u16>().ok())
        .is_some_and(|d| (500..700).contains(&d))
}

/// The settings of the run, for advice that names them.
#[derive(Debug, Clone)]
pub struct Context {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub auth: AuthMode,
    pub username: Option<String>,
    pub from: Option<String>,
    /// What the failure looked like in its own words: a reply, a TLS error.
    pub detail: String,
    pub enhanced: Option<String>,
    /// AUTH mechanisms the server offered, upper case.
    pub offered_auth: Vec<String>,
    /// Other ports a scan found speaking SMTP: (port, service).
    pub open_ports: Vec<(u16, String)>,
}

impl Context {
    /// The transport's settings, with nothing yet learnt from the server.
    pub fn new(transport: &Transport, from: Option<String>, detail: String, enhanced: Option<String>) -> Context {
        Context {
            host: transport.host.clone(),
            port: transport.port,
            security: transport.security,
            auth: transport.auth,
            username: transport.username.clone(),
            from,
            detail,
            enhanced,
            offered_auth: Vec::new(),
            open_ports: Vec::new(),
        }
    }
}

/// The security setting that fits what a scanned port speaks.
fn security_for(service: &str) -> &'static str {
    match service {
        "smtps" => "tls",
        "smtp+starttls" => "starttls",
        _ => "opportunistic",
    }
}

/// What to try instead of a port that cannot be reached: the ports a scan
/// found answering, else the usual submission ports other than this one.
fn other_ports_advice(c: &Context) -> String {
    if !c.open_ports.is_empty() {
        let found: Vec<String> = c
            .open_ports
            .iter()
            .map(|(port, service)| format!("port {port} with security '{}' ({service})", security_for(service)))
            .collect();
        return format!("The port scan found mail service on {}: try {}.", c.host, found.join(", or "));
    }
    let usual: Vec<String> = [(587, "starttls"), (465, "tls"), (25, "opportunistic")]
        .iter()
        .filter(|(port, _)| *port != c.port)
        .map(|(port, security)| format!("port {port} with security '{security}'"))
        .collect();
    format!("Try {}, if the mail provider offers them (scan_ports tells which answer).", usual.join(", or "))
}

pub struct Verdict {
    pub cause: Cause,
    pub summary: String,
    pub advice: Vec<String>,
}

/// The summary for a site owner and the concrete things to change.
pub fn verdict(cause: Cause, c: &Context) -> Verdict {
    let (host, port) = (&c.host, c.port);
    let at = format!("{host}:{port}");
    let user = c.username.clone().unwrap_or_else(|| "the account".to_string());
    let from = c.from.clone().unwrap_or_else(|| "the From address".to_string());
    // The reply quoted inside a sentence brings its own full stop.
    let detail = c.detail.trim_end_matches('.');
    let (summary, advice): (String, Vec<String>) = match cause {
        Cause::Ok => (format!("Mail can be sent through {at}."), vec![]),
        Cause::DnsFailed => (
            format!("The name {host} could not be found in DNS: {detail}."),
            vec![
                format!("Check the spelling of host '{host}'."),
                "If the site runs in a container or on a host with its own resolver, check that it can resolve public names.".into(),
            ],
        ),
        Cause::PortBlocked => (
            format!("Nothing answered on {at}: a firewall between this site and the server is dropping the connection."),
            vec![
                format!("Ask the hosting provider whether outbound port {port} is blocked; many block port 25, some also 465 and 587."),
                other_ports_advice(c),
                "On shared hosting that only allows its own relay (such as GoDaddy's relay-hosting.secureserver.net on port 25), use that relay.".into(),
            ],
        ),
        Cause::ConnectionRefused => (
            format!("{at} refused the connection: the host is reachable but no mail server listens on port {port}."),
            vec![
                format!("Check port {port}: submission is usually 587 (security 'starttls') or 465 (security 'tls')."),
                other_ports_advice(c),
                format!("If {host} is this machine, check that the mail server is running."),
            ],
        ),
        Cause::NotSmtp => (
            format!("Something answered on {at}, but it does not speak SMTP the way the settings expect: {detail}."),
            vec![
                "Port 465 expects security 'tls' (TLS from the start); ports 587 and 25 expect 'starttls' or 'opportunistic'.".into(),
                format!("Check that {at} is a mail server and not a web or other service."),
            ],
        ),
        Cause::TlsHandshakeFailed => (
            format!("The TLS handshake with {at} failed: {detail}."),
            vec![
                format!("Check security '{}' against what port {port} expects (465: 'tls'; 587: 'starttls').", c.security.as_str()),
                "If the server is old, ask its administrator to enable TLS 1.2 or newer.".into(),
            ],
        ),
        Cause::TlsVersionUnsupported => (
            format!("{at} only offers TLS versions older than this site accepts: {detail}."),
            vec![
                "Ask the mail server's administrator to enable TLS 1.2 or 1.3; TLS 1.0 and 1.1 are retired (RFC 8996).".into(),
                "If tls_min_version is '1.3', set it to '1.2'.".into(),
            ],
        ),
        Cause::TlsCertificateInvalid => (
            format!("The certificate of {at} is not valid: {detail}."),
            vec![
                format!("Use the host name the certificate is issued for as host, instead of '{host}'."),
                "If the server uses a private CA, give its certificate with ca_file.".into(),
                "Ask the server's administrator to renew or replace the certificate; turning verify_peer off exposes the password to anyone in between.".into(),
            ],
        ),
        Cause::StarttlsUnavailable => (
            format!("{at} does not offer STARTTLS, so the connection cannot be encrypted: {detail}."),
            vec![
                format!("Try port 465 with security 'tls', or port 587 with security 'starttls', on {host}."),
                "If this server may only be reached in clear text (a relay on the same network), set security to 'none' and auth to 'none'.".into(),
            ],
        ),
        Cause::AuthUnavailable => (
            format!("{at} offers no way to log in that this site can use: {detail}."),
            vec![
                "Many servers offer AUTH only after STARTTLS: set security to 'starttls' (port 587) or 'tls' (port 465).".into(),
                match c.offered_auth.as_slice() {
                    [] => "The server lists no AUTH mechanism at all on this connection.".to_string(),
                    offered => format!(
                        "Set auth to a mechanism the server offers: {} ('auto' picks PLAIN or LOGIN).",
                        offered.iter().map(|m| format!("'{}'", m.to_ascii_lowercase())).collect::<Vec<_>>().join(", ")
                    ),
                },
                "If the server is a relay that needs no login (as GoDaddy's relay or a direct-send MX host), set auth to 'none'.".into(),
            ],
        ),
        Cause::AuthFailed => {
            let mut advice = vec![
                format!("Check username '{user}' and the password (or token)."),
                "For Gmail, sign in with an app password, not the account password.".into(),
            ];
            if c.auth == AuthMode::Xoauth2 {
                advice.insert(0, "For OAuth2, check that the token is current and has the SMTP scope (Microsoft 365: https://outlook.office365.com/.default; Google: https://mail.google.com/) and that the app is allowed on the mailbox.".into());
            }
            (format!("{at} refused the login of {user}: {detail}."), advice)
        }
        Cause::AuthDisabled => (
            format!("SMTP login is switched off for {user} or its Microsoft 365 tenant (5.7.139): {detail}."),
            vec![
                "In the Microsoft 365 admin center, enable Authenticated SMTP for the mailbox (Mail > Manage email apps), and check that security defaults or conditional access do not block it.".into(),
                "Or switch auth to 'xoauth2' and use an OAuth2 token: password login is switched off by default at the end of December 2026.".into(),
            ],
        ),
        Cause::BasicAuthRetired => (
            format!("{at} no longer accepts a password for {user} (5.7.30): basic authentication is retired."),
            vec!["Set auth to 'xoauth2' and give an OAuth2 access token as password (Microsoft 365 scope: https://outlook.office365.com/.default).".into()],
        ),
        Cause::AnonymousRejected => (
            format!("{at} only accepts mail from logged-in clients (5.7.57): {detail}."),
            vec![
                "Set auth to 'auto' (or 'login') with the mailbox's username and password, or 'xoauth2' with a token.".into(),
                "To send without a login to Microsoft 365, use direct send: host = the tenant's MX host (tenant.mail.protection.outlook.com), port 25.".into(),
            ],
        ),
        Cause::SenderNotAllowed => (
            format!("{user} may not send as {from} (the From address differs from the mailbox): {detail}."),
            vec![
                format!("Grant {user} the \"Send As\" right on {from} (Microsoft 365: Exchange admin center > mailbox > delegation)."),
                format!("Or set the From address to the mailbox that logs in ({user})."),
            ],
        ),
        Cause::RelayDenied => (
            format!("{at} refuses to relay this mail: {detail}."),
            vec![
                "Log in: set auth to 'auto' with a username and password, so the server accepts mail for outside recipients.".into(),
                "Microsoft 365 direct send (MX host, port 25, no login) only reaches the tenant's own mailboxes; use smtp.office365.com on 587 with a login for others.".into(),
                "If you use a connector, check that it matches this site's IP address or certificate.".into(),
            ],
        ),
        Cause::DirectSendRejected => (
            format!("The Microsoft 365 tenant refuses direct send (5.7.68): {detail}."),
            vec![
                "Use authenticated submission: host smtp.office365.com, port 587, security 'starttls', auth 'login' or 'xoauth2'.".into(),
                "Or ask the tenant admin to allow direct send (Set-OrganizationConfig -RejectDirectSend $false) or to add a partner connector for this site.".into(),
            ],
        ),
        Cause::Intercepted => (
            format!("The server that answered on {at} is not {host}: {detail}. The hosting provider is probably redirecting outbound mail to its own server."),
            vec![
                "Ask the hosting provider whether it redirects outbound SMTP (cPanel/WHM 'SMTP Restrictions'), and whether it can be switched off.".into(),
                "Or send through the provider's own relay with its settings (GoDaddy shared hosting: relay-hosting.secureserver.net, port 25, no login).".into(),
            ],
        ),
        Cause::RecipientRejected => (
            format!("{at} refused the recipient: {detail}."),
            vec!["Check the recipient address; the mailbox may not exist.".into()],
        ),
        Cause::Throttled => (
            format!("{at} is limiting how much this account may send right now: {detail}."),
            vec![
                "Wait and retry later; the mail is not lost if the site queues and retries.".into(),
                "Microsoft 365 allows 30 messages a minute and 10,000 recipients a day per mailbox: spread large sends out.".into(),
            ],
        ),
        Cause::Timeout => (
            format!("{at} accepted the connection but stopped answering: {detail}."),
            vec![
                "Retry later; if it persists, the server or a filtering proxy in between is overloaded or broken.".into(),
                "If port 465 is used with security 'starttls' (or the reverse), match security to the port.".into(),
            ],
        ),
        Cause::Unknown => (
            format!("{at} refused the mail: {detail}."),
            match c.enhanced.as_deref() {
                Some("5.7.705" | "5.7.708") => vec![
                    "Microsoft has blocked the tenant or its sending IP for suspicious traffic; this is outside the site's control: contact Microsoft support.".into(),
                ],
                _ => vec!["Read the server's reply above; its administrator can say what it means.".into()],
            },
        ),
    };
    Verdict { cause, summary, advice }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Reply {
        let code = line[..3].parse().unwrap();
        Reply::new(code, vec![line[4..].to_string()])
    }

    #[test]
    fn microsoft_codes_map_to_their_causes() {
        let cases = [
            (Stage::Auth, "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", Cause::AuthDisabled),
            (Stage::Auth, "535 5.7.3 Authentication unsuccessful", Cause::AuthFailed),
            (Stage::Auth, "535 5.7.30 Basic authentication is not supported for Client Submission.", Cause::BasicAuthRetired),
            (Stage::MailFrom, "530 5.7.57 Client not authenticated to send mail.", Cause::AnonymousRejected),
            (Stage::Data, "550 5.7.60 SMTP; Client does not have permissions to send as this sender", Cause::SenderNotAllowed),
            (Stage::RcptTo, "550 5.7.64 TenantAttribution; Relay Access Denied", Cause::RelayDenied),
            (Stage::RcptTo, "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization", Cause::DirectSendRejected),
            (Stage::RcptTo, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", Cause::RelayDenied),
            (Stage::MailFrom, "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:SubmissionQuotaExceededException", Cause::Throttled),
            (Stage::MailFrom, "451 4.7.500 Server busy. Please try again later", Cause::Throttled),
            (Stage::MailFrom, "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", Cause::Throttled),
            (Stage::MailFrom, "550 5.7.705 Access denied, tenant has exceeded threshold", Cause::Unknown),
        ];
        for (stage, line, cause) in cases {
            assert_eq!(classify_reply(stage, &reply(line)), cause, "{line}");
        }
    }

    #[test]
    fn generic_replies_map_by_code_and_words() {
        assert_eq!(classify_reply(Stage::RcptTo, &reply("554 5.7.1 <x@y.org>: Relay access denied")), Cause::RelayDenied);
        assert_eq!(classify_reply(Stage::RcptTo, &reply("550 5.1.1 <x@y.org>: Recipient address rejected: User unknown")), Cause::RecipientRejected);
        assert_eq!(classify_reply(Stage::MailFrom, &reply("450 4.7.1 Error: too many messages, rate limited")), Cause::Throttled);
        assert_eq!(classify_reply(Stage::MailFrom, &reply("530 5.7.0 Must issue a STARTTLS command first")), Cause::StarttlsUnavailable);
        assert_eq!(classify_reply(Stage::Auth, &reply("534 5.7.9 Application-specific password required")), Cause::AuthFailed);
        assert_eq!(classify_reply(Stage::MailFrom, &reply("451 4.3.0 Temporary failure")), Cause::Unknown);
    }

    #[test]
    fn send_failures_map_to_causes() {
        let disabled = reply("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled");
        assert_eq!(cause_of_send_failure("auth", "login failed", Some(&disabled)), Cause::AuthDisabled);
        assert_eq!(cause_of_send_failure("auth", "login failed", Some(&reply("535 Incorrect authentication data"))), Cause::AuthFailed);
        assert_eq!(cause_of_send_failure("auth", "refusing to send the password without TLS", None), Cause::AuthUnavailable);
        assert_eq!(cause_of_send_failure("connect_timeout", "no answer", None), Cause::PortBlocked);
        assert_eq!(cause_of_send_failure("tls", "the certificate expired on 2020-02-01", None), Cause::TlsCertificateInvalid);
        assert_eq!(cause_of_send_failure("tls", "h does not offer STARTTLS, and security is 'starttls'", None), Cause::StarttlsUnavailable);
        assert_eq!(cause_of_send_failure("recipient_rejected", "refused", Some(&reply("550 5.7.54 Unable to relay"))), Cause::RelayDenied);
        assert_eq!(cause_of_send_failure("data_rejected", "refused", Some(&reply("554 5.6.0 Message rejected"))), Cause::Unknown);
    }

    #[test]
    fn advice_names_the_setting_to_change() {
        let c = Context {
            host: "smtp.example.com".into(),
            port: 587,
            security: Security::Starttls,
            auth: AuthMode::Login,
            username: Some("site@example.com".into()),
            from: Some("support@example.com".into()),
            detail: "550 5.7.60 nope.".into(),
            enhanced: Some("5.7.60".into()),
            offered_auth: vec!["XOAUTH2".into()],
            open_ports: vec![],
        };
        let v = verdict(Cause::SenderNotAllowed, &c);
        assert!(v.summary.contains("site@example.com") && v.summary.contains("support@example.com"));
        assert!(v.advice.iter().any(|a| a.contains("Send As")));
        assert!(!v.summary.contains(".."), "{}", v.summary);
        let v = verdict(Cause::PortBlocked, &c);
        assert!(v.advice[0].contains("port 587"));
        assert!(v.advice[1].contains("port 465") && !v.advice[1].contains("port 587"), "{}", v.advice[1]);
        let scanned = Context { open_ports: vec![(2525, "smtp".into()), (465, "smtps".into())], ..c.clone() };
        let v = verdict(Cause::PortBlocked, &scanned);
        assert!(v.advice[1].contains("port 2525 with security 'opportunistic'") && v.advice[1].contains("port 465 with security 'tls'"), "{}", v.advice[1]);
        let v = verdict(Cause::AuthUnavailable, &c);
        assert!(v.advice.iter().any(|a| a.contains("'xoauth2'")), "{:?}", v.advice);
        let v = verdict(Cause::Unknown, &Context { enhanced: Some("5.7.705".into()), ..c });
        assert!(v.advice[0].contains("Microsoft support"));
    }
}
