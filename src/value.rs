//! The arguments of a PHP call as plain Rust values.
//!
//! The binding layer turns each zval into a [`Value`]; everything after that
//! is ordinary Rust that unit tests can drive without a PHP runtime.

use crate::error::UsageError;

/// A PHP value. Strings are bytes: PHP strings are not guaranteed UTF-8 and a
/// raw message or an ISO-8859-1 body must pass through unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Array(Vec<(Key, Value)>),
}

/// A PHP array key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Index(i64),
    Name(String),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    /// The PHP type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "string",
            Value::Array(_) => "array",
        }
    }

    /// True for an array whose keys are all integers (a PHP "list" or an
    /// array with holes: both are treated as a list of items).
    pub fn is_list(entries: &[(Key, Value)]) -> bool {
        entries.iter().all(|(k, _)| matches!(k, Key::Index(_)))
    }
}

/// The named fields of one argument array (`$message`, `$transport`, ...),
/// with typed getters whose errors name the field the caller got wrong.
pub struct Fields<'a> {
    arg: String,
    entries: &'a [(Key, Value)],
}

impl<'a> Fields<'a> {
    /// Rejects keys outside `known`: a misspelt `'pasword'` would otherwise be
    /// silently ignored and surface much later as a confusing server reply.
    /// `arg` is how the caller names the array: "message", "message['envelope']".
    pub fn new(arg: impl Into<String>, entries: &'a [(Key, Value)], known: &[&str]) -> Result<Self, UsageError> {
        let arg = arg.into();
        for (key, _) in entries {
            match key {
                Key::Name(name) if known.contains(&name.as_str()) => {}
                Key::Name(name) => return Err(UsageError::new(format!("${arg}['{name}'] is not a known key (known: {})", known.join(", ")))),
                Key::Index(i) => return Err(UsageError::new(format!("${arg} must be an array with string keys, got index {i}"))),
            }
        }
        Ok(Fields { arg, entries })
    }

    /// `$arg['name']`, for error messages.
    pub fn path(&self, name: &str) -> String {
        format!("${}['{}']", self.arg, name)
    }

    /// The value of a field; null counts as absent, as `isset()` would say.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.entries.iter().find_map(|(k, v)| match k {
            Key::Name(n) if n == name && *v != Value::Null => Some(v),
            _ => None,
        })
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &Value) -> UsageError {
        UsageError::new(format!("{} must be {expected}, got {}", self.path(name), got.type_name()))
    }

    pub fn bytes(&self, name: &str) -> Result<Option<&'a [u8]>, UsageError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(v) => Err(self.wrong_type(name, "a string", v)),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, UsageError> {
        match self.bytes(name)? {
            None => Ok(None),
            Some(b) => String::from_utf8(b.to_vec()).map(Some).map_err(|_| UsageError::new(format!("{} must be valid UTF-8", self.path(name)))),
        }
    }

    /// Integers may also be given as numeric strings, as they come from forms.
    pub fn int(&self, name: &str) -> Result<Option<i64>, UsageError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(Value::Float(f)) if f.fract() == 0.0 => Ok(Some(*f as i64)),
            Some(Value::Bytes(b)) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .map(Some)
                .ok_or_else(|| UsageError::new(format!("{} must be an integer", self.path(name)))),
            Some(v) => Err(self.wrong_type(name, "an integer", v)),
        }
    }

    /// Seconds, possibly fractional.
    pub fn seconds(&self, name: &str) -> Result<Option<f64>, UsageError> {
        let secs = match self.get(name) {
            None => return Ok(None),
            Some(Value::Int(i)) => *i as f64,
            Some(Value::Float(f)) => *f,
            Some(Value::Bytes(b)) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| UsageError::new(format!("{} must be a number of seconds", self.path(name))))?,
            Some(v) => return Err(self.wrong_type(name, "a number of seconds", v)),
        };
        if !(secs > 0.0 && secs <= 3600.0) {
            return Err(UsageError::new(format!("{} must be more than 0 and at most 3600 seconds, got {secs}", self.path(name))));
        }
        Ok(Some(secs))
    }

    /// A bool, or what a form, an ini file or an environment variable holds for one: 1 or 0, and the strings
    /// `filter_var(FILTER_VALIDATE_BOOLEAN)` reads ('1', 'true', 'on', 'yes'; '0', 'false', 'off', 'no', '').
    /// Any other string is refused: PHP's own cast would read 'false' as true.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, UsageError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Int(i @ (0 | 1))) => Ok(Some(*i == 1)),
            Some(Value::Bytes(b)) => match String::from_utf8_lossy(b).trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => Ok(Some(true)),
                "0" | "false" | "off" | "no" | "" => Ok(Some(false)),
                other => Err(UsageError::new(format!(
                    "{} must be a bool (true, false, 1, 0, or one of the strings '1', 'true', 'on', 'yes', '0', 'false', 'off', 'no', ''), got '{other}'",
                    self.path(name)
                ))),
            },
            Some(v) => Err(self.wrong_type(name, "a bool", v)),
        }
    }

    /// One of a fixed set of words, case-insensitive.
    pub fn choice(&self, name: &str, choices: &[&'static str]) -> Result<Option<&'static str>, UsageError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(s.trim()))
                .copied()
                .map(Some)
                .ok_or_else(|| UsageError::new(format!("{} must be one of {}, got '{}'", self.path(name), choices.join(", "), s))),
        }
    }

    /// A string with comma-separated items, or a list of strings.
    pub fn string_list(&self, name: &str) -> Result<Vec<String>, UsageError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Bytes(_)) => Ok(split_commas(&self.string(name)?.unwrap_or_default())),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, (_, item)) in items.iter().enumerate() {
                    match item {
                        Value::Bytes(b) => {
                            let s = String::from_utf8(b.clone()).map_err(|_| UsageError::new(format!("{}[{i}] must be valid UTF-8", self.path(name))))?;
                            out.extend(split_commas(&s));
                        }
                        v => return Err(UsageError::new(format!("{}[{i}] must be a string, got {}", self.path(name), v.type_name()))),
                    }
                }
                Ok(out)
            }
            Some(v) => Err(self.wrong_type(name, "a string or a list of strings", v)),
        }
    }

    pub fn array(&self, name: &str) -> Result<Option<&'a [(Key, Value)]>, UsageError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong_type(name, "an array", v)),
        }
    }
}

