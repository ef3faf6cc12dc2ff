//! The walk: one connection driven step by step (dns, sender_dns, tcp,
//! greeting, ehlo, tls, auth, envelope, send), each step recorded as it
//! happened. I/O only: what failed is reported as data ([`SendError`]) for
//! [`crate::judge`] to judge. An HTTPS API's walk shares the dns, tcp and
//! tls steps, then reads the token ([`super::token`]) and sends only with
//! `send_test`.

use super::dns;
use super::options::Options;
use super::probes;
use super::records::{self, RecordProblem, Relay};
use super::report::{self, cert_json, Found};
use super::token::{duration, judge_permission, jwt_claims, permission_text, token_problem, Claims, Permission, TokenProblem};
use super::verdict::{records_advice, records_detail, Warning};
use crate::api::client::{self, Http};
use crate::api::{local_failure, Provider};
use crate::config::{starttls_decision, AuthMode, Security, StarttlsDecision, Transport};
use crate::error::UsageError;
use crate::judge::classify::{may_be_plain_text_port, names_other_domain};
use crate::judge::Cause;
use crate::smtp::client::transaction::judge_message;
use crate::smtp::client::{choose_mechanism, connect_first, starttls_not_offered, Connection};
use crate::smtp::commands::{self, envelope, Envelope};
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::reply::Reply;
use crate::smtp::transcript::{round_ms, Transcript};
use crate::value::{Key, Value};
use serde_json::{json, Value as Json};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

/// How long the From domain's SPF and DMARC lookups may take: they only warn.
const RECORDS_PATIENCE: Duration = Duration::from_secs(4);

/// How long a silent server gets to greet before the walk looks for why.
const GREETING_PATIENCE: Duration = Duration::from_secs(8);

/// Why the walk stopped: what happened, as the client reports it.
type Failure = SendError;

fn failure(stage: Stage, problem: Problem, detail: impl Into<String>) -> Failure {
    let kind = match problem {
        Problem::Unresolved => ErrorKind::Dns,
        Problem::Timeout => ErrorKind::Timeout,
        _ => ErrorKind::Protocol,
    };
    SendError::new(kind, stage, problem, detail)
}

pub struct Walk {
    transport: Transport,
    options: Options,
    t: Transcript,
    deadline: Instant,
    step_started: f64,
    found: Found,
    /// The `send_test` message, composed at the envelope step.
    message: Option<Result<Vec<u8>, UsageError>>,
    /// An API transport's HTTP client, for `send_test`.
    http: Option<Result<Http, SendError>>,
}

impl Walk {
    /// `http`: with an API transport, the client that sends its test message.
    pub fn new(transport: Transport, options: Options, http: Option<Result<Http, SendError>>) -> Walk {
        let start = std::time::Instant::now();
        Walk {
            deadline: Instant::now() + transport.timeout,
            transport,
            options,
            t: Transcript::new(start),
            step_started: 0.0,
            found: Found::default(),
            message: None,
            http,
        }
    }

    fn begin(&mut self) {
        self.step_started = self.t.elapsed_ms();
    }

    fn record(&mut self, name: &str, status: &str, detail: impl Into<String>, data: Json) {
        let detail = detail.into();
        if status == "warn" {
            self.found.findings.warnings.push(detail.clone());
        }
        self.found.steps.push(json!({
            "name": name,
            "status": status,
            "ms": round_ms(self.t.elapsed_ms() - self.step_started),
            "detail": detail,
            "data": data,
        }));
    }

    /// Records the step as failed; a step already recorded (the TLS step
    /// whose EHLO after the handshake fails) becomes the failed one.
    fn fail(&mut self, name: &str, failure: Failure, data: Json) -> Failure {
        let detail = failure.message.clone();
        match self.found.steps.iter_mut().find(|s| s["name"] == name) {
            Some(step) => {
                step["status"] = json!("fail");
                step["detail"] = json!(detail);
                step["ms"] = json!(round_ms(self.t.elapsed_ms() - self.step_started));
            }
            None => self.record(name, "fail", detail, data),
        }
        failure
    }

