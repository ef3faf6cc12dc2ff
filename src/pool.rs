//! The per-process state: one tokio runtime and the idle connections.
//!
//! PHP-FPM loads the extension in its master process and then forks the
//! workers. Nothing here is created at module start-up, and every entry
//! checks that it runs in the process that created the state: a child that
//! inherited its parent's runtime or sockets abandons them, without ever
//! speaking on a connection that belongs to the parent.

use crate::smtp::client::Connection;
use crate::smtp::transcript::Transcript;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The ini setting that bounds how long a connection may sit idle in the pool.
pub const IDLE_TIMEOUT_INI: &str = "rust_mail.pool_idle_timeout";

/// Its default, in seconds: servers drop idle clients after a few minutes
/// (Postfix: 300 s), and a send should not have to discover that the hard way.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 120;

/// Idle connections older than this are closed instead of reused. Set from
/// the ini setting (PHP calls its handler at start-up and on every change).
static IDLE_TIMEOUT_SECS: AtomicU64 = AtomicU64::new(DEFAULT_IDLE_TIMEOUT_SECS);

/// The ini value as seconds: a whole number from 1 to 3600, else `None` (PHP then keeps the value it had).
pub fn parse_idle_timeout(value: &str) -> Option<u64> {
    value.trim().parse().ok().filter(|secs| (1..=3600).contains(secs))
}

pub fn set_idle_timeout(secs: u64) {
    IDLE_TIMEOUT_SECS.store(secs, Ordering::Relaxed);
}

pub fn idle_timeout() -> Duration {
    Duration::from_secs(IDLE_TIMEOUT_SECS.load(Ordering::Relaxed))
}

/// How long a QUIT may take when connections are closed on purpose: the
/// caller is waiting, and a server that does not answer is closed anyway.
const QUIT_WAIT: Duration = Duration::from_millis(500);

/// Idle connections kept per transport configuration.
const MAX_IDLE_PER_KEY: usize = 4;

pub struct ProcessState {
    pid: u32,
    /// A current-thread runtime: no worker threads exist between calls,
    /// which keeps a forked child free of threads it does not own.
    pub runtime: tokio::runtime::Runtime,
    idle: HashMap<u64, Vec<Connection>>,
    /// The HTTPS API clients, each keeping its connections alive, by [`crate::api::client::client_key`].
    pub http: HashMap<u64, crate::api::client::Http>,
}

static STATE: Mutex<Option<ProcessState>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<ProcessState>> {
    // A panic while the lock was held must not make every later send fail.
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProcessState {
    /// Takes an idle connection for this configuration, if a fresh one is there.
    pub fn take(&mut self, key: u64) -> Option<Connection> {
        self.evict_stale();
        let idle = self.idle.get_mut(&key)?;
        while let Some(conn) = idle.pop() {
            if conn.last_used.elapsed() < idle_timeout() {
                return Some(conn);
            }
            drop(conn); // dropping closes the socket; the server sees a plain close
        }
        None
    }

    /// Keeps `conn` for the next send; returns it when this configuration
    /// has [`MAX_IDLE_PER_KEY`] idle connections already (dropping it closes
    /// the socket; a caller that can wait says QUIT first).
    pub fn give_back(&mut self, key: u64, mut conn: Connection) -> Option<Connection> {
        self.evict_stale();
        conn.last_used = std::time::Instant::now();
        let idle = self.idle.entry(key).or_default();
        if idle.len() < MAX_IDLE_PER_KEY {
            idle.push(conn);
            None
        } else {
            Some(conn)
        }
    }

    /// Closes the idle connections of every configuration that sat longer
    /// than the idle timeout: a configuration that is never used again (an
    /// OAuth2 token that rotated, a changed password) must not strand its
    /// sockets for the life of the worker.
    fn evict_stale(&mut self) {
        let timeout = idle_timeout();
        self.idle.retain(|_, conns| {
            conns.retain(|conn| conn.last_used.elapsed() < timeout);
            !conns.is_empty()
        });
    }

    /// Says QUIT on every idle connection and closes it; returns how many. The HTTPS API clients go too, with
    /// their kept-alive connections (not counted: the client does not say how many it holds).
    pub fn close_idle(&mut self) -> usize {
        self.http.clear();
        let conns: Vec<Connection> = self.idle.drain().flat_map(|(_, conns)| conns).collect();
        let closed = conns.len();
        self.quit_all(conns);
        closed
    }

    /// Says QUIT on each connection, all at once, waiting at most [`QUIT_WAIT`].
    pub fn quit_all(&self, conns: Vec<Connection>) {
        if conns.is_empty() {
            return;
        }
        self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + QUIT_WAIT;
            let mut quits = tokio::task::JoinSet::new();
            for conn in conns {
                quits.spawn(async move { conn.quit(&mut Transcript::new(std::time::Instant::now()), deadline).await });
            }
            while quits.join_next().await.is_some() {}
        });
    }

    pub fn idle_count(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }
}

