//! From a cause (decided by [`super::classify`]) to a summary and advice
//! that name the settings to change: pure, tested on fixtures.

use super::cause::Cause;
use super::rules::named_blocklist;
use crate::config::{AuthMode, Security, Transport};
use crate::smtp::error::{CertProblem, SendError};
use serde_json::{json, Value as Json};

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
    /// What is wrong with the server's certificate, when the handshake said
    /// (a logged failure does not keep it).
    pub certificate: Option<CertProblem>,
    /// The transport's HTTPS API ([`crate::api::Provider::as_str`]), if it sends through one.
    pub api: Option<&'static str>,
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
            certificate: None,
            api: transport.api.as_ref().map(|a| a.provider.as_str()),
        }
    }

    /// For a failed send: the reply (or the error's message) as the detail.
    pub fn for_error(transport: &Transport, from: Option<String>, e: &SendError) -> Context {
        Context::for_outcome(transport, from, Some(e))
    }

    /// For a run that failed (the reply, or the error's message, as the
    /// detail) or did not (no detail).
    pub fn for_outcome(transport: &Transport, from: Option<String>, failure: Option<&SendError>) -> Context {
        let Some(e) = failure else { return Context::new(transport, from, String::new(), None) };
        // An API's answer stands where a reply would: its status and the provider's error code.
        if let crate::smtp::error::Problem::Api(refusal) = &e.problem {
            let code = Some(refusal.status).filter(|status| *status != 0);
            return Context { code, ..Context::new(transport, from, e.message.clone(), refusal.provider_code.clone()) };
        }
        let detail = e.reply.as_ref().map(|r| r.one_line()).unwrap_or_else(|| e.message.clone());
        Context {
            code: e.reply.as_ref().map(|r| r.code),
            size_limit: e.size_limit,
            certificate: e.certificate_problem(),
            ..Context::new(transport, from, detail, e.reply.as_ref().and_then(|r| r.enhanced.clone()))
        }
    }
}

pub struct Verdict {
    pub cause: Cause,
    pub summary: String,
    pub advice: Vec<String>,
}

/// When an alternative of the advice applies.
#[derive(Clone, Copy)]
pub enum When {
    /// The auth setting is this mode.
    Auth(&'static str),
    /// The placeholder has a value (see [`PLACEHOLDERS`]).
    Has(&'static str),
    /// The reply's enhanced code is one of these.
    Enhanced(&'static [&'static str]),
    /// The reply's enhanced code starts with one of these.
    EnhancedPrefix(&'static [&'static str]),
    /// The host ends with one of these.
    HostSuffix(&'static [&'static str]),
    /// The reply code is in this range.
    Code(u16, u16),
    /// The certificate's problem is one of these ([`CertProblem::as_str`]).
    Certificate(&'static [&'static str]),
    /// The transport sends through one of these HTTPS APIs ([`crate::api::API_CHOICES`]).
    Api(&'static [&'static str]),
    /// One of these holds.
    Any(&'static [When]),
}

