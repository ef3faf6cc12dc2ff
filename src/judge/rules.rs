//! What servers say, as data: [`RULES`] (each names the provider whose
//! documentation the code or wording comes from) and, for a reply no rule
//! knows, [`FALLBACK`]. A rule on an enhanced status code decides alone (the
//! wording is not read); wording rules apply only to replies whose enhanced
//! code is generic (x.0.0, x.7.0, x.7.1 ...) or absent. src/export.rs writes
//! both to wp-plugin/data/classifier.json.

use super::cause::Cause;
use crate::config::Security;
use crate::smtp::error::Stage;
use crate::smtp::reply::Reply;
use serde_json::{json, Value as Json};

/// Which replies a rule matches.
enum On {
    /// These enhanced status codes, whatever the wording.
    Enhanced(&'static [&'static str]),
    /// Enhanced codes "class.subject.n" with n in a range.
    EnhancedRange(&'static str, u16, u16),
    /// Any of these words in the reply text (lower case).
    Words(&'static [&'static str]),
}

/// Which reply classes a rule applies to.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Any,
    Transient,
}

pub struct Rule {
    pub provider: &'static str,
    on: On,
    /// Empty: any stage.
    stages: &'static [Stage],
    class: Class,
    pub cause: Cause,
}

const fn rule(provider: &'static str, on: On, cause: Cause) -> Rule {
    Rule { provider, on, stages: &[], class: Class::Any, cause }
}

const fn at(provider: &'static str, stages: &'static [Stage], on: On, cause: Cause) -> Rule {
    Rule { provider, on, stages, class: Class::Any, cause }
}

const fn transient(provider: &'static str, on: On, cause: Cause) -> Rule {
    Rule { provider, on, stages: &[], class: Class::Transient, cause }
}

use Cause as C;
use On::{Enhanced, EnhancedRange, Words};
use Stage as S;

const ENVELOPE: &[Stage] = &[S::MailFrom, S::RcptTo, S::Data, S::Message];

