//! The I/O driver, along lettre's lines: [`net`] resolves and connects,
//! [`connection`] speaks one SMTP session, [`auth`] logs in. What is said
//! is built apart, in [`crate::smtp::commands`] and [`crate::smtp::reply`].

mod auth;
mod connection;
pub mod net;

pub use auth::choose_mechanism;
pub use connection::{Connection, OpenTimings, TlsFailure};
pub use net::{connect_tcp, pick_connect_failure, resolve, ConnectFailure};