/// One piece of advice, a template (see [`render`]).
pub enum Line {
    Say(&'static str),
    /// The first alternative whose condition holds (none: always) gives its
    /// lines; when none holds, no line.
    First(&'static [(Option<When>, &'static [&'static str])]),
}

/// What a cause means for a site owner: a summary and advice, as templates.
pub struct Text {
    pub cause: Cause,
    pub summary: &'static str,
    pub advice: &'static [Line],
}

/// The placeholders of the templates, `{name}` or `{name|what to say without a value}`.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("host", "the transport's host"),
    ("port", "the transport's port"),
    ("security", "the transport's security setting"),
    ("user", "the transport's username, if any"),
    ("from", "the failure's From address, if given"),
    ("detail", "the reply as code, enhanced code and text on one line (else the error's message), without trailing full stops"),
    ("enhanced", "the reply's enhanced code, if any"),
    ("blocklist", "the block list the detail names (see blocklist), else by the enhanced code's prefix, else its 'otherwise'"),
    ("size", "the SIZE the server offered in EHLO, in bytes, if known"),
    ("size_mb", "that size in millions of bytes, one decimal"),
    ("offered_auth", "the AUTH mechanisms the server offered, lower case, each in single quotes, joined by ', ', if any"),
    ("other_ports", "each of usual_ports but the transport's port as \"port P with security 'S'\", joined by ', or '"),
    ("found_ports", "ports a scan found (the walk only) as \"port P with security 'S' (service)\", joined by ', or ', if any"),
];

/// Submission ports to suggest instead of one that cannot be reached.
pub const USUAL_PORTS: [(u16, &str); 3] = [(587, "starttls"), (465, "tls"), (25, "opportunistic")];

/// A block list named by Microsoft's enhanced codes rather than in the reply; else the last resort.
pub const BLOCKLIST_BY_ENHANCED: (&str, &str) = ("5.7.6", "Microsoft's blocked senders list");
pub const BLOCKLIST_OTHERWISE: &str = "a DNS block list";

/// The security setting that fits what a scanned port speaks.
fn security_for(service: &str) -> &'static str {
    match service {
        "smtps" => "tls",
        "smtp+starttls" => "starttls",
        _ => "opportunistic",
    }
}

/// The value of a placeholder, `None` when the run does not know it.
fn value(name: &str, c: &Context) -> Option<String> {
    let ports = |ports: Vec<String>| ports.join(", or ");
    match name {
        "host" => Some(c.host.clone()),
        "port" => Some(c.port.to_string()),
        "security" => Some(c.security.as_str().to_string()),
        "user" => c.username.clone(),
        "from" => c.from.clone(),
        // The reply quoted inside a sentence brings its own full stop.
        "detail" => Some(c.detail.trim_end_matches('.').to_string()),
        "enhanced" => c.enhanced.clone(),
        "blocklist" => Some(named_blocklist(&c.detail).unwrap_or_else(|| match c.enhanced.as_deref() {
            Some(e) if e.starts_with(BLOCKLIST_BY_ENHANCED.0) => BLOCKLIST_BY_ENHANCED.1.to_string(),
            _ => BLOCKLIST_OTHERWISE.to_string(),
        })),
        "size" => c.size_limit.map(|size| size.to_string()),
        "size_mb" => c.size_limit.map(|size| format!("{:.1}", size as f64 / 1_000_000.0)),
        "offered_auth" => {
            (!c.offered_auth.is_empty()).then(|| c.offered_auth.iter().map(|m| format!("'{}'", m.to_ascii_lowercase())).collect::<Vec<_>>().join(", "))
        }
        "other_ports" => Some(ports(
            USUAL_PORTS.iter().filter(|(port, _)| *port != c.port).map(|(port, security)| format!("port {port} with security '{security}'")).collect(),
        )),
        "found_ports" => (!c.open_ports.is_empty())
            .then(|| ports(c.open_ports.iter().map(|(port, service)| format!("port {port} with security '{}' ({service})", security_for(service))).collect())),
        _ => None,
    }
}

impl When {
    fn holds(self, c: &Context) -> bool {
        let enhanced = c.enhanced.as_deref().unwrap_or("");
        match self {
            When::Auth(mode) => c.auth.as_str() == mode,
            When::Has(name) => value(name, c).is_some(),
            When::Enhanced(codes) => c.enhanced.is_some() && codes.contains(&enhanced),
            When::EnhancedPrefix(prefixes) => c.enhanced.is_some() && prefixes.iter().any(|p| enhanced.starts_with(p)),
            When::HostSuffix(suffixes) => suffixes.iter().any(|s| c.host.ends_with(s)),
            When::Code(low, high) => c.code.is_some_and(|code| (low..=high).contains(&code)),
            When::Certificate(problems) => c.certificate.is_some_and(|p| problems.contains(&p.as_str())),
            When::Api(apis) => c.api.is_some_and(|api| apis.contains(&api)),
            When::Any(whens) => whens.iter().any(|w| w.holds(c)),
        }
    }

    fn to_json(self) -> Json {
        match self {
            When::Auth(mode) => json!({ "auth": mode }),
            When::Has(name) => json!({ "has": name }),
            When::Enhanced(codes) => json!({ "enhanced": codes }),
            When::EnhancedPrefix(prefixes) => json!({ "enhanced_prefix": prefixes }),
            When::HostSuffix(suffixes) => json!({ "host_suffix": suffixes }),
            When::Code(low, high) => json!({ "code": [low, high] }),
            When::Certificate(problems) => json!({ "certificate": problems }),
            When::Api(apis) => json!({ "api": apis }),
            When::Any(whens) => json!({ "any": whens.iter().map(|w| w.to_json()).collect::<Vec<_>>() }),
        }
    }
}

/// A template with each `{name}` or `{name|otherwise}` replaced. A quote
/// that came out empty ("...: {detail}." without a detail) leaves no
/// dangling colon.
fn render(template: &str, c: &Context) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("every { of a template is closed");
        let (name, otherwise) = rest[open + 1..close].split_once('|').unwrap_or((&rest[open + 1..close], ""));
        out.push_str(&rest[..open]);
        out.push_str(&value(name, c).unwrap_or_else(|| otherwise.to_string()));
        rest = &rest[close + 1..];
    }
    (out + rest).replace(": .", ".")
}

use Line::{First, Say};

const OTHER_PORTS: Line = First(&[
    (Some(When::Has("found_ports")), &["The port scan found mail service on {host}: try {found_ports}."]),
    (None, &["Try {other_ports}, if the mail provider offers them (scan_ports tells which answer)."]),
]);

const MICROSOFT_HOST: When = When::HostSuffix(&["office365.com", "outlook.com"]);

/// Microsoft's rate limits: its host, or its codes for throttling.
const MICROSOFT: When = When::Any(&[MICROSOFT_HOST, When::Enhanced(&["4.3.2"]), When::EnhancedPrefix(&["4.7.5", "4.7.6"])]);

const GOOGLE_HOST: When = When::HostSuffix(&["gmail.com", "google.com", "googlemail.com"]);

const fn text(cause: Cause, summary: &'static str, advice: &'static [Line]) -> Text {
    Text { cause, summary, advice }
}

