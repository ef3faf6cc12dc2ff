//! Each API's answer judged: accepted, or a [`Refusal`] with its kind, cause, provider code, message and
//! `Retry-After`. Pure, tested on the error bodies each provider documents.

use super::{Provider, Refusal};
use crate::judge::Cause;
use crate::smtp::error::ErrorKind;
use serde_json::{json, Value as Json};
use std::time::SystemTime;
use Cause::{
    ApiAccountPaused, ApiMailboxUnavailable, ApiPermissionMissing, ApiRequestRejected, ApiSandbox, ApiTokenRejected, ApiUnavailable, DailyLimitReached,
    MessageTooLarge, RecipientRejected as RecipientsRefused, SenderNotAllowed, Throttled,
};
use ErrorKind::{Auth, DataRejected, RecipientRejected, SenderRejected};
use Provider::{Gmail, Graph, Mailgun, Ses};

/// What the API answered, as far as judging it needs.
pub struct Answer<'a> {
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<&'a str>,
    /// SES's `x-amzn-ErrorType`, if sent.
    pub error_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The id the provider gave an accepted message (Gmail `id`, SES `MessageId`, Mailgun `id`), if any.
pub type Accepted = Option<String>;

/// Judges `answer`; `sender` is the envelope sender (an SES identity check names it when it is the sender that
/// is not verified), `now` the time a `Retry-After` date counts from.
pub fn judge(provider: Provider, answer: &Answer, sender: Option<&str>, now: SystemTime) -> Result<Accepted, Refusal> {
    let json: Option<Json> = serde_json::from_slice(answer.body).ok();
    // Graph answers 202 with no body; the others 200 with JSON naming the message.
    let accepted = match provider {
        Provider::Graph => answer.status == 202,
        _ => answer.status == 200 && json.is_some(),
    };
    if accepted {
        let id = json.as_ref().and_then(|j| ["id", "MessageId"].iter().find_map(|k| j[k].as_str())).map(str::to_string);
        return Ok(id);
    }
    let (code, message) = provider_error(provider, json.as_ref(), answer);
    let (kind, cause) = match json {
        // Not the API's answer (an HTML error page of a proxy, a wrong api_base): only the status can say.
        None if !(answer.status == 429 || answer.status >= 500 || answer.status == 401 || answer.status == 413) => (ErrorKind::Protocol, Cause::Unknown),
        _ => judged(provider, answer.status, code.as_deref(), &message, sender),
    };
    let retry_after = if matches!(answer.status, 429 | 503) { answer.retry_after.and_then(|value| retry_after_secs(value, now)) } else { None };
    let transient = is_transient(answer.status, cause);
    let message = if message.is_empty() && json.is_none() { one_line(&String::from_utf8_lossy(answer.body), 200) } else { message };
    Err(Refusal {
        status: answer.status,
        kind,
        cause,
        provider_code: code,
        message,
        retry_after,
        transient,
        recipients_refused: cause == Cause::RecipientRejected,
    })
}

/// A logged refusal (its status, the provider's code and the reply line) judged again as when it was answered,
/// for `rust_mail_explain()` of a row that kept no cause.
pub fn logged(provider: Provider, status: u16, code: Option<String>, reply: String, sender: Option<&str>) -> Refusal {
    let (kind, cause) = judged(provider, status, code.as_deref(), &reply, sender);
    Refusal {
        status,
        kind,
        cause,
        provider_code: code,
        message: reply,
        retry_after: None,
        transient: is_transient(status, cause),
        recipients_refused: cause == Cause::RecipientRejected,
    }
}

/// Throttling and the provider's own failures pass; the rest needs a change first.
pub fn is_transient(status: u16, cause: Cause) -> bool {
    status == 429 || status >= 500 || cause == Cause::Throttled
}

