//! The From domain's SPF and DMARC records, judged for the relay a site
//! sends through without a login (direct send, a hosting relay). Pure:
//! TXT records in, problems out; the walk does the lookups and
//! [`super::verdict::records_advice`] words the record to add.
//!
//! Not an SPF evaluation (RFC 7208): nothing is looked up recursively. The
//! rule is simple on purpose:
//! - a relay whose provider documents an SPF include (Microsoft 365,
//!   GoDaddy's relay, Google's SMTP relay) is authorised by that include;
//! - any other relay is authorised by an `include:`, `a:` or `mx:` naming its
//!   host, a domain above it or a name under the host's own domain (`smtp.provider.example`:
//!   `include:provider.example`, `include:_spf.provider.example`), by a bare
//!   `a` or `mx` when the relay is the From domain's own host, or by an
//!   `ip4:`/`ip6:` network that holds one of its addresses;
//! - a relay on this machine or the local network (loopback or private
//!   address, `localhost`) sends on from an address not known here, so only
//!   the existence of the records is checked.

use std::net::IpAddr;

/// Relays whose provider documents the SPF include that authorises them:
/// (host suffix, include, provider).
const KNOWN_RELAYS: &[(&str, &str, &str)] = &[
    // Microsoft 365: "Set up SPF to help prevent spoofing" and direct send's MX host.
    ("protection.outlook.com", "spf.protection.outlook.com", "Microsoft 365"),
    ("office365.com", "spf.protection.outlook.com", "Microsoft 365"),
    // GoDaddy: relay-hosting.secureserver.net; its SPF help names include:secureserver.net.
    ("secureserver.net", "secureserver.net", "GoDaddy"),
    // Google Workspace SMTP relay (smtp-relay.gmail.com): include:_spf.google.com.
    ("gmail.com", "_spf.google.com", "Google"),
];

/// The server the site sends through.
#[derive(Debug, Clone)]
pub struct Relay<'a> {
    pub host: &'a str,
    pub addresses: &'a [IpAddr],
}

impl Relay<'_> {
    /// The include a provider documents for this relay, and the provider.
    pub fn known(&self) -> Option<(&'static str, &'static str)> {
        let host = self.host.to_ascii_lowercase();
        KNOWN_RELAYS.iter().find(|(suffix, _, _)| under(&host, suffix)).map(|(_, include, provider)| (*include, *provider))
    }

    /// On this machine or the local network: its mail leaves from elsewhere.
    pub fn is_local(&self) -> bool {
        let literal = self.host.trim_matches(['[', ']']).parse::<IpAddr>().ok();
        self.host.eq_ignore_ascii_case("localhost") || literal.is_some_and(is_local_ip)
    }

    /// The SPF term that authorises this relay, for advice.
    pub fn mechanism(&self) -> String {
        if let Some((include, _)) = self.known() {
            return format!("include:{include}");
        }
        match self.host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(_) if self.is_local() => "ip4:<this site's public IP address>".to_string(),
            Ok(IpAddr::V4(ip)) => format!("ip4:{ip}"),
            Ok(IpAddr::V6(ip)) => format!("ip6:{ip}"),
            Err(_) if self.is_local() => "ip4:<this site's public IP address>".to_string(),
            Err(_) => format!("a:{}", self.host.to_ascii_lowercase()),
        }
    }
}

fn is_local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// `name` is `domain` or a name under it.
fn under(name: &str, domain: &str) -> bool {
    name == domain || name.ends_with(&format!(".{domain}"))
}

/// What is wrong with the From domain's records.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordProblem {
    NoSpf,
    /// More than one SPF record: receivers treat that as an error (RFC 7208 section 4.5).
    SeveralSpf(usize),
    /// The SPF record (as published) names neither the relay nor its provider.
    SpfMissesRelay(String),
    NoDmarc,
}

impl RecordProblem {
    /// Its name in the step's data.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordProblem::NoSpf => "no_spf",
            RecordProblem::SeveralSpf(_) => "several_spf",
            RecordProblem::SpfMissesRelay(_) => "spf_misses_relay",
            RecordProblem::NoDmarc => "no_dmarc",
        }
    }
}

fn is_spf(txt: &str) -> bool {
    let txt = txt.trim_start();
    txt.get(..6).is_some_and(|v| v.eq_ignore_ascii_case("v=spf1")) && txt[6..].chars().next().is_none_or(|c| c == ' ')
}

fn is_dmarc(txt: &str) -> bool {
    let txt = txt.trim_start();
    txt.get(..8).is_some_and(|v| v.eq_ignore_ascii_case("v=DMARC1")) && txt[8..].trim_start().chars().next().is_none_or(|c| c == ';')
}

