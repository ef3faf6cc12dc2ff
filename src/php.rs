//! The PHP binding: converts arguments, calls the core, maps errors once.
//! No mail logic lives here.

use crate::batch::{self, BatchOptions};
use crate::config::{secrets_in, Transport};
use crate::error::UsageError;
use crate::message::Limits;
use crate::value::{Key, Value};
use crate::{diagnose, message, pool, send, VERSION};
use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::convert::FromZval;
use ext_php_rs::flags::{DataType, IniEntryPermission};
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendStr, Zval};
use ext_php_rs::zend::{ce, ClassEntry, IniEntryDef, IniEntryDefs, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_row, info_table_start};
use serde_json::Value as Json;
use std::os::raw::{c_char, c_int, c_void};

/// Thrown for programming errors: a missing or malformed field, header
/// injection, an unreadable attachment. Delivery failures are not thrown;
/// they come back in the result array. A plain subclass of \Exception,
/// registered without an object handler of its own, so that PHP fills in the
/// file, line and trace of the call that failed as for any internal function.
const EXCEPTION_CLASS: &str = "RustMailException";

fn exception_class() -> &'static ClassEntry {
    ClassEntry::try_find(EXCEPTION_CLASS).unwrap_or_else(ce::exception)
}

impl From<UsageError> for PhpException {
    fn from(error: UsageError) -> PhpException {
        PhpException::new(error.0, 0, exception_class())
    }
}

/// A parameter declared `array`. ext-php-rs refuses another type with a
/// message that names neither the function nor the type given; PHP's
/// internal functions say both, so the binding takes any value and says it
/// in PHP's words (see [`ArrayArg::array`]).
pub struct ArrayArg<'a>(&'a Zval);

impl<'a> FromZval<'a> for ArrayArg<'a> {
    const TYPE: DataType = DataType::Array;

    fn from_zval(zval: &'a Zval) -> Option<Self> {
        Some(ArrayArg(zval))
    }
}

extern "C" {
    /// The type name PHP's own TypeErrors use ("string", "int", a class name); Zend/zend_API.c.
    fn zend_zval_type_name(arg: *const Zval) -> *const c_char;
}

impl<'a> ArrayArg<'a> {
    /// The array, or PHP's own TypeError: "f(): Argument #1 ($message) must be of type array, string given".
    fn array(&self, function: &str, position: u32, name: &str) -> PhpResult<&'a ZendHashTable> {
        self.0.dereference().array().ok_or_else(|| {
            // SAFETY: the zval is a live argument of this call; PHP returns a static or interned string.
            let given = unsafe { std::ffi::CStr::from_ptr(zend_zval_type_name(self.0)) }.to_string_lossy();
            let message = format!("{function}(): Argument #{position} (${name}) must be of type array, {given} given");
            PhpException::new(message, 0, ce::type_error())
        })
    }

    /// For `?array $x = null`: an explicit null is no array, as when left out.
    fn optional_array(arg: Option<Self>, function: &str, position: u32, name: &str) -> PhpResult<Option<&'a ZendHashTable>> {
        match arg {
            Some(arg) if !arg.0.dereference().is_null() => arg.array(function, position, name).map(Some),
            _ => Ok(None),
        }
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

/// The keys of the arrays made in one call, each one PHP string that every array holding that key shares (PHP
/// counts its references), rather than a string of its own in each: a batch's thousands of results have the same
/// dozen keys.
#[derive(Default)]
struct Keys(std::collections::HashMap<String, ZBox<ZendStr>>);

impl Keys {
    fn get(&mut self, key: &str) -> &ZendStr {
        if !self.0.contains_key(key) {
            self.0.insert(key.to_string(), ZendStr::new(key, false));
        }
        &self.0[key]
    }
}

fn to_zval(json: &Json, keys: &mut Keys) -> PhpResult<Zval> {
    let mut zval = Zval::new();
    match json {
        Json::Null => zval.set_null(),
        Json::Bool(b) => zval.set_bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => zval.set_long(i),
            None => zval.set_double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => zval.set_string(s, false)?,
        Json::Array(_) | Json::Object(_) => zval.set_hashtable(to_array(json, keys)?),
    }
    Ok(zval)
}

/// A JSON list or object as a PHP array; any other value as an empty one
/// (results are objects, so this never happens).
fn to_array(json: &Json, keys: &mut Keys) -> PhpResult<ZBox<ZendHashTable>> {
    let mut array = ZendHashTable::new();
    match json {
        Json::Array(items) => {
            for item in items {
                array.push(to_zval(item, keys)?)?;
            }
        }
        Json::Object(map) => {
            for (key, item) in map {
                let value = to_zval(item, keys)?;
                array.insert(keys.get(key), value)?;
            }
        }
        _ => {}
    }
    Ok(array)
}