/// What servers say, as data. Enhanced-code rules are tried first, in
/// order; then wording rules, in order. Each cites its source.
pub const RULES: &[Rule] = &[
    // ---- enhanced status codes that decide alone
    // Microsoft 365: "Enable or disable SMTP AUTH in Exchange Online" (535 5.7.139).
    rule("microsoft365", Enhanced(&["5.7.139"]), C::AuthDisabled),
    // Microsoft 365: "Deprecation of Basic authentication in Exchange Online" (5.7.30).
    rule("microsoft365", Enhanced(&["5.7.30"]), C::BasicAuthRetired),
    // Microsoft 365: "How to set up a multifunction device or application to send email" (530 5.7.57).
    rule("microsoft365", Enhanced(&["5.7.57"]), C::AnonymousRejected),
    // Microsoft 365: "Fix email delivery issues for error code 5.7.60" (send as).
    rule("microsoft365", Enhanced(&["5.7.60"]), C::SenderNotAllowed),
    // Microsoft 365: "Fix error code 5.7.68 ... Direct Send" (RejectDirectSend).
    rule("microsoft365", Enhanced(&["5.7.68"]), C::DirectSendRejected),
    // Microsoft 365: "Fix email delivery issues for error code 5.7.64" and "... 550 5.7.54".
    rule("microsoft365", Enhanced(&["5.7.54", "5.7.64"]), C::RelayDenied),
    // Microsoft 365: "Sending limits in Exchange Online" (5.1.90: the mailbox's daily limit of recipients). Its
    // 5.2.2 is no limit of sending: after a submission it is the sending mailbox that is full (see the wording rules).
    rule("microsoft365", Enhanced(&["5.1.90"]), C::DailyLimitReached),
    // Microsoft 365: "Continuous error throttling for SMTP AUTH submissions": a mailbox that keeps failing for one
    // reason is throttled for it (5.2.251 mailbox full, 5.2.252 send as denied, 5.2.254 too many recipients); the
    // reason is what to fix.
    rule("microsoft365", Enhanced(&["5.2.251"]), C::SenderMailboxFull),
    rule("microsoft365", Enhanced(&["5.2.252"]), C::SenderNotAllowed),
    rule("microsoft365", Enhanced(&["5.2.254"]), C::TooManyRecipients),
    // Microsoft 365: "Email non-delivery reports and SMTP errors in Exchange Online" (432 4.3.2 STOREDRV throttling);
    // Sendmail: its ratecontrol answers "421 4.3.2 Connection rate limit exceeded" (cf/README, FEATURE(ratecontrol)).
    rule("microsoft365", Enhanced(&["4.3.2"]), C::Throttled),
    // Microsoft 365: "Fix email delivery issues for error codes 4.7.500 through 4.7.699" (throttling).
    rule("microsoft365", EnhancedRange("4.7.", 500, 699), C::Throttled),
    // Microsoft 365: "Fix email delivery issues for error codes 5.7.600 through 5.7.699" (banned sending IP, delist portal).
    rule("microsoft365", EnhancedRange("5.7.", 606, 649), C::Blocklisted),
    // Microsoft 365: "Email non-delivery reports ... 5.7.23" (SPF violation) and "... 5.7.509" (DMARC reject).
    rule("microsoft365", Enhanced(&["5.7.23", "5.7.509"]), C::SenderUnauthenticated),
    // Microsoft 365: "Opportunistic TLS ... 421 4.7.66 TLS 1.0 and 1.1 are not supported".
    rule("microsoft365", Enhanced(&["4.7.66"]), C::TlsVersionUnsupported),
    // Microsoft 365: "Email non-delivery reports ... 5.1.10 RecipientNotFound" and "5.4.1 Recipient address rejected: Access denied".
    at("microsoft365", &[S::RcptTo], Enhanced(&["5.1.10", "5.4.1"]), C::RecipientRejected),
    // Microsoft 365: "535 5.7.3 Authentication unsuccessful" (wrong password or token).
    at("microsoft365", &[S::Auth], Enhanced(&["5.7.3"]), C::AuthFailed),
    // Google: "SMTP errors and codes" (5.7.26 unauthenticated sender, DMARC; 4.7.26 rate limited because unauthenticated;
    // 5.7.27 SPF).
    rule("google", Enhanced(&["5.7.26", "4.7.26", "5.7.27"]), C::SenderUnauthenticated),
    // Google: "SMTP errors and codes" (4.7.28 unusual rate of mail from your IP address).
    rule("google", Enhanced(&["4.7.28"]), C::Throttled),
    // Google: "SMTP errors and codes" and "Gmail sending limits in Google Workspace" (550 5.4.5 Daily user sending
    // limit exceeded; 550 5.4.5 Daily SMTP relay limit exceeded for user).
    rule("google", Enhanced(&["5.4.5"]), C::DailyLimitReached),
    // Google: "SMTP errors and codes" (534 5.7.9 Application-specific password required; 534 5.7.14 log in via web browser).
    at("google", &[S::Auth], Enhanced(&["5.7.9", "5.7.14"]), C::AuthFailed),
    // RFC 4954 section 6: 535 5.7.8 authentication credentials invalid (Postfix, Gmail).
    at("rfc", &[S::Auth], Enhanced(&["5.7.8"]), C::AuthFailed),
    // RFC 4954 section 6: 538 5.7.11 encryption required for the requested mechanism.
    rule("rfc", Enhanced(&["5.7.11"]), C::StarttlsRequired),
    // RFC 3463: 5.2.3 message length exceeds administrative limit, 5.3.4 / 4.3.4 message too big for system
    // (Postfix message_size_limit, Google "552 5.2.3 Your message exceeded Google's message size limits").
    at("rfc", ENVELOPE, Enhanced(&["5.2.3", "5.3.4", "4.3.4"]), C::MessageTooLarge),
    // RFC 3463: 5.1.1 bad destination mailbox address (Postfix, Gmail, Sendmail "User unknown").
    at("rfc", &[S::RcptTo], Enhanced(&["5.1.1"]), C::RecipientRejected),
    // RFC 3463: X.5.3 too many recipients (Google "452 4.5.3 Your message has too many recipients", Postfix
    // smtpd_recipient_limit "452 4.5.3 Error: too many recipients").
    rule("rfc", Enhanced(&["4.5.3", "5.5.3"]), C::TooManyRecipients),
    // ---- wording, for generic or absent enhanced codes
    // Microsoft 365, Google, Postfix, Amazon SES: "530 5.7.0 Must issue a STARTTLS command first".
    rule("postfix", Words(&["must issue a starttls", "starttls first", "tls required", "encryption required", "must use tls"]), C::StarttlsRequired),
    // Postfix: postgrey ("450 4.2.0 ... Greylisted, see http://postgrey.schweikert.ch/..."); Sendmail: milter-greylist
    // ("451 4.7.1 Greylisting in action, please come back later").
    transient("postfix", Words(&["greylist", "graylist", "grey-list", "gray-list"]), C::Greylisted),
    // Postfix: postconf(5) reject_rbl_client ("Service unavailable; Client host [ip] blocked using zen.spamhaus.org");
    // Exim: spec "Access control lists" dnslists ("rejected because ip is in a black list at zen.spamhaus.org");
    // Sendmail: cf/README FEATURE(dnsbl) ("Rejected: ip listed at zen.spamhaus.org").
    rule("postfix", Words(&["blocked using", "black list at", "blacklisted", "blocklisted", "listed at ", "dnsbl", "spamhaus"]), C::Blocklisted),
    // Postfix: pypolicyd-spf ("Message rejected due to: SPF fail - not authorized"); Microsoft 365 / Exim SPF, DKIM, DMARC wording.
    rule("postfix", Words(&["spf", "dkim", "dmarc", "sender policy framework", "sender is unauthenticated"]), C::SenderUnauthenticated),
    // Postfix: postconf(5) reject_sender_login_mismatch ("553 5.7.1 <a>: Sender address rejected: not logged in");
    // Google: "530 5.7.0 Authentication Required"; SendGrid: "550 Unauthenticated senders not allowed";
    // Amazon SES: "530 Authentication required".
    at("postfix", ENVELOPE, Words(&["not logged in", "authentication required", "not authenticated", "unauthenticated senders"]), C::AnonymousRejected),
    // Postfix: postconf(5) reject_sender_login_mismatch ("553 5.7.1 <a>: Sender address rejected: not owned by user u").
    rule("postfix", Words(&["not owned by user"]), C::SenderNotAllowed),
    // Microsoft 365: "send as" permission wording of 5.7.60 without its code.
    rule("microsoft365", Words(&["send as", "send on behalf"]), C::SenderNotAllowed),
    // SendGrid: "SMTP Errors and Troubleshooting" ("403 You are not authorized to send from that email address":
    // the from address does not match a verified Sender Identity).
    rule("sendgrid", Words(&["verified sender identity", "not authorized to send from"]), C::SenderNotAllowed),
    // Amazon SES: "Amazon SES SMTP issues" ("554 Message rejected: Email address is not verified").
    rule("amazon-ses", Words(&["address is not verified", "identities failed the check"]), C::SenderNotAllowed),
    // Zoho ZeptoMail: "SMTP Error Codes" ("553 Relaying disallowed as <address>": a From address of a domain not set up).
    at("zoho", &[S::MailFrom], Words(&["relaying disallowed"]), C::SenderNotAllowed),
    // Microsoft 365: "Message storage and concurrent connection throttling for SMTP Authenticated Submission": every
    // message sent is kept in the mailbox's Sent Items, and a full mailbox may not send ("554 5.2.2 mailbox full;
    // STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded"); over the daily limit
    // it answers "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException". "Sending limits in
    // Exchange Online" calls the 10,000 recipients a day the "recipient rate limit" (Exchange's RecipientRateLimit
    // counts 24 hours): a day's limit, though the words say rate.
    rule("microsoft365", Words(&["mapiexceptionshutoffquotaexceeded", "mapiexceptionquotaexceeded"]), C::SenderMailboxFull),
    rule("microsoft365", Words(&["submissionquotaexceeded", "recipient rate limit"]), C::DailyLimitReached),
    // Google: "SMTP relay service error messages" ("550 5.7.1 Daily SMTP relay limit exceeded for customer"); Amazon
    // SES: "Amazon SES SMTP issues" ("454 Throttling failure: Daily message quota exceeded").
    rule("google", Words(&["daily", "per day"]), C::DailyLimitReached),
    // Amazon SES: "Amazon SES SMTP issues" ("454 Throttling failure: Maximum sending rate exceeded").
    rule("amazon-ses", Words(&["throttling failure", "sending rate exceeded"]), C::Throttled),
    // Mailgun: "Quickstart: Send Your First Email" (a sandbox domain delivers only to authorized recipients), which its
    // servers say as "554 Free accounts are for test purposes only. Please upgrade or add the address to authorized
    // recipients in Account Settings."
    rule("mailgun", Words(&["authorized recipients"]), C::RecipientRejected),
    // SendGrid: "SMTP Errors and Troubleshooting" ("451 Authentication failed: Maximum credits exceeded",
    // "450 too frequent connects from ip, please try again later").
    rule("sendgrid", Words(&["maximum credits exceeded", "too frequent connects"]), C::Throttled),
    // Amazon SES: "SMTP response codes returned by Amazon SES" ("421 Too many concurrent SMTP connections").
    rule("amazon-ses", Words(&["too many concurrent smtp connections"]), C::Throttled),
    // cPanel: WHM "Tweak Settings > Mail" (Max hourly emails per domain; Maximum percentage of failed or deferred
    // messages a domain may send per hour), which Exim enforces with "Domain d has exceeded the max emails per hour"
    // and "... the max defers and failures per hour (5/5 (100%)) allowed. Message discarded."
    rule("cpanel", Words(&["max emails per hour", "max defers and failures per hour"]), C::Throttled),
    // Postfix: anvil(8) limits ("450 4.7.1 Error: too much mail from ip", "421 4.7.0 Error: too many connections from ip",
    // "450 4.7.1 Error: too many recipients from ip"); Google "450 4.2.1 ... receiving mail at a rate that prevents
    // additional messages" and "454 4.7.0 Too many login attempts, please try again later".
    // ("quota exceeded" alone is not read: a recipient's full mailbox says it too, Dovecot's "552 5.2.2 Quota exceeded
    // (mailbox for user is full)").
    rule(
        "postfix",
        Words(&[
            "too much mail",
            "too many connections",
            "too many messages",
            "too many recipients from",
            "rate limit",
            "rate that prevents",
            "unusual rate",
            "throttl",
            "too many login attempts",
        ]),
        C::Throttled,
    ),
    // Postfix: smtpd_recipient_limit ("452 4.5.3 Error: too many recipients") without its enhanced code; after the
    // rule above, which reads anvil's "too many recipients from ip" as a rate.
    rule("postfix", Words(&["too many recipients", "recipients per message"]), C::TooManyRecipients),
    // Google: "SMTP errors and codes" ("421 4.7.0 Try again later, closing connection"), transient only.
    transient("google", Words(&["try again later", "try later"]), C::Throttled),
    // Postfix: "Relay access denied" (smtpd reject_unauth_destination); Sendmail: "Relaying denied" (cf/README);
    // Exim: "relay not permitted" (its default configuration's ACL); Google "SMTP relay service error messages":
    // "550 5.7.0 Mail relay denied ... Invalid credentials for relay".
    rule("postfix", Words(&["relay"]), C::RelayDenied),
    // Exim and cPanel hosts: "535 Incorrect authentication data"; Amazon SES: "535 Authentication Credentials Invalid";
    // SendGrid: "535 Authentication failed: Bad username / password"; Zoho ZeptoMail: "535 Authentication Failed";
    // Google: "535 5.7.8 Username and Password not accepted".
    at(
        "exim",
        &[S::Auth],
        Words(&["incorrect authentication data", "credentials invalid", "authentication failed", "not accepted", "authentication unsuccessful"]),
        C::AuthFailed,
    ),
    // Postfix: "503 5.5.1 Error: authentication not enabled".
    at("postfix", &[S::Auth], Words(&["authentication not enabled"]), C::AuthUnavailable),
    // Message size wording without RFC 3463 codes: Exim "552 Message size exceeds maximum permitted",
    // Sendmail "552 5.2.3 Message exceeds maximum fixed size"; Zoho ZeptoMail "5.2.0 Email size exceeded the policy".
    at(
        "exim",
        ENVELOPE,
        Words(&["size exceeds", "size exceeded", "exceeds maximum", "message too large", "message too big", "message size"]),
        C::MessageTooLarge,
    ),
    // Exim, Sendmail, cPanel hosts: "550 No Such User Here", "550 5.1.1 <a>... User unknown".
    at("exim", &[S::RcptTo], Words(&["no such user", "user unknown", "does not exist", "recipient not found", "unknown user"]), C::RecipientRejected),
];

