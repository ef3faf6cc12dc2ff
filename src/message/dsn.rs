//! Delivery status notifications asked for a message (RFC 3461): `$message['dsn']` read and checked, and the
//! parameters it puts on MAIL FROM (RET, ENVID) and on each RCPT TO (NOTIFY).

use crate::error::UsageError;
use crate::value::Fields;

const NOTIFY: &[&str] = &["success", "failure", "delay"];

/// RFC 3461 section 4.4: an ENVID of at most 100 characters (as xtext).
const MAX_ENVID: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// Lower case, in the order given: some of `NOTIFY`, or `never` alone.
    notify: Vec<String>,
    /// `headers` or `full`.
    ret: Option<String>,
    envid: Option<String>,
}

impl Dsn {
    /// `$message['dsn']`: `['notify' => ['failure', 'delay'] | ['never'], 'ret' => 'headers'|'full', 'envid' => ...]`.
    pub fn from_fields(message: &Fields) -> Result<Option<Dsn>, UsageError> {
        let Some(entries) = message.array("dsn")? else { return Ok(None) };
        let f = Fields::new("message['dsn']", entries, &["notify", "ret", "envid"])?;
        let notify: Vec<String> = f.string_list("notify")?.iter().map(|n| n.to_ascii_lowercase()).collect();
        for (i, value) in notify.iter().enumerate() {
            if !(NOTIFY.contains(&value.as_str()) || value == "never") {
                return Err(UsageError::new(format!("{} '{value}' is not one of success, failure, delay or never", f.path("notify"))));
            }
            if notify[..i].contains(value) {
                return Err(UsageError::new(format!("{} has '{value}' twice", f.path("notify"))));
            }
        }
        if notify.len() > 1 && notify.iter().any(|n| n == "never") {
            return Err(UsageError::new(format!("{} 'never' stands alone: it cannot be combined with success, failure or delay", f.path("notify"))));
        }
        let ret = f.string("ret")?.map(|r| r.to_ascii_lowercase());
        if let Some(ret) = ret.as_deref().filter(|r| !matches!(*r, "headers" | "full")) {
            return Err(UsageError::new(format!("{} '{ret}' is not 'headers' or 'full'", f.path("ret"))));
        }
        let envid = f.string("envid")?;
        if let Some(envid) = &envid {
            if envid.is_empty() || !envid.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(UsageError::new(format!(
                    "{} '{}' must be printable ASCII (RFC 3461 section 4.4), not empty",
                    f.path("envid"),
                    envid.escape_debug()
                )));
            }
            if xtext(envid).len() > MAX_ENVID {
                return Err(UsageError::new(format!(
                    "{} is {} characters as xtext ('+' and '=' count three): RFC 3461 allows at most {MAX_ENVID}",
                    f.path("envid"),
                    xtext(envid).len()
                )));
            }
        }
        if notify.is_empty() && ret.is_none() && envid.is_none() {
            return Err(UsageError::new(format!("{} asks for nothing: give 'notify', 'ret' or 'envid', or leave it out", message.path("dsn"))));
        }
        Ok(Some(Dsn { notify, ret, envid }))
    }

    /// The parameters for MAIL FROM, each with its leading space.
    pub fn mail_parameters(&self) -> String {
        let ret = self.ret.as_deref().map(|r| if r == "headers" { " RET=HDRS" } else { " RET=FULL" }).unwrap_or_default();
        let envid = self.envid.as_deref().map(|e| format!(" ENVID={}", xtext(e))).unwrap_or_default();
        format!("{ret}{envid}")
    }

    /// NOTIFY for each RCPT TO, with its leading space; empty without `notify`.
    fn rcpt_parameters(&self) -> String {
        if self.notify.is_empty() {
            return String::new();
        }
        format!(" NOTIFY={}", self.notify.join(",").to_ascii_uppercase())
    }

    /// The parameters for the RCPT TO of `recipient`, each with its leading space: NOTIFY when asked for, and
    /// ORCPT (RFC 3461 section 4.2), the recipient as given, so that a report names the address this message
    /// went to even after a forward or an alias rewrote it.
    pub fn rcpt_parameters_for(&self, recipient: &str) -> String {
        format!("{} ORCPT={}", self.rcpt_parameters(), original_recipient(recipient))
    }

    /// As `$message['dsn']` takes it, for `rust_mail_compose()`'s result.
    pub fn to_json(&self) -> serde_json::Value {
        let mut dsn = serde_json::Map::new();
        if !self.notify.is_empty() {
            dsn.insert("notify".into(), self.notify.clone().into());
        }
        if let Some(ret) = &self.ret {
            dsn.insert("ret".into(), ret.clone().into());
        }
        if let Some(envid) = &self.envid {
            dsn.insert("envid".into(), envid.clone().into());
        }
        dsn.into()
    }
}