/// The provider's error code and message, from where each puts them.
fn provider_error(provider: Provider, json: Option<&Json>, answer: &Answer) -> (Option<String>, String) {
    let text = |v: &Json| v.as_str().map(|s| one_line(s, 500));
    let Some(json) = json else { return (None, String::new()) };
    let (code, message) = match provider {
        // {"error": {"code": "ErrorSendAsDenied", "message": "..."}}
        Provider::Graph => (text(&json["error"]["code"]), text(&json["error"]["message"])),
        // {"error": {"code": 403, "message": "...", "errors": [{"reason": "insufficientPermissions"}], "status": "PERMISSION_DENIED"}}
        Provider::Gmail => (text(&json["error"]["errors"][0]["reason"]).or_else(|| text(&json["error"]["status"])), text(&json["error"]["message"])),
        // x-amzn-ErrorType: MessageRejected[:http://internal.amazon.com/...], body {"message": "..."}
        Provider::Ses => (
            answer.error_type.map(|t| t.split(':').next().unwrap_or_default().trim().to_string()).filter(|t| !t.is_empty()).or_else(|| text(&json["__type"])),
            text(&json["message"]).or_else(|| text(&json["Message"])),
        ),
        // {"message": "..."}
        Provider::Mailgun => (None, text(&json["message"])),
    };
    (code, message.unwrap_or_default())
}

/// The HTTP statuses a row of [`ERRORS`] holds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Any,
    Is(u16),
    /// From the first to the second, both included.
    Range(u16, u16),
}

impl Status {
    fn holds(self, status: u16) -> bool {
        match self {
            Status::Any => true,
            Status::Is(s) => s == status,
            Status::Range(from, to) => (from..=to).contains(&status),
        }
    }

    /// The lowest status the row holds for (0: any), which says whether its answers are transient.
    fn lowest(self) -> u16 {
        match self {
            Status::Any => 0,
            Status::Is(s) | Status::Range(s, _) => s,
        }
    }

    fn to_json(self) -> Json {
        match self {
            Status::Any => Json::Null,
            Status::Is(s) => json!(s),
            Status::Range(from, to) => json!([from, to]),
        }
    }
}

/// One row of [`ERRORS`]: an answer of a provider (`None`: any) and what it means.
pub struct ErrorRule {
    pub provider: Option<Provider>,
    pub status: Status,
    /// The provider's error code (`None`: any, or none given).
    pub code: Option<&'static str>,
    /// Words the provider's message has, compared in lower case (`None`: any).
    pub message_contains: Option<&'static str>,
    pub kind: ErrorKind,
    pub cause: Cause,
}

impl ErrorRule {
    fn holds(&self, provider: Provider, status: u16, code: Option<&str>, lower_message: &str) -> bool {
        self.provider.is_none_or(|p| p == provider)
            && self.status.holds(status)
            && self.code.is_none_or(|c| code.is_some_and(|code| code.eq_ignore_ascii_case(c)))
            && self.message_contains.is_none_or(|words| lower_message.contains(words))
    }

    /// As `./build.sh rules` exports it for the plugin's PHPMailer engine, which judges with the same rows.
    pub fn to_json(&self) -> Json {
        json!({
            "api": self.provider.map(Provider::as_str),
            "status": self.status.to_json(),
            "code": self.code,
            "message_contains": self.message_contains,
            "kind": self.kind.as_str(),
            "cause": self.cause.as_str(),
            "transient": is_transient(self.status.lowest(), self.cause),
        })
    }
}

const fn row(
    provider: Option<Provider>,
    status: Status,
    code: Option<&'static str>,
    message_contains: Option<&'static str>,
    kind: ErrorKind,
    cause: Cause,
) -> ErrorRule {
    ErrorRule { provider, status, code, message_contains, kind, cause }
}

const fn code(provider: Provider, code: &'static str, kind: ErrorKind, cause: Cause) -> ErrorRule {
    row(Some(provider), Status::Any, Some(code), None, kind, cause)
}

const fn says(provider: Provider, words: &'static str, kind: ErrorKind, cause: Cause) -> ErrorRule {
    row(Some(provider), Status::Any, None, Some(words), kind, cause)
}