/// The SPF record of a domain among its TXT records.
pub fn spf_records(txt: &[String]) -> Vec<&String> {
    txt.iter().filter(|t| is_spf(t)).collect()
}

/// Whether an SPF record authorises the relay, by the rule in the module's doc.
pub fn authorises(spf: &str, domain: &str, relay: &Relay) -> bool {
    let host = relay.host.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    let known = relay.known();
    // smtp.provider.example -> provider.example: names under it are the provider's.
    let parent = host.split_once('.').map(|(_, rest)| rest).filter(|rest| rest.contains('.'));
    spf.split_whitespace().skip(1).any(|term| {
        let term = term.to_ascii_lowercase();
        if term.starts_with('-') {
            return false;
        }
        let term = term.trim_start_matches(['+', '~', '?']);
        let (mechanism, network) = term.split_once(':').unwrap_or((term, ""));
        let value = network.split('/').next().unwrap_or("");
        match (mechanism, known) {
            ("include", Some((include, _))) => value == include,
            (_, Some(_)) => false,
            ("include" | "a" | "mx", _) if value.contains('.') => under(&host, value) || parent.is_some_and(|p| under(value, p)),
            ("a" | "mx", _) if value.is_empty() => under(&host, &domain),
            ("ip4" | "ip6", _) => relay.addresses.iter().any(|ip| in_network(*ip, network)),
            _ => false,
        }
    })
}

/// `ip` is in `network` ("192.0.2.0/24", "2001:db8::1").
fn in_network(ip: IpAddr, network: &str) -> bool {
    let (addr, len) = network.split_once('/').unwrap_or((network, ""));
    let Ok(net) = addr.parse::<IpAddr>() else { return false };
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => (u32::from(ip) as u128, u32::from(net) as u128, 32),
        (IpAddr::V6(ip), IpAddr::V6(net)) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    let len = if len.is_empty() { Some(bits) } else { len.parse::<u32>().ok() };
    let Some(len) = len.filter(|len| *len <= bits) else { return false };
    let shift = bits - len;
    shift >= bits || (ip >> shift) == (net >> shift)
}

/// What is wrong with a domain's TXT records (`txt`) and its `_dmarc` TXT
/// records (`dmarc_txt`) for mail sent through `relay`.
pub fn check(domain: &str, txt: &[String], dmarc_txt: &[String], relay: &Relay) -> Vec<RecordProblem> {
    let mut problems = Vec::new();
    match spf_records(txt).as_slice() {
        [] => problems.push(RecordProblem::NoSpf),
        [spf] if !relay.is_local() && !authorises(spf, domain, relay) => problems.push(RecordProblem::SpfMissesRelay(spf.to_string())),
        [_] => {}
        several => problems.push(RecordProblem::SeveralSpf(several.len())),
    }
    if !dmarc_txt.iter().any(|t| is_dmarc(t)) {
        problems.push(RecordProblem::NoDmarc);
    }
    problems
}

/// The SPF record with `mechanism` added before its `all` (or `redirect=`).
pub fn with_mechanism(spf: &str, mechanism: &str) -> String {
    let mut terms: Vec<&str> = spf.split_whitespace().collect();
    let last = terms
        .iter()
        .position(|t| t.trim_start_matches(['+', '-', '~', '?']).eq_ignore_ascii_case("all") || t.to_ascii_lowercase().starts_with("redirect="))
        .unwrap_or(terms.len());
    terms.insert(last.max(1), mechanism);
    terms.join(" ")
}