/// ORCPT's value: `rfc822;` and the address as xtext; an address that is not ASCII (only ever offered to a server
/// with SMTPUTF8, in a transaction that uses it) as RFC 6533 section 3 writes it with SMTPUTF8: `utf-8;` and the
/// address as utf-8-addr-unitext, UTF-8 kept, '+', '=', backslash, space and controls as `\x{HEX}`.
fn original_recipient(address: &str) -> String {
    if address.is_ascii() {
        return format!("rfc822;{}", xtext(address));
    }
    let unitext: String =
        address.chars().map(|c| if c.is_control() || matches!(c, ' ' | '+' | '=' | '\\') { format!("\\x{{{:X}}}", c as u32) } else { c.to_string() }).collect();
    format!("utf-8;{unitext}")
}

/// RFC 3461 section 4: xtext, each character outside '!' to '~', and '+' and '=', as "+" and two upper-case hex digits.
fn xtext(text: &str) -> String {
    text.bytes().map(|b| if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' { (b as char).to_string() } else { format!("+{b:02X}") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Key, Value};

    fn dsn(pairs: &[(&str, Value)]) -> Result<Option<Dsn>, UsageError> {
        let message = vec![(Key::Name("dsn".into()), Value::Array(crate::value::named(pairs)))];
        Dsn::from_fields(&Fields::new("message", &message, &["dsn"]).unwrap())
    }

    fn list(items: &[&str]) -> Value {
        Value::Array(items.iter().enumerate().map(|(i, s)| (Key::Index(i as i64), Value::str(s))).collect())
    }

    #[test]
    fn parameters_as_rfc_3461_writes_them() {
        let d = dsn(&[("notify", list(&["failure", "Delay"])), ("ret", Value::str("headers")), ("envid", Value::str("order 12+3=x"))]).unwrap().unwrap();
        assert_eq!(d.mail_parameters(), " RET=HDRS ENVID=order+2012+2B3+3Dx");
        assert_eq!(d.rcpt_parameters_for("a+b=c@example.com"), " NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+2Bb+3Dc@example.com");
        let d = dsn(&[("notify", Value::str("never"))]).unwrap().unwrap();
        assert_eq!((d.mail_parameters(), d.rcpt_parameters_for("x@example.com")), (String::new(), " NOTIFY=NEVER ORCPT=rfc822;x@example.com".to_string()));
        assert_eq!(dsn(&[("ret", Value::str("full"))]).unwrap().unwrap().rcpt_parameters_for("x@example.com"), " ORCPT=rfc822;x@example.com");
    }

    #[test]
    fn a_utf8_original_recipient_is_unitext() {
        assert_eq!(original_recipient("jürgen+x@example.com"), "utf-8;jürgen\\x{2B}x@example.com");
        assert_eq!(original_recipient("\"a=b\\c\"ü@example.com"), "utf-8;\"a\\x{3D}b\\x{5C}c\"ü@example.com");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (pairs, refusal) in [
            (vec![("notify", list(&["failure", "never"]))], "$message['dsn']['notify'] 'never' stands alone"),
            (vec![("notify", list(&["bounce"]))], "$message['dsn']['notify'] 'bounce' is not one of success, failure, delay or never"),
            (vec![("notify", list(&["delay", "delay"]))], "$message['dsn']['notify'] has 'delay' twice"),
            (vec![("ret", Value::str("hdrs"))], "$message['dsn']['ret'] 'hdrs' is not 'headers' or 'full'"),
            (vec![("envid", Value::str("caf\u{e9}"))], "$message['dsn']['envid'] 'caf\u{e9}' must be printable ASCII"),
            (vec![("envid", Value::str("a\r\nRCPT TO:<x@example.com>"))], "$message['dsn']['envid'] 'a\\r\\nRCPT TO:<x@example.com>' must be printable ASCII"),
            (vec![("envid", Value::str(&"=".repeat(34)))], "$message['dsn']['envid'] is 102 characters as xtext"),
            (vec![("colour", Value::str("red"))], "$message['dsn']['colour'] is not a known key"),
            (vec![], "$message['dsn'] asks for nothing"),
        ] {
            let err = dsn(&pairs).unwrap_err().0;
            assert!(err.starts_with(refusal), "{refusal}: {err}");
        }
    }
}
