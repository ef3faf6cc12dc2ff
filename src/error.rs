//! The caller's mistake.
//!
//! A [`UsageError`] is the caller's mistake (a missing host, a header with a
//! line break): it becomes a PHP exception, because no retry can fix it. The
//! network's or the server's answer is a [`crate::smtp::error::SendError`],
//! returned in the result array.

use std::fmt;

/// A programming error in the arguments; the message names the field.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }

    /// The refusal with each of `secrets` replaced by [`crate::secrets::REDACTED`].
    pub fn scrubbed(self, secrets: &[String]) -> Self {
        UsageError(crate::secrets::scrub(&self.0, secrets))
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
