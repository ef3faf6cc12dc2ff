//! The I/O driver, along lettre's lines: [`net`] resolves and connects,
//! [`connection`] speaks one SMTP session, [`auth`] logs in. What is said
//! is built apart, in [`crate::smtp::commands`] and [`crate::smtp::reply`];
//! [`transaction`] plans a mail transaction without I/O.

mod auth;
mod connection;
pub mod net;
pub mod transaction;

pub use auth::choose_mechanism;
pub use connection::{starttls_not_offered, Connection, OpenTimings, TlsFailure};
pub use net::{connect_first, connect_tcp, resolve, Attempt, ConnectFailure};