    pub async fn run(mut self) -> Json {
        let failure = match self.transport.api.as_ref().map(|api| api.provider) {
            Some(provider) => self.walk_api(provider).await.err(),
            None => match self.walk().await {
                Ok(conn) => {
                    conn.quit(&mut self.t, self.deadline).await;
                    None
                }
                Err(f) => Some(f),
            },
        };
        report::result(&self.transport, self.options.from.clone(), self.found, failure.as_ref(), self.t.to_json())
    }

    async fn walk(&mut self) -> Result<Connection, Failure> {
        self.dns().await?;
        self.sender_dns().await;
        // Scanned before the walk goes on, so that a blocked port, which
        // uses up the rest of the time, cannot starve the scan.
        if let Some(ports) = self.options.scan_ports.clone() {
            let scanned = match self.found.addrs.first() {
                Some(addr) => probes::scan(addr.ip(), ports, &self.transport, self.deadline).await,
                None => Vec::new(),
            };
            self.found.findings.ports = Some(scanned);
        }
        let mut conn = self.tcp().await?;
        if self.transport.security == Security::Tls {
            self.tls(&mut conn).await?;
        }
        self.greeting(&mut conn).await?;
        self.ehlo(&mut conn).await?;
        if self.transport.security != Security::Tls {
            self.starttls(&mut conn).await?;
        }
        self.auth(&mut conn).await?;
        self.envelope(&mut conn).await?;
        self.send(&mut conn).await?;
        Ok(conn)
    }

    async fn dns(&mut self) -> Result<(), Failure> {
        self.begin();
        let mut data = json!({});
        if let Some(domain) = self.options.mx_domain.clone() {
            match dns::mx_hosts(&domain, self.options.nameserver, self.deadline).await {
                Ok(hosts) if !hosts.is_empty() => {
                    self.t.info(format!("MX of {domain}: {}", hosts.join(", ")));
                    self.found.mx_hosts = hosts;
                    data["mx"] = json!(self.found.mx_hosts);
                    if self.transport.host == domain {
                        self.transport.host = self.found.mx_hosts[0].clone();
                    }
                }
                Ok(_) => return Err(self.fail("dns", failure(Stage::Dns, Problem::Unresolved, format!("{domain} has no MX record")), data)),
                Err(e) => return Err(self.fail("dns", failure(Stage::Dns, Problem::Unresolved, e), data)),
            }
        }
        let host = self.transport.host.clone();
        match dns::addresses(&host, self.transport.port, self.options.nameserver, self.deadline).await {
            Ok(addrs) => {
                self.found.addrs = addrs;
                data["host"] = json!(host);
                data["addresses"] = json!(self.found.addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>());
                let listed = self.found.addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                self.record("dns", "ok", format!("{host} has address {listed}"), data);
                Ok(())
            }
            Err(e) => Err(self.fail("dns", failure(Stage::Dns, Problem::Unresolved, e), data)),
        }
    }