const fn status(status: Status, kind: ErrorKind, cause: Cause) -> ErrorRule {
    row(None, status, None, None, kind, cause)
}

/// What each provider's documented errors mean, first match wins: by error code (Graph's `error.code`, Gmail's
/// `errors[0].reason`, SES's `x-amzn-ErrorType`), by the provider's words where it has no code for the case,
/// then by HTTP status alone. `./build.sh rules` exports the table, so the plugin judges without a copy.
/// SES's `MessageRejected` "not verified" is refined by [`ses_unverified`]: the identities it lists tell an
/// unverified sender from a sandboxed recipient.
pub const ERRORS: &[ErrorRule] = &[
    code(Graph, "ErrorAccessDenied", SenderRejected, ApiPermissionMissing),
    code(Graph, "MailboxNotEnabledForRESTAPI", SenderRejected, ApiMailboxUnavailable),
    code(Graph, "ResourceNotFound", SenderRejected, ApiMailboxUnavailable),
    code(Graph, "ErrorMailboxNotFound", SenderRejected, ApiMailboxUnavailable),
    code(Graph, "ErrorSendAsDenied", SenderRejected, SenderNotAllowed),
    code(Graph, "ErrorInvalidRecipients", RecipientRejected, RecipientsRefused),
    code(Graph, "ErrorMessageSizeExceeded", DataRejected, MessageTooLarge),
    code(Graph, "ApplicationThrottled", DataRejected, Throttled),
    code(Graph, "ErrorTooManyObjectsOpened", DataRejected, Throttled),
    code(Gmail, "insufficientPermissions", SenderRejected, ApiPermissionMissing),
    code(Gmail, "forbidden", SenderRejected, ApiPermissionMissing),
    code(Gmail, "rateLimitExceeded", DataRejected, Throttled),
    code(Gmail, "userRateLimitExceeded", DataRejected, Throttled),
    code(Gmail, "dailyLimitExceeded", DataRejected, DailyLimitReached),
    code(Gmail, "failedPrecondition", SenderRejected, ApiMailboxUnavailable),
    // SES says a day's quota in words, under MessageRejected or TooManyRequestsException.
    says(Ses, "daily message quota", DataRejected, DailyLimitReached),
    row(Some(Ses), Status::Any, Some("MessageRejected"), Some("not verified"), SenderRejected, SenderNotAllowed),
    code(Ses, "MailFromDomainNotVerifiedException", SenderRejected, SenderNotAllowed),
    code(Ses, "AccountSendingPausedException", SenderRejected, ApiAccountPaused),
    code(Ses, "SendingPausedException", SenderRejected, ApiAccountPaused),
    code(Ses, "TooManyRequestsException", DataRejected, Throttled),
    code(Ses, "Throttling", DataRejected, Throttled),
    code(Ses, "ThrottlingException", DataRejected, Throttled),
    code(Ses, "LimitExceededException", DataRejected, Throttled),
    code(Ses, "AccessDenied", SenderRejected, ApiPermissionMissing),
    code(Ses, "AccessDeniedException", SenderRejected, ApiPermissionMissing),
    code(Ses, "SignatureDoesNotMatch", Auth, ApiTokenRejected),
    code(Ses, "InvalidSignatureException", Auth, ApiTokenRejected),
    code(Ses, "UnrecognizedClientException", Auth, ApiTokenRejected),
    code(Ses, "InvalidClientTokenId", Auth, ApiTokenRejected),
    says(Mailgun, "sandbox subdomains", SenderRejected, ApiSandbox),
    says(Mailgun, "authorized recipients", SenderRejected, ApiSandbox),
    status(Status::Is(401), Auth, ApiTokenRejected),
    status(Status::Is(403), SenderRejected, ApiPermissionMissing),
    status(Status::Is(413), DataRejected, MessageTooLarge),
    status(Status::Is(429), DataRejected, Throttled),
    status(Status::Range(500, 599), DataRejected, ApiUnavailable),
    status(Status::Range(400, 499), DataRejected, ApiRequestRejected),
];