fn reply_matches(rule: &Rule, stage: Stage, reply: &Reply, text: &str) -> bool {
    let enhanced = reply.enhanced.as_deref().unwrap_or("");
    let stage_ok = rule.stages.is_empty() || rule.stages.contains(&stage);
    let class_ok = rule.class == Class::Any || reply.is_transient();
    stage_ok
        && class_ok
        && match rule.on {
            Enhanced(codes) => codes.contains(&enhanced),
            EnhancedRange(prefix, low, high) => enhanced.strip_prefix(prefix).and_then(|d| d.parse::<u16>().ok()).is_some_and(|d| (low..=high).contains(&d)),
            Words(words) => words.iter().any(|w| text.contains(w)),
        }
}

/// [`RULES`] in the order they are tried: enhanced-code rules, then wording rules.
pub fn rules_in_matching_order() -> impl Iterator<Item = &'static Rule> {
    let by_code = RULES.iter().filter(|r| !matches!(r.on, Words(_)));
    let by_words = RULES.iter().filter(|r| matches!(r.on, Words(_)));
    by_code.chain(by_words)
}

/// The rule that decides a reply, if any.
pub fn matching_rule(stage: Stage, reply: &Reply) -> Option<&'static Rule> {
    let text = reply.text().to_ascii_lowercase();
    rules_in_matching_order().find(|r| reply_matches(r, stage, reply, &text))
}