    /// Direct send and relays (no login): does the From domain's SPF record
    /// authorise the relay, and has the domain a DMARC record? Only warns:
    /// the server may take the mail all the same.
    async fn sender_dns(&mut self) {
        self.begin();
        let Some(from) = self.options.from.clone() else {
            self.record("sender_dns", "skip", "give 'from' in the options to check its domain's SPF and DMARC records", json!({}));
            return;
        };
        if self.transport.auth != AuthMode::None {
            self.record("sender_dns", "skip", "checked for direct send and relays (auth 'none') only", json!({}));
            return;
        }
        let domain = from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        if self.options.nameserver.is_none() && records::is_reserved_name(&domain) {
            let detail = format!("{domain} is reserved for documentation and tests (RFC 2606, RFC 6761): no public DNS records to check");
            self.record("sender_dns", "skip", detail, json!({}));
            return;
        }
        let host = self.transport.host.clone();
        let deadline = (Instant::now() + RECORDS_PATIENCE).min(self.deadline);
        let ns = self.options.nameserver;
        let dmarc_name = format!("_dmarc.{domain}");
        let (txt, dmarc) = tokio::join!(dns::txt(&domain, ns, deadline), dns::txt(&dmarc_name, ns, deadline));
        let mut data = json!({ "domain": domain, "relay": host });
        let (txt, dmarc) = match (txt, dmarc) {
            (Ok(txt), Ok(dmarc)) => (txt, dmarc),
            (Err(e), _) | (_, Err(e)) => {
                let warning = Warning::RecordsUnchecked { domain: &domain, error: &e }.text();
                self.record("sender_dns", "warn", warning, data);
                return;
            }
        };
        let addresses: Vec<IpAddr> = self.found.addrs.iter().map(SocketAddr::ip).collect();
        let relay = Relay { host: &host, addresses: &addresses };
        let problems = records::check(&domain, &txt, &dmarc, &relay);
        self.found.findings.records_advice = problems.iter().map(|p| records_advice(p, &domain, &relay)).collect();
        data["spf"] = json!(records::spf_records(&txt));
        data["dmarc"] = json!(dmarc);
        data["problems"] = json!(problems.iter().map(RecordProblem::as_str).collect::<Vec<_>>());
        let status = if problems.is_empty() { "ok" } else { "warn" };
        self.record("sender_dns", status, records_detail(&problems, &domain, &relay), data);
    }

    async fn tcp(&mut self) -> Result<Connection, Failure> {
        self.begin();
        let (connected, attempts) = connect_first(&self.found.addrs, &self.transport.host, &mut self.t, self.deadline).await;
        let attempts: Vec<Json> = attempts.iter().map(|a| json!({ "address": a.addr.to_string(), "state": a.state, "ms": round_ms(a.ms) })).collect();
        match connected {
            Ok((stream, addr)) => {
                self.record("tcp", "ok", format!("{addr} accepted the connection"), json!({ "attempts": attempts }));
                Ok(Connection::from_tcp(stream, addr))
            }
            Err(failed) => Err(self.fail("tcp", failed, json!({ "attempts": attempts }))),
        }
    }

    async fn greeting(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        // Half of the time left at most, so that the search for a cause still has time.
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let patience = Instant::now() + GREETING_PATIENCE.min(remaining / 2);
        let reply = match conn.read_reply(&mut self.t, patience, Stage::Greeting).await {
            Ok(reply) => reply,
            Err(e) if e.problem == Problem::Timeout => return Err(self.explain_silence(conn).await),
            Err(e) => return Err(self.fail("greeting", e, json!({}))),
        };
        self.found.banner = reply.lines.first().cloned().unwrap_or_default();
        if reply.code != 220 {
            let failed = SendError::from_reply(ErrorKind::Protocol, Stage::Greeting, "the server refused the session in its greeting", reply);
            return Err(self.fail("greeting", failed, json!({ "banner": self.found.banner })));
        }
        let named = self.found.banner.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if names_other_domain(&self.transport.host, &named) {
            self.found.findings.foreign_banner = Some(named.clone());
            let warning = Warning::ForeignBanner { named: &named, host: &self.transport.host }.text();
            self.record("greeting", "warn", warning, json!({ "banner": self.found.banner }));
        } else {
            self.record("greeting", "ok", self.found.banner.clone(), json!({ "banner": self.found.banner }));
        }
        Ok(())
    }

    /// The server accepted the connection but sent no greeting. Either the
    /// port wants TLS from the first byte, or something that is not SMTP
    /// waits for its client to speak first, or the server hangs.
    async fn explain_silence(&mut self, conn: &mut Connection) -> Failure {
        let probe_deadline = (Instant::now() + Duration::from_secs(5)).min(self.deadline);
        if probes::speaks_tls(conn.peer, &self.transport, probe_deadline).await {
            let detail =
                format!("port {} expects TLS from the first byte (implicit TLS), but security is '{}'", self.transport.port, self.transport.security.as_str());
            return self.fail("greeting", failure(Stage::Greeting, Problem::ImplicitTlsPort, detail), json!({ "implicit_tls": true }));
        }
        match conn.command(&commands::ehlo(&self.transport.helo), &mut self.t, self.deadline).await {
            Err(e) if e.problem == Problem::NotSmtp => self.fail("greeting", SendError { stage: Stage::Greeting, ..e }, json!({})),
            Ok(reply) => {
                let detail = format!("the server sent no greeting, then answered EHLO with {}", reply.one_line());
                self.fail("greeting", failure(Stage::Greeting, Problem::NoGreeting, detail), json!({}))
            }
            Err(e) if e.problem == Problem::Timeout => {
                let detail = "no greeting came, and an EHLO sent to prompt one got no answer before the timeout either";
                self.fail("greeting", failure(Stage::Greeting, Problem::Timeout, detail.to_string()), json!({}))
            }
            // Closed or reset when prompted: that is what went wrong, said as such.
            Err(e) => self.fail("greeting", SendError { stage: Stage::Greeting, ..e }, json!({})),
        }
    }

