//! The verdict of a walk of `rust_mail_diagnose()`: the judge's text
//! ([`crate::judge::texts`]) with what the walk learnt, and the walk's own
//! advice on the From domain's records: pure, tested on fixtures.

use super::probes::PortState;
use super::records::{with_mechanism, RecordProblem, Relay};
use crate::config::Transport;
use crate::judge::{verdict, Cause, Context, Verdict};
use crate::message::Published;
use crate::smtp::error::SendError;

/// What the walk of `rust_mail_diagnose()` learnt besides its failure, for
/// the verdict's wording.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The server the greeting named, when it is of another domain than the host.
    pub foreign_banner: Option<String>,
    /// AUTH mechanisms the server offered, upper case.
    pub offered_auth: Vec<String>,
    /// The SIZE the server offered in EHLO.
    pub size_limit: Option<u64>,
    /// What `scan_ports` found.
    pub ports: Option<Vec<PortState>>,
    /// The details of the steps that warned, in order.
    pub warnings: Vec<String>,
    /// What to add to the From domain's SPF and DMARC records ([`records_advice`]).
    pub records_advice: Vec<String>,
}

/// Ports a scan found speaking SMTP, other than the transport's: (port, service).
pub fn other_smtp_ports(ports: &[PortState], port: u16) -> Vec<(u16, String)> {
    ports
        .iter()
        .filter(|p| p.state == "open" && p.port != port)
        .filter_map(|p| p.service.filter(|s| s.starts_with("smtp")).map(|s| (p.port, s.to_string())))
        .collect()
}

/// The verdict of a walk: [`verdict`] with what the walk learnt. A
/// redirected connection names the server that answered; a walk without a
/// failure lists its warnings and the records to add; an unauthenticated
/// sender is told first which record to add.
pub fn walk_verdict(cause: Cause, transport: &Transport, from: Option<String>, failure: Option<&SendError>, found: &Findings) -> Verdict {
    let mut context = Context::for_outcome(transport, from, failure);
    if let (Cause::Intercepted, Some(banner)) = (cause, &found.foreign_banner) {
        let detail = &context.detail;
        context.detail = if detail.is_empty() { format!("its greeting names {banner}") } else { format!("its greeting names {banner}, and {detail}") };
    }
    context.offered_auth = found.offered_auth.clone();
    context.open_ports = other_smtp_ports(found.ports.as_deref().unwrap_or_default(), transport.port);
    context.size_limit = context.size_limit.or(found.size_limit);
    let mut v = verdict(cause, &context);
    match cause {
        Cause::Ok => {
            v.advice.extend(found.warnings.iter().map(|w| format!("Warning: {w}")));
            v.advice.extend(found.records_advice.iter().cloned());
        }
        // The records' own advice says exactly which record to add.
        Cause::SenderUnauthenticated => {
            v.advice.splice(0..0, found.records_advice.iter().cloned());
        }
        _ => {}
    }
    v
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

/// What the walk found that does not stop it but may hurt delivery: the
/// detail of a step that warns, and with a verdict of `ok` a line of advice.
#[derive(Debug, Clone, Copy)]
pub enum Warning<'a> {
    /// The greeting named a server of another domain than the host.
    ForeignBanner { named: &'a str, host: &'a str },
    /// The From domain's SPF and DMARC records could not be looked up.
    RecordsUnchecked { domain: &'a str, error: &'a str },
    /// Security 'opportunistic' and no STARTTLS offered.
    NoStarttls { host: &'a str },
    /// A handshake whose certificate was not checked.
    Unverified { version: &'a str, cipher: &'a str },
}

impl Warning<'_> {
    pub fn text(self) -> String {
        match self {
            Warning::ForeignBanner { named, host } => format!("the greeting names {named}, not {host}: outbound mail may be redirected to another server"),
            Warning::RecordsUnchecked { domain, error } => format!("the SPF and DMARC records of {domain} could not be checked: {error}"),
            Warning::NoStarttls { host } => format!("{host} does not offer STARTTLS: mail travels in clear text"),
            Warning::Unverified { version, cipher } => format!("{version} {cipher}, but the certificate was not checked (verify_peer is off)"),
        }
    }
}