/// Sends one message over SMTP. See php/rust_mail.stub.php.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_send(message: ArrayArg, transport: ArrayArg, options: Option<ArrayArg>) -> PhpResult<ZBox<ZendHashTable>> {
    let (message, transport) = (message.array("rust_mail_send", 1, "message")?, transport.array("rust_mail_send", 2, "transport")?);
    let options = ArrayArg::optional_array(options, "rust_mail_send", 3, "options")?;
    let transport = entries(transport)?;
    let limits = without_secrets(&transport, options.map(entries).transpose().and_then(|o| Limits::from_value(&o.unwrap_or_default())))?;
    // Taken over: a raw message's bytes are held once, as the message sent.
    let outgoing = without_secrets(&transport, entries(message).and_then(|m| message::from_entries(m, &limits)))?;
    let transport = Transport::from_value(&transport)?;
    let outgoing = message::signed_by_transport(outgoing, transport.dkim.as_ref())?;
    let result = send::send(&outgoing, &transport).map_err(UsageError::new)?;
    to_array(&result, &mut Keys::default())
}

/// Composes a message without sending it, with `rust_mail_send()`'s `$options`. See php/rust_mail.stub.php.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_compose(message: ArrayArg, options: Option<ArrayArg>) -> PhpResult<ZBox<ZendHashTable>> {
    let message = message.array("rust_mail_compose", 1, "message")?;
    let options = ArrayArg::optional_array(options, "rust_mail_compose", 2, "options")?;
    let limits = Limits::from_value(&options.map(entries).transpose()?.unwrap_or_default())?;
    let (raw, rest) = message::composed(&message::from_value(&entries(message)?, &limits)?);
    let mut array = ZendHashTable::new();
    let mut raw_zval = Zval::new();
    raw_zval.set_binary(raw); // bytes, as the message is: a raw message's need not be UTF-8
    array.insert("raw", raw_zval)?;
    for (key, value) in rest.as_object().into_iter().flatten() {
        array.insert(key.as_str(), to_zval(value, &mut Keys::default())?)?;
    }
    Ok(array)
}

/// Sends a list of messages over parallel connections of one transport.
/// See php/rust_mail.stub.php. A message that cannot be read gets its
/// error in its result; only a bad transport or bad options throw.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_send_many(messages: ArrayArg, transport: ArrayArg, options: Option<ArrayArg>) -> PhpResult<ZBox<ZendHashTable>> {
    let messages = messages.array("rust_mail_send_many", 1, "messages")?;
    let transport = entries(transport.array("rust_mail_send_many", 2, "transport")?)?;
    let options = ArrayArg::optional_array(options, "rust_mail_send_many", 3, "options")?;
    let options = without_secrets(&transport, options.map(entries).transpose().and_then(|o| BatchOptions::from_value(&o.unwrap_or_default())))?;
    let transport = Transport::from_value(&transport)?;
    options.check_count(messages.len())?;
    let listed: Vec<(ArrayKey, &Zval)> = messages.iter().collect();
    let secrets = transport.secrets();
    // Each message is read (and composed) only when a connection takes it, and dropped once sent.
    let mut message = |n: usize| {
        let parsed = match listed[n].1.dereference().array() {
            Some(array) => {
                entries(array).and_then(|e| message::from_entries(e, &options.limits)).and_then(|m| message::signed_by_transport(m, transport.dkim.as_ref()))
            }
            None => Err(UsageError::new(format!("each message must be an array, got {:?}", listed[n].1.get_type()))),
        };
        parsed.map_err(|e| e.scrubbed(&secrets))
    };
    // The results under the keys of $messages, in their order: each made a PHP array as soon as it is known.
    let mut array = ZendHashTable::with_capacity(listed.len().try_into().unwrap_or(u32::MAX));
    for (key, _) in &listed {
        insert_result(&mut array, key, Zval::new())?;
    }
    let (mut failed, mut keys) = (None, Keys::default());
    let mut result = |n: usize, result: Json| {
        if let Err(e) = to_zval(&result, &mut keys).and_then(|value| insert_result(&mut array, &listed[n].0, value)) {
            failed.get_or_insert(e);
        }
    };
    let mut batch = batch::Batch { count: listed.len(), message: &mut message, result: &mut result };
    batch::send_many(&mut batch, &transport, &options).map_err(UsageError::new)?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(array)
}

/// Puts a result under its message's key (where a null holds its place, so that the order is `$messages`'s).
fn insert_result(array: &mut ZendHashTable, key: &ArrayKey, value: Zval) -> PhpResult<()> {
    match key {
        ArrayKey::Long(i) => array.insert_at_index(*i, value)?,
        key => array.insert(key.clone(), value)?,
    }
    Ok(())
}

/// Walks a connection step by step and says what is wrong and what to do.
/// See php/rust_mail.stub.php.
#[php_function]
#[php(optional = options)]
pub fn rust_mail_diagnose(transport: ArrayArg, options: Option<ArrayArg>) -> PhpResult<ZBox<ZendHashTable>> {
    let transport = entries(transport.array("rust_mail_diagnose", 1, "transport")?)?;
    let options = ArrayArg::optional_array(options, "rust_mail_diagnose", 2, "options")?;
    let options = without_secrets(&transport, options.map(entries).transpose())?.unwrap_or_default();
    to_array(&without_secrets(&transport, diagnose::diagnose(&transport, &options))?, &mut Keys::default())
}