/// Runs `f` with this process's state, creating it on first use and
/// replacing it after a fork.
pub fn with_state<R>(f: impl FnOnce(&mut ProcessState) -> R) -> Result<R, String> {
    let mut guard = lock();
    let pid = std::process::id();
    if guard.as_ref().is_some_and(|s| s.pid != pid) {
        abandon_inherited(guard.take().expect("checked above"));
    }
    if guard.is_none() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        *guard = Some(ProcessState { pid, runtime, idle: HashMap::new(), http: HashMap::new() });
    }
    Ok(f(guard.as_mut().expect("created above")))
}

/// In a forked child: close our copies of the parent's sockets (the parent's
/// connections stay open) and leak the runtime, whose threads and epoll
/// instance belong to the parent.
fn abandon_inherited(state: ProcessState) {
    for conn in state.idle.into_values().flatten() {
        #[cfg(unix)]
        if let Some(fd) = conn.raw_fd() {
            // SAFETY: the fd is ours to close in this process; the Connection
            // is forgotten right after so it is never used or closed again.
            unsafe { libc::close(fd) };
        }
        std::mem::forget(conn);
    }
    // The HTTP clients' connections live in the parent's runtime too: never touched, never closed here.
    std::mem::forget(state.http);
    std::mem::forget(state.runtime);
}

/// `rust_mail_pool_close()`: closes this process's idle connections; returns how many.
pub fn close_idle() -> Result<usize, String> {
    with_state(ProcessState::close_idle)
}

/// At the end of the process (MSHUTDOWN: a CLI script's end, a PHP-FPM worker's exit): each idle connection says
/// QUIT, as RFC 5321 section 4.1.1.10 wants, instead of a bare close. Never in a forked child, whose connections
/// are its parent's; and no state is made for a process that never sent.
pub fn close_at_exit() {
    let mut guard = lock();
    if let Some(state) = guard.as_mut().filter(|s| s.pid == std::process::id()) {
        state.close_idle();
    }
}

/// For phpinfo(): idle connections in this process.
pub fn idle_connections() -> usize {
    let guard = lock();
    match guard.as_ref() {
        Some(s) if s.pid == std::process::id() => s.idle_count(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn idle_connections_of_other_keys_are_closed_after_the_idle_lifetime() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connect = || {
            let stream = runtime.block_on(tokio::net::TcpStream::connect(addr)).unwrap();
            let (server_side, _) = listener.accept().unwrap();
            (Connection::from_tcp(stream, addr), server_side)
        };
        let (old_token, mut old_server_side) = connect();
        let (fresh, _fresh_server_side) = connect();
        let mut state = ProcessState { pid: std::process::id(), runtime, idle: HashMap::new(), http: HashMap::new() };
        state.give_back(1, old_token);
        // The connection of key 1 (a token since rotated) has sat past the idle lifetime.
        state.idle.get_mut(&1).unwrap()[0].last_used = std::time::Instant::now() - idle_timeout() - Duration::from_secs(1);
        state.give_back(2, fresh);
        assert_eq!(state.idle_count(), 1);
        assert!(!state.idle.contains_key(&1));
        // Its socket is closed: the server reads end of file.
        old_server_side.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(old_server_side.read(&mut [0u8; 16]).unwrap(), 0);
        assert!(state.take(2).is_some());
    }

    #[test]
    fn idle_timeout_is_whole_seconds_from_1_to_3600() {
        assert_eq!(parse_idle_timeout(" 30 "), Some(30));
        assert_eq!(parse_idle_timeout("3600"), Some(3600));
        for bad in ["0", "3601", "-5", "2.5", "", "soon"] {
            assert_eq!(parse_idle_timeout(bad), None, "{bad}");
        }
    }
}
