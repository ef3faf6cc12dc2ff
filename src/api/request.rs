//! Each API's request for one message, as data: method, URL, headers and body. Pure (the time SES signs with is
//! an argument); [`super::client`] sends it.

use super::{ApiTarget, Provider};
use crate::message::Outgoing;
use base64::Engine;
use std::time::SystemTime;

#[derive(Debug)]
pub struct Request {
    pub url: String,
    /// The URL's path and query, for the transcript.
    pub path: String,
    /// Every header but those the HTTP client sets itself (Host, Content-Length, a form's Content-Type).
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Mailgun's `multipart/form-data`: the field `to` and the file part `message`.
    Form {
        to: String,
        message: Vec<u8>,
    },
}

impl Body {
    /// The bytes that count against the provider's limit: the body, or the message part of a form.
    pub fn size(&self) -> usize {
        match self {
            Body::Bytes(bytes) => bytes.len(),
            Body::Form { message, .. } => message.len(),
        }
    }
}

/// Why a message cannot go to the API at all; nothing was sent.
#[derive(Debug, PartialEq)]
pub enum Unsendable {
    /// Larger than the provider takes ([`Provider::size_limit`]).
    TooLarge { size: usize, limit: usize },
    /// Mailgun without `username` and a message with the null sender: no domain to send for.
    NoDomain,
    /// SES could not sign (a header value it cannot encode).
    Signing(String),
}

/// The login of the transport: `username` and the secret in `password`.
pub struct Login<'a> {
    pub username: Option<&'a str>,
    pub secret: &'a str,
}

/// The request that sends `message` through `target`. `now` is the time SES's signature is made for.
pub fn build(target: &ApiTarget, login: &Login, message: &Outgoing, now: SystemTime) -> Result<Request, Unsendable> {
    let mime = mime_for(target.provider, message);
    let base64 = || base64::engine::general_purpose::STANDARD.encode(&mime);
    let bearer = || ("Authorization".to_string(), format!("Bearer {}", login.secret));
    let (path, headers, body) = match target.provider {
        Provider::Graph => {
            let path = format!("/v1.0/users/{}/sendMail", encode_segment(login.username.unwrap_or_default()));
            (path, vec![bearer(), content_type("text/plain")], Body::Bytes(base64().into_bytes()))
        }
        Provider::Gmail => {
            let path = format!("/upload/gmail/v1/users/{}/messages/send?uploadType=media", encode_segment(login.username.unwrap_or("me")));
            (path, vec![bearer(), content_type("message/rfc822")], Body::Bytes(mime))
        }
        Provider::Ses => {
            let json = serde_json::json!({
                "FromEmailAddress": message.envelope_from.as_ref().map(ToString::to_string).unwrap_or_default(),
                "Destination": { "ToAddresses": recipients(message) },
                "Content": { "Raw": { "Data": base64() } },
            });
            let body = serde_json::to_vec(&json).expect("JSON values serialize");
            ("/v2/email/outbound-emails".to_string(), vec![content_type("application/json")], Body::Bytes(body))
        }
        Provider::Mailgun => {
            let domain = match login.username {
                Some(domain) => domain.to_string(),
                None => message.envelope_from.as_ref().map(|from| from.domain().to_string()).ok_or(Unsendable::NoDomain)?,
            };
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{}", login.secret));
            let path = format!("/v3/{}/messages.mime", encode_segment(&domain));
            (path, vec![("Authorization".to_string(), format!("Basic {basic}"))], Body::Form { to: recipients(message).join(","), message: mime })
        }
    };
    let limit = target.provider.size_limit();
    if body.size() > limit {
        return Err(Unsendable::TooLarge { size: body.size(), limit });
    }
    let url = format!("{}{path}", target.base);
    let mut request = Request { url, path: path_of(&target.base, &path), headers, body };
    if target.provider == Provider::Ses {
        sign_ses(&mut request, target.region.as_deref().unwrap_or_default(), login, now)?;
    }
    Ok(request)
}

fn content_type(value: &str) -> (String, String) {
    ("Content-Type".to_string(), value.to_string())
}

