//! Short side connections that tell what a port speaks.
use crate::config::Transport;
use crate::smtp::client::{connect_tcp, Connection};
use crate::smtp::transcript::Transcript;
use serde_json::{json, Value as Json};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

/// Whether a TLS handshake succeeds on a fresh connection (certificate
/// not checked: only the protocol matters here).
pub async fn speaks_tls(addr: SocketAddr, transport: &Transport, deadline: Instant) -> bool {
    let Ok(stream) = connect_tcp(addr, deadline).await else { return false };
    let mut conn = Connection::from_tcp(stream, addr);
    let unchecked = Transport { verify_peer: false, ..transport.clone() };
    let mut scratch = Transcript::new(std::time::Instant::now());
    conn.start_tls(&unchecked, &mut scratch, deadline).await.is_ok()
}

/// The greeting of a fresh plain-text connection, if it sends one.
pub async fn plain_greeting(addr: SocketAddr, deadline: Instant) -> Option<String> {
    let stream = connect_tcp(addr, deadline).await.ok()?;
    let mut conn = Connection::from_tcp(stream, addr);
    let mut scratch = Transcript::new(std::time::Instant::now());
    let reply = conn.read_reply(&mut scratch, deadline, crate::smtp::error::Stage::Greeting).await.ok()?;
    (reply.code == 220).then(|| reply.one_line())
}

/// (state, service) of one port for `scan_ports`.
pub async fn probe_port(addr: SocketAddr, transport: &Transport, deadline: Instant) -> (&'static str, Option<&'static str>) {
    let probe_deadline = (Instant::now() + Duration::from_secs(4)).min(deadline);
    let stream = match connect_tcp(addr, probe_deadline).await {
        Ok(stream) => stream,
        Err(failure) => return (failure.state(), None),
    };
    let mut conn = Connection::from_tcp(stream, addr);
    let mut scratch = Transcript::new(std::time::Instant::now());
    let greet_deadline = (Instant::now() + Duration::from_secs(3)).min(deadline);
    let service = match conn.read_reply(&mut scratch, greet_deadline, crate::smtp::error::Stage::Greeting).await {
        Ok(reply) if reply.code == 220 => {
            let probe = Transport { port: addr.port(), ..transport.clone() };
            match conn.ehlo(&probe, &mut scratch, probe_deadline).await {
                Ok(()) if conn.capabilities.has("STARTTLS") => "smtp+starttls",
                Ok(()) => "smtp",
                Err(_) => "unknown",
            }
        }
        Ok(_) => "unknown",
        Err(_) if speaks_tls(addr, transport, probe_deadline).await => "smtps",
        Err(_) => "unknown",
    };
    conn.quit(&mut scratch, probe_deadline).await;
    ("open", Some(service))
}

/// What `scan_ports` found on one port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortState {
    pub port: u16,
    /// "open", or how the connection failed ([`crate::smtp::client::ConnectFailure::state`]).
    pub state: &'static str,
    /// What an open port speaks: "smtp", "smtp+starttls", "smtps" or "unknown".
    pub service: Option<&'static str>,
}

impl PortState {
    pub fn to_json(&self) -> Json {
        json!({ "port": self.port, "state": self.state, "service": self.service })
    }
}

/// Each port of `ports` on `ip` probed at once, in port order.
pub async fn scan(ip: IpAddr, ports: Vec<u16>, transport: &Transport, deadline: Instant) -> Vec<PortState> {
    let mut probes = tokio::task::JoinSet::new();
    for port in ports {
        let transport = transport.clone();
        probes.spawn(async move { (port, probe_port(SocketAddr::new(ip, port), &transport, deadline).await) });
    }
    let mut found = Vec::new();
    while let Some(Ok((port, (state, service)))) = probes.join_next().await {
        found.push(PortState { port, state, service });
    }
    found.sort_by_key(|p| p.port);
    found
}
