//! Files the caller names (attachments, `ca_file`): every one is opened
//! here, so that PHP's `open_basedir` and the limits on what may be read
//! apply to all of them.

use once_cell::sync::{Lazy, OnceCell};
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// How PHP decides whether the script may open a path (its `open_basedir`).
/// Set by the PHP binding when the extension loads; without PHP (unit
/// tests) every path is allowed.
static OPEN_BASEDIR_ALLOWS: OnceCell<fn(&Path) -> bool> = OnceCell::new();

pub fn enforce_open_basedir(allows: fn(&Path) -> bool) {
    let _ = OPEN_BASEDIR_ALLOWS.set(allows);
}

/// Checks that `path` may be opened and is a regular file of at most `max`
/// bytes. Errors start with the quoted path, so that a caller can put the
/// field in front: "$transport['ca_file'] '/dev/zero' is not a regular file".
pub fn check(path: &Path, max: Option<u64>) -> Result<Metadata, String> {
    let shown = path.display();
    if OPEN_BASEDIR_ALLOWS.get().is_some_and(|allows| !allows(path)) {
        return Err(format!("'{shown}' is outside open_basedir: PHP's open_basedir setting does not allow it"));
    }
    let metadata = std::fs::metadata(path).map_err(|e| format!("'{shown}' cannot be read: {e}"))?;
    check_metadata(&metadata, max).map_err(|problem| format!("'{shown}' {problem}"))?;
    Ok(metadata)
}

/// A device or a pipe (`/dev/zero`, `/dev/stdin`) would be read without
/// end or block forever; a directory cannot be read at all.
fn check_metadata(metadata: &Metadata, max: Option<u64>) -> Result<(), String> {
    if !metadata.is_file() {
        return Err("is not a regular file".to_string());
    }
    match max {
        Some(max) if metadata.len() > max => Err(format!("is {} bytes, more than the {} allowed", metadata.len(), max)),
        _ => Ok(()),
    }
}

/// Reads a file that passed [`check`]. The read stops after `max` bytes
/// whatever the file's size says, since a file can grow after it was checked.
pub fn read(path: &Path, max: Option<u64>) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let metadata = check(path, max)?;
    let file = std::fs::File::open(path).map_err(|e| format!("'{shown}' cannot be read: {e}"))?;
    let limit = max.unwrap_or(u64::MAX);
    let mut content = Vec::with_capacity(metadata.len().min(limit) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut content).map_err(|e| format!("'{shown}' cannot be read: {e}"))?;
    if content.len() as u64 > limit {
        return Err(format!("'{shown}' grew to more than the {limit} bytes allowed while it was read"));
    }
    Ok(content)
}

/// Largest `ca_file` read: a bundle of every public CA is about 200 KiB.
pub const MAX_CA_FILE: u64 = 1024 * 1024;

/// Which version of a file was read: a file changed in place gets a new
/// modification time or size, and is read again.
type FileVersion = (PathBuf, Option<SystemTime>, u64);

/// Certificates of each `ca_file` read in this process, so that a TLS
/// connection does not read and parse the file again.
static CA_FILES: Lazy<Mutex<HashMap<FileVersion, Arc<Vec<CertificateDer<'static>>>>>> = Lazy::new(Default::default);

/// Enough distinct files for any real configuration; beyond it the cache
/// starts afresh rather than grow.
const MAX_CACHED_CA_FILES: usize = 32;

/// The certificates in a PEM `ca_file`. The file is checked on every call
/// (open_basedir, a regular file, at most [`MAX_CA_FILE`] bytes) and read
/// only when it is new or has changed. Errors start with the quoted path.
pub fn ca_certificates(path: &Path) -> Result<Arc<Vec<CertificateDer<'static>>>, String> {
    let metadata = check(path, Some(MAX_CA_FILE))?;
    let version = (path.to_path_buf(), metadata.modified().ok(), metadata.len());
    let mut cache = CA_FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(certs) = cache.get(&version) {
        return Ok(certs.clone());
    }
    let certs = Arc::new(pem_certificates(&read(path, Some(MAX_CA_FILE))?));
    if certs.is_empty() {
        return Err(format!("'{}' holds no PEM certificate", path.display()));
    }
    if cache.len() >= MAX_CACHED_CA_FILES {
        cache.clear();
    }
    cache.insert(version, certs.clone());
    Ok(certs)
}

/// The certificates of the PEM blocks in `pem`; anything else is skipped.
pub fn pem_certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut &pem[..]).filter_map(Result::ok).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, content: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("rust-mail-files-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn devices_and_directories_are_not_regular_files() {
        assert_eq!(check(Path::new("/dev/zero"), Some(10)).unwrap_err(), "'/dev/zero' is not a regular file");
        assert_eq!(check(Path::new("/"), None).unwrap_err(), "'/' is not a regular file");
        assert!(read(Path::new("/dev/zero"), None).is_err());
    }

    #[test]
    fn size_is_bounded() {
        let path = temp_file("eleven", b"eleven byte");
        assert_eq!(read(&path, Some(11)).unwrap(), b"eleven byte");
        let error = read(&path, Some(10)).unwrap_err();
        assert!(error.ends_with("is 11 bytes, more than the 10 allowed"), "{error}");
        assert_eq!(read(&path, None).unwrap().len(), 11);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = read(Path::new("/nonexistent/x.pem"), None).unwrap_err();
        assert!(error.starts_with("'/nonexistent/x.pem' cannot be read: "), "{error}");
    }

    const CA_PEM: &[u8] = include_bytes!("smtp/testdata/ca.pem");

    #[test]
    fn ca_file_must_be_a_small_regular_file_of_certificates() {
        assert_eq!(ca_certificates(Path::new("/dev/zero")).unwrap_err(), "'/dev/zero' is not a regular file");
        let big = temp_file("big.pem", &vec![b'x'; MAX_CA_FILE as usize + 1]);
        assert!(ca_certificates(&big).unwrap_err().contains("more than the 1048576 allowed"));
        let empty = temp_file("empty.pem", b"no certificate here");
        assert!(ca_certificates(&empty).unwrap_err().ends_with("holds no PEM certificate"));
        for path in [big, empty] {
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn ca_file_is_read_once_until_it_changes() {
        let path = temp_file("ca.pem", CA_PEM);
        let first = ca_certificates(&path).unwrap();
        assert_eq!(first.len(), 1);
        assert!(Arc::ptr_eq(&first, &ca_certificates(&path).unwrap()), "the second call must come from the cache");
        // Two certificates now: a different size, so a different version of the file.
        std::fs::write(&path, [CA_PEM, CA_PEM].concat()).unwrap();
        assert_eq!(ca_certificates(&path).unwrap().len(), 2);
        std::fs::remove_file(path).unwrap();
    }
}