/// The detail of the walk's `sender_dns` step: what the From domain's
/// records lack (a warning), or that they authorise the relay.
pub fn records_detail(problems: &[RecordProblem], domain: &str, relay: &Relay) -> String {
    let host = relay.host;
    if problems.is_empty() {
        let spf = if relay.is_local() { "an SPF record".to_string() } else { format!("an SPF record that authorises {host}") };
        return format!("{domain} has {spf} and a DMARC record");
    }
    let found: Vec<String> = problems
        .iter()
        .map(|p| match p {
            RecordProblem::NoSpf => format!("{domain} has no SPF record"),
            RecordProblem::SeveralSpf(n) => format!("{domain} has {n} SPF records"),
            RecordProblem::SpfMissesRelay(_) => format!("the SPF record of {domain} does not authorise {host}"),
            RecordProblem::NoDmarc => format!("{domain} has no DMARC record"),
        })
        .collect();
    format!("{}: receivers may put mail from {domain} in spam or refuse it", found.join(", and "))
}

/// The walk's `dkim_dns` step: its status and detail.
pub fn dkim_detail(published: &Published, name: &str, algorithm: &str) -> (&'static str, String) {
    match published {
        Published::Matches => ("ok", format!("{name} publishes the signing key ({algorithm})")),
        Published::Missing => ("fail", format!("{name} has no DKIM record: receivers cannot verify the signature")),
        Published::OtherKey(why) => ("fail", format!("the DKIM record at {name} is for another key ({why}): receivers cannot verify the signature")),
        Published::Revoked => ("fail", format!("the DKIM record at {name} has an empty p=, which revokes the key: receivers cannot verify the signature")),
        Published::Malformed(why) => ("fail", format!("the DKIM record at {name} is malformed ({why}): receivers cannot verify the signature")),
    }
}