fn recipients(message: &Outgoing) -> Vec<String> {
    message.recipients.iter().map(ToString::to_string).collect()
}

/// The request's path as the server sees it: the base URL's path prefix, then the API's path.
fn path_of(base: &str, path: &str) -> String {
    let after_scheme = base.trim_start_matches("https://");
    let prefix = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    format!("{prefix}{path}")
}

/// The message as the receiver of the SMTP path sees it (every line ended by CRLF, no dot-stuffing); for Graph
/// and Gmail, which take the recipients from the headers, with the Bcc header added after the last of
/// From/To/Cc.
pub fn mime_for(provider: Provider, message: &Outgoing) -> Vec<u8> {
    let mime = crate::smtp::data::chunk(&message.data).into_owned();
    match (&message.bcc_header, provider) {
        (Some(bcc), Provider::Graph | Provider::Gmail) => with_header(mime, bcc, &["from", "to", "cc"]),
        _ => mime,
    }
}

/// `mime` with the header line `line` (CRLF-ended) inserted after the last header named one of `after`
/// (after its folded continuation lines), else at the top.
fn with_header(mut mime: Vec<u8>, line: &str, after: &[&str]) -> Vec<u8> {
    let head_end = mime.windows(4).position(|w| w == b"\r\n\r\n").map_or(mime.len(), |i| i + 2);
    let mut at = 0;
    let mut insert = 0;
    let mut in_named = false;
    while at < head_end {
        let end = mime[at..head_end].windows(2).position(|w| w == b"\r\n").map_or(head_end, |i| at + i + 2);
        let header_line = &mime[at..end];
        let continuation = matches!(header_line.first(), Some(b' ' | b'\t'));
        if !continuation {
            let name = header_line.split(|b| *b == b':').next().unwrap_or_default();
            in_named = after.iter().any(|n| name.eq_ignore_ascii_case(n.as_bytes()));
        }
        if in_named {
            insert = end;
        }
        at = end;
    }
    mime.splice(insert..insert, line.bytes());
    mime
}