/// The summary and advice of each cause.
pub const TEXTS: &[Text] = &[
    text(Cause::Ok, "Mail can be sent through {host}:{port}.", &[]),
    text(Cause::DnsFailed, "The name {host} could not be found in DNS: {detail}.", &[
        First(&[(Some(When::Api(crate::api::API_CHOICES)), &["Check the spelling of the host '{host}' in api_base, or leave api_base out for the provider's own address."]), (None, &["Check the spelling of host '{host}'."])]),
        Say("If the site runs in a container or on a host with its own resolver, check that it can resolve public names."),
    ]),
    text(Cause::PortBlocked, "Nothing answered on {host}:{port}: a firewall between this site and the server is dropping the connection.", &[
        Say("Ask the hosting provider whether outbound port {port} is blocked; many block port 25, some also 465 and 587."),
        OTHER_PORTS,
        Say("On shared hosting that only allows its own relay (such as GoDaddy's relay-hosting.secureserver.net on port 25), use that relay."),
    ]),
    text(Cause::ConnectionRefused, "{host}:{port} refused the connection: the host is reachable but no mail server listens on port {port}.", &[
        Say("Check port {port}: submission is usually 587 (security 'starttls') or 465 (security 'tls')."),
        OTHER_PORTS,
        Say("If {host} is this machine, check that the mail server is running."),
    ]),
    text(Cause::NotSmtp, "Something answered on {host}:{port}, but it does not speak SMTP the way the settings expect: {detail}.", &[
        Say("Port 465 expects security 'tls' (TLS from the start); ports 587 and 25 expect 'starttls' or 'opportunistic'."),
        Say("Check that {host}:{port} is a mail server and not a web or other service."),
    ]),
    text(Cause::TlsHandshakeFailed, "The TLS handshake with {host}:{port} failed: {detail}.", &[
        Say("Check security '{security}' against what port {port} expects (465: 'tls'; 587: 'starttls')."),
        Say("If the server is old, ask its administrator to enable TLS 1.2 or newer."),
    ]),
    text(Cause::TlsVersionUnsupported, "{host}:{port} only offers TLS versions older than this site accepts: {detail}.", &[
        Say("Ask the mail server's administrator to enable TLS 1.2 or 1.3; TLS 1.0 and 1.1 are retired (RFC 8996)."),
        Say("If tls_min_version is '1.3', set it to '1.2'."),
    ]),
    text(Cause::TlsCertificateInvalid, "The certificate of {host}:{port} is not valid: {detail}.", &[
        // The certificate does name the host when its issuer is the problem: the host is right, the trust is missing.
        First(&[
            (Some(When::Certificate(&["unknown_issuer", "self_signed"])), &[
                "The certificate is not issued by a CA this site trusts: if the server uses a private CA (or a self-signed certificate), give that certificate with ca_file.",
            ]),
            (Some(When::Certificate(&["expired", "not_yet_valid"])), &[
                "The certificate is outside its validity period: ask the server's administrator to renew it (or check this machine's clock).",
            ]),
            (Some(When::Api(crate::api::API_CHOICES)), &[
                "Use the host name the certificate is issued for in api_base, instead of '{host}', or leave api_base out for the provider's own address.",
                "If a proxy in between presents its own certificate, give its CA with ca_file.",
            ]),
            (None, &["Use the host name the certificate is issued for as host, instead of '{host}'.", "If the server uses a private CA, give its certificate with ca_file."]),
        ]),
        Say("Ask the server's administrator to renew or replace the certificate; turning verify_peer off exposes the password to anyone in between."),
    ]),
    text(Cause::StarttlsUnavailable, "{host}:{port} does not offer STARTTLS, so the connection cannot be encrypted: {detail}.", &[
        Say("Try port 465 with security 'tls', or port 587 with security 'starttls', on {host}."),
        Say("If this server may only be reached in clear text (a relay on the same network), set security to 'none' and auth to 'none'."),
    ]),
    text(Cause::AuthUnavailable, "{host}:{port} offers no way to log in that this site can use: {detail}.", &[
        Say("Many servers offer AUTH only after STARTTLS: set security to 'starttls' (port 587) or 'tls' (port 465)."),
        First(&[
            (Some(When::Has("offered_auth")), &["Set auth to a mechanism the server offers: {offered_auth} ('auto' picks PLAIN or LOGIN)."]),
            (None, &["The server lists no AUTH mechanism at all on this connection."]),
        ]),
        Say("If the server is a relay that needs no login (as GoDaddy's relay or a direct-send MX host), set auth to 'none'."),
    ]),
    text(Cause::AuthFailed, "{host}:{port} refused the login of {user|the account}: {detail}.", &[
        First(&[(Some(When::Auth("xoauth2")), &["For OAuth2, check that the token is current and has the SMTP scope (Microsoft 365: https://outlook.office365.com/.default; Google: https://mail.google.com/) and that the app is allowed on the mailbox."])]),
        Say("Check username '{user|the account}' and the password (or token)."),
        // What each provider's SMTP page says its login is: the usual mistake is the account password or the API key.
        // Google: "Sign in with app passwords"; SendGrid: "Integrating with the SMTP API" (username "apikey");
        // Brevo: "SMTP relay integration" ("an SMTP key and not an API key"); Mailgun: "SMTP" (per-domain SMTP credentials).
        First(&[
            (Some(GOOGLE_HOST), &["For Gmail, sign in with an app password, not the account password."]),
            (Some(When::HostSuffix(&["sendgrid.net"])), &["For SendGrid, the username is the word apikey and the password is an API key with Mail Send permission."]),
            (Some(When::HostSuffix(&["brevo.com", "sendinblue.com"])), &["For Brevo, the username is the SMTP login and the password an SMTP key (Settings > SMTP & API > SMTP), not the API key or the account password."]),
            (Some(When::HostSuffix(&["mailgun.org"])), &["For Mailgun, log in with the sending domain's SMTP credentials (e.g. postmaster@your-domain and its SMTP password), not the API key."]),
        ]),
    ]),
    text(Cause::AuthDisabled, "SMTP login is switched off for {user|the account} or its Microsoft 365 tenant (5.7.139): {detail}.", &[
        Say("In the Microsoft 365 admin center, enable Authenticated SMTP for the mailbox (Mail > Manage email apps), and check that security defaults or conditional access do not block it."),
        Say("Or switch auth to 'xoauth2' and use an OAuth2 token: password login is switched off by default at the end of December 2026."),
    ]),
    text(Cause::BasicAuthRetired, "{host}:{port} no longer accepts a password for {user|the account} (5.7.30): basic authentication is retired.", &[
        Say("Set auth to 'xoauth2' and give an OAuth2 access token as password (Microsoft 365 scope: https://outlook.office365.com/.default)."),
        Say("Or switch to the Microsoft 365 (Graph API) preset: it sends over HTTPS (port 443) with an OAuth2 token and needs no SMTP login at all."),
    ]),
    text(Cause::AnonymousRejected, "{host}:{port} only accepts mail from logged-in clients: {detail}.", &[
        Say("Set auth to 'auto' (or 'login') with the mailbox's username and password, or 'xoauth2' with a token."),
        // Microsoft's own advice only for Microsoft's hosts and code: a "530 5.7.0" elsewhere is no Microsoft matter.
        First(&[(Some(When::Any(&[MICROSOFT_HOST, When::Enhanced(&["5.7.57"])])), &["To send without a login to Microsoft 365, use direct send: host = the tenant's MX host (tenant.mail.protection.outlook.com), port 25."])]),
    ]),
    text(Cause::SenderNotAllowed, "{user|the account} may not send as {from|the From address} (the From address differs from the mailbox): {detail}.", &[
        Say("Grant {user|the account} the \"Send As\" right on {from|the From address} (Microsoft 365: Exchange admin center > mailbox > delegation)."),
        Say("Or set the From address to the mailbox that logs in ({user|the account})."),
        Say("On Postfix, the administrator lists which logins own which addresses (smtpd_sender_login_maps); on Amazon SES, SendGrid or Zoho, verify the From address or its domain as a sender identity first."),
        First(&[(Some(When::Api(&["ses"])), &["In the Amazon SES console of this region, verify {from|the From address} or its domain (Verified identities), or send From an identity that is verified."])]),
    ]),
    text(Cause::SenderUnauthenticated, "The receiving server refused the mail because the From domain of {from|the From address} does not authenticate it (SPF, DKIM or DMARC): {detail}.", &[
        Say("Add the server this site sends through to the From domain's SPF record (for Microsoft 365: include:spf.protection.outlook.com; for Google: include:_spf.google.com), and sign with DKIM where the provider offers it."),
        Say("Publish a DMARC record (_dmarc.<domain>) once SPF or DKIM pass; or send From an address of a domain the sending server is allowed to send for."),
    ]),
    text(Cause::Blocklisted, "The sending IP address is on {blocklist}, so {host}:{port} refuses its mail: {detail}.", &[
        Say("Look the IP address up on {blocklist}'s website and ask for delisting (Microsoft: the delist portal, sender.office.com)."),
        Say("On shared hosting the address is shared with other sites: ask the hosting provider, or send through an authenticated submission service (port 587 with a login) instead of straight to the recipient's server."),
    ]),
    text(Cause::Greylisted, "{host}:{port} asked to try again later (greylisting): {detail}.", &[
        Say("Nothing to change: greylisting accepts the same mail when it is retried after a few minutes; a site that queues and retries delivers it."),
    ]),
    text(Cause::MessageTooLarge, "{host}:{port} refused the message as too large: {detail}.", &[First(&[
        (Some(When::Has("size")), &["The server accepts messages up to {size} bytes (about {size_mb} MB, its EHLO SIZE); attachments grow by a third in transit: send smaller attachments or a link."]),
        (Some(When::Api(&["graph", "gmail", "ses", "mailgun"])), &["The API takes requests up to its own limit (Graph 4 MB of base64, Gmail 35 MB, SES 40 MB, Mailgun 25 MB): send smaller attachments or a link, or send this message over SMTP."]),
        (None, &["Send smaller attachments (they grow by a third in transit) or a link to the file instead."]),
    ])]),
    text(Cause::StarttlsRequired, "{host}:{port} demands encryption (STARTTLS) before it takes mail, but security is '{security}': {detail}.", &[
        Say("Set security to 'starttls' (port {port}), or 'tls' on port 465."),
    ]),
    text(Cause::RelayDenied, "{host}:{port} refuses to relay this mail: {detail}.", &[
        Say("Log in: set auth to 'auto' with a username and password, so the server accepts mail for outside recipients."),
        Say("Microsoft 365 direct send (MX host, port 25, no login) only reaches the tenant's own mailboxes; use smtp.office365.com on 587 with a login for others."),
        Say("If you use a connector, check that it matches this site's IP address or certificate."),
    ]),
    text(Cause::DirectSendRejected, "The Microsoft 365 tenant refuses direct send (5.7.68): {detail}.", &[
        Say("Use authenticated submission: host smtp.office365.com, port 587, security 'starttls', auth 'login' or 'xoauth2'."),
        Say("Or ask the tenant admin to allow direct send (Set-OrganizationConfig -RejectDirectSend $false) or to add a partner connector for this site."),
    ]),
    text(Cause::Intercepted, "The server that answered on {host}:{port} is not {host}: {detail}. The hosting provider is probably redirecting outbound mail to its own server.", &[
        Say("Ask the hosting provider whether it redirects outbound SMTP (cPanel/WHM 'SMTP Restrictions'), and whether it can be switched off."),
        Say("Or send through the provider's own relay with its settings (GoDaddy shared hosting: relay-hosting.secureserver.net, port 25, no login)."),
    ]),
    text(Cause::RecipientRejected, "{host}:{port} refused the recipient: {detail}.", &[
        First(&[(Some(When::HostSuffix(&["mailgun.org"])), &["A Mailgun sandbox domain delivers only to authorized recipients: add the address under Authorized Recipients, or send from a domain of your own that Mailgun has verified."])]),
        Say("Check the recipient address; the mailbox may not exist."),
    ]),
    text(Cause::AddressNeedsSmtputf8, "{host}:{port} does not offer SMTPUTF8 (RFC 6531), which an address with non-ASCII characters before the '@' needs: {detail}.", &[
        Say("Use an ASCII address of that mailbox (most such mailboxes also have one), or send through a server that offers SMTPUTF8 (Gmail, Microsoft 365, Postfix 3 with smtputf8_enable = yes)."),
        Say("A non-ASCII domain alone needs nothing: it is sent as IDNA (xn--...)."),
    ]),
    // The limits each provider publishes: Microsoft "Sending limits in Exchange Online" and "Message storage and
    // concurrent connection throttling for SMTP Authenticated Submission"; Google "Gmail sending limits in Google
    // Workspace" (counted over a rolling 24 hours).
    text(Cause::Throttled, "{host}:{port} is limiting how fast this account may send (messages a minute or an hour, or connections at once): {detail}.", &[
        Say("A rate limit clears within minutes: retry later; the mail is not lost if the site queues and retries."),
        Say("Spread the sending out: fewer messages a minute, and fewer connections at once."),
        Say("On Postfix, the administrator sets the limit: smtpd_client_message_rate_limit messages per anvil_rate_time_unit from one client address (every site sharing that address counts against it)."),
        First(&[(Some(MICROSOFT), &["Microsoft 365 allows 30 messages a minute and 3 connections at once per mailbox: send at most that."])]),
    ]),
    text(Cause::DailyLimitReached, "{host}:{port} takes no more mail from {user|this account} for now, as its daily sending limit is reached: {detail}.", &[
        First(&[
            (Some(When::Any(&[MICROSOFT_HOST, When::Enhanced(&["5.1.90"])])), &[
                "Microsoft 365 allows 10,000 recipients a day per mailbox, counted over a rolling 24 hours: the mailbox sends again once the recipients of the last 24 hours are under that, at the latest 24 hours after the limit was reached.",
                "If the site needs more, send bulk mail through a service made for it (Microsoft: High Volume Email, or Azure Communication Services).",
            ]),
            (Some(When::Any(&[GOOGLE_HOST, When::Enhanced(&["5.4.5"])])), &[
                "Google counts its daily limits over a rolling 24 hours (Google Workspace: 2,000 messages a day per user; a free Gmail account: 500; the SMTP relay: 10,000 recipients a day per user): sending resumes as the messages of 24 hours ago age out, within 24 hours at the latest.",
                "If the site needs more, send bulk mail through a service made for it, or through Google Workspace's SMTP relay.",
            ]),
            (None, &[
                "The limit is per day (most providers count the last 24 hours): ask the provider when it resets.",
                "If the site reaches it regularly, ask the provider for a higher limit, or send bulk mail through a service made for it.",
            ]),
        ]),
        Say("Nothing in the settings is wrong: keep the mail queued and retry in some hours; retrying within minutes fails the same way."),
    ]),
    text(Cause::TooManyRecipients, "{host}:{port} takes fewer recipients in one message than this one has: {detail}.", &[
        Say("Split the recipients over several messages; the recipients refused with this reply did not get the mail and can be sent it again in another message."),
        First(&[(Some(MICROSOFT_HOST), &["Microsoft 365 takes at most 500 recipients in one message."])]),
        Say("On Postfix, the administrator sets the limit: smtpd_recipient_limit (1000 by default)."),
    ]),
    text(Cause::SenderMailboxFull, "The mailbox of {user|the account} is full, so {host}:{port} does not let it send: {detail}.", &[
        Say("Microsoft 365 keeps every message sent with SMTP AUTH in the mailbox's Sent Items: empty Sent Items, and set a retention policy that empties it before the mailbox fills up again."),
        Say("Or give the mailbox more storage; it sends again once it is under its quota."),
    ]),
    text(Cause::ApiTokenRejected, "{host} refused the token or key of {user|the account}: {detail}.", &[First(&[
        (Some(When::Api(&["graph"])), &["The access token is expired or not for Microsoft Graph: sign in again (Microsoft 365 (Graph API) preset), or check the app's tenant, client ID and secret; app-only tokens use the scope https://graph.microsoft.com/.default."]),
        (Some(When::Api(&["gmail"])), &["The access token is expired or revoked: sign in with Google again (Gmail API preset), or check the app's client ID and secret."]),
        (Some(When::Api(&["ses"])), &["Check the access key id (username '{user|the key id}') and the secret access key (password), and that the key is active in IAM: SES refused the signature."]),
        (Some(When::Api(&["mailgun"])), &["Check the Mailgun API key (password), and that region matches the account ('us' or 'eu'): a key of one region is refused by the other."]),
        (None, &["Check the token or key given as password."]),
    ])]),
    text(Cause::ApiTokenExpired, "The access token for {user|the account} has expired, so {host} would refuse it: {detail}.", &[First(&[
        (Some(When::Api(&["graph"])), &["With the Microsoft 365 (Graph API) preset the plugin fetches a new app-only token itself (tenant, client ID and secret) when the old one expires: use it rather than a token pasted as password; for a sign-in, sign in with Microsoft again."]),
        (Some(When::Api(&["gmail"])), &["Sign in with Google again (Gmail API preset): the plugin then renews the token itself; an access token pasted as password lasts an hour."]),
        (None, &["Give a fresh access token as password."]),
    ])]),
    text(Cause::ApiPermissionMissing, "{host} does not let the app or key send mail for {user|the account}: {detail}.", &[First(&[
        (Some(When::Api(&["graph"])), &[
            "In Microsoft Entra ID, give the app the Microsoft Graph permission Mail.Send (application permission for app-only, delegated for a sign-in) and grant admin consent.",
            "If an RBAC for Applications scope limits the app to some mailboxes, include {user|the mailbox} in it (New-ManagementScope, then New-ManagementRoleAssignment -Role \"Application Mail.Send\").",
        ]),
        (Some(When::Api(&["gmail"])), &["Sign in with Google again, asking for the scope https://www.googleapis.com/auth/gmail.send: the token lacks it."]),
        (Some(When::Api(&["ses"])), &["Give the IAM user or role of key {user|the key id} the permission ses:SendRawEmail (and ses:SendEmail) for the From identity."]),
        (None, &["Give the credentials the permission to send mail for this mailbox."]),
    ])]),
    text(Cause::ApiMailboxUnavailable, "{user|The mailbox} cannot send through {host}: {detail}.", &[First(&[
        (Some(When::Api(&["graph"])), &["{user|The mailbox} has no Exchange Online mailbox: assign it a licence that includes Exchange Online, or set username to a mailbox that has one."]),
        (Some(When::Api(&["gmail"])), &["Gmail is not enabled for {user|the account}: turn on Gmail for the user in the Google Workspace admin console, or sign in with an account that has Gmail."]),
        (None, &["Set username to a mailbox that exists and may send."]),
    ])]),
    text(Cause::ApiSandbox, "The account sends only to verified or authorized recipients (a sandbox): {detail}.", &[First(&[
        (Some(When::Api(&["ses"])), &["The SES account is in the sandbox of this region: request production access in the SES console (Account dashboard), or verify each recipient for tests."]),
        (Some(When::Api(&["mailgun"])), &["A Mailgun sandbox domain sends only to authorized recipients: add and verify your own domain in Mailgun and set username to it, or add the recipient under authorized recipients."]),
        (None, &["Leave the provider's sandbox, or verify the recipient."]),
    ])]),
    text(Cause::ApiAccountPaused, "Amazon SES has paused sending for this account: {detail}.", &[
        Say("Read the notice in the SES console (Reputation metrics, Account dashboard): sending is paused for too many bounces or complaints; fix the cause and ask AWS to resume sending."),
    ]),
    text(Cause::ApiRequestRejected, "{host} refused the request: {detail}.", &[
        Say("Change what the provider names in its words above: {detail}."),
        Say("If the message looks right, check username ('{user|not set}') and api_base."),
    ]),
    text(Cause::ApiUnavailable, "{host} failed on its side and did not take the message: {detail}.", &[
        Say("Send it again later (the outbox retries it, after Retry-After when the API gives one); if it lasts, check the provider's status page."),
    ]),
    text(Cause::Timeout, "{host}:{port} accepted the connection but stopped answering: {detail}.", &[
        Say("Retry later; if it persists, the server or a filtering proxy in between is overloaded or broken."),
        Say("If port 465 is used with security 'starttls' (or the reverse), match security to the port."),
    ]),
    text(Cause::Unknown, "{host}:{port} refused the mail: {detail}.", &[First(&[
        (Some(When::Enhanced(&["5.7.705", "5.7.708"])), &[
            "Microsoft has blocked the tenant or its sending IP for suspicious traffic; this is outside the site's control: contact Microsoft support.",
        ]),
        (Some(When::Code(400, 499)), &[
            "The refusal is temporary (a 4xx reply): retry later; if it lasts for hours, ask the server's administrator.",
            "Look up the reply's code and words in the provider's documentation of SMTP errors.",
        ]),
        (None, &[
            "Look up {enhanced|the reply} in the mail provider's documentation of SMTP errors; it says what the server refused.",
            "If the provider's documentation does not help, send its administrator the reply above and the time of the send.",
        ]),
    ])]),
];

