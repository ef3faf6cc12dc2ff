//! Logging in: the mechanism to use and the SASL exchange (RFC 4954), over
//! a [`Connection`]'s commands.

use super::Connection;
use crate::config::{AuthMode, Security, Transport};
use crate::smtp::commands;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::reply::Reply;
use crate::smtp::transcript::Transcript;
use base64::Engine;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use tokio::time::Instant;

impl Connection {
    /// Logs in as the transport says. Never sends credentials over a
    /// connection without TLS, unless `allow_insecure_auth` is set and the
    /// server is on this machine.
    /// Returns the mechanism used and the server's final reply (`None` when
    /// no login was asked for or it happened earlier on this connection).
    pub async fn authenticate(&mut self, transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<Option<(Mechanism, Reply)>, SendError> {
        if transport.auth == AuthMode::None || self.authenticated {
            return Ok(None);
        }
        let offered = self.capabilities.auth_mechanisms();
        let mechanism = choose_mechanism(transport.auth, &offered).ok_or_else(|| {
            let offered = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
            let hint = if self.tls.is_none() && transport.security != Security::Tls {
                " (many servers offer AUTH only after STARTTLS: set security to 'starttls')"
            } else {
                ""
            };
            SendError::new(
                ErrorKind::Auth,
                Stage::Auth,
                Problem::NoAuthMechanism,
                format!("{} offers no usable AUTH mechanism for auth '{}' (offered: {offered}){hint}", transport.host, transport.auth.as_str()),
            )
        })?;
        if self.tls.is_none() && !insecure_auth_allowed(transport.allow_insecure_auth, self.peer.ip()) {
            return Err(SendError::new(
                ErrorKind::Auth,
                Stage::Auth,
                Problem::InsecureAuth,
                format!(
                    "refusing to send the password without TLS to {}: use security 'starttls' or 'tls' \
                     (allow_insecure_auth applies only to a server on loopback, 127.0.0.0/8 or ::1)",
                    self.peer
                ),
            ));
        }
        let user = transport.username.clone().unwrap_or_default();
        let secret = transport.password.as_ref().map(|p| p.0.clone()).unwrap_or_default();
        let credentials = Credentials::new(user, secret);
        let b64 = base64::engine::general_purpose::STANDARD;

        let first = if mechanism.supports_initial_response() {
            let response =
                mechanism.response(&credentials, None).map_err(|e| SendError::new(ErrorKind::Auth, Stage::Auth, Problem::Internal, e.to_string()))?;
            commands::auth(mechanism, Some(&b64.encode(response)))
        } else {
            commands::auth(mechanism, None)
        };
        let mut reply = self.command(&first, t, deadline).await?;
        let mut rounds = 0;
        while reply.code == 334 && rounds < 4 {
            rounds += 1;
            let challenge = b64.decode(reply.lines.first().map(|l| l.trim()).unwrap_or("")).unwrap_or_default();
            let challenge = String::from_utf8_lossy(&challenge).into_owned();
            let answer = match mechanism {
                Mechanism::Login => mechanism
                    .response(&credentials, Some(&challenge))
                    .map(|r| b64.encode(r))
                    .map_err(|_| SendError::from_reply(ErrorKind::Auth, Stage::Auth, "unexpected AUTH LOGIN challenge", reply.clone()))?,
                // A 334 after an XOAUTH2 initial response carries the error as
                // JSON; the client answers with an empty line and reads the
                // final reply (the XOAUTH2 protocol, as Microsoft and Google run it).
                _ => {
                    t.info(format!("server's {mechanism} error: {challenge}"));
                    String::new()
                }
            };
            self.write_line(&answer, true, t, deadline).await?;
            reply = self.read_reply(t, deadline, Stage::Auth).await?;
        }
        if reply.code != 235 {
            return Err(SendError::from_reply(
                ErrorKind::Auth,
                Stage::Auth,
                &format!("login as {} failed", transport.username.as_deref().unwrap_or("")),
                reply,
            ));
        }
        self.authenticated = true;
        Ok(Some((mechanism, reply)))
    }
}

/// Whether a login may go over a connection without TLS. Only to a peer on
/// loopback: on any other path an attacker can strip STARTTLS from the EHLO
/// reply (with opportunistic security) and read the password.
fn insecure_auth_allowed(allow_insecure_auth: bool, peer: std::net::IpAddr) -> bool {
    allow_insecure_auth && peer.to_canonical().is_loopback()
}

/// The mechanism to use: the configured one if the server offers it, or for
/// `auto` the first of PLAIN and LOGIN that it offers. XOAUTH2 is never
/// picked by `auto` because its "password" is a token.
pub fn choose_mechanism(mode: AuthMode, offered: &[String]) -> Option<Mechanism> {
    let offers = |name: &str| offered.iter().any(|m| m == name);
    match mode {
        AuthMode::None => None,
        AuthMode::Plain => offers("PLAIN").then_some(Mechanism::Plain),
        AuthMode::Login => offers("LOGIN").then_some(Mechanism::Login),
        AuthMode::Xoauth2 => offers("XOAUTH2").then_some(Mechanism::Xoauth2),
        AuthMode::Auto => [Mechanism::Plain, Mechanism::Login].into_iter().find(|m| offers(&m.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_auth_only_to_loopback() {
        let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
        for loopback in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
            assert!(insecure_auth_allowed(true, ip(loopback)), "{loopback}");
            assert!(!insecure_auth_allowed(false, ip(loopback)), "{loopback}");
        }
        for remote in ["10.0.0.1", "192.0.2.7", "128.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "::"] {
            assert!(!insecure_auth_allowed(true, ip(remote)), "{remote}");
        }
    }

    #[test]
    fn auto_prefers_plain_then_login_and_never_xoauth2() {
        let offered = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(choose_mechanism(AuthMode::Auto, &offered(&["LOGIN", "PLAIN"])), Some(Mechanism::Plain));
        assert_eq!(choose_mechanism(AuthMode::Auto, &offered(&["LOGIN"])), Some(Mechanism::Login));
        assert_eq!(choose_mechanism(AuthMode::Auto, &offered(&["XOAUTH2"])), None);
        assert_eq!(choose_mechanism(AuthMode::Xoauth2, &offered(&["XOAUTH2"])), Some(Mechanism::Xoauth2));
        assert_eq!(choose_mechanism(AuthMode::Login, &offered(&["PLAIN"])), None);
    }
}
