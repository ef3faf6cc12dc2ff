//! The PHP binding: converts arguments, calls the core, maps errors once.
//! No mail logic lives here.

use crate::config::Transport;
use crate::error::UsageError;
use crate::value::{Key, Value};
use crate::batch::{self, BatchOptions};
use crate::{diagnose, message, pool, send, VERSION};
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ArrayKey, ZendHashTable, Zval};
use ext_php_rs::zend::{ce, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_row, info_table_start};
use serde_json::Value as Json;

/// Thrown for programming errors: a missing or malformed field, header
/// injection, an unreadable attachment. Delivery failures are not thrown;
/// they come back in the result array.
#[php_class]
#[php(name = "RustMailException")]
#[php(extends(ce = ce::exception, stub = "\\Exception"))]
#[derive(Default)]
pub struct RustMailException;

impl From<UsageError> for PhpException {
    fn from(error: UsageError) -> PhpException {
        PhpException::from_class::<RustMailException>(error.0)
    }
}

/// Arrays nested deeper than this are refused rather than walked: a
/// self-referencing array would otherwise never end.
const MAX_DEPTH: usize = 16;

fn to_value(zval: &Zval, depth: usize) -> Result<Value, UsageError> {
    let zval = zval.dereference();
    if zval.is_null() {
        Ok(Value::Null)
    } else if let Some(b) = zval.bool() {
        Ok(Value::Bool(b))
    } else if let Some(i) = zval.long() {
        Ok(Value::Int(i))
    } else if let Some(f) = zval.double() {
        Ok(Value::Float(f))
    } else if let Some(s) = zval.zend_str() {
        Ok(Value::Bytes(s.as_bytes().to_vec()))
    } else if let Some(array) = zval.array() {
        array_to_value(array, depth)
    } else {
        Err(UsageError::new(format!("a value of type {:?} cannot be used here", zval.get_type())))
    }
}

fn array_to_value(array: &ZendHashTable, depth: usize) -> Result<Value, UsageError> {
    if depth > MAX_DEPTH {
        return Err(UsageError::new("arrays nested more than 16 levels deep are not accepted"));
    }
    let mut entries = Vec::with_capacity(array.len());
    for (key, value) in array.iter() {
        let key = match key {
            ArrayKey::Long(i) => Key::Index(i),
            ArrayKey::String(s) => Key::Name(s),
            ArrayKey::Str(s) => Key::Name(s.to_string()),
            ArrayKey::ZendString(s) => Key::Name(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        };
        entries.push((key, to_value(value, depth + 1)?));
    }
    Ok(Value::Array(entries))
}

fn entries(array: &ZendHashTable) -> Result<Vec<(Key, Value)>, UsageError> {
    match array_to_value(array, 0)? {
        Value::Array(entries) => Ok(entries),
        _ => unreachable!("array_to_value returns an array"),
    }
}

fn to_zval(json: &Json) -> PhpResult<Zval> {
    let mut zval = Zval::new();
    match json {
        Json::Null => zval.set_null(),
        Json::Bool(b) => zval.set_bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => zval.set_long(i),
            None => zval.set_double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => zval.set_string(s, false)?,
        Json::Array(items) => {
            let mut array = ZendHashTable::new();
            for item in items {
                array.push(to_zval(item)?)?;
            }
            zval.set_hashtable(array);
        }
        Json::Object(map) => {
            let mut array = ZendHashTable::new();
            for (key, item) in map {
                array.insert(key.as_str(), to_zval(item)?)?;
            }
            zval.set_hashtable(array);
        }
    }
    Ok(zval)
}

/// Sends one message over SMTP. See php/rust_mail.stub.php.
#[php_function]
pub fn rust_mail_send(message: &ZendHashTable, transport: &ZendHashTable) -> PhpResult<Zval> {
    let outgoing = message::from_value(&entries(message)?)?;
    let transport = Transport::from_value(&entries(transport)?)?;
    let result = send::send(&outgoing, &transport).map_err(PhpException::from_class::<RustMailException>)?;
    to_zval(&result)
}

/// Sends a list of messages over parallel connections of one transport.
/// See php/rust_mail.stub.php. A message that cannot be read gets its
/// error in its result; only a bad transport or bad options throw.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_send_many(messages: &ZendHashTable, transport: &ZendHashTable, options: Option<&ZendHashTable>) -> PhpResult<Zval> {
    let transport = Transport::from_value(&entries(transport)?)?;
    let options = BatchOptions::from_value(&options.map(entries).transpose()?.unwrap_or_default())?;
    let mut keys = Vec::with_capacity(messages.len());
    let mut outgoing = Vec::with_capacity(messages.len());
    for (key, zval) in messages.iter() {
        let parsed = match zval.dereference().array() {
            Some(array) => entries(array).and_then(|e| message::from_value(&e)),
            None => Err(crate::error::UsageError::new(format!("each message must be an array, got {:?}", zval.get_type()))),
        };
        keys.push(key);
        outgoing.push(parsed);
    }
    let results = batch::send_many(outgoing, &transport, &options).map_err(PhpException::from_class::<RustMailException>)?;
    // The results under the keys of $messages, in their order.
    let mut array = ZendHashTable::new();
    for (key, result) in keys.into_iter().zip(results) {
        let value = to_zval(&result)?; // each result freed once converted
        match key {
            ArrayKey::Long(i) => array.insert_at_index(i, value)?,
            key => array.insert(key, value)?,
        }
    }
    let mut zval = Zval::new();
    zval.set_hashtable(array);
    Ok(zval)
}

/// Walks a connection step by step and says what is wrong and what to do.
/// See php/rust_mail.stub.php.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_diagnose(transport: &ZendHashTable, options: Option<&ZendHashTable>) -> PhpResult<Zval> {
    let options = match options {
        Some(options) => entries(options)?,
        None => Vec::new(),
    };
    to_zval(&diagnose::diagnose(&entries(transport)?, &options)?)
}

/// Explains a failed send after the fact. See php/rust_mail.stub.php.
#[php_function]
pub fn rust_mail_explain(failure: &ZendHashTable, transport: &ZendHashTable) -> PhpResult<Zval> {
    to_zval(&diagnose::explain(&entries(failure)?, &entries(transport)?)?)
}

pub extern "C" fn php_module_info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("rust_mail support", "enabled");
    info_table_row!("version", VERSION);
    info_table_row!("TLS backend", "rustls 0.23 (ring), no OpenSSL");
    info_table_row!("idle pooled connections (this process)", pool::idle_connections().to_string());
    info_table_end!();
}

extern "C" {
    /// PHP's own open_basedir check (main/fopen_wrappers.c), exported by
    /// every PHP binary: 0 when the path may be opened, -1 when not. With
    /// `warn` 0 it raises no warning; the caller throws instead.
    fn php_check_open_basedir_ex(path: *const std::os::raw::c_char, warn: std::os::raw::c_int) -> std::os::raw::c_int;
}

/// Whether the running script's open_basedir lets it open `path`, decided
/// by PHP itself, with the settings in force for this request.
fn open_basedir_allows(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    // A path with a NUL byte cannot be opened at all: PHP refuses those too.
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    unsafe { php_check_open_basedir_ex(path.as_ptr(), 0) == 0 }
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    crate::files::enforce_open_basedir(open_basedir_allows);
    module
        .class::<RustMailException>()
        .function(wrap_function!(rust_mail_send))
        .function(wrap_function!(rust_mail_send_many))
        .function(wrap_function!(rust_mail_diagnose))
        .function(wrap_function!(rust_mail_explain))
        .info_function(php_module_info)
}