/// A path segment with everything but RFC 3986's unreserved characters percent-encoded.
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Adds SES's AWS Signature Version 4 headers (`X-Amz-Date`, `Authorization`), made by the `aws-sigv4` crate.
fn sign_ses(request: &mut Request, region: &str, login: &Login, now: SystemTime) -> Result<(), Unsendable> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let signing = |e: &dyn std::fmt::Display| Unsendable::Signing(e.to_string());
    let identity = aws_credential_types::Credentials::new(login.username.unwrap_or_default(), login.secret, None, None, "rust_mail").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ses")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing(&e))?
        .into();
    let Body::Bytes(body) = &request.body else { unreachable!("SES sends JSON") };
    let headers = request.headers.iter().map(|(name, value)| (name.as_str(), value.as_str()));
    let signable = SignableRequest::new("POST", &request.url, headers, SignableBody::Bytes(body)).map_err(|e| signing(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| signing(&e))?.into_parts();
    let added: Vec<(String, String)> = instructions.headers().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    request.headers.extend(added);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn message(bcc: Option<&str>) -> Outgoing {
        Outgoing {
            envelope_from: Some("me@example.com".parse().unwrap()),
            recipients: vec!["you@example.org".parse().unwrap(), "hidden@example.net".parse().unwrap()],
            data: b"From: me@example.com\r\nTo: you@example.org,\r\n other@example.org\r\nSubject: Hi\r\n\r\nHello\r\n".to_vec(),
            message_id: None,
            bcc_header: bcc.map(str::to_string),
            dsn: None,
        }
    }

    fn target(provider: Provider, base: &str, region: Option<&str>) -> ApiTarget {
        ApiTarget::new(provider, base, region.map(str::to_string)).unwrap()
    }

    fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    const LOGIN: Login = Login { username: Some("me@example.com"), secret: "tok-123" };

    #[test]
    fn graph_posts_the_base64_message_with_the_bcc_header_after_to() {
        let r =
            build(&target(Provider::Graph, "https://127.0.0.1:8443/graph", None), &LOGIN, &message(Some("Bcc: hidden@example.net\r\n")), UNIX_EPOCH).unwrap();
        assert_eq!(r.url, "https://127.0.0.1:8443/graph/v1.0/users/me%40example.com/sendMail");
        assert_eq!(r.path, "/graph/v1.0/users/me%40example.com/sendMail");
        assert_eq!(header(&r, "authorization"), Some("Bearer tok-123"));
        assert_eq!(header(&r, "content-type"), Some("text/plain"));
        let Body::Bytes(body) = &r.body else { panic!() };
        let mime = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        assert_eq!(
            String::from_utf8(mime).unwrap(),
            "From: me@example.com\r\nTo: you@example.org,\r\n other@example.org\r\nBcc: hidden@example.net\r\nSubject: Hi\r\n\r\nHello\r\n"
        );
    }

    #[test]
    fn gmail_sends_the_raw_message_and_ses_and_mailgun_the_smtp_bytes() {
        let m = message(Some("Bcc: hidden@example.net\r\n"));
        let r = build(&target(Provider::Gmail, "https://gmail.googleapis.com", None), &Login { username: None, ..LOGIN }, &m, UNIX_EPOCH).unwrap();
        assert_eq!(r.url, "https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send?uploadType=media");
        let Body::Bytes(body) = &r.body else { panic!() };
        assert!(String::from_utf8_lossy(body).contains("\r\nBcc: hidden@example.net\r\nSubject"));

        let r = build(&target(Provider::Mailgun, "https://api.eu.mailgun.net", Some("eu")), &Login { username: None, ..LOGIN }, &m, UNIX_EPOCH).unwrap();
        assert_eq!(r.url, "https://api.eu.mailgun.net/v3/example.com/messages.mime");
        assert_eq!(header(&r, "authorization"), Some("Basic YXBpOnRvay0xMjM="));
        let Body::Form { to, message: mime } = &r.body else { panic!() };
        assert_eq!(to, "you@example.org,hidden@example.net");
        assert_eq!(mime, &m.data, "no Bcc header: the envelope has the recipients");
    }

    #[test]
    fn a_message_over_the_limit_is_refused_before_sending() {
        let mut m = message(None);
        m.data = vec![b'a'; 3 * 1024 * 1024 + 2];
        let refused = build(&target(Provider::Graph, "https://graph.microsoft.com", None), &LOGIN, &m, UNIX_EPOCH).unwrap_err();
        assert!(matches!(refused, Unsendable::TooLarge { limit: 4_194_304, .. }), "{refused:?}");
    }

    /// The expected signature was computed apart from this crate (Python's hmac and hashlib, the SigV4 steps of
    /// AWS's documentation) for this request at 2026-12-07T12:00:00Z.
    #[test]
    fn ses_requests_are_signed_with_sigv4() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_644_800);
        let login = Login { username: Some("AKIDEXAMPLE"), secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
        let m = Outgoing { data: b"Subject: x\r\n\r\nhi\r\n".to_vec(), recipients: vec!["you@example.org".parse().unwrap()], ..message(None) };
        let r = build(&target(Provider::Ses, "https://email.eu-west-1.amazonaws.com", Some("eu-west-1")), &login, &m, now).unwrap();
        let Body::Bytes(body) = &r.body else { panic!() };
        assert_eq!(
            String::from_utf8_lossy(body),
            r#"{"FromEmailAddress":"me@example.com","Destination":{"ToAddresses":["you@example.org"]},"Content":{"Raw":{"Data":"U3ViamVjdDogeA0KDQpoaQ0K"}}}"#
        );
        assert_eq!(header(&r, "x-amz-date"), Some("20261207T120000Z"));
        assert_eq!(
            header(&r, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/eu-west-1/ses/aws4_request, SignedHeaders=content-type;host;x-amz-date, \
                 Signature=92452c35e9269af7fe222fce4a8a7dbc60c48a909224f7e01d5c99b06dc96fc5"
            )
        );
    }
}
