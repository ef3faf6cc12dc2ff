//! From a cause (decided by [`crate::classify`]) to a summary and advice
//! that name the settings to change: pure, tested on fixtures.

pub use crate::classify::Cause;
use crate::classify::named_blocklist;
use crate::config::{AuthMode, Security, Transport};
use crate::error::SendError;
use super::records::{with_mechanism, RecordProblem, Relay};

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
    /// The reply code, when a reply decided.
    pub code: Option<u16>,
    /// The SIZE the server offered in EHLO, when known.
    pub size_limit: Option<u64>,
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
            code: None,
            size_limit: None,
            offered_auth: Vec::new(),
            open_ports: Vec::new(),
        }
    }

    /// For a failed send: the reply (or the error's message) as the detail.
    pub fn for_error(transport: &Transport, from: Option<String>, e: &SendError) -> Context {
        let detail = e.reply.as_ref().map(|r| r.one_line()).unwrap_or_else(|| e.message.clone());
        Context {
            code: e.reply.as_ref().map(|r| r.code),
            size_limit: e.size_limit,
            ..Context::new(transport, from, detail, e.reply.as_ref().and_then(|r| r.enhanced.clone()))
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
            format!("{at} only accepts mail from logged-in clients: {detail}."),
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
                "On Postfix, the administrator lists which logins own which addresses (smtpd_sender_login_maps); on Amazon SES, SendGrid or Zoho, verify the From address or its domain as a sender identity first.".into(),
            ],
        ),
        Cause::SenderUnauthenticated => (
            format!("The receiving server refused the mail because the From domain of {from} does not authenticate it (SPF, DKIM or DMARC): {detail}."),
            vec![
                "Add the server this site sends through to the From domain's SPF record (for Microsoft 365: include:spf.protection.outlook.com; for Google: include:_spf.google.com), and sign with DKIM where the provider offers it.".into(),
                "Publish a DMARC record (_dmarc.<domain>) once SPF or DKIM pass; or send From an address of a domain the sending server is allowed to send for.".into(),
            ],
        ),
        Cause::Blocklisted => {
            let list = named_blocklist(&c.detail).unwrap_or_else(|| match c.enhanced.as_deref() {
                Some(e) if e.starts_with("5.7.6") => "Microsoft's blocked senders list".to_string(),
                _ => "a DNS block list".to_string(),
            });
            (
                format!("The sending IP address is on {list}, so {at} refuses its mail: {detail}."),
                vec![
                    format!("Look the IP address up on {list}'s website and ask for delisting (Microsoft: the delist portal, sender.office.com)."),
                    "On shared hosting the address is shared with other sites: ask the hosting provider, or send through an authenticated submission service (port 587 with a login) instead of straight to the recipient's server.".into(),
                ],
            )
        }
        Cause::Greylisted => (
            format!("{at} asked to try again later (greylisting): {detail}."),
            vec!["Nothing to change: greylisting accepts the same mail when it is retried after a few minutes; a site that queues and retries delivers it.".into()],
        ),
        Cause::MessageTooLarge => (
            format!("{at} refused the message as too large: {detail}."),
            vec![
                match c.size_limit {
                    Some(size) => format!("The server accepts messages up to {size} bytes (about {:.1} MB, its EHLO SIZE); attachments grow by a third in transit: send smaller attachments or a link.", size as f64 / 1_000_000.0),
                    None => "Send smaller attachments (they grow by a third in transit) or a link to the file instead.".into(),
                },
            ],
        ),
        Cause::StarttlsRequired => (
            format!("{at} demands encryption (STARTTLS) before it takes mail, but security is '{}': {detail}.", c.security.as_str()),
            vec![format!("Set security to 'starttls' (port {port}), or 'tls' on port 465.")],
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
        Cause::Throttled => {
            let mut advice: Vec<String> = vec![
                "Wait and retry later; the mail is not lost if the site queues and retries.".into(),
                "If it happens every day, the account's sending limit is too small for the site: ask the provider for a higher limit, or send fewer messages per hour.".into(),
            ];
            let microsoft = host.ends_with("office365.com")
                || host.ends_with("outlook.com")
                || matches!(c.enhanced.as_deref(), Some("5.2.2" | "5.1.90" | "4.3.2"))
                || c.enhanced.as_deref().is_some_and(|e| e.starts_with("4.7.5") || e.starts_with("4.7.6"));
            if microsoft {
                advice.push("Microsoft 365 allows 30 messages a minute and 10,000 recipients a day per mailbox: spread large sends out.".into());
            }
            (format!("{at} is limiting how much this account may send right now: {detail}."), advice)
        }
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
                _ if c.code.is_some_and(|code| (400..500).contains(&code)) => vec![
                    "The refusal is temporary (a 4xx reply): retry later; if it lasts for hours, ask the server's administrator.".into(),
                    "Look up the reply's code and words in the provider's documentation of SMTP errors.".into(),
                ],
                _ => vec![
                    match c.enhanced.as_deref() {
                        Some(e) => format!("Look up {e} in the mail provider's documentation of SMTP errors; it says what the server refused."),
                        None => "Look up the reply in the mail provider's documentation of SMTP errors; it says what the server refused.".into(),
                    },
                    "If the provider's documentation does not help, send its administrator the reply above and the time of the send.".into(),
                ],
            },
        ),
    };
    Verdict { cause, summary, advice }
}

