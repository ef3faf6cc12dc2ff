//! One SMTP session over a stream: the greeting, EHLO, STARTTLS, commands
//! and replies, pipelined groups and BDAT chunks, DATA and QUIT.
//!
//! Every line that crosses the wire goes through [`Connection::write_line`]
//! or [`Connection::read_reply`], which record it in the transcript (secrets
//! redacted) and enforce the call's deadline.

use super::net::{self, Stream};
use crate::config::{starttls_decision, Security, StarttlsDecision, Transport};
use crate::smtp::commands;
use crate::smtp::data;
use crate::smtp::error::{CertProblem, ErrorKind, Problem, SendError, Stage, TlsProblem};
use crate::smtp::reply::{parse_line, Capabilities, LineParse, Reply};
use crate::smtp::tls::{self, TlsInfo};
use crate::smtp::transcript::{redact_client_line, Direction, Transcript};
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Longest reply line accepted; RFC 5321 section 4.5.3.1.5 sets 512 octets,
/// real servers send longer EHLO lines, nothing legitimate sends megabytes.
const MAX_LINE: usize = 16 * 1024;

/// Most lines and bytes in one reply. The longest real replies (an EHLO
/// list, a 5xx with a help text) are a few KiB; without a bound a server
/// could make every reply 1,000 lines of 16 KiB.
const MAX_REPLY_LINES: usize = 1000;
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// A failed TLS handshake, with what a diagnosis needs to explain it.
#[derive(Debug)]
pub struct TlsFailure {
    pub error: SendError,
    /// The handshake error itself; `None` for a timeout or a closed socket.
    pub cause: Option<rustls::Error>,
    /// The certificate the server presented, when it got that far.
    pub presented: Option<tls::CertInfo>,
}

impl From<TlsFailure> for SendError {
    fn from(failure: TlsFailure) -> SendError {
        failure.error
    }
}

/// How long opening a connection took, in milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenTimings {
    pub connect: f64,
    pub tls: f64,
}

pub struct Connection {
    io: Option<BufReader<Stream>>,
    pub peer: SocketAddr,
    pub banner: String,
    pub capabilities: Capabilities,
    pub tls: Option<TlsInfo>,
    pub authenticated: bool,
    pub last_used: std::time::Instant,
}

/// The largest BDAT chunk copied behind its command lines into one write; a larger one is written from where it is.
const INLINE_CHUNK: usize = 64 * 1024;

fn io_error(e: io::Error, stage: Stage) -> SendError {
    let while_doing = stage.waiting_for();
    match e.kind() {
        io::ErrorKind::UnexpectedEof => SendError::new(ErrorKind::Protocol, stage, Problem::Closed, format!("the server closed the connection {while_doing}")),
        kind => SendError::new(ErrorKind::Protocol, stage, Problem::Io(kind), format!("connection failed {while_doing}: {e}")),
    }
}

fn timeout_error(stage: Stage) -> SendError {
    SendError::new(ErrorKind::Timeout, stage, Problem::Timeout, format!("the server did not answer {} before the timeout", stage.waiting_for()))
}

/// Security 'starttls' and no STARTTLS in the EHLO reply: stop before
/// anything goes in clear text (RFC 3207 section 4: the client decides).
pub fn starttls_not_offered(host: &str) -> SendError {
    let detail = format!("{host} does not offer STARTTLS, and security is 'starttls': nothing was sent in clear text");
    SendError::new(ErrorKind::Tls, Stage::Ehlo, Problem::StarttlsNotOffered, detail)
}

