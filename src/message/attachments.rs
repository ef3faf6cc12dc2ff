//! A composed message's attachments: files read by path within the
//! message's limits, or content given in memory.

use super::address::check_header_safe;
use super::Limits;
use crate::error::UsageError;
use crate::value::{Fields, Key, Value};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, SinglePart};

/// A composed message's attachments: `attached` ones go around the body
/// (multipart/mixed), `inline` ones beside the html that shows them by
/// Content-ID (multipart/related).
pub(super) struct Attachments {
    pub attached: Vec<SinglePart>,
    pub inline: Vec<SinglePart>,
}

/// `attachments`: a list of paths, a name => path map (as WordPress passes
/// them), or entries with `path` or in-memory `content`, plus `name` and
/// `type`, and `cid` (with `inline`, which a `cid` implies) for a part the
/// html shows as `<img src="cid:...">`. The files given by path may add up to `limits.attachment_bytes`: each
/// file's size is checked before it is read.
pub(super) fn attachments(fields: &Fields, limits: &Limits) -> Result<Attachments, UsageError> {
    let mut found = Attachments { attached: Vec::new(), inline: Vec::new() };
    let Some(entries) = fields.array("attachments")? else { return Ok(found) };
    let mut cids: Vec<String> = Vec::new();
    let mut read: u64 = 0;
    for (i, (key, value)) in entries.iter().enumerate() {
        let entry_name = match key {
            Key::Name(n) => format!("message['attachments']['{n}']"),
            Key::Index(_) => format!("message['attachments'][{i}]"),
        };
        let field = format!("${entry_name}");
        let (path, content, name, mime, cid) = match value {
            Value::Bytes(b) => (Some(String::from_utf8_lossy(b).into_owned()), None, None, None, None),
            Value::Array(entry) => {
                let f = Fields::new(entry_name.as_str(), entry, &["path", "content", "name", "type", "inline", "cid"])?;
                let cid = match (f.bool("inline")?, f.string("cid")?) {
                    (Some(true) | None, Some(cid)) => Some(content_id(&f.path("cid"), cid)?),
                    (Some(false), Some(_)) => return Err(UsageError::new(format!("{field}: a 'cid' is for an inline part, but 'inline' is false"))),
                    (Some(true), None) => {
                        return Err(UsageError::new(format!(
                            "{field}: an inline part needs a 'cid', the name the html refers to it by (<img src=\"cid:logo\">)"
                        )))
                    }
                    (Some(false) | None, None) => None,
                };
                (f.string("path")?, f.bytes("content")?.map(<[u8]>::to_vec), f.string("name")?, f.string("type")?, cid)
            }
            v => return Err(UsageError::new(format!("{field} must be a path or an array, got {}", v.type_name()))),
        };
        let content = match (content, &path) {
            (Some(c), None) => c,
            (None, Some(p)) => {
                let path = std::path::Path::new(p);
                let size = crate::files::check(path, None).map_err(|e| UsageError::new(format!("{field} {e}")))?.len();
                let room = limits.attachment_bytes - read;
                if size > room {
                    return Err(limits.attachment_refusal(&field, p, size, read));
                }
                // Bounded by the room left, should the file grow after its size was checked.
                let content = crate::files::read(path, Some(room)).map_err(|e| UsageError::new(format!("{field} {e}")))?;
                read += content.len() as u64;
                content
            }
            _ => return Err(UsageError::new(format!("{field} needs exactly one of 'path' or 'content'"))),
        };
        let name = match (name, key, &path) {
            (Some(n), _, _) => Some(n),
            (None, Key::Name(n), _) => Some(n.clone()),
            (None, _, Some(p)) => Some(std::path::Path::new(p).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()),
            (None, _, None) if cid.is_some() => None,
            (None, _, None) => return Err(UsageError::new(format!("{field} with 'content' needs a 'name'"))),
        };
        if let Some(name) = &name {
            check_header_safe(&field, name)?;
        }
        // An inline part without a name (in-memory content) is typed by its type alone.
        let mime = mime.unwrap_or_else(|| guess_mime(name.as_deref().unwrap_or_default()).to_string());
        check_header_safe(&format!("{field}['type']"), &mime)?;
        let content_type = ContentType::parse(&mime).map_err(|_| UsageError::new(format!("{field}: '{mime}' is not a valid MIME type")))?;
        match cid {
            None => found.attached.push(Attachment::new(name.unwrap_or_default()).body(body_of(content), content_type)),
            Some(cid) => {
                if cids.contains(&cid) {
                    return Err(UsageError::new(format!("{field}: the cid '{cid}' is given to another inline part already")));
                }
                cids.push(cid.clone());
                let attachment = match name {
                    Some(name) => Attachment::new_inline_with_name(cid, name),
                    None => Attachment::new_inline(cid),
                };
                found.inline.push(attachment.body(body_of(content), content_type));
            }
        }
    }
    Ok(found)
}

/// A `cid` as the html refers to it (`cid:logo`) and the Content-ID header
/// carries it (`<logo>`, RFC 2392): printable ASCII with no space, no angle
/// bracket, no quote, no parenthesis.
/// An attachment's bytes as lettre encodes them, but base64 when they hold a
/// NUL: lettre takes short ASCII lines for 7bit, where RFC 2045 section 2.7
/// forbids a NUL, and would send it raw.
fn body_of(content: Vec<u8>) -> Body {
    if content.contains(&0) {
        Body::new_with_encoding(content, ContentTransferEncoding::Base64).expect("base64 encodes any bytes")
    } else {
        Body::new(content)
    }
}

fn content_id(field: &str, cid: String) -> Result<String, UsageError> {
    let allowed = |c: char| c.is_ascii_graphic() && !"<>\"()[],;:\\".contains(c);
    if cid.is_empty() || !cid.chars().all(allowed) {
        return Err(UsageError::new(format!(
            "{field} '{}' is not a usable Content-ID: use letters, digits and . - _ @ (e.g. 'logo' or 'logo@example.com'), and refer to it as cid:logo",
            cid.escape_debug()
        )));
    }
    Ok(cid)
}

/// The common types by file extension; anything else is sent as bytes.
fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "ics" => "text/calendar",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}