/// Splits an address list on commas that are outside quotes and angle
/// brackets, so `"Doe, Jane" <jane@example.com>` stays one item.
pub fn split_commas(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut in_quotes, mut in_angle) = (false, false);
    for c in s.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items.into_iter().map(|i| i.trim().to_string()).filter(|i| !i.is_empty()).collect()
}

/// `name => value` entries, as a PHP array with string keys arrives: for tests.
#[cfg(test)]
pub fn named(pairs: &[(&str, Value)]) -> Vec<(Key, Value)> {
    pairs.iter().map(|(k, v)| (Key::Name(k.to_string()), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Vec<(Key, Value)> {
        named(pairs)
    }

    #[test]
    fn split_commas_keeps_quoted_names_whole() {
        assert_eq!(split_commas(r#""Doe, Jane" <jane@example.com>, bob@example.com,, "#), vec![r#""Doe, Jane" <jane@example.com>"#, "bob@example.com"]);
    }

    #[test]
    fn unknown_key_is_named() {
        let m = map(&[("pasword", Value::str("x"))]);
        let err = Fields::new("transport", &m, &["password"]).err().unwrap();
        assert!(err.0.contains("$transport['pasword']"), "{}", err.0);
    }

    #[test]
    fn wrong_type_names_field_and_types() {
        let m = map(&[("port", Value::Array(vec![]))]);
        let f = Fields::new("transport", &m, &["port"]).unwrap();
        let err = f.int("port").unwrap_err();
        assert_eq!(err.0, "$transport['port'] must be an integer, got array");
    }

    #[test]
    fn numeric_strings_and_null() {
        let m = map(&[("port", Value::str(" 587 ")), ("timeout", Value::Null)]);
        let f = Fields::new("transport", &m, &["port", "timeout"]).unwrap();
        assert_eq!(f.int("port").unwrap(), Some(587));
        assert_eq!(f.seconds("timeout").unwrap(), None);
    }

    #[test]
    fn bools_take_what_forms_and_ini_files_hold_and_nothing_else() {
        let given = [
            (Value::Bool(false), Some(false)),
            (Value::Int(1), Some(true)),
            (Value::str("false"), Some(false)),
            (Value::str(" Yes "), Some(true)),
            (Value::str("off"), Some(false)),
            (Value::str(""), Some(false)),
            (Value::str("0"), Some(false)),
            (Value::str("nope"), None),
            (Value::Int(2), None),
            (Value::Float(1.0), None),
        ];
        for (value, expected) in given {
            let m = map(&[("pool", value.clone())]);
            let f = Fields::new("transport", &m, &["pool"]).unwrap();
            match expected {
                Some(b) => assert_eq!(f.bool("pool").unwrap(), Some(b), "{value:?}"),
                None => assert!(f.bool("pool").unwrap_err().0.starts_with("$transport['pool'] must be a bool"), "{value:?}"),
            }
        }
    }

    #[test]
    fn string_list_accepts_list_and_commas() {
        let m = map(&[("to", Value::Array(vec![(Key::Index(0), Value::str("a@x.org, b@x.org")), (Key::Index(1), Value::str("c@x.org"))]))]);
        let f = Fields::new("message", &m, &["to"]).unwrap();
        assert_eq!(f.string_list("to").unwrap(), vec!["a@x.org", "b@x.org", "c@x.org"]);
    }

    #[test]
    fn choice_is_case_insensitive_and_lists_choices() {
        let m = map(&[("security", Value::str("STARTTLS")), ("auth", Value::str("kerberos"))]);
        let f = Fields::new("transport", &m, &["security", "auth"]).unwrap();
        assert_eq!(f.choice("security", &["none", "starttls"]).unwrap(), Some("starttls"));
        let err = f.choice("auth", &["none", "plain"]).unwrap_err();
        assert!(err.0.contains("one of none, plain, got 'kerberos'"), "{}", err.0);
    }
}