impl Connection {
    /// Connects, reads the greeting, says EHLO and sets up TLS as the
    /// transport asks. Authentication is a separate step.
    pub async fn open(transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<(Connection, OpenTimings), SendError> {
        let started = t.elapsed_ms();
        let (stream, peer) = net::connect(&transport.host, transport.port, t, deadline).await?;

        let mut conn = Connection::from_tcp(stream, peer);
        let mut timings = OpenTimings::default();
        if transport.security == Security::Tls {
            timings.tls += conn.timed_start_tls(transport, t, deadline).await?;
        }

        let greeting = conn.read_reply(t, deadline, Stage::Greeting).await?;
        if greeting.code != 220 {
            return Err(SendError::from_reply(ErrorKind::Protocol, Stage::Greeting, "the server refused the session in its greeting", greeting));
        }
        conn.banner = greeting.lines.first().cloned().unwrap_or_default();
        conn.ehlo(transport, t, deadline).await?;

        match starttls_decision(transport.security, conn.capabilities.has("STARTTLS")) {
            StarttlsDecision::Fail => return Err(starttls_not_offered(&transport.host)),
            StarttlsDecision::Upgrade => {
                conn.request_starttls(t, deadline).await?;
                timings.tls += conn.timed_start_tls(transport, t, deadline).await?;
                conn.ehlo_after_starttls(transport, t, deadline).await?;
            }
            StarttlsDecision::Skip | StarttlsDecision::Warn => {}
        }
        // Everything up to here that was not the TLS handshake: DNS, TCP,
        // greeting and EHLO.
        timings.connect = t.elapsed_ms() - started - timings.tls;
        Ok((conn, timings))
    }

    /// Asks for STARTTLS (RFC 3207 section 4): only a 220 lets the handshake begin.
    pub async fn request_starttls(&mut self, t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        let reply = self.command(commands::STARTTLS, t, deadline).await?;
        if reply.code != 220 {
            return Err(SendError::from_reply(ErrorKind::Tls, Stage::Starttls, "the server refused STARTTLS", reply));
        }
        Ok(())
    }

    /// EHLO again once STARTTLS has made the connection TLS: what was learnt
    /// before no longer counts (RFC 3207 section 4.2).
    pub async fn ehlo_after_starttls(&mut self, transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        self.ehlo(transport, t, deadline).await.map_err(|mut e| {
            e.message = format!("after STARTTLS, {}", e.message);
            e
        })
    }

    pub fn from_tcp(stream: TcpStream, peer: SocketAddr) -> Connection {
        Connection {
            io: Some(BufReader::new(Stream::Plain(stream))),
            peer,
            banner: String::new(),
            capabilities: Capabilities::default(),
            tls: None,
            authenticated: false,
            last_used: std::time::Instant::now(),
        }
    }

    /// EHLO, or HELO for a server that does not know EHLO; sets `capabilities`.
    pub async fn ehlo(&mut self, transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        let reply = self.command(&commands::ehlo(&transport.helo), t, deadline).await?;
        self.capabilities = if reply.code == 250 {
            Capabilities::from_ehlo(&reply)
        } else if (400..500).contains(&reply.code) {
            // A transient refusal (a 421 from a server over its limit of
            // connections, RFC 5321 section 4.2.2) is not a server that does
            // not know EHLO: HELO would only be refused again.
            return Err(SendError::from_reply(ErrorKind::Protocol, Stage::Ehlo, "the server refused EHLO for now", reply));
        } else {
            // RFC 5321 section 3.2: a server that does not know EHLO gets HELO.
            let helo = self.command(&commands::helo(&transport.helo), t, deadline).await?;
            if helo.code != 250 {
                return Err(SendError::from_reply(ErrorKind::Protocol, Stage::Ehlo, "the server refused EHLO and HELO", helo));
            }
            Capabilities::default()
        };
        Ok(())
    }

    /// [`Self::start_tls`], returning how long the handshake took in ms.
    async fn timed_start_tls(&mut self, transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<f64, TlsFailure> {
        let started = t.elapsed_ms();
        self.start_tls(transport, t, deadline).await?;
        Ok(t.elapsed_ms() - started)
    }

    /// Wraps the connection in TLS. Data the server sent before the
    /// handshake is thrown away (RFC 3207 section 4: STARTTLS injection).
    pub async fn start_tls(&mut self, transport: &Transport, t: &mut Transcript, deadline: Instant) -> Result<(), TlsFailure> {
        let failure = |error: SendError| TlsFailure { error, cause: None, presented: None };
        let tcp = match self.io.take().map(BufReader::into_inner) {
            Some(Stream::Plain(tcp)) => tcp,
            _ => return Err(failure(SendError::new(ErrorKind::Protocol, Stage::TlsHandshake, Problem::Internal, "TLS requested twice on one connection"))),
        };
        let config_error = |m: String| SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(TlsProblem::Config), m);
        let (config, verifier) = tls::client_config(transport).map_err(|m| failure(config_error(m)))?;
        let server_name = rustls::pki_types::ServerName::try_from(transport.host.clone())
            .map_err(|_| failure(config_error(format!("'{}' cannot be checked against a certificate", transport.host))))?;
        t.info("starting TLS handshake");
        let handshake = tokio_rustls::TlsConnector::from(config).connect(server_name, tcp);
        let presented = || verifier.presented.lock().unwrap_or_else(|e| e.into_inner()).as_deref().and_then(tls::cert_info);
        let stream = match timeout_at(deadline, handshake).await {
            Err(_) => return Err(failure(timeout_error(Stage::TlsHandshake))),
            Ok(Err(e)) => {
                let cause = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).cloned();
                let (problem, message) = match &cause {
                    Some(tls_error) => (tls::problem(tls_error), tls::describe_error(tls_error, &transport.host, presented().as_ref())),
                    None if e.kind() == io::ErrorKind::UnexpectedEof => {
                        (TlsProblem::Closed, "the server closed the connection during the TLS handshake".to_string())
                    }
                    None => (TlsProblem::Other, format!("TLS handshake failed: {e}")),
                };
                // The certificate check names a self-signed certificate whatever rustls tripped on first.
                let problem = match (problem, presented()) {
                    (TlsProblem::Certificate(CertProblem::UnknownIssuer | CertProblem::BadSignature | CertProblem::Other), Some(cert)) if cert.self_signed => {
                        TlsProblem::Certificate(CertProblem::SelfSigned)
                    }
                    (problem, _) => problem,
                };
                t.info(format!("TLS failed: {message}"));
                let error = SendError::new(ErrorKind::Tls, Stage::TlsHandshake, Problem::Tls(problem), message);
                return Err(TlsFailure { error, cause, presented: presented() });
            }
            Ok(Ok(stream)) => stream,
        };
        let (_, session) = stream.get_ref();
        let info = TlsInfo {
            version: session.protocol_version().map(tls::version_name).unwrap_or_default(),
            cipher: session.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
            certificate: presented(),
        };
        t.info(format!("TLS established: {} {}", info.version, info.cipher));
        self.tls = Some(info);
        self.io = Some(BufReader::new(Stream::Tls(Box::new(stream))));
        Ok(())
    }