/// The kind and cause of a refusal with the API's own error body, by [`ERRORS`].
fn judged(provider: Provider, status: u16, code: Option<&str>, message: &str, sender: Option<&str>) -> (ErrorKind, Cause) {
    let lower = message.to_ascii_lowercase();
    match ERRORS.iter().find(|rule| rule.holds(provider, status, code, &lower)) {
        Some(rule) if provider == Ses && rule.code == Some("MessageRejected") => ses_unverified(message, sender),
        Some(rule) => (rule.kind, rule.cause),
        // A redirect, or a success the API does not answer with (an HTML page of a portal).
        None => (ErrorKind::Protocol, Cause::Unknown),
    }
}

/// SES's "Email address is not verified. The following identities failed the check in region EU-WEST-1: a, b":
/// the sender's identity (or its domain) not verified, or, in the sandbox, a recipient's.
fn ses_unverified(message: &str, sender: Option<&str>) -> (ErrorKind, Cause) {
    let failed = message.rsplit_once(':').map_or("", |(_, list)| list).to_ascii_lowercase();
    let names_sender = sender.map(str::to_ascii_lowercase).is_some_and(|from| {
        let domain = from.rsplit_once('@').map_or("", |(_, d)| d).to_string();
        failed.split([',', ' ']).any(|identity| !identity.is_empty() && (identity == from || identity == domain))
    });
    if names_sender || failed.trim().is_empty() {
        (ErrorKind::SenderRejected, Cause::SenderNotAllowed)
    } else {
        (ErrorKind::SenderRejected, Cause::ApiSandbox)
    }
}

/// `Retry-After` (RFC 9110 section 10.2.3): seconds, or an HTTP date counted from `now` (none in the past).
pub fn retry_after_secs(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).map_or(0, |wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
}

