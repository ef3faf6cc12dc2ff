//! rust-mail: a native SMTP sender and connection doctor for PHP.
//!
//! The core (everything but `php`) knows nothing of PHP: it takes
//! [`value::Value`]s and returns JSON values, so it is unit-tested with plain
//! `cargo test --no-default-features`. The `php` module is the thin binding.

pub mod api;
pub mod batch;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod export;
pub mod files;
pub mod judge;
pub mod message;
pub mod pool;
pub mod result;
pub mod secrets;
pub mod send;
pub mod smtp;
pub mod value;

#[cfg(feature = "php")]
mod php;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