    fn io(&mut self, stage: Stage) -> Result<&mut BufReader<Stream>, SendError> {
        self.io.as_mut().ok_or_else(|| SendError::new(ErrorKind::Protocol, stage, Problem::Closed, "the connection is closed"))
    }

    /// Writes one line; `secret` marks an answer to a 334 challenge.
    pub async fn write_line(&mut self, line: &str, secret: bool, t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        self.write_lines(&[line], secret, t, deadline).await
    }

    /// Writes several command lines in one write: a pipelined group
    /// (RFC 2920) whose replies are then read in order.
    pub async fn write_lines(&mut self, lines: &[&str], secret: bool, t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        self.write_lines_and(lines, secret, &[], t, deadline).await
    }

    /// [`Self::write_lines`], then `chunk` in the same write: the message
    /// after a `BDAT <n> LAST` line (RFC 3030). The transcript notes its
    /// size, never its content.
    pub async fn write_lines_and_chunk(&mut self, lines: &[&str], chunk: &[u8], t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        self.write_lines_and(lines, false, chunk, t, deadline).await
    }

    async fn write_lines_and(&mut self, lines: &[&str], secret: bool, chunk: &[u8], t: &mut Transcript, deadline: Instant) -> Result<(), SendError> {
        // A small chunk goes in the same buffer as the lines, so that a mail is one segment on the wire; a large one
        // is written after them from where it is, not copied.
        let inline = chunk.len() <= INLINE_CHUNK;
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum::<usize>() + if inline { chunk.len() } else { 0 });
        for line in lines {
            t.push(Direction::Client, redact_client_line(line, secret));
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        if !chunk.is_empty() {
            t.push(Direction::Client, format!("[message: {} bytes]", chunk.len()));
            if inline {
                bytes.extend_from_slice(chunk);
            }
        }
        let stage = lines.first().map(|l| Stage::of_command(l)).unwrap_or(Stage::Auth);
        let stage = if secret { Stage::Auth } else { stage };
        self.write_all(&[&bytes, if inline { &[] } else { chunk }], deadline, stage).await
    }

    /// One write of `parts` one after the other (flushed through TLS), bounded by the deadline.
    async fn write_all(&mut self, parts: &[&[u8]], deadline: Instant, stage: Stage) -> Result<(), SendError> {
        let io = self.io(stage)?;
        let write = async {
            for part in parts {
                io.write_all(part).await?;
            }
            io.flush().await
        };
        timeout_at(deadline, write).await.map_err(|_| timeout_error(stage))?.map_err(|e| io_error(e, stage))
    }

