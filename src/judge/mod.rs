//! What judges a failure: from what happened to a [`Cause`]
//! ([`classify()`], with what servers say kept as data in [`rules`]), and from
//! the cause to a summary and advice ([`texts`]). Pure; `rust_mail_send()`,
//! the walk of `rust_mail_diagnose()` and `rust_mail_explain()` all judge here.

pub mod cause;
pub mod classify;
pub mod rules;
pub mod texts;

pub use cause::Cause;
pub use classify::{classify, Facts};
pub use texts::{verdict, Context, Verdict};
