//! The result array of one message: what `rust_mail_send()` returns and
//! each entry of `rust_mail_send_many()`'s list. One typed shape, so that a
//! send, a message a batch never sent and a message it could not read
//! always have the same keys in the same order.

use crate::error::UsageError;
use crate::secrets::scrub_json;
use serde::Serialize;
use serde_json::{Map, Value as Json};

#[derive(Debug, Serialize)]
pub struct SendResult {
    pub ok: bool,
    pub message_id: Option<String>,
    pub accepted: Vec<String>,
    /// Each refused recipient with the reason, in the order refused.
    pub rejected: Map<String, Json>,
    /// The reply that decided the outcome: the error's, else the last one.
    pub code: Option<u16>,
    pub enhanced_code: Option<String>,
    pub reply: Option<String>,
    pub error: Option<Failure>,
    pub transcript: Json,
    pub timings: Timings,
    pub reused_connection: bool,
}

/// Why the message was not sent, judged (see [`crate::judge`]).
#[derive(Debug, Serialize)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
    /// Worth retrying later as it is.
    pub transient: bool,
    pub cause: &'static str,
    pub stage: &'static str,
    pub advice: Vec<String>,
    /// Seconds to wait before sending again, from an API's `Retry-After` (429, 503); null otherwise.
    pub retry_after: Option<u64>,
}

/// Milliseconds spent in each phase of the call.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Timings {
    pub connect: f64,
    pub tls: f64,
    pub auth: f64,
    pub send: f64,
    pub total: f64,
}

impl SendResult {
    /// The result of a message that could not be read: error kind
    /// `invalid_input` and the exception's text that `rust_mail_send()`
    /// would have thrown. Nothing was sent.
    pub fn invalid_input(error: &UsageError) -> SendResult {
        SendResult {
            ok: false,
            message_id: None,
            accepted: Vec::new(),
            rejected: Map::new(),
            code: None,
            enhanced_code: None,
            reply: None,
            error: Some(Failure {
                kind: "invalid_input",
                message: error.0.clone(),
                transient: false,
                cause: "invalid_input",
                stage: "input",
                advice: vec![format!("Fix this message and send it again: {}. Nothing was sent.", error.0)],
                retry_after: None,
            }),
            transcript: Json::Array(Vec::new()),
            timings: Timings::default(),
            reused_connection: false,
        }
    }

    /// The result as the PHP array is made of it, with every one of `secrets` scrubbed.
    pub fn to_json(&self, secrets: &[String]) -> Json {
        let mut json = serde_json::to_value(self).expect("a result serializes");
        scrub_json(&mut json, secrets);
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_message_has_every_key_of_a_send_in_order() {
        let json = SendResult::invalid_input(&UsageError::new("$message['from'] is required")).to_json(&[]);
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["ok", "message_id", "accepted", "rejected", "code", "enhanced_code", "reply", "error", "transcript", "timings", "reused_connection"]);
        let error: Vec<&str> = json["error"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(error, ["kind", "message", "transient", "cause", "stage", "advice", "retry_after"]);
        assert_eq!(json["timings"], serde_json::json!({"connect": 0.0, "tls": 0.0, "auth": 0.0, "send": 0.0, "total": 0.0}));
        assert_eq!(json["error"]["advice"][0], "Fix this message and send it again: $message['from'] is required. Nothing was sent.");
    }
}