    /// Reads one complete reply, every line recorded.
    pub async fn read_reply(&mut self, t: &mut Transcript, deadline: Instant, stage: Stage) -> Result<Reply, SendError> {
        let mut texts = Vec::new();
        let mut reply_bytes = 0;
        loop {
            let mut raw = Vec::new();
            if self.io.as_ref().is_some_and(|io| io.buffer().is_empty()) {
                self.ack_now();
            }
            let io = self.io(stage)?;
            let read = async {
                let n = (&mut *io).take(MAX_LINE as u64).read_until(b'\n', &mut raw).await?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof"));
                }
                Ok(())
            };
            timeout_at(deadline, read).await.map_err(|_| timeout_error(stage))?.map_err(|e| io_error(e, stage))?;
            reply_bytes += raw.len();
            let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_string();
            t.push(Direction::Server, line.clone());
            check_reply_size(&raw, texts.len() + 1, reply_bytes).map_err(|m| SendError::new(ErrorKind::Protocol, stage, Problem::ReplyTooLarge, m))?;
            match parse_line(&line) {
                Some(LineParse::More(_, text)) => texts.push(text),
                Some(LineParse::Last(code, text)) => {
                    texts.push(text);
                    return Ok(Reply::new(code, texts));
                }
                None => {
                    let shown: String = line.chars().filter(|c| !c.is_control()).take(80).collect();
                    return Err(SendError::new(ErrorKind::Protocol, stage, Problem::NotSmtp, format!("the server's answer is not SMTP: '{shown}'")));
                }
            }
        }
    }

    pub async fn command(&mut self, line: &str, t: &mut Transcript, deadline: Instant) -> Result<Reply, SendError> {
        self.write_line(line, false, t, deadline).await?;
        self.read_reply(t, deadline, Stage::of_command(line)).await
    }

    /// Sends the message after a 354, as [`data::on_the_wire`] makes it, in
    /// a single write together with the terminating ".".
    pub async fn send_data(&mut self, data: &[u8], t: &mut Transcript, deadline: Instant) -> Result<Reply, SendError> {
        let wire = data::on_the_wire(data);
        t.push(Direction::Client, format!("[message: {} bytes]", data.len()));
        t.push(Direction::Client, ".");
        self.write_all(&[&wire], deadline, Stage::Message).await?;
        self.read_reply(t, deadline, Stage::Message).await
    }

    /// Says goodbye politely, without waiting long for the answer and never
    /// past the call's deadline.
    pub async fn quit(mut self, t: &mut Transcript, deadline: Instant) {
        let deadline = deadline.min(Instant::now() + std::time::Duration::from_millis(500));
        let _ = self.command(commands::QUIT, t, deadline).await;
        if let Some(mut io) = self.io.take() {
            let _ = timeout_at(deadline, io.shutdown()).await;
        }
    }

    /// Acknowledges what the server sent so far at once, before waiting for
    /// more. A server whose replies go out without TCP_NODELAY (Postfix)
    /// holds its next reply back until the previous one is acknowledged
    /// (Nagle), and Linux delays that acknowledgement up to 40 ms when this
    /// side has nothing to send: with BDAT, the replies to MAIL and RCPT
    /// can leave while the chunk still arrives, and the final reply then
    /// waited on it. TCP_QUICKACK sends a pending acknowledgement now.
    fn ack_now(&self) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.raw_fd() {
            net::ack_now(fd);
        }
    }

    /// The socket's file descriptor, so that a forked child can close its
    /// copy without speaking on the parent's connection.
    #[cfg(unix)]
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.io.as_ref().map(|io| io.get_ref().raw_fd())
    }
}

/// Refuses a reply that has grown past what any real server sends, as it
/// is read, so that a hostile server cannot fill memory. `line` is the
/// last line read, `lines` and `bytes` count the reply so far.
fn check_reply_size(line: &[u8], lines: usize, bytes: usize) -> Result<(), String> {
    let problem = if line.len() >= MAX_LINE && !line.ends_with(b"\n") {
        format!("a reply line longer than {} KiB", MAX_LINE / 1024)
    } else if lines > MAX_REPLY_LINES {
        format!("a reply of more than {MAX_REPLY_LINES} lines")
    } else if bytes > MAX_REPLY_BYTES {
        format!("a reply of more than {} KiB", MAX_REPLY_BYTES / 1024)
    } else {
        return Ok(());
    };
    Err(format!("the server sent {problem}, the most this client reads"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_bounded_in_lines_and_bytes() {
        assert!(check_reply_size(b"250 ok\r\n", 1, 8).is_ok());
        assert!(check_reply_size(b"250-x\r\n", MAX_REPLY_LINES, MAX_REPLY_BYTES).is_ok());
        let error = |line: &[u8], lines, bytes| check_reply_size(line, lines, bytes).unwrap_err();
        assert_eq!(error(b"250-x\r\n", MAX_REPLY_LINES + 1, 8000), "the server sent a reply of more than 1000 lines, the most this client reads");
        assert_eq!(error(b"250-x\r\n", 10, MAX_REPLY_BYTES + 1), "the server sent a reply of more than 64 KiB, the most this client reads");
        let unended = vec![b'x'; MAX_LINE];
        assert_eq!(error(&unended, 1, MAX_LINE), "the server sent a reply line longer than 16 KiB, the most this client reads");
        // A last line cut short by a closed connection is not too long.
        assert!(check_reply_size(b"250 o", 1, 5).is_ok());
    }
}