/// The server demands STARTTLS: a setting of no encryption is the cause; with
/// another setting, the server did not offer what it demands. (cause, the
/// setting it stands with, what it becomes with any other setting.)
pub const SECURITY_ADJUSTMENT: (Cause, Security, Cause) = (Cause::StarttlsRequired, Security::None, Cause::StarttlsUnavailable);

/// The cause a server's negative reply points to.
pub fn classify_reply(stage: Stage, reply: &Reply, security: Security) -> Cause {
    let cause = matching_rule(stage, reply).map(|r| r.cause).unwrap_or_else(|| fallback(stage, Some(reply)));
    match SECURITY_ADJUSTMENT {
        (demanded, setting, otherwise) if cause == demanded && security != setting => otherwise,
        _ => cause,
    }
}

/// A row of [`FALLBACK`]: empty stages, no code range or no enhanced code
/// match anything.
pub struct Fallback {
    stages: &'static [Stage],
    codes: Option<(u16, u16)>,
    enhanced: Option<&'static str>,
    pub cause: Cause,
}

const fn when(stages: &'static [Stage], codes: Option<(u16, u16)>, enhanced: Option<&'static str>, cause: Cause) -> Fallback {
    Fallback { stages, codes, enhanced, cause }
}

/// A reply no rule knows, by the command it answered and its code; the first
/// row that fits decides. A failure without a reply counts as a 550 without
/// an enhanced code.
pub const FALLBACK: &[Fallback] = &[
    when(&[], Some((538, 538)), None, C::StarttlsRequired),
    // RFC 3207 section 4: 454 TLS not available; any refusal of STARTTLS.
    when(&[S::Starttls], None, None, C::StarttlsUnavailable),
    when(&[S::Auth], Some((504, 504)), None, C::AuthUnavailable),
    // RFC 4954 section 6: a refused AUTH (535, 534, 454 ...) is a refused login.
    when(&[S::Auth], None, None, C::AuthFailed),
    when(&[S::MailFrom, S::RcptTo], Some((530, 530)), None, C::AnonymousRejected),
    when(&[S::MailFrom], None, Some("5.7.1"), C::SenderNotAllowed),
    when(&[S::RcptTo], None, Some("5.7.1"), C::RelayDenied),
    when(&[S::RcptTo], Some((500, 599)), None, C::RecipientRejected),
    when(&[], None, None, C::Unknown),
];