/// Names reserved for documentation and testing (RFC 2606, RFC 6761), or
/// no domain at all (an address literal, a single label): the public DNS
/// holds nothing about them worth judging (example.com's own SPF would say
/// "-all" to every relay), so they are only looked up on a nameserver the
/// caller names.
pub fn is_reserved_name(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let reserved_second_level = ["example.com", "example.net", "example.org"];
    let reserved_top_level = ["example", "test", "invalid", "localhost"];
    domain.parse::<IpAddr>().is_ok()
        || domain.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
        || !domain.contains('.')
        || reserved_second_level.iter().any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        || reserved_top_level.iter().any(|tld| domain.ends_with(&format!(".{tld}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_names_are_those_of_rfc_2606_and_6761() {
        for name in ["example.com", "mail.example.org", "site.example", "a.test", "x.invalid", "wp.localhost", "localhost", "[127.0.0.1]", "10.0.0.1"] {
            assert!(super::is_reserved_name(name), "{name}");
        }
        for name in ["contoso.com", "example.co.uk", "myexample.com", "testing.io"] {
            assert!(!super::is_reserved_name(name), "{name}");
        }
    }

    use super::*;

    const LOOPBACK: [IpAddr; 1] = [IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];

    fn txt(records: &[&str]) -> Vec<String> {
        records.iter().map(|r| r.to_string()).collect()
    }

    fn relay(host: &str) -> Relay<'_> {
        Relay { host, addresses: &LOOPBACK }
    }

    const DMARC: &[&str] = &["v=DMARC1; p=none"];

    #[test]
    fn microsoft_365_direct_send_needs_its_include() {
        let mx = relay("contoso-com.mail.protection.outlook.com");
        let good = txt(&["MS=ms123", "v=spf1 include:spf.protection.outlook.com -all"]);
        assert_eq!(check("contoso.com", &good, &txt(DMARC), &mx), vec![]);
        let other = txt(&["v=spf1 include:_spf.google.com a:contoso-com.mail.protection.outlook.com ~all"]);
        assert_eq!(check("contoso.com", &other, &txt(DMARC), &mx), vec![RecordProblem::SpfMissesRelay(other[0].clone())]);
        assert_eq!(mx.mechanism(), "include:spf.protection.outlook.com");
        assert_eq!(relay("smtp.office365.com").known(), Some(("spf.protection.outlook.com", "Microsoft 365")));
    }

    #[test]
    fn other_relays_are_named_by_include_a_mx_or_address() {
        let godaddy = relay("relay-hosting.secureserver.net");
        assert!(authorises("v=spf1 include:secureserver.net -all", "shop.example", &godaddy));
        let r = relay("smtp.provider.example");
        for spf in [
            "v=spf1 include:provider.example -all",
            "v=spf1 include:_spf.provider.example ~all",
            "v=spf1 a:smtp.provider.example -all",
            "v=spf1 ip4:127.0.0.0/8 -all",
            "v=spf1 +mx:provider.example/24 -all",
        ] {
            assert!(authorises(spf, "site.example", &r), "{spf}");
        }
        for spf in [
            "v=spf1 include:other.example -all",
            "v=spf1 -include:provider.example ~all",
            "v=spf1 ip4:192.0.2.1 -all",
            "v=spf1 a mx -all",
            "v=spf1 include:example -all",
        ] {
            assert!(!authorises(spf, "site.example", &r), "{spf}");
        }
        // The domain's own mail host: a bare a or mx.
        assert!(authorises("v=spf1 mx -all", "site.example", &relay("mail.site.example")));
        assert!(authorises("v=spf1 ip6:2001:db8::/32 -all", "site.example", &Relay { host: "h.example", addresses: &["2001:db8::25".parse().unwrap()] }));
    }

    #[test]
    fn missing_several_and_local_relays() {
        let r = relay("smtp.provider.example");
        assert_eq!(check("site.example", &txt(&["google-site-verification=x"]), &[], &r), vec![RecordProblem::NoSpf, RecordProblem::NoDmarc]);
        let two = txt(&["v=spf1 include:provider.example -all", "v=spf1 mx -all"]);
        assert_eq!(check("site.example", &two, &txt(DMARC), &r), vec![RecordProblem::SeveralSpf(2)]);
        // "v=spf10" is not an SPF record, nor is a DMARC record without its tag first.
        assert_eq!(check("site.example", &txt(&["v=spf10 a"]), &txt(&["p=none; v=DMARC1"]), &r), vec![RecordProblem::NoSpf, RecordProblem::NoDmarc]);
        // A relay on this machine: only whether the records exist.
        let local = relay("127.0.0.1");
        assert!(local.is_local() && relay("localhost").is_local() && !r.is_local());
        assert_eq!(check("site.example", &txt(&["v=spf1 -all"]), &txt(DMARC), &local), vec![]);
        assert_eq!(local.mechanism(), "ip4:<this site's public IP address>");
        assert_eq!(relay("192.0.2.7").mechanism(), "ip4:192.0.2.7");
        assert_eq!(r.mechanism(), "a:smtp.provider.example");
    }

    #[test]
    fn the_mechanism_goes_before_all() {
        assert_eq!(with_mechanism("v=spf1 mx -all", "include:spf.protection.outlook.com"), "v=spf1 mx include:spf.protection.outlook.com -all");
        assert_eq!(with_mechanism("v=spf1 redirect=_spf.example", "a:h.example"), "v=spf1 a:h.example redirect=_spf.example");
        assert_eq!(with_mechanism("v=spf1 mx", "a:h.example"), "v=spf1 mx a:h.example");
    }
}
