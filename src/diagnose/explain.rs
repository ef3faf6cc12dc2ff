//! `rust_mail_explain()`: a failed `rust_mail_send()` judged after the fact
//! from its log row, by the same classifier and verdict as the walk.

use crate::config::Transport;
use crate::error::UsageError;
use crate::judge::classify::logged_error;
use crate::judge::{classify, verdict, Cause, Context, Facts};
use crate::result::SendResult;
use crate::secrets::scrub_json;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::reply::Reply;
use crate::value::{Fields, Key, Value};
use serde_json::{json, Value as Json};

/// Explains a failed `rust_mail_send()` after the fact (a log entry): the
/// verdict a diagnosis would give for that error and reply, with advice for
/// this transport. A row written since results carry `cause` gives it back;
/// an older row is classified from its kind and reply.
pub fn explain(failure: &[(Key, Value)], transport: &[(Key, Value)]) -> Result<Json, UsageError> {
    let failure = failure_of_result(failure)?;
    let f = Fields::new(
        "failure",
        &failure,
        &["kind", "message", "code", "enhanced_code", "reply", "from", "cause", "stage", "transient", "advice", "retry_after"],
    )?;
    if f.string("kind")?.as_deref() == Some("invalid_input") {
        let mut result = invalid_input(&f)?;
        scrub_json(&mut result, &Transport::settings_only(transport)?.secrets());
        return Ok(result);
    }
    let kinds = ErrorKind::ALL.map(ErrorKind::as_str);
    let kind = f.choice("kind", &kinds)?.ok_or_else(|| UsageError::new("$failure['kind'] is required"))?;
    let kind = ErrorKind::ALL.into_iter().find(|k| k.as_str() == kind).expect("one of ALL");
    let message = f.string("message")?.unwrap_or_default();
    let reply = match f.int("code")? {
        None => None,
        Some(code @ 200..=599) => Some(Reply {
            code: code as u16,
            enhanced: f.string("enhanced_code")?.filter(|e| !e.is_empty()),
            lines: vec![f.string("reply")?.unwrap_or_default()],
        }),
        Some(code) => return Err(UsageError::new(format!("$failure['code'] must be an SMTP reply code, got {code}"))),
    };
    let causes = Cause::ALL.map(Cause::as_str);
    let given = f.choice("cause", &causes)?.and_then(Cause::from_name);
    let transport = Transport::settings_only(transport)?;
    let from = f.string("from")?;
    let error = match (&transport.api, reply) {
        // An API's answer is judged by the API's rules; its reply line holds the status and the provider's code.
        (Some(api), Some(reply)) => {
            let line = reply.lines.concat();
            let refusal = crate::api::response::logged(api.provider, reply.code, reply.enhanced, line.clone(), from.as_deref());
            SendError { kind, stage: Stage::Request, problem: Problem::Api(Box::new(refusal)), message: line, reply: None, size_limit: None }
        }
        (_, reply) => logged_error(kind, message, reply),
    };
    let cause = given.unwrap_or_else(|| classify(Some(&error), &Facts::of(&transport)));
    let context = Context::for_error(&transport, from, &error);
    let v = verdict(cause, &context);
    let mut result = json!({ "cause": cause.as_str(), "summary": v.summary, "advice": v.advice });
    scrub_json(&mut result, &transport.secrets());
    Ok(result)
}

/// What `rust_mail_explain()` is given: a failure (a log row's fields), or a
/// whole `rust_mail_send()` result as it came back, whose `error` and the
/// reply fields beside it are the failure.
/// A message `rust_mail_send_many()` could not read (or a row of one): nothing reached a server, so there is no
/// reply to judge; what was wrong with the message is the summary, with the advice its result gives.
fn invalid_input(f: &Fields) -> Result<Json, UsageError> {
    let message = f.string("message")?.unwrap_or_default();
    let failure = SendResult::invalid_input(&UsageError::new(message.clone())).error.expect("an invalid_input result has its error");
    Ok(json!({ "cause": failure.cause, "summary": message, "advice": failure.advice }))
}

fn failure_of_result(given: &[(Key, Value)]) -> Result<Vec<(Key, Value)>, UsageError> {
    let field = |name: &str| given.iter().find(|(k, _)| *k == Key::Name(name.into())).map(|(_, v)| v);
    if field("ok").is_none() {
        return Ok(given.to_vec());
    }
    let Some(Value::Array(error)) = field("error") else {
        return Err(UsageError::new("$failure is a result without an error: the send succeeded, there is nothing to explain"));
    };
    let mut failure = error.clone();
    for name in ["code", "enhanced_code", "reply"] {
        if let Some(value) = field(name) {
            failure.push((Key::Name(name.into()), value.clone()));
        }
    }
    Ok(failure)
}