pub fn fallback(stage: Stage, reply: Option<&Reply>) -> Cause {
    let code = reply.map(|r| r.code).unwrap_or(550);
    let enhanced = reply.and_then(|r| r.enhanced.as_deref()).unwrap_or("");
    FALLBACK
        .iter()
        .find(|row| {
            (row.stages.is_empty() || row.stages.contains(&stage))
                && row.codes.is_none_or(|(low, high)| (low..=high).contains(&code))
                && row.enhanced.is_none_or(|e| e == enhanced)
        })
        .map_or(Cause::Unknown, |row| row.cause)
}

/// Words after which a reply names the DNS block list it was found on.
pub const BLOCKLIST_MARKERS: &[&str] = &["blocked using ", "black list at ", "listed at ", "listed in ", "listed on "];
/// Block lists known by name, for replies that name one without a marker.
pub const BLOCKLISTS: &[&str] = &["zen.spamhaus.org", "spamhaus", "spamcop", "barracuda", "sorbs", "uceprotect", "spamrats"];

/// The DNS block list a reply names, if it names one: the domain after a
/// marker, else a well-known list's name.
pub fn named_blocklist(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    for marker in BLOCKLIST_MARKERS {
        if let Some(at) = lower.find(marker) {
            let rest = &text[at + marker.len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
            let name = name.trim_end_matches('.');
            if name.contains('.') {
                return Some(name.to_string());
            }
        }
    }
    BLOCKLISTS.iter().find(|l| lower.contains(*l)).map(|l| l.to_string())
}

fn stages_json(stages: &[Stage]) -> Json {
    json!(stages.iter().map(|s| s.as_str()).collect::<Vec<_>>())
}

impl Rule {
    /// The rule as data for the plugin (src/export.rs).
    pub fn to_json(&self) -> Json {
        let on = match self.on {
            Enhanced(codes) => json!({ "enhanced": codes }),
            EnhancedRange(prefix, low, high) => json!({ "enhanced_range": { "prefix": prefix, "from": low, "to": high } }),
            Words(words) => json!({ "words": words }),
        };
        json!({
            "provider": self.provider,
            "match": on,
            "stages": stages_json(self.stages),
            "transient_only": self.class == Class::Transient,
            "cause": self.cause.as_str(),
        })
    }
}

impl Fallback {
    /// The row as data for the plugin (src/export.rs).
    pub fn to_json(&self) -> Json {
        json!({
            "stages": stages_json(self.stages),
            "code": self.codes.map(|(low, high)| [low, high]),
            "enhanced": self.enhanced,
            "cause": self.cause.as_str(),
        })
    }
}