    async fn ehlo(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        if let Err(e) = conn.ehlo(&self.transport, &mut self.t, self.deadline).await {
            return Err(self.fail("ehlo", e, json!({})));
        }
        self.record_capabilities(conn);
        let caps = &conn.capabilities;
        let data = json!({
            "capabilities": caps.lines,
            "starttls": caps.has("STARTTLS"),
            "auth": caps.auth_mechanisms(),
            "size": caps.size(),
            "pipelining": caps.has("PIPELINING"),
            "8bitmime": caps.has("8BITMIME"),
            "smtputf8": caps.has("SMTPUTF8"),
            "chunking": caps.has("CHUNKING"),
        });
        let detail = if caps.lines.is_empty() { "no extensions (HELO only)".to_string() } else { caps.keywords().join(" ") };
        self.record("ehlo", "ok", detail, data);
        Ok(())
    }

    fn record_capabilities(&mut self, conn: &Connection) {
        self.found.capabilities = conn.capabilities.lines.clone();
        self.found.findings.size_limit = conn.capabilities.size();
    }

    async fn starttls(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        let offered = conn.capabilities.has("STARTTLS");
        match starttls_decision(self.transport.security, offered) {
            StarttlsDecision::Skip => {
                self.record("tls", "skip", "security is 'none': mail and any password travel in clear text", json!({ "offered": offered }));
                return Ok(());
            }
            StarttlsDecision::Warn => {
                let warning = Warning::NoStarttls { host: &self.transport.host }.text();
                self.record("tls", "warn", warning, json!({ "offered": false }));
                return Ok(());
            }
            StarttlsDecision::Fail => return Err(self.fail("tls", starttls_not_offered(&self.transport.host), json!({ "offered": false }))),
            StarttlsDecision::Upgrade => {}
        }
        if let Err(e) = conn.request_starttls(&mut self.t, self.deadline).await {
            return Err(self.fail("tls", e, json!({ "offered": true })));
        }
        self.tls(conn).await?;
        if let Err(e) = conn.ehlo_after_starttls(&self.transport, &mut self.t, self.deadline).await {
            return Err(self.fail("tls", e, json!({})));
        }
        self.record_capabilities(conn);
        Ok(())
    }