/// What to publish when the `dkim_dns` step fails: the record's name and
/// value (the public key only).
pub fn dkim_advice(published: &Published, name: &str, value: &str) -> String {
    let record = format!("a TXT record named {name} with the value \"{value}\"");
    match published {
        Published::OtherKey(_) => format!(
            "Publish the new key as {record}. Until mail signed with the old key is delivered, keep its record under another selector (or sign with the old key until then)."
        ),
        Published::Missing => format!("Publish {record}."),
        _ => format!("Replace the record with {record}."),
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
    fn records_advice_names_the_record_to_add() {
        let addresses = ["192.0.2.1".parse().unwrap()];
        let m365 = Relay { host: "contoso-com.mail.protection.outlook.com", addresses: &addresses };
        let a = records_advice(&RecordProblem::NoSpf, "contoso.com", &m365);
        assert!(
            a.contains("TXT record on contoso.com") && a.contains("\"v=spf1 include:spf.protection.outlook.com -all\"") && a.contains("Microsoft 365"),
            "{a}"
        );
        let a = records_advice(&RecordProblem::SpfMissesRelay("v=spf1 mx -all".into()), "contoso.com", &m365);
        assert!(a.contains("\"v=spf1 mx include:spf.protection.outlook.com -all\""), "{a}");
        let relay = Relay { host: "smtp.provider.example", addresses: &addresses };
        let a = records_advice(&RecordProblem::NoDmarc, "site.example", &relay);
        assert!(a.contains("_dmarc.site.example") && a.contains("v=DMARC1; p=none; rua=mailto:postmaster@site.example"), "{a}");
        let a = records_advice(&RecordProblem::SeveralSpf(2), "site.example", &relay);
        assert!(a.contains("2 SPF records") && a.contains("a:smtp.provider.example"), "{a}");
        assert!(!records_advice(&RecordProblem::NoSpf, "site.example", &relay).contains(".."));
    }

    #[test]
    fn a_scan_suggests_the_other_ports_that_speak_smtp() {
        let port = |port, state, service| PortState { port, state, service };
        let scanned = [
            port(25, "open", Some("smtp")),
            port(465, "open", Some("smtps")),
            port(587, "open", Some("smtp+starttls")),
            port(2525, "filtered", None),
            port(8025, "open", Some("unknown")),
        ];
        assert_eq!(other_smtp_ports(&scanned, 587), vec![(25, "smtp".to_string()), (465, "smtps".to_string())]);
    }

    #[test]
    fn a_walk_verdict_adds_what_the_walk_learnt() {
        use crate::smtp::error::{ErrorKind, Problem, Stage};
        let host = [(crate::value::Key::Name("host".into()), crate::value::Value::str("smtp.office365.com"))];
        let t = Transport::settings_only(&host).expect("a host is enough");
        // Redirected: the verdict names the server that answered.
        let found = Findings { foreign_banner: Some("p3plcpnl0123.secureserver.net".into()), ..Findings::default() };
        let v = walk_verdict(Cause::Intercepted, &t, None, None, &found);
        assert!(v.summary.contains("is not smtp.office365.com: its greeting names p3plcpnl0123.secureserver.net."), "{}", v.summary);
        let e = SendError::new(ErrorKind::Auth, Stage::Auth, Problem::NoAuthMechanism, "no AUTH offered");
        let v = walk_verdict(Cause::Intercepted, &t, None, Some(&e), &found);
        assert!(v.summary.contains("its greeting names p3plcpnl0123.secureserver.net, and no AUTH offered."), "{}", v.summary);
        // Through: the warnings and the records to add follow.
        let found = Findings { warnings: vec!["no STARTTLS".into()], records_advice: vec!["Add an SPF record.".into()], ..Findings::default() };
        let v = walk_verdict(Cause::Ok, &t, None, None, &found);
        assert_eq!(v.advice, vec!["Warning: no STARTTLS".to_string(), "Add an SPF record.".to_string()]);
        // Unauthenticated: the record to add comes first; other causes leave the records out.
        let v = walk_verdict(Cause::SenderUnauthenticated, &t, None, None, &found);
        assert_eq!(v.advice[0], "Add an SPF record.");
        assert!(!walk_verdict(Cause::Throttled, &t, None, None, &found).advice.iter().any(|a| a.contains("SPF") || a.starts_with("Warning")));
        // The size offered in EHLO when the failure has none; the scan's ports in the advice.
        let found =
            Findings { size_limit: Some(10_485_760), ports: Some(vec![PortState { port: 465, state: "open", service: Some("smtps") }]), ..Findings::default() };
        assert!(walk_verdict(Cause::MessageTooLarge, &t, None, None, &found).advice[0].contains("10485760 bytes"));
        assert!(walk_verdict(Cause::PortBlocked, &t, None, None, &found).advice.iter().any(|a| a.contains("port 465 with security 'tls' (smtps)")));
    }

    #[test]
    fn warnings_say_what_may_hurt_delivery() {
        let w = Warning::ForeignBanner { named: "relay.other.example", host: "smtp.example.com" };
        assert_eq!(w.text(), "the greeting names relay.other.example, not smtp.example.com: outbound mail may be redirected to another server");
        let w = Warning::RecordsUnchecked { domain: "site.example", error: "the TXT lookup of site.example took too long" };
        assert_eq!(w.text(), "the SPF and DMARC records of site.example could not be checked: the TXT lookup of site.example took too long");
        assert_eq!(Warning::NoStarttls { host: "mx.example.com" }.text(), "mx.example.com does not offer STARTTLS: mail travels in clear text");
        let w = Warning::Unverified { version: "TLSv1_3", cipher: "TLS13_AES_256_GCM_SHA384" };
        assert_eq!(w.text(), "TLSv1_3 TLS13_AES_256_GCM_SHA384, but the certificate was not checked (verify_peer is off)");
    }

    #[test]
    fn records_detail_says_what_the_records_lack() {
        let addresses = ["192.0.2.1".parse().unwrap()];
        let relay = Relay { host: "smtp.provider.example", addresses: &addresses };
        assert_eq!(records_detail(&[], "site.example", &relay), "site.example has an SPF record that authorises smtp.provider.example and a DMARC record");
        let local = Relay { host: "localhost", addresses: &addresses };
        assert_eq!(records_detail(&[], "site.example", &local), "site.example has an SPF record and a DMARC record");
        let problems = [RecordProblem::SpfMissesRelay("v=spf1 mx -all".into()), RecordProblem::NoDmarc];
        assert_eq!(
            records_detail(&problems, "site.example", &relay),
            "the SPF record of site.example does not authorise smtp.provider.example, and site.example has no DMARC record: receivers may put mail from site.example in spam or refuse it"
        );
    }
}
