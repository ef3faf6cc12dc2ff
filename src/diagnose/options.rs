//! `$options` of `rust_mail_diagnose()`, parsed and checked.

use crate::error::UsageError;
use crate::message::{check_header_safe, parse_address};
use crate::value::{Fields, Key, Value};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Ports probed by `scan_ports => true`: SMTP, submission with implicit
/// TLS, submission with STARTTLS, and the common alternative.
const COMMON_PORTS: [u16; 4] = [25, 465, 587, 2525];

pub struct Options {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub send_test: bool,
    pub scan_ports: Option<Vec<u16>>,
    pub mx_domain: Option<String>,
    pub nameserver: Option<SocketAddr>,
    pub timeout: Option<Duration>,
    /// The scopes the token endpoint granted with an API transport's token (its `scope`), for the permission
    /// check of a delegated token that is opaque.
    pub token_scopes: Vec<String>,
}

const OPTION_KEYS: &[&str] = &["from", "to", "send_test", "scan_ports", "mx_domain", "nameserver", "timeout", "token_scopes"];

impl Options {
    pub fn from_value(entries: &[(Key, Value)]) -> Result<Options, UsageError> {
        let f = Fields::new("options", entries, OPTION_KEYS)?;
        let from = f.string("from")?.filter(|s| !s.trim().is_empty());
        if let Some(from) = &from {
            parse_address(&f.path("from"), from)?;
        }
        let to = f.string_list("to")?;
        for to in &to {
            parse_address(&f.path("to"), to)?;
        }
        let scan_ports = match f.get("scan_ports") {
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(COMMON_PORTS.to_vec()),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|(_, v)| match v {
                        Value::Int(p) => u16::try_from(*p).ok().filter(|p| *p > 0),
                        _ => None,
                    })
                    .collect::<Option<Vec<u16>>>()
                    .ok_or_else(|| UsageError::new("$options['scan_ports'] must be true or a list of port numbers"))?,
            ),
            Some(v) => return Err(UsageError::new(format!("$options['scan_ports'] must be true or a list of port numbers, got {}", v.type_name()))),
        };
        let mx_domain = f.string("mx_domain")?.map(|d| d.trim().trim_end_matches('.').to_string()).filter(|d| !d.is_empty());
        if let Some(domain) = &mx_domain {
            check_header_safe(&f.path("mx_domain"), domain)?;
        }
        let nameserver = f
            .string("nameserver")?
            .map(|ns| {
                ns.parse::<SocketAddr>()
                    .or_else(|_| ns.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| UsageError::new(format!("$options['nameserver'] must be an address such as 127.0.0.1:53, got '{ns}'")))
            })
            .transpose()?;
        Ok(Options {
            from,
            to,
            send_test: f.bool("send_test")?.unwrap_or(false),
            scan_ports,
            mx_domain,
            nameserver,
            timeout: f.seconds("timeout")?.map(Duration::from_secs_f64),
            // As the token endpoint returns them: one string, space-separated (RFC 6749 section 3.3), or a list.
            token_scopes: f.string_list("token_scopes")?.iter().flat_map(|s| s.split_whitespace().map(str::to_string)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validate_and_name_fields() {
        let opts = |pairs: &[(&str, Value)]| {
            let entries: Vec<_> = pairs.iter().map(|(k, v)| (Key::Name(k.to_string()), v.clone())).collect();
            Options::from_value(&entries)
        };
        assert!(opts(&[("nameserver", Value::str("nope"))]).err().unwrap().0.contains("$options['nameserver']"));
        assert_eq!(opts(&[("nameserver", Value::str("127.0.0.1"))]).ok().unwrap().nameserver, Some("127.0.0.1:53".parse().unwrap()));
        assert_eq!(opts(&[("scan_ports", Value::Bool(true))]).ok().unwrap().scan_ports, Some(COMMON_PORTS.to_vec()));
        assert!(opts(&[("to", Value::str("a@b.c\r\nX: y"))]).err().unwrap().0.contains("header injection"));
        let scopes = opts(&[("token_scopes", Value::str("https://graph.microsoft.com/Mail.Send offline_access"))]).ok().unwrap().token_scopes;
        assert_eq!(scopes, ["https://graph.microsoft.com/Mail.Send", "offline_access"]);
        assert!(opts(&[("token_scopes", Value::Int(1))]).is_err());
    }
}