/// `text` on one line, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn refusal(provider: Provider, status: u16, error_type: Option<&str>, body: &str) -> Refusal {
        let answer = Answer { status, retry_after: Some("30"), error_type, body: body.as_bytes() };
        judge(provider, &answer, Some("me@example.com"), UNIX_EPOCH).expect_err("refused")
    }

    fn graph(code: &str) -> String {
        format!(r#"{{"error":{{"code":"{code}","message":"It says why.","innerError":{{"request-id":"r1"}}}}}}"#)
    }

    fn gmail(status: u16, reason: &str) -> String {
        format!(
            r#"{{"error":{{"code":{status},"message":"Says why.","errors":[{{"message":"Says why.","domain":"global","reason":"{reason}"}}],"status":"X"}}}}"#
        )
    }

    #[test]
    fn the_exported_table_is_the_one_judged_by() {
        // A code is matched whatever its case, and a row with a code does not hold for an answer without one.
        let rule = ERRORS.iter().find(|r| r.code == Some("ErrorSendAsDenied")).unwrap();
        assert!(rule.holds(Provider::Graph, 403, Some("errorsendasdenied"), ""));
        assert!(!rule.holds(Provider::Graph, 403, None, "") && !rule.holds(Provider::Gmail, 403, Some("ErrorSendAsDenied"), ""));
        assert_eq!(
            rule.to_json(),
            json!({"api": "graph", "status": null, "code": "ErrorSendAsDenied", "message_contains": null, "kind": "sender_rejected", "cause": "sender_not_allowed", "transient": false})
        );
        let unavailable = ERRORS.iter().find(|r| r.status == Status::Range(500, 599)).unwrap().to_json();
        assert_eq!((&unavailable["cause"], &unavailable["transient"]), (&json!("api_unavailable"), &json!(true)));
        let last = ERRORS.last().unwrap().to_json();
        assert_eq!((&last["status"], &last["api"], &last["cause"]), (&json!([400, 499]), &Json::Null, &json!("api_request_rejected")));
        // Words are compared in lower case, so every row's words must be lower case.
        assert!(ERRORS.iter().filter_map(|r| r.message_contains).all(|w| w == w.to_ascii_lowercase()));
    }

    #[test]
    fn accepted_answers_give_the_providers_id() {
        let ok =
            |provider, status, body: &str| judge(provider, &Answer { status, retry_after: None, error_type: None, body: body.as_bytes() }, None, UNIX_EPOCH);
        assert_eq!(ok(Provider::Graph, 202, ""), Ok(None));
        assert_eq!(ok(Provider::Gmail, 200, r#"{"id":"18c","threadId":"18c","labelIds":["SENT"]}"#), Ok(Some("18c".into())));
        assert_eq!(ok(Provider::Ses, 200, r#"{"MessageId":"0102-abc"}"#), Ok(Some("0102-abc".into())));
        assert_eq!(ok(Provider::Mailgun, 200, r#"{"id":"<1@example.com>","message":"Queued. Thank you."}"#), Ok(Some("<1@example.com>".into())));
    }

    #[test]
    fn each_providers_errors_map_to_their_causes() {
        let cases = [
            (refusal(Provider::Graph, 403, None, &graph("ErrorAccessDenied")), ErrorKind::SenderRejected, Cause::ApiPermissionMissing),
            (refusal(Provider::Graph, 404, None, &graph("MailboxNotEnabledForRESTAPI")), ErrorKind::SenderRejected, Cause::ApiMailboxUnavailable),
            (refusal(Provider::Graph, 403, None, &graph("ErrorSendAsDenied")), ErrorKind::SenderRejected, Cause::SenderNotAllowed),
            (refusal(Provider::Graph, 400, None, &graph("ErrorInvalidRecipients")), ErrorKind::RecipientRejected, Cause::RecipientRejected),
            (refusal(Provider::Graph, 413, None, &graph("ErrorMessageSizeExceeded")), ErrorKind::DataRejected, Cause::MessageTooLarge),
            (refusal(Provider::Graph, 401, None, &graph("InvalidAuthenticationToken")), ErrorKind::Auth, Cause::ApiTokenRejected),
            (refusal(Provider::Graph, 429, None, &graph("ApplicationThrottled")), ErrorKind::DataRejected, Cause::Throttled),
            (refusal(Provider::Graph, 400, None, &graph("ErrorInvalidArgument")), ErrorKind::DataRejected, Cause::ApiRequestRejected),
            (refusal(Provider::Gmail, 403, None, &gmail(403, "insufficientPermissions")), ErrorKind::SenderRejected, Cause::ApiPermissionMissing),
            (refusal(Provider::Gmail, 429, None, &gmail(429, "rateLimitExceeded")), ErrorKind::DataRejected, Cause::Throttled),
            (refusal(Provider::Gmail, 403, None, &gmail(403, "userRateLimitExceeded")), ErrorKind::DataRejected, Cause::Throttled),
            (refusal(Provider::Gmail, 403, None, &gmail(403, "dailyLimitExceeded")), ErrorKind::DataRejected, Cause::DailyLimitReached),
            (refusal(Provider::Gmail, 400, None, &gmail(400, "invalidArgument")), ErrorKind::DataRejected, Cause::ApiRequestRejected),
            (refusal(Provider::Gmail, 400, None, &gmail(400, "failedPrecondition")), ErrorKind::SenderRejected, Cause::ApiMailboxUnavailable),
            (
                refusal(
                    Provider::Ses,
                    400,
                    Some("MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sailfish/"),
                    r#"{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: me@example.com"}"#,
                ),
                ErrorKind::SenderRejected,
                Cause::SenderNotAllowed,
            ),
            (
                refusal(
                    Provider::Ses,
                    400,
                    Some("MessageRejected"),
                    r#"{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: you@example.org"}"#,
                ),
                ErrorKind::SenderRejected,
                Cause::ApiSandbox,
            ),
            (
                refusal(Provider::Ses, 400, Some("MessageRejected"), r#"{"message":"Daily message quota exceeded."}"#),
                ErrorKind::DataRejected,
                Cause::DailyLimitReached,
            ),
            (
                refusal(Provider::Ses, 429, Some("TooManyRequestsException"), r#"{"message":"Daily message quota exceeded."}"#),
                ErrorKind::DataRejected,
                Cause::DailyLimitReached,
            ),
            (
                refusal(Provider::Ses, 400, Some("AccountSendingPausedException"), r#"{"message":"Sending is paused for this account."}"#),
                ErrorKind::SenderRejected,
                Cause::ApiAccountPaused,
            ),
            (refusal(Provider::Ses, 429, Some("TooManyRequestsException"), r#"{"message":"Too Many Requests"}"#), ErrorKind::DataRejected, Cause::Throttled),
            (
                refusal(Provider::Ses, 403, Some("InvalidSignatureException"), r#"{"message":"The request signature we calculated does not match"}"#),
                ErrorKind::Auth,
                Cause::ApiTokenRejected,
            ),
            (refusal(Provider::Mailgun, 401, None, "Forbidden"), ErrorKind::Auth, Cause::ApiTokenRejected),
            (
                refusal(
                    Provider::Mailgun,
                    403,
                    None,
                    r#"{"message":"Sandbox subdomains are for test purposes only. Please add your own domain or add the address to authorized recipients in Account Settings."}"#,
                ),
                ErrorKind::SenderRejected,
                Cause::ApiSandbox,
            ),
            (refusal(Provider::Mailgun, 400, None, r#"{"message":"to parameter is not a valid address"}"#), ErrorKind::DataRejected, Cause::ApiRequestRejected),
            (refusal(Provider::Mailgun, 503, None, "<html>Service Unavailable</html>"), ErrorKind::DataRejected, Cause::ApiUnavailable),
            (refusal(Provider::Graph, 404, None, "<html>Not Found</html>"), ErrorKind::Protocol, Cause::Unknown),
            (refusal(Provider::Graph, 200, None, "<html>Sign in to the network</html>"), ErrorKind::Protocol, Cause::Unknown),
            (refusal(Provider::Gmail, 200, None, "<html>Sign in to the network</html>"), ErrorKind::Protocol, Cause::Unknown),
        ];
        for (refusal, kind, cause) in cases {
            assert_eq!((refusal.kind, refusal.cause), (kind, cause), "{refusal:?}");
        }
    }

    #[test]
    fn a_refusal_keeps_the_providers_code_words_and_retry_after() {
        let r = refusal(Provider::Gmail, 429, None, &gmail(429, "rateLimitExceeded"));
        assert_eq!((r.provider_code.as_deref(), r.message.as_str(), r.retry_after, r.transient), (Some("rateLimitExceeded"), "Says why.", Some(30), true));
        assert_eq!(r.reply_line("Too Many Requests"), "429 rateLimitExceeded: Says why.");
        let r = refusal(Provider::Graph, 403, None, &graph("ErrorSendAsDenied"));
        assert_eq!((r.retry_after, r.transient, r.recipients_refused), (None, false, false));
        assert!(refusal(Provider::Graph, 400, None, &graph("ErrorInvalidRecipients")).recipients_refused);
    }

    #[test]
    fn a_logged_refusal_is_judged_again_from_its_reply_line() {
        let graph = logged(Provider::Graph, 403, Some("ErrorAccessDenied".into()), "403 ErrorAccessDenied: Access is denied.".into(), None);
        assert_eq!((graph.kind, graph.cause, graph.transient), (ErrorKind::SenderRejected, Cause::ApiPermissionMissing, false));
        let line = "400 MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: rcpt@example.com";
        let ses = logged(Provider::Ses, 400, Some("MessageRejected".into()), line.into(), Some("sender@example.com"));
        assert_eq!(ses.cause, Cause::ApiSandbox);
        assert!(logged(Provider::Mailgun, 503, None, "503 Service Unavailable".into(), None).transient);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after_secs(" 120 ", now), Some(120));
        assert_eq!(retry_after_secs("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(30));
        assert_eq!(retry_after_secs("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(0));
        assert_eq!(retry_after_secs("soon", now), None);
    }
}
