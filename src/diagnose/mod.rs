//! `rust_mail_diagnose()`: walks a connection one step at a time (dns,
//! sender_dns, tcp, greeting, ehlo, tls, auth, envelope, send; dkim_dns after
//! sender_dns when the transport signs), records each, and ends with a verdict
//! a site owner can act on.
//!
//! One file a role: [`options`] parses `$options`; `dns` looks names up
//! (host, MX, TXT, through `nameserver`); `probes` makes the side connections
//! (port scan, TLS and greeting probes); `walk` drives the connection step
//! by step; `report` turns the steps into the result. These record what
//! happened as data ([`crate::smtp::error::SendError`]: stage, problem, reply) and
//! judge nothing: [`crate::judge`] decides the cause and words it, and [`verdict`]
//! adds what the walk learnt.
//! [`records`] reads the From domain's SPF and DMARC records; `explain`
//! judges a logged failure after the fact.

pub mod records;
pub mod verdict;

mod dns;
mod explain;
pub mod options;
mod probes;
mod report;
pub mod token;
mod walk;

pub use explain::explain;
pub use options::Options;

use crate::api::client::client_for;
use crate::config::Transport;
use crate::error::UsageError;
use crate::pool;
use crate::secrets::scrub_json;
use crate::value::{Key, Value};
use serde_json::Value as Json;
use walk::Walk;

/// Parses the arguments and runs the diagnosis. With `mx_domain`, the
/// transport's host may be left out: it is found in DNS.
pub fn diagnose(transport: &[(Key, Value)], options: &[(Key, Value)]) -> Result<Json, UsageError> {
    let options = Options::from_value(options)?;
    let mut transport_entries = transport.to_vec();
    let given = |key: &str| transport_entries.iter().any(|(k, v)| *k == Key::Name(key.into()) && *v != Value::Null);
    // An API has no MX host to take: refused below, naming the option.
    if let (false, false, Some(domain)) = (given("host"), given("api"), &options.mx_domain) {
        transport_entries.push((Key::Name("host".into()), Value::str(domain)));
    }
    let mut transport = Transport::from_value(&transport_entries)?;
    if let (Some(api), Some(key)) = (&transport.api, smtp_only_option(&options)) {
        return Err(UsageError::new(format!(
            "$options['{key}'] is for SMTP and does not apply to 'api' => '{}': the walk of an API reaches the host of its api_base on its port",
            api.provider.as_str()
        )));
    }
    if let Some(timeout) = options.timeout {
        transport.timeout = timeout;
    }
    let secrets = transport.secrets();
    let mut result = pool::with_state(|state| {
        let http = transport.api.is_some().then(|| client_for(state, &transport));
        state.runtime.block_on(Walk::new(transport, options, http).run())
    })
    .map_err(UsageError::new)?;
    scrub_json(&mut result, &secrets);
    Ok(result)
}

/// An option of the SMTP walk that an API's walk has no use for.
fn smtp_only_option(options: &Options) -> Option<&'static str> {
    [("mx_domain", options.mx_domain.is_some()), ("scan_ports", options.scan_ports.is_some())].into_iter().find(|(_, given)| *given).map(|(key, _)| key)
}