/// A sentence for each problem of the From domain's records (a warning
/// step of the walk), naming the TXT record to add or change.
pub fn records_advice(problem: &RecordProblem, domain: &str, relay: &Relay) -> String {
    let mechanism = relay.mechanism();
    let through = match relay.known() {
        Some((_, provider)) => format!("{} ({provider})", relay.host),
        None => relay.host.to_string(),
    };
    match problem {
        RecordProblem::NoSpf => format!(
            "Add an SPF record so that receivers accept mail From {domain} sent through {through}: a TXT record on {domain} with the value \"v=spf1 {mechanism} -all\"{}",
            direct_send_note(relay)
        ),
        RecordProblem::SpfMissesRelay(spf) => format!(
            "The SPF record of {domain} (\"{spf}\") does not authorise {through}: change the TXT record to \"{}\"{}",
            with_mechanism(spf, &mechanism),
            direct_send_note(relay)
        ),
        RecordProblem::SeveralSpf(n) => format!(
            "{domain} has {n} SPF records, so SPF fails at every receiver (RFC 7208 allows one): merge them into one TXT record starting with \"v=spf1\" that includes {mechanism}."
        ),
        RecordProblem::NoDmarc => format!(
            "Add a DMARC record: a TXT record on _dmarc.{domain} with the value \"v=DMARC1; p=none; rua=mailto:postmaster@{domain}\" (the reports then tell whether SPF and DKIM pass)."
        ),
    }
}

/// Microsoft's own setup for direct send also lists the site's sending address.
fn direct_send_note(relay: &Relay) -> &'static str {
    match relay.known() {
        Some((_, "Microsoft 365")) => " (for direct send Microsoft also advises ip4:<this site's public IP address> in it).",
        _ => ".",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            code: Some(550),
            size_limit: None,
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
        let v = verdict(Cause::Unknown, &Context { enhanced: Some("5.7.705".into()), ..c.clone() });
        assert!(v.advice[0].contains("Microsoft support"));
    }

    #[test]
    fn advice_for_the_new_causes_names_what_the_server_said() {
        let host = [(crate::value::Key::Name("host".into()), crate::value::Value::str("smtp.example.com"))];
        let c = Context::new(&Transport::settings_only(&host).expect("a host is enough"), None, String::new(), None);
        let listed = Context { detail: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org".into(), ..c.clone() };
        let v = verdict(Cause::Blocklisted, &listed);
        assert!(v.summary.contains("zen.spamhaus.org") && v.advice[0].contains("zen.spamhaus.org"), "{}", v.summary);
        let v = verdict(Cause::MessageTooLarge, &Context { size_limit: Some(10_485_760), ..c.clone() });
        assert!(v.advice[0].contains("10485760 bytes"), "{:?}", v.advice);
        let v = verdict(Cause::Greylisted, &c);
        assert!(v.advice[0].starts_with("Nothing to change"));
        let v = verdict(Cause::Throttled, &Context { host: "mail.example.org".into(), ..c.clone() });
        assert!(!v.advice.iter().any(|a| a.contains("Microsoft")), "{:?}", v.advice);
        let v = verdict(Cause::Unknown, &Context { code: Some(451), ..c });
        assert!(v.advice[0].contains("temporary"), "{:?}", v.advice);
    }

    #[test]
    fn records_advice_names_the_record_to_add() {
        let addresses = ["192.0.2.1".parse().unwrap()];
        let m365 = Relay { host: "contoso-com.mail.protection.outlook.com", addresses: &addresses };
        let a = records_advice(&RecordProblem::NoSpf, "contoso.com", &m365);
        assert!(a.contains("TXT record on contoso.com") && a.contains("\"v=spf1 include:spf.protection.outlook.com -all\"") && a.contains("Microsoft 365"), "{a}");
        let a = records_advice(&RecordProblem::SpfMissesRelay("v=spf1 mx -all".into()), "contoso.com", &m365);
        assert!(a.contains("\"v=spf1 mx include:spf.protection.outlook.com -all\""), "{a}");
        let relay = Relay { host: "smtp.provider.example", addresses: &addresses };
        let a = records_advice(&RecordProblem::NoDmarc, "site.example", &relay);
        assert!(a.contains("_dmarc.site.example") && a.contains("v=DMARC1; p=none; rua=mailto:postmaster@site.example"), "{a}");
        let a = records_advice(&RecordProblem::SeveralSpf(2), "site.example", &relay);
        assert!(a.contains("2 SPF records") && a.contains("a:smtp.provider.example"), "{a}");
        assert!(!records_advice(&RecordProblem::NoSpf, "site.example", &relay).contains(".."));
    }
}
