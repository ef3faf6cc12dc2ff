//! The result of `rust_mail_diagnose()`: the steps the walk recorded (each
//! one it did not reach as skipped, in the order of the security setting),
//! what it learnt of the server, the transcript, and the verdict:
//! [`classify`] decides the cause, [`walk_verdict`] words it. Pure.

use super::probes::PortState;
use super::verdict::{walk_verdict, Findings};
use crate::config::{Security, Transport};
use crate::judge::{classify, Facts};
use crate::smtp::error::SendError;
use crate::smtp::tls::CertInfo;
use serde_json::{json, Value as Json};
use std::net::SocketAddr;

pub const STEP_NAMES: [&str; 9] = ["dns", "sender_dns", "tcp", "greeting", "ehlo", "tls", "auth", "envelope", "send"];
/// An HTTPS API's walk: the connection, then the token, then a send only with `send_test`.
pub const API_STEP_NAMES: [&str; 6] = ["dns", "tcp", "tls", "token", "permission", "send"];
/// With implicit TLS the handshake comes before the greeting.
pub const IMPLICIT_TLS_STEP_NAMES: [&str; 9] = ["dns", "sender_dns", "tcp", "tls", "greeting", "ehlo", "auth", "envelope", "send"];

/// What the walk learnt of the server, as it goes.
#[derive(Debug, Default)]
pub struct Found {
    /// The steps recorded, each `{name, status, ms, detail, data}`.
    pub steps: Vec<Json>,
    pub addrs: Vec<SocketAddr>,
    pub mx_hosts: Vec<String>,
    pub banner: String,
    pub capabilities: Vec<String>,
    pub certificate: Option<CertInfo>,
    /// The certificate was checked and is valid for the host asked for:
    /// proof that the right server answered, whatever its banner says.
    pub certificate_verified: bool,
    /// What the verdict's wording needs.
    pub findings: Findings,
}

/// A step the walk did not reach.
fn skipped(name: &str) -> Json {
    json!({ "name": name, "status": "skip", "ms": 0.0, "detail": "", "data": {} })
}

pub fn cert_json(c: &CertInfo) -> Json {
    json!({
        "subject": c.subject,
        "issuer": c.issuer,
        "names": c.names,
        "not_before": c.not_before,
        "not_after": c.not_after,
        "expired": c.expired,
        "self_signed": c.self_signed,
    })
}

/// The JSON result of a walk that ended with `failure` (`None`: it went through).
pub fn result(transport: &Transport, from: Option<String>, found: Found, failure: Option<&SendError>, transcript: Json) -> Json {
    let facts = Facts { security: transport.security, foreign_banner: found.findings.foreign_banner.is_some(), identity_proven: found.certificate_verified };
    let cause = classify(failure, &facts);
    let v = walk_verdict(cause, transport, from, failure, &found.findings);
    let mut steps = found.steps;
    let names: &[&str] = match (&transport.api, transport.security) {
        (Some(_), _) => &API_STEP_NAMES,
        (None, Security::Tls) => &IMPLICIT_TLS_STEP_NAMES,
        (None, _) => &STEP_NAMES,
    };
    // The DKIM record is checked only for a transport that signs.
    let dkim_dns = transport.dkim.is_some() && transport.api.is_none();
    let names = names.iter().flat_map(|name| if *name == "sender_dns" && dkim_dns { vec![*name, "dkim_dns"] } else { vec![*name] });
    for name in names {
        if !steps.iter().any(|s| s["name"] == name) {
            steps.push(skipped(name));
        }
    }
    json!({
        "ok": cause == crate::judge::Cause::Ok,
        "steps": steps,
        "ports": found.findings.ports.as_ref().map(|ports| ports.iter().map(PortState::to_json).collect::<Vec<_>>()),
        "server": {
            "host": transport.host,
            "port": transport.port,
            "addresses": found.addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "mx": found.mx_hosts,
            "banner": found.banner,
            "capabilities": found.capabilities,
            "certificate": found.certificate.as_ref().map(cert_json),
        },
        "transcript": transcript,
        "verdict": { "cause": cause.as_str(), "summary": v.summary, "advice": v.advice },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::error::{ErrorKind, Problem, Stage};
    use crate::value::{Key, Value};

    fn transport(security: Security) -> Transport {
        let host = [(Key::Name("host".into()), Value::str("smtp.example.com"))];
        Transport { security, ..Transport::settings_only(&host).expect("a host is enough") }
    }

    fn step(name: &str, status: &str) -> Json {
        json!({ "name": name, "status": status, "ms": 1.5, "detail": "", "data": {} })
    }

    fn names(out: &Json) -> Vec<&str> {
        out["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect()
    }

    #[test]
    fn the_steps_not_reached_are_skipped_in_the_order_of_the_security_setting() {
        let found = || Found { steps: vec![step("dns", "ok"), step("sender_dns", "skip"), step("tcp", "fail")], ..Found::default() };
        let refused = SendError::new(ErrorKind::ConnectRefused, Stage::Connect, Problem::ConnectRefused, "refused");
        let out = result(&transport(Security::Tls), None, found(), Some(&refused), json!([]));
        assert_eq!(names(&out), IMPLICIT_TLS_STEP_NAMES);
        assert_eq!(out["steps"][3], json!({ "name": "tls", "status": "skip", "ms": 0.0, "detail": "", "data": {} }));
        assert_eq!((&out["ok"], &out["verdict"]["cause"]), (&json!(false), &json!("connection_refused")));
        let out = result(&transport(Security::Starttls), None, found(), Some(&refused), json!([]));
        assert_eq!(names(&out), STEP_NAMES);
    }

    #[test]
    fn a_walk_that_went_through_is_ok_unless_another_server_answered() {
        let ports = vec![PortState { port: 25, state: "open", service: Some("smtp") }];
        let found = Found { banner: "smtp.example.com ESMTP".into(), findings: Findings { ports: Some(ports), ..Findings::default() }, ..Found::default() };
        let out = result(&transport(Security::Starttls), None, found, None, json!([]));
        assert_eq!((&out["ok"], &out["verdict"]["cause"]), (&json!(true), &json!("ok")));
        assert_eq!(out["ports"], json!([{ "port": 25, "state": "open", "service": "smtp" }]));
        assert_eq!(out["server"]["banner"], "smtp.example.com ESMTP");
        let foreign = || Findings { foreign_banner: Some("relay.other.example".into()), ..Findings::default() };
        let out = result(&transport(Security::Starttls), None, Found { findings: foreign(), ..Found::default() }, None, json!([]));
        assert_eq!(out["verdict"]["cause"], "intercepted");
        assert_eq!(out["ports"], Json::Null);
        let proven = Found { certificate_verified: true, findings: foreign(), ..Found::default() };
        assert_eq!(result(&transport(Security::Starttls), None, proven, None, json!([]))["verdict"]["cause"], "ok");
    }
}