    /// The handshake, either right after connecting (implicit TLS) or after STARTTLS.
    async fn tls(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        if self.transport.security == Security::Tls {
            self.begin();
        }
        match conn.start_tls(&self.transport, &mut self.t, self.deadline).await {
            Ok(()) => {
                let info = conn.tls.clone().expect("set by a successful handshake");
                self.found.certificate = info.certificate.clone();
                self.found.certificate_verified = self.transport.verify_peer;
                let mut data = json!({ "version": info.version, "cipher": info.cipher, "verified": self.transport.verify_peer });
                if let Some(cert) = &info.certificate {
                    data["certificate"] = cert_json(cert);
                }
                let (status, detail) = if self.transport.verify_peer {
                    ("ok", format!("{} {}, certificate valid for {}", info.version, info.cipher, self.transport.host))
                } else {
                    ("warn", Warning::Unverified { version: &info.version, cipher: &info.cipher }.text())
                };
                self.record("tls", status, detail, data);
                Ok(())
            }
            Err(failure) => {
                self.found.certificate = failure.presented.clone();
                let data = json!({ "certificate": failure.presented.as_ref().map(cert_json) });
                let mut error = failure.error;
                if self.plain_text_port(&error.problem, conn.peer).await {
                    let detail = format!("port {} answers in plain text, so it expects security 'starttls' or 'opportunistic', not 'tls'", self.transport.port);
                    error = SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::PlainTextPort, detail);
                }
                Err(self.fail("tls", error, data))
            }
        }
    }

    /// With implicit TLS, a handshake that failed without a TLS reason: does
    /// the port greet in plain text on a fresh connection?
    async fn plain_text_port(&mut self, problem: &Problem, peer: SocketAddr) -> bool {
        if self.transport.api.is_some() || !may_be_plain_text_port(self.transport.security, problem) {
            return false;
        }
        let probe_deadline = (Instant::now() + Duration::from_secs(5)).min(self.deadline);
        probes::plain_greeting(peer, probe_deadline).await.is_some()
    }

    async fn auth(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        let mechanisms = conn.capabilities.auth_mechanisms();
        self.found.findings.offered_auth = mechanisms.clone();
        if self.transport.auth == crate::config::AuthMode::None {
            self.record("auth", "skip", "auth is 'none'", json!({ "offered": mechanisms }));
            return Ok(());
        }
        let mode = self.transport.auth.as_str();
        match conn.authenticate(&self.transport, &mut self.t, self.deadline).await {
            Ok(login) => {
                let user = self.transport.username.clone().unwrap_or_default();
                let (mechanism, reply) = login.map(|(m, r)| (m.to_string(), r.one_line())).unwrap_or_default();
                let detail = format!("logged in as {user} with {mechanism}");
                self.record("auth", "ok", detail, json!({ "offered": mechanisms, "mode": mode, "mechanism": mechanism, "reply": reply }));
                Ok(())
            }
            Err(e) => {
                let mechanism = choose_mechanism(self.transport.auth, &mechanisms).map(|m| m.to_string());
                let reply = e.reply.as_ref().map(Reply::one_line);
                let data = json!({ "offered": mechanisms, "mode": mode, "mechanism": mechanism, "reply": reply });
                Err(self.fail("auth", e, data))
            }
        }
    }

    async fn envelope(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        let Some(from) = self.options.from.clone() else {
            self.record("envelope", "skip", "give 'from' and 'to' in the options to try the envelope", json!({}));
            return Ok(());
        };
        // The test message is composed now, so that the envelope can say whether it is 8-bit.
        if self.will_send() {
            self.message = Some(test_message(&from, &self.options.to, &self.transport.helo).map(|m| m.data));
        }
        // As the send path: an address with non-ASCII before the '@' is never offered to a server without SMTPUTF8.
        if !conn.capabilities.has("SMTPUTF8") {
            if let Some(address) = std::iter::once(&from).chain(&self.options.to).find(|a| !a.is_ascii()) {
                let detail = format!("<{address}> has non-ASCII characters before the '@', and the server does not offer SMTPUTF8: it was not sent");
                let data = json!({ "from": from, "to": self.options.to });
                return Err(self.fail("envelope", failure(Stage::MailFrom, Problem::NeedsSmtputf8, detail), data));
            }
        }
        // The test message's size and 8-bit body go on MAIL FROM only when it follows.
        let message = match &self.message {
            Some(Ok(message)) => Some(message.as_slice()),
            _ => None,
        };
        let Envelope { mail, rcpts } = envelope(&from, &self.options.to, message, None, &conn.capabilities);
        let reply = self.command(conn, &mail, "envelope").await?;
        if !reply.is_positive() {
            let failed = SendError::from_reply(ErrorKind::SenderRejected, Stage::MailFrom, &format!("the server refused the sender <{from}>"), reply);
            return Err(self.fail("envelope", failed, json!({ "from": from })));
        }
        for (to, rcpt) in self.options.to.clone().into_iter().zip(rcpts) {
            let reply = self.command(conn, &rcpt, "envelope").await?;
            if !reply.is_positive() {
                let data = json!({ "from": from, "to": to });
                let failed = SendError::from_reply(ErrorKind::RecipientRejected, Stage::RcptTo, &format!("the server refused the recipient <{to}>"), reply);
                return Err(self.fail("envelope", failed, data));
            }
        }
        if !self.will_send() {
            let _ = conn.command(commands::RSET, &mut self.t, self.deadline).await;
        }
        let detail = format!("the server accepts mail from {from} to {}", self.options.to.join(", "));
        self.record("envelope", "ok", detail, json!({ "from": from, "to": self.options.to }));
        Ok(())
    }

    fn will_send(&self) -> bool {
        self.options.send_test && self.options.from.is_some() && !self.options.to.is_empty()
    }

    async fn send(&mut self, conn: &mut Connection) -> Result<(), Failure> {
        self.begin();
        if !self.will_send() {
            self.record("send", "skip", "set send_test with 'from' and 'to' to send a test message", json!({}));
            return Ok(());
        }
        let reply = self.command(conn, commands::DATA, "send").await?;
        if reply.code != 354 {
            return Err(self.fail("send", SendError::from_reply(ErrorKind::DataRejected, Stage::Data, "the server refused DATA", reply), json!({})));
        }
        let composed = self
            .message
            .take()
            .unwrap_or_else(|| test_message(self.options.from.as_deref().unwrap_or(""), &self.options.to, &self.transport.helo).map(|m| m.data));
        let message = match composed {
            Ok(message) => message,
            Err(e) => {
                // Never an empty message: end the transaction without one and say why.
                let _ = conn.command(commands::RSET, &mut self.t, self.deadline).await;
                let detail = format!("the test message could not be composed: {e}");
                return Err(self.fail("send", failure(Stage::Data, Problem::Internal, detail), json!({})));
            }
        };
        let reply = match conn.send_data(&message, &mut self.t, self.deadline).await {
            Ok(reply) => reply,
            Err(e) => return Err(self.fail("send", e, json!({}))),
        };
        let accepted = reply.one_line();
        if let Err(refused) = judge_message(reply) {
            return Err(self.fail("send", refused, json!({})));
        }
        self.record("send", "ok", format!("test message accepted: {accepted}"), json!({ "reply": accepted }));
        Ok(())
    }

    /// An HTTPS API: the server's name, port and certificate as for SMTP (a TLS connection of its own, closed
    /// after the handshake), then what the token says, then the test message only with `send_test`.
    async fn walk_api(&mut self, provider: Provider) -> Result<(), Failure> {
        self.dns().await?;
        let mut conn = self.tcp().await?;
        self.tls(&mut conn).await?;
        drop(conn);
        let claims = self.token(provider)?;
        self.permission(provider, claims.as_ref())?;
        self.api_send().await
    }

    /// The bearer token (Graph, Gmail): a JWT's audience and expiry; an opaque token is only said to be one.
    fn token(&mut self, provider: Provider) -> Result<Option<Claims>, Failure> {
        self.begin();
        if matches!(provider, Provider::Ses | Provider::Mailgun) {
            let detail = format!("{} takes the key in password with each request: there is no token to read", provider.title());
            self.record("token", "skip", detail, json!({}));
            return Ok(None);
        }
        let token = self.transport.password.as_ref().map_or("", |s| s.0.as_str());
        let Some(claims) = jwt_claims(token) else {
            let detail = "an opaque access token (not a JWT): its expiry and scopes are not written in it";
            self.record("token", "ok", detail, json!({ "format": "opaque" }));
            return Ok(None);
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let data = json!({
            "format": "jwt",
            "audience": claims.audience,
            "expires_at": claims.exp,
            "roles": claims.roles,
            "scopes": claims.scopes,
        });
        if let Some(problem) = token_problem(provider, &claims, now) {
            let cause = match problem {
                TokenProblem::Expired(_) => Cause::ApiTokenExpired,
                TokenProblem::WrongAudience(_) => Cause::ApiTokenRejected,
            };
            return Err(self.fail("token", local_failure(ErrorKind::Auth, Stage::Auth, cause, problem.text()), data));
        }
        let audience = claims.audience.as_deref().map(|a| format!(" for {a}")).unwrap_or_default();
        let expiry = claims.exp.map(|exp| format!(", expires in {}", duration(exp - now))).unwrap_or_default();
        self.record("token", "ok", format!("a JWT access token{audience}{expiry}"), data);
        Ok(Some(claims))
    }

    /// Whether the token may send, read without sending: an app-only token's roles, a delegated token's scopes
    /// (its own, or `token_scopes`).
    fn permission(&mut self, provider: Provider, claims: Option<&Claims>) -> Result<(), Failure> {
        self.begin();
        if matches!(provider, Provider::Ses | Provider::Mailgun) {
            let detail = format!("not checked: {} says whether the key may send only when a message is sent (send_test)", provider.title());
            self.record("permission", "skip", detail, json!({}));
            return Ok(());
        }
        let permission = judge_permission(provider, claims, &self.options.token_scopes);
        let detail = permission_text(provider, &permission);
        match permission {
            Permission::Granted { grant, found } => {
                self.record("permission", "ok", detail, json!({ "grant": grant.as_str(), "found": found }));
                Ok(())
            }
            Permission::Missing { grant, have, need } => {
                let data = json!({ "grant": grant.as_str(), "has": have, "needs": need });
                Err(self.fail("permission", local_failure(ErrorKind::SenderRejected, Stage::Auth, Cause::ApiPermissionMissing, detail), data))
            }
            Permission::Unknown => {
                self.record("permission", "skip", detail, json!({}));
                Ok(())
            }
        }
    }

    /// `send_test` over the API: the test message sent as `rust_mail_send()` sends it.
    async fn api_send(&mut self) -> Result<(), Failure> {
        self.begin();
        if !self.will_send() {
            self.record("send", "skip", "nothing was sent: set send_test with 'from' and 'to' to send a test message", json!({}));
            return Ok(());
        }
        let message = match test_message(self.options.from.as_deref().unwrap_or(""), &self.options.to, &self.transport.helo) {
            Ok(message) => message,
            Err(e) => {
                return Err(self.fail("send", failure(Stage::Input, Problem::Internal, format!("the test message could not be composed: {e}")), json!({})))
            }
        };
        let http = match self.http.take().expect("an API walk has its client") {
            Ok(http) => http,
            Err(e) => return Err(self.fail("send", e, json!({}))),
        };
        let sent = client::exchange(&http, &self.transport, &message, self.deadline, &mut self.t).await;
        let data = json!({ "status": sent.status, "reply": sent.reply });
        match sent.outcome {
            Ok(()) => {
                self.record("send", "ok", format!("test message accepted: {}", sent.reply.unwrap_or_default()), data);
                Ok(())
            }
            Err(e) => Err(self.fail("send", e, data)),
        }
    }

    /// A command whose transport-level failure ends the walk at `step`.
    async fn command(&mut self, conn: &mut Connection, line: &str, step: &str) -> Result<Reply, Failure> {
        match conn.command(line, &mut self.t, self.deadline).await {
            Ok(reply) => Ok(reply),
            Err(e) => Err(self.fail(step, e, json!({}))),
        }
    }
}

/// The short message `send_test` delivers, composed like any other.
fn test_message(from: &str, to: &[String], helo: &str) -> Result<crate::message::Outgoing, UsageError> {
    let field = |name: &str, value: Value| (Key::Name(name.to_string()), value);
    let recipients = to.iter().enumerate().map(|(i, t)| (Key::Index(i as i64), Value::str(t))).collect();
    let message = [
        field("from", Value::str(from)),
        field("to", Value::Array(recipients)),
        field("subject", Value::str("rust-mail diagnostic test")),
        field("text", Value::str(&format!("This message was sent by rust_mail_diagnose() from {helo} to check that mail is delivered.\n"))),
    ];
    crate::message::from_value(&message, &crate::message::Limits::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_message_reports_a_build_error() {
        assert!(test_message("a@example.com", &["b@example.com".into()], "h").is_ok_and(|m| !m.data.is_empty()));
        assert!(test_message("not an address", &["b@example.com".into()], "h").is_err());
    }
}
