//! The per-process state: one tokio runtime and the idle connections.
//!
//! PHP-FPM loads the extension in its master process and then forks the
//! workers. Nothing here is created at module start-up, and every entry
//! checks that it runs in the process that created the state: a child that
//! inherited its parent's runtime or sockets abandons them, without ever
//! speaking on a connection that belongs to the parent.

use crate::smtp::client::Connection;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Idle connections older than this are closed instead of reused: servers
/// drop idle clients after a few minutes (Postfix: 300 s), and a send should
/// not have to discover that the hard way.
const MAX_IDLE: Duration = Duration::from_secs(120);

/// Idle connections kept per transport configuration.
const MAX_IDLE_PER_KEY: usize = 4;

pub struct ProcessState {
    pid: u32,
    /// A current-thread runtime: no worker threads exist between calls,
    /// which keeps a forked child free of threads it does not own.
    pub runtime: tokio::runtime::Runtime,
    idle: HashMap<u64, Vec<Connection>>,
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
            if conn.last_used.elapsed() < MAX_IDLE {
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
    /// than [`MAX_IDLE`]: a configuration that is never used again (an
    /// OAuth2 token that rotated, a changed password) must not strand its
    /// sockets for the life of the worker.
    fn evict_stale(&mut self) {
        self.idle.retain(|_, conns| {
            conns.retain(|conn| conn.last_used.elapsed() < MAX_IDLE);
            !conns.is_empty()
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        *guard = Some(ProcessState { pid, runtime, idle: HashMap::new() });
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
    std::mem::forget(state.runtime);
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
        let mut state = ProcessState { pid: std::process::id(), runtime, idle: HashMap::new() };
        state.give_back(1, old_token);
        // The connection of key 1 (a token since rotated) has sat past the idle lifetime.
        state.idle.get_mut(&1).unwrap()[0].last_used = std::time::Instant::now() - MAX_IDLE - Duration::from_secs(1);
        state.give_back(2, fresh);
        assert_eq!(state.idle_count(), 1);
        assert!(!state.idle.contains_key(&1));
        // Its socket is closed: the server reads end of file.
        old_server_side.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(old_server_side.read(&mut [0u8; 16]).unwrap(), 0);
        assert!(state.take(2).is_some());
    }
}