/// Explains a failed send after the fact. See php/rust_mail.stub.php.
#[php_function]
pub fn rust_mail_explain(failure: ArrayArg, transport: ArrayArg) -> PhpResult<ZBox<ZendHashTable>> {
    let failure = entries(failure.array("rust_mail_explain", 1, "failure")?)?;
    let transport = entries(transport.array("rust_mail_explain", 2, "transport")?)?;
    to_array(&without_secrets(&transport, diagnose::explain(&failure, &transport))?, &mut Keys::default())
}

/// Closes this process's idle pooled connections (each says QUIT); returns how many.
/// See php/rust_mail.stub.php.
#[php_function]
pub fn rust_mail_pool_close() -> PhpResult<i64> {
    Ok(pool::close_idle().map_err(UsageError::new)? as i64)
}

/// A refusal never quotes the transport's password back, in any of its
/// forms, whichever argument it is about: exceptions end up in logs.
fn without_secrets<T>(transport: &[(Key, Value)], parsed: Result<T, UsageError>) -> Result<T, UsageError> {
    parsed.map_err(|e| e.scrubbed(&secrets_in(transport)))
}

extern "C" {
    /// The table of this module's ini settings, as phpinfo() shows them; main/php_ini.c.
    fn display_ini_entries(module: *mut ModuleEntry);
}

pub extern "C" fn php_module_info(module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("rust_mail support", "enabled");
    info_table_row!("version", VERSION);
    info_table_row!("TLS backend", "rustls 0.23 (ring), no OpenSSL");
    info_table_row!("idle pooled connections (this process)", pool::idle_connections().to_string());
    info_table_end!();
    // SAFETY: PHP passes this module's own entry.
    unsafe { display_ini_entries(module) };
}

/// `rust_mail.pool_idle_timeout`: PHP calls this at start-up (with php.ini's
/// value or the default), on ini_set() and when a request restores it. A
/// value that is not 1 to 3600 whole seconds is refused: ini_set() returns
/// false, and at start-up PHP keeps the default.
unsafe extern "C" fn on_pool_idle_timeout(
    _entry: *mut ext_php_rs::ffi::zend_ini_entry,
    new_value: *mut ext_php_rs::ffi::zend_string,
    _: *mut c_void,
    _: *mut c_void,
    _: *mut c_void,
    _stage: c_int,
) -> c_int {
    // SAFETY: PHP passes a live zend_string for the new value.
    let value = unsafe { new_value.cast::<ZendStr>().as_ref() }.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match value.as_deref().and_then(pool::parse_idle_timeout) {
        Some(secs) => {
            pool::set_idle_timeout(secs);
            0 // SUCCESS
        }
        None => -1, // FAILURE
    }
}

static INI: IniEntryDefs<2> = IniEntryDefs::new([
    {
        let mut entry = IniEntryDef::new(c"rust_mail.pool_idle_timeout", c"120", IniEntryPermission::All);
        entry.on_modify = Some(on_pool_idle_timeout);
        entry
    },
    IniEntryDef::end(),
]);

/// MINIT: the ini settings and the exception class, and large buffers given back to the system once freed.
pub fn startup(_ty: i32, module_number: i32) -> i32 {
    // A message's bytes (megabytes for a large mail) are allocated with malloc. glibc serves a block that large with
    // its own mapping, but after the first one is freed it raises that threshold to the block's size (a "dynamic"
    // threshold), so that the next large message comes from the heap, which it keeps: a PHP-FPM worker or a drain
    // then stays 20 MB larger after two 10 MB mails. A fixed threshold keeps every block of 1 MiB or more in its own
    // mapping, unmapped when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    IniEntryDef::register(INI.as_slice(), module_number);
    let registered = ClassBuilder::new(EXCEPTION_CLASS).extends((ce::exception, "Exception")).registration(|_, _| {}).register();
    if registered.is_ok() {
        0
    } else {
        -1
    }
}

/// MSHUTDOWN: pooled connections say QUIT before the process ends.
pub extern "C" fn shutdown(_ty: i32, _module_number: i32) -> i32 {
    pool::close_at_exit();
    0
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
#[php(startup = startup)]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    crate::files::enforce_open_basedir(open_basedir_allows);
    module
        .function(wrap_function!(rust_mail_send))
        .function(wrap_function!(rust_mail_compose))
        .function(wrap_function!(rust_mail_send_many))
        .function(wrap_function!(rust_mail_diagnose))
        .function(wrap_function!(rust_mail_explain))
        .function(wrap_function!(rust_mail_pool_close))
        .info_function(php_module_info)
        .shutdown_function(shutdown)
}