fn text_of(cause: Cause) -> &'static Text {
    TEXTS.iter().find(|t| t.cause == cause).expect("every cause has its text in TEXTS")
}

/// The summary for a site owner and the concrete things to change.
pub fn verdict(cause: Cause, c: &Context) -> Verdict {
    let text = text_of(cause);
    let advice = text
        .advice
        .iter()
        .flat_map(|line| match line {
            Say(template) => std::slice::from_ref(template),
            First(alternatives) => alternatives.iter().find(|(when, _)| when.is_none_or(|w| w.holds(c))).map_or(&[][..], |(_, lines)| *lines),
        })
        .map(|template| render(template, c))
        .collect();
    Verdict { cause, summary: render(text.summary, c), advice }
}

/// Every cause's text as data for the plugin (src/export.rs): an advice line
/// is a template, or `{"first": [{"when": condition or null, "advice": [...]}]}`.
pub fn texts_json() -> Json {
    let line = |line: &Line| match line {
        Say(template) => json!(template),
        First(alternatives) => json!({
            "first": alternatives
                .iter()
                .map(|(when, lines)| json!({ "when": when.map(When::to_json), "advice": lines }))
                .collect::<Vec<_>>()
        }),
    };
    let texts = Cause::ALL.iter().map(|cause| {
        let text = text_of(*cause);
        (cause.as_str().to_string(), json!({ "summary": text.summary, "advice": text.advice.iter().map(line).collect::<Vec<_>>() }))
    });
    Json::Object(texts.collect())
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
            certificate: None,
            api: None,
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
        // A certificate that names the host but comes from an unknown CA: keep the host, add the CA.
        let v = verdict(Cause::TlsCertificateInvalid, &Context { certificate: Some(CertProblem::UnknownIssuer), ..c.clone() });
        assert!(v.advice[0].contains("ca_file") && !v.advice.iter().any(|a| a.contains("instead of")), "{:?}", v.advice);
        let v = verdict(Cause::TlsCertificateInvalid, &Context { certificate: Some(CertProblem::NameMismatch), ..c.clone() });
        assert!(v.advice[0].contains("instead of 'smtp.example.com'"), "{:?}", v.advice);
    }

    #[test]
    fn advice_for_the_new_causes_names_what_the_server_said() {
        let c = Context::new(&transport("smtp.example.com"), None, String::new(), None);
        let listed = Context { detail: "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org".into(), ..c.clone() };
        let v = verdict(Cause::Blocklisted, &listed);
        assert!(v.summary.contains("zen.spamhaus.org") && v.advice[0].contains("zen.spamhaus.org"), "{}", v.summary);
        let v = verdict(Cause::MessageTooLarge, &Context { size_limit: Some(10_485_760), ..c.clone() });
        assert!(v.advice[0].contains("10485760 bytes"), "{:?}", v.advice);
        let v = verdict(Cause::Greylisted, &c);
        assert!(v.advice[0].starts_with("Nothing to change"));
        let v = verdict(Cause::TlsHandshakeFailed, &c);
        assert_eq!(v.summary, "The TLS handshake with smtp.example.com:25 failed.", "an empty detail quotes nothing");
        let v = verdict(Cause::Throttled, &Context { host: "mail.example.org".into(), ..c.clone() });
        assert!(!v.advice.iter().any(|a| a.contains("Microsoft")), "{:?}", v.advice);
        assert!(v.advice.iter().any(|a| a.contains("smtpd_client_message_rate_limit")), "Postfix's setting: {:?}", v.advice);
        let v = verdict(Cause::Unknown, &Context { code: Some(451), ..c });
        assert!(v.advice[0].contains("temporary"), "{:?}", v.advice);
    }

    #[test]
    fn the_advice_on_a_limit_says_which_limit_and_when_it_resets() {
        let on = |host: &str, line: &str| {
            let (code, rest) = line.split_at(3);
            let enhanced = rest.split_whitespace().next().filter(|w| w.contains('.')).map(str::to_string);
            Context { code: code.parse().ok(), enhanced, detail: line.into(), ..Context::new(&transport(host), None, String::new(), None) }
        };
        let advice = |cause, host, line| verdict(cause, &on(host, line)).advice.join(" ");
        let m365 = advice(Cause::DailyLimitReached, "smtp.office365.com", "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException");
        assert!(m365.contains("10,000 recipients a day") && m365.contains("rolling 24 hours") && !m365.contains("Google"), "{m365}");
        let gmail = advice(Cause::DailyLimitReached, "smtp.gmail.com", "550 5.4.5 Daily user sending limit exceeded.");
        assert!(gmail.contains("rolling 24 hours") && gmail.contains("2,000 messages a day") && !gmail.contains("Microsoft"), "{gmail}");
        // Google's code names Google wherever the mail went through; another server's daily limit names no provider.
        assert!(advice(Cause::DailyLimitReached, "relay.example.com", "550 5.4.5 Daily SMTP relay limit exceeded for user.").contains("Google"));
        let other = advice(Cause::DailyLimitReached, "mail.example.org", "454 Throttling failure: Daily message quota exceeded.");
        assert!(other.contains("per day") && other.contains("retry in some hours") && !other.contains("Google") && !other.contains("Microsoft"), "{other}");
        let summary = verdict(Cause::DailyLimitReached, &on("mail.example.org", "550 5.4.5 Daily user sending limit exceeded.")).summary;
        assert!(summary.contains("daily sending limit"), "{summary}");
        let rate = advice(Cause::Throttled, "smtp.office365.com", "451 4.7.500 Server busy.");
        assert!(rate.contains("within minutes") && rate.contains("30 messages a minute") && !rate.contains("a day"), "{rate}");
        let recipients = advice(Cause::TooManyRecipients, "smtp.office365.com", "550 5.2.254 Sender throttled due to continuous too many recipients errors.");
        assert!(recipients.contains("Split the recipients") && recipients.contains("500 recipients in one message"), "{recipients}");
        let full = advice(
            Cause::SenderMailboxFull,
            "smtp.office365.com",
            "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
        );
        assert!(full.contains("Sent Items"), "{full}");
    }

    #[test]
    fn a_providers_own_advice_only_for_that_provider() {
        let on = |host: &str, enhanced: &str| {
            let c = Context::new(&transport(host), None, String::new(), None);
            Context { enhanced: Some(enhanced.into()), code: Some(530), ..c }
        };
        let generic = verdict(Cause::AnonymousRejected, &on("smtp.example.com", "5.7.0")).advice.join(" ");
        assert!(!generic.contains("Microsoft"), "a 530 5.7.0 from another server: {generic}");
        let microsoft = verdict(Cause::AnonymousRejected, &on("smtp.example.com", "5.7.57")).advice.join(" ");
        assert!(microsoft.contains("direct send"), "Microsoft's 5.7.57: {microsoft}");
        let office = verdict(Cause::AnonymousRejected, &on("smtp.office365.com", "5.7.0")).advice.join(" ");
        assert!(office.contains("direct send"), "Microsoft's host: {office}");
        assert!(!verdict(Cause::AuthFailed, &on("smtp.example.com", "5.7.8")).advice.join(" ").contains("Gmail"));
        assert!(verdict(Cause::AuthFailed, &on("smtp.gmail.com", "5.7.8")).advice.join(" ").contains("app password"));
        assert!(verdict(Cause::AuthFailed, &on("smtp.sendgrid.net", "5.7.8")).advice.join(" ").contains("the word apikey"));
        assert!(verdict(Cause::AuthFailed, &on("smtp-relay.brevo.com", "5.7.8")).advice.join(" ").contains("SMTP key"));
        assert!(verdict(Cause::RecipientRejected, &on("smtp.mailgun.org", "")).advice[0].contains("Authorized Recipients"));
        assert!(!verdict(Cause::RecipientRejected, &on("smtp.example.com", "")).advice.join(" ").contains("Mailgun"));
    }

    fn transport(host: &str) -> Transport {
        let host = [(crate::value::Key::Name("host".into()), crate::value::Value::str(host))];
        Transport::settings_only(&host).expect("a host is enough")
    }

    #[test]
    fn a_run_and_a_send_read_a_failure_alike() {
        use crate::smtp::error::{ErrorKind, Stage};
        let t = transport("smtp.example.com");
        let reply = crate::smtp::reply::Reply::new(552, vec!["5.3.4 Message too big for system".into()]);
        let e = SendError { size_limit: Some(1000), ..SendError::from_reply(ErrorKind::DataRejected, Stage::Message, "refused", reply) };
        let c = Context::for_outcome(&t, None, Some(&e));
        assert_eq!(
            (c.detail.as_str(), c.code, c.enhanced.as_deref(), c.size_limit),
            ("552 5.3.4 Message too big for system", Some(552), Some("5.3.4"), Some(1000))
        );
        assert_eq!(Context::for_error(&t, None, &e).detail, c.detail);
        let c = Context::for_outcome(&t, None, None);
        assert_eq!((c.detail.as_str(), c.code, c.enhanced), ("", None, None));
    }
}
