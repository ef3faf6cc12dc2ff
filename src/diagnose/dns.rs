//! Name lookups: the system's resolver, or a given name server (so tests
//! can run their own DNS on loopback).
use hickory_resolver::config::{NameServerConfig, Protocol, ResolverConfig, ResolverOpts};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioAsyncResolver;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

fn resolver(nameserver: Option<SocketAddr>) -> Result<TokioAsyncResolver, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(3);
    opts.attempts = 2;
    match nameserver {
        Some(ns) => {
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(ns, Protocol::Udp));
            Ok(TokioAsyncResolver::tokio(config, opts))
        }
        None => TokioAsyncResolver::tokio_from_system_conf().map_err(|e| format!("cannot read the system's DNS settings: {e}")),
    }
}

/// A failed lookup in words: does the name not exist, or has it no
/// record of this type, or did the name server not answer?
fn describe(e: &ResolveError, name: &str, record: &str) -> String {
    match e.kind() {
        ResolveErrorKind::NoRecordsFound { response_code: ResponseCode::NXDomain, .. } => {
            format!("{name} does not exist in DNS (NXDOMAIN)")
        }
        ResolveErrorKind::NoRecordsFound { .. } => format!("{name} has no {record} record"),
        ResolveErrorKind::Timeout => format!("the name server did not answer the {record} query for {name}"),
        _ => format!("looking up {name} failed: {e}"),
    }
}

/// MX hosts of a domain, most preferred first.
pub async fn mx_hosts(domain: &str, nameserver: Option<SocketAddr>, deadline: Instant) -> Result<Vec<String>, String> {
    let resolver = resolver(nameserver)?;
    let lookup = timeout_at(deadline, resolver.mx_lookup(format!("{domain}.")))
        .await
        .map_err(|_| format!("the MX lookup of {domain} took longer than the timeout"))?
        .map_err(|e| describe(&e, domain, "MX"))?;
    let mut records: Vec<(u16, String)> = lookup.iter().map(|mx| (mx.preference(), mx.exchange().to_utf8().trim_end_matches('.').to_string())).collect();
    records.sort();
    Ok(records.into_iter().map(|(_, host)| host).collect())
}

/// The TXT records of a name, each one string (its parts joined, as SPF
/// reads them); none when the name or the record does not exist.
pub async fn txt(name: &str, nameserver: Option<SocketAddr>, deadline: Instant) -> Result<Vec<String>, String> {
    let resolver = resolver(nameserver)?;
    match timeout_at(deadline, resolver.txt_lookup(format!("{name}."))).await {
        Err(_) => Err(format!("the TXT lookup of {name} took too long")),
        Ok(Err(e)) if matches!(e.kind(), ResolveErrorKind::NoRecordsFound { .. }) => Ok(Vec::new()),
        Ok(Err(e)) => Err(describe(&e, name, "TXT")),
        Ok(Ok(lookup)) => Ok(lookup.iter().map(|txt| String::from_utf8_lossy(&txt.txt_data().concat()).into_owned()).collect()),
    }
}

/// Addresses of a host: literal addresses as they are, names through the
/// given name server or the system's resolver (which reads /etc/hosts).
pub async fn addresses(host: &str, port: u16, nameserver: Option<SocketAddr>, deadline: Instant) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let Some(_) = nameserver else {
        return crate::smtp::client::resolve(host, port, deadline).await.map_err(|e| e.message);
    };
    let resolver = resolver(nameserver)?;
    let lookup = timeout_at(deadline, resolver.lookup_ip(format!("{host}.")))
        .await
        .map_err(|_| format!("looking up {host} took longer than the timeout"))?
        .map_err(|e| describe(&e, host, "address"))?;
    let addrs: Vec<SocketAddr> = lookup.iter().map(|ip| SocketAddr::new(ip, port)).collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok(addrs)
}
