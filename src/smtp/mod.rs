//! SMTP: protocol values (replies, capabilities, transcript) apart from the
//! I/O driver that speaks them.
pub mod client;
pub mod commands;
pub mod data;
pub mod error;
pub mod reply;
pub mod tls;
pub mod transcript;
