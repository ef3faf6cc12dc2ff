//! The network under a session: resolving the host, connecting over TCP
//! (with the socket options a fast session needs), and the stream that is
//! plain or TLS.

use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::transcript::Transcript;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Stream {
    /// The socket's file descriptor, plain or under TLS.
    #[cfg(unix)]
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.get_ref().0.as_raw_fd(),
        }
    }
}

/// Resolves the transport's host. Errors are `dns` errors.
pub async fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, SendError> {
    let lookup = timeout_at(deadline, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| SendError::new(ErrorKind::Dns, Stage::Dns, Problem::Timeout, format!("looking up {host} took longer than the timeout")))?;
    let addrs: Vec<SocketAddr> =
        lookup.map_err(|e| SendError::new(ErrorKind::Dns, Stage::Dns, Problem::Unresolved, format!("cannot resolve {host}: {e}")))?.collect();
    if addrs.is_empty() {
        return Err(SendError::new(ErrorKind::Dns, Stage::Dns, Problem::Unresolved, format!("{host} has no address")));
    }
    Ok(addrs)
}

/// Why a TCP connection could not be made. The difference matters to a
/// person: refused means the host answered and nothing listens; a timeout
/// means something on the way drops the packets.
#[derive(Debug)]
pub enum ConnectFailure {
    Refused,
    Timeout,
    Unreachable(io::Error),
    Other(io::Error),
}

impl ConnectFailure {
    pub fn state(&self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::Timeout => "timeout",
            ConnectFailure::Unreachable(_) => "unreachable",
            ConnectFailure::Other(_) => "error",
        }
    }

    /// What happened, for `addr` (an address, or a host name and port).
    pub fn describe(&self, addr: impl std::fmt::Display) -> String {
        match self {
            ConnectFailure::Timeout => format!("no answer from {addr} before the timeout: a firewall may be dropping the connection"),
            ConnectFailure::Refused => format!("{addr} refused the connection: nothing listens on that port"),
            ConnectFailure::Unreachable(e) => format!("{addr} is unreachable: {e}"),
            ConnectFailure::Other(e) => format!("cannot connect to {addr}: {e}"),
        }
    }

    pub fn into_send_error(self, addr: impl std::fmt::Display) -> SendError {
        let (kind, problem) = match self {
            ConnectFailure::Timeout => (ErrorKind::ConnectTimeout, Problem::ConnectTimeout),
            ConnectFailure::Refused | ConnectFailure::Other(_) => (ErrorKind::ConnectRefused, Problem::ConnectRefused),
            ConnectFailure::Unreachable(_) => (ErrorKind::ConnectTimeout, Problem::Unreachable),
        };
        SendError::new(kind, Stage::Connect, problem, self.describe(addr))
    }
}

/// The failure to report when every address failed: a refusal (the host
/// answered) says more than a timeout, so it wins; else the last one.
pub fn pick_connect_failure(failures: Vec<(SocketAddr, ConnectFailure)>) -> Option<SendError> {
    let refused = failures.iter().position(|(_, f)| matches!(f, ConnectFailure::Refused | ConnectFailure::Other(_)));
    let mut failures = failures;
    let (addr, failure) = match refused {
        Some(i) => failures.swap_remove(i),
        None => failures.pop()?,
    };
    Some(failure.into_send_error(addr))
}

/// One TCP connection attempt.
pub async fn connect_tcp(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, ConnectFailure> {
    let stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
        Err(_) => return Err(ConnectFailure::Timeout),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => return Err(ConnectFailure::Refused),
        Ok(Err(e)) if matches!(e.raw_os_error(), Some(libc::ENETUNREACH | libc::EHOSTUNREACH)) => return Err(ConnectFailure::Unreachable(e)),
        Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => return Err(ConnectFailure::Timeout),
        Ok(Err(e)) => return Err(ConnectFailure::Other(e)),
        Ok(Ok(stream)) => stream,
    };
    // Each command and the message go out in one write; without NODELAY the
    // kernel would hold the last segment back waiting for the server's
    // delayed ACK (about 40 ms per message on loopback).
    stream.set_nodelay(true).map_err(ConnectFailure::Other)?;
    Ok(stream)
}

/// Resolves `host` and connects to its addresses in turn (see [`connect_first`]).
pub async fn connect(host: &str, port: u16, t: &mut Transcript, deadline: Instant) -> Result<(TcpStream, SocketAddr), SendError> {
    let addrs = resolve(host, port, deadline).await?;
    connect_first(&addrs, host, t, deadline).await.0
}

/// One address tried: how it answered and how long that took.
pub struct Attempt {
    pub addr: SocketAddr,
    /// [`ConnectFailure::state`], or "open".
    pub state: &'static str,
    pub ms: f64,
}

/// Connects to `addrs` (those of `host`) in turn, each attempt noted in the
/// transcript; the first that answers wins. The send path and the
/// diagnosis both connect so; the diagnosis also reports the attempts.
pub async fn connect_first(
    addrs: &[SocketAddr],
    host: &str,
    t: &mut Transcript,
    deadline: Instant,
) -> (Result<(TcpStream, SocketAddr), SendError>, Vec<Attempt>) {
    let mut attempts = Vec::new();
    let mut failures = Vec::new();
    for &addr in addrs {
        let started = t.elapsed_ms();
        t.info(format!("connecting to {addr} ({host})"));
        let outcome = connect_tcp(addr, deadline).await;
        let state = outcome.as_ref().map_or_else(ConnectFailure::state, |_| "open");
        attempts.push(Attempt { addr, state, ms: t.elapsed_ms() - started });
        match outcome {
            Ok(stream) => {
                t.info(format!("connected to {addr}"));
                return (Ok((stream, addr)), attempts);
            }
            Err(failure) => {
                t.info(failure.describe(addr));
                failures.push((addr, failure));
            }
        }
    }
    let failed = pick_connect_failure(failures)
        .unwrap_or_else(|| SendError::new(ErrorKind::ConnectTimeout, Stage::Connect, Problem::ConnectTimeout, format!("{host} has no address to connect to")));
    (Err(failed), attempts)
}

/// Acknowledges at once what arrived on the socket `fd` so far
/// (TCP_QUICKACK); see [`super::Connection`]'s reads for why.
#[cfg(target_os = "linux")]
pub fn ack_now(fd: std::os::fd::RawFd) {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket of this connection and an int option of the right size; failure is harmless.
    unsafe {
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, std::ptr::addr_of!(on).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t);
    }
}
