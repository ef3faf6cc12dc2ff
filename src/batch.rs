//! `rust_mail_send_many()`: a list of at most `max_messages` messages over up
//! to `connections` parallel connections of one transport, at most
//! `per_minute` started a minute, all within `timeout`. Each message is sent
//! exactly as `rust_mail_send()` sends it and gets the same result array, in
//! order.

use crate::config::Transport;
use crate::error::UsageError;
use crate::message::Outgoing;
use crate::message::{Limits, LIMIT_KEYS};
use crate::pool;
use crate::result::SendResult;
use crate::send;
use crate::smtp::client::Connection;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::value::{Fields, Key, Value};
use serde_json::Value as Json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{futures::Notified, Notify};
use tokio::time::Instant;

/// Most parallel connections one call opens.
pub const MAX_CONNECTIONS: i64 = 32;
pub const DEFAULT_CONNECTIONS: usize = 4;

/// Most messages one call takes, unless `max_messages` says otherwise. Every
/// message of a call is read and composed before the first is sent, and held
/// until its turn, outside PHP's memory_limit (20 MB for a thousand messages
/// of 20 KB), and each result takes 5 to 7 KiB of PHP's memory.
pub const DEFAULT_MAX_MESSAGES: usize = 1000;

/// The batch's timeout, unless given: this many times the transport's own
/// timeout, at most [`MAX_TIMEOUT`]. With the default 30 s that is 5
/// minutes, in which four connections send the default thousand messages even
/// at a second each, while a server that stalls every message can no longer
/// hold the PHP process for hours (a thousand times 30 s over four
/// connections: two hours).
pub const DEFAULT_TIMEOUT_SENDS: u32 = 10;
/// The longest timeout a call takes, as for `$transport['timeout']`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    pub connections: usize,
    /// More messages than this in one call are refused before any is read.
    pub max_messages: usize,
    /// Messages started per minute, evenly spaced: never more than this in
    /// any 60 seconds.
    pub per_minute: Option<u32>,
    /// For the whole call; `None`: the default of [`BatchOptions::timeout_for`].
    /// Each message also keeps the transport's own timeout.
    pub timeout: Option<Duration>,
    /// Which results keep their transcript: a transcript is most of a
    /// result's memory (some KiB in PHP), which a long batch multiplies.
    pub transcripts: Transcripts,
    /// What each message may take in (its attachments read from files).
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transcripts {
    All,
    Failed,
    None,
}

impl Transcripts {
    /// Whether a result keeps its transcript.
    pub fn keep(self, ok: bool) -> bool {
        match self {
            Transcripts::All => true,
            Transcripts::Failed => !ok,
            Transcripts::None => false,
        }
    }
}

impl BatchOptions {
    pub fn from_value(entries: &[(Key, Value)]) -> Result<BatchOptions, UsageError> {
        let keys = [&["connections", "max_messages", "per_minute", "timeout", "transcripts"], LIMIT_KEYS].concat();
        let f = Fields::new("options", entries, &keys)?;
        let connections = match f.int("connections")? {
            None => DEFAULT_CONNECTIONS,
            Some(n) if (1..=MAX_CONNECTIONS).contains(&n) => n as usize,
            Some(n) => return Err(UsageError::new(format!("{} must be between 1 and {MAX_CONNECTIONS}, got {n}", f.path("connections")))),
        };
        let max_messages = match f.int("max_messages")? {
            None => DEFAULT_MAX_MESSAGES,
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => return Err(UsageError::new(format!("{} must be a positive number of messages, got {n}", f.path("max_messages")))),
        };
        let per_minute = match f.int("per_minute")? {
            None => None,
            Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => Some(n as u32),
            Some(n) => return Err(UsageError::new(format!("{} must be a positive number of messages, got {n}", f.path("per_minute")))),
        };
        let transcripts = match f.choice("transcripts", &["all", "failed", "none"])? {
            Some("failed") => Transcripts::Failed,
            Some("none") => Transcripts::None,
            _ => Transcripts::All,
        };
        let timeout = f.seconds("timeout")?.map(Duration::from_secs_f64);
        Ok(BatchOptions { connections, max_messages, per_minute, timeout, transcripts, limits: Limits::from_fields(&f)? })
    }

    /// Refuses a call of more than `max_messages` messages before any of them
    /// is read: nothing is sent, and nothing is held for them.
    pub fn check_count(&self, count: usize) -> Result<(), UsageError> {
        if count <= self.max_messages {
            return Ok(());
        }
        Err(UsageError::new(format!(
            "$messages has {count} messages, more than the {} one call sends ($options['max_messages']): send them in \
             several calls, or raise max_messages; nothing was sent",
            self.max_messages
        )))
    }

    /// The batch's timeout: as given, else [`DEFAULT_TIMEOUT_SENDS`] times the
    /// transport's timeout, at most [`MAX_TIMEOUT`].
    pub fn timeout_for(&self, transport: &Transport) -> Duration {
        self.timeout.unwrap_or_else(|| (transport.timeout * DEFAULT_TIMEOUT_SENDS).min(MAX_TIMEOUT))
    }
}

/// What the workers share: the queue, and a signal that a message in flight
/// finished or came back.
struct Shared {
    queue: Mutex<Queue>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next message for a worker, with its rate slot (taken together, so
    /// that slots go in message order); or a wait while others are in
    /// flight; or the end. A message that could not be read gets its result
    /// here.
    fn take(&self, plan: &Plan) -> Take<'_> {
        let mut q = self.lock();
        loop {
            let (index, again) = match q.again.pop() {
                Some(index) => (index, true),
                None if q.next < q.messages.len() => {
                    q.next += 1;
                    (q.next - 1, false)
                }
                // Made before the lock is let go, so no finish is missed.
                None if q.in_flight > 0 => return Take::Wait(self.changed.notified()),
                None => {
                    q.workers -= 1;
                    return Take::Done;
                }
            };
            match q.messages[index].take().expect("a message is taken by one worker at a time") {
                Err(e) => q.results[index] = SendResult::invalid_input(&e).to_json(&[]),
                Ok(message) => {
                    q.in_flight += 1;
                    // A message handed back had its slot already.
                    let slot = if again {
                        plan.start
                    } else {
                        q.started += 1;
                        plan.slot(q.started - 1)
                    };
                    return Take::Send(index, slot, message);
                }
            }
        }
    }

    /// A message's result: it is no longer in flight.
    fn finish(&self, index: usize, result: Json) {
        let mut q = self.lock();
        q.results[index] = result;
        q.in_flight -= 1;
        self.changed.notify_waiters();
    }

    /// Gives the message of a worker whose connection was turned away to the
    /// other workers and ends that worker; false when no other worker is
    /// left to take it (the message keeps its failure).
    fn hand_back(&self, index: usize, message: Outgoing) -> bool {
        let mut q = self.lock();
        if q.workers == 1 {
            return false;
        }
        q.messages[index] = Some(Ok(message));
        q.again.push(index);
        q.in_flight -= 1;
        q.workers -= 1;
        self.changed.notify_waiters();
        true
    }
}

enum Take<'a> {
    Send(usize, Instant, Outgoing),
    Wait(Notified<'a>),
    Done,
}

/// The messages not yet taken (each is dropped once sent, so a long batch
/// does not hold every message to the end), the next to take, how many have
/// been started (for the rate), and the results.
struct Queue {
    messages: Vec<Option<Result<Outgoing, UsageError>>>,
    next: usize,
    /// Messages handed back by a worker whose connection the server turned
    /// away, for the workers that still have one.
    again: Vec<usize>,
    started: u32,
    results: Vec<Json>,
    /// Workers still running.
    workers: usize,
    /// Messages a worker is sending now: while there are any, a worker with
    /// nothing to take waits, as one of them may come back.
    in_flight: usize,
}

/// When each message may start, and the end of the batch.
#[derive(Clone, Copy)]
struct Plan {
    start: Instant,
    interval: Option<Duration>,
    deadline: Instant,
    /// Whether the deadline is the default one: a message it leaves unsent says so.
    default_deadline: bool,
    transcripts: Transcripts,
}

impl Plan {
    /// The earliest start of the `n`th message sent (0-based).
    fn slot(&self, n: u32) -> Instant {
        match self.interval {
            Some(interval) => self.start + interval * n,
            None => self.start,
        }
    }
}

/// Sends every message; one result per message, in the order given.
pub fn send_many(messages: Vec<Result<Outgoing, UsageError>>, transport: &Transport, options: &BatchOptions) -> Result<Vec<Json>, String> {
    if transport.api.is_some() {
        return crate::api::client::send_many(messages, transport, options);
    }
    let key = transport.pool_key();
    // At least one worker, which also reports messages that cannot be read when no message can.
    let workers = options.connections.min(messages.iter().filter(|m| m.is_ok()).count()).max(1);
    pool::with_state(|state| {
        let pooled: Vec<Connection> = if transport.pool { (0..workers).map_while(|_| state.take(key)).collect() } else { Vec::new() };
        let (results, open) = state.runtime.block_on(run(messages, transport, options, workers, pooled))?;
        let mut extra = Vec::new();
        for conn in open {
            if transport.pool {
                extra.extend(state.give_back(key, conn));
            } else {
                extra.push(conn);
            }
        }
        // Connections the pool has no room for (or with pool off) say QUIT.
        state.quit_all(extra);
        Ok(results)
    })?
}

type Finished = (Vec<Json>, Vec<Connection>);

async fn run(
    messages: Vec<Result<Outgoing, UsageError>>,
    transport: &Transport,
    options: &BatchOptions,
    workers: usize,
    mut pooled: Vec<Connection>,
) -> Result<Finished, String> {
    let start = Instant::now();
    let plan = Plan {
        start,
        interval: options.per_minute.map(|n| Duration::from_secs(60) / n),
        deadline: start + options.timeout_for(transport),
        default_deadline: options.timeout.is_none(),
        transcripts: options.transcripts,
    };
    let results = vec![Json::Null; messages.len()];
    let messages = messages.into_iter().map(Some).collect();
    let queue = Queue { messages, next: 0, again: Vec::new(), started: 0, results, workers, in_flight: 0 };
    let shared = Arc::new(Shared { queue: Mutex::new(queue), changed: Notify::new() });
    let transport = Arc::new(transport.clone());
    // A current-thread runtime: the workers take turns on this thread,
    // each waiting on its own connection.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        tasks.spawn(worker(shared.clone(), transport.clone(), pooled.pop(), plan));
    }
    let mut open = pooled; // idle connections no worker needed
    while let Some(done) = tasks.join_next().await {
        open.extend(done.map_err(|e| format!("a send_many worker failed: {e}"))?);
    }
    let results = std::mem::take(&mut shared.lock().results);
    Ok((results, open))
}

/// Takes the next message until none is left and none is in flight,
/// sending over one connection that it keeps open between messages; returns
/// that connection. A worker whose new connection the server turns away
/// (over its limit of connections from one client, say) hands its message
/// back and stops while another worker still runs: the batch goes on over
/// fewer connections.
async fn worker(shared: Arc<Shared>, transport: Arc<Transport>, mut conn: Option<Connection>, plan: Plan) -> Option<Connection> {
    loop {
        let (index, slot, message) = match shared.take(&plan) {
            Take::Send(index, slot, message) => (index, slot, message),
            Take::Wait(changed) => {
                changed.await;
                continue;
            }
            Take::Done => break,
        };
        // A message whose turn comes at or after the deadline is not started: its result says why.
        let mut result = if slot.max(Instant::now()) >= plan.deadline {
            send::unsent(&message, &transport, out_of_time(&plan, slot))
        } else {
            tokio::time::sleep_until(slot).await;
            let deadline = plan.deadline.min(Instant::now() + transport.timeout);
            let sent = send::send_on(&transport, &message, conn.take(), true, deadline).await;
            conn = sent.conn;
            if sent.turned_away && shared.hand_back(index, message) {
                return None;
            }
            sent.result
        };
        if !plan.transcripts.keep(result.ok) {
            result.transcript = Json::Array(Vec::new());
        }
        shared.finish(index, result.to_json(&transport.secrets()));
    }
    conn
}

fn out_of_time(plan: &Plan, slot: Instant) -> SendError {
    let total = (plan.deadline - plan.start).as_secs_f64();
    let timeout = if plan.default_deadline {
        format!("the batch's timeout of {total} s (by default {DEFAULT_TIMEOUT_SENDS} times $transport['timeout'])")
    } else {
        format!("the batch's timeout of {total} s")
    };
    let why = if slot > plan.start && plan.interval.is_some() {
        format!("not sent: its turn under the per_minute rate came after {timeout}")
    } else {
        format!("not sent: {timeout} ran out before its turn")
    };
    SendError::new(ErrorKind::Timeout, Stage::Connect, Problem::Timeout, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Value)]) -> Result<BatchOptions, UsageError> {
        BatchOptions::from_value(&crate::value::named(pairs))
    }

    #[test]
    fn options_default_and_refuse_what_makes_no_sense() {
        let defaults =
            BatchOptions { connections: 4, max_messages: 1000, per_minute: None, timeout: None, transcripts: Transcripts::All, limits: Limits::default() };
        assert_eq!(options(&[]).unwrap(), defaults);
        assert_eq!(options(&[("max_attachment_bytes", Value::Int(1000))]).unwrap().limits, Limits { attachment_bytes: 1000 });
        assert_eq!(options(&[("transcripts", Value::str("failed"))]).unwrap().transcripts, Transcripts::Failed);
        let o = options(&[("connections", Value::Int(8)), ("per_minute", Value::Int(600)), ("timeout", Value::Int(20))]).unwrap();
        assert_eq!((o.connections, o.per_minute, o.timeout), (8, Some(600), Some(Duration::from_secs(20))));
        assert_eq!(options(&[("connections", Value::Int(0))]).unwrap_err().0, "$options['connections'] must be between 1 and 32, got 0");
        assert_eq!(options(&[("per_minute", Value::Int(-5))]).unwrap_err().0, "$options['per_minute'] must be a positive number of messages, got -5");
        assert!(options(&[("conections", Value::Int(2))]).unwrap_err().0.contains("conections"));
    }

    #[test]
    fn a_batch_is_bounded_in_messages_and_time_by_default() {
        let defaults = options(&[]).unwrap();
        assert!(defaults.check_count(1000).is_ok());
        assert_eq!(
            defaults.check_count(1001).unwrap_err().0,
            "$messages has 1001 messages, more than the 1000 one call sends ($options['max_messages']): send them in several calls, or raise max_messages; nothing was sent"
        );
        let more = options(&[("max_messages", Value::str("5000"))]).unwrap();
        assert!(more.check_count(5000).is_ok() && more.check_count(5001).is_err());
        assert_eq!(options(&[("max_messages", Value::Int(0))]).unwrap_err().0, "$options['max_messages'] must be a positive number of messages, got 0");
        // Ten sends' worth of the transport's timeout, at most an hour; a timeout given is kept.
        let transport = |seconds: u64| Transport {
            timeout: Duration::from_secs(seconds),
            ..Transport::settings_only(&crate::value::named(&[("host", Value::str("h"))])).unwrap()
        };
        assert_eq!(defaults.timeout_for(&transport(30)), Duration::from_secs(300));
        assert_eq!(defaults.timeout_for(&transport(1000)), Duration::from_secs(3600));
        assert_eq!(options(&[("timeout", Value::Int(20))]).unwrap().timeout_for(&transport(30)), Duration::from_secs(20));
    }

    #[test]
    fn slots_are_evenly_spaced_from_the_start() {
        let start = Instant::now();
        let plan = Plan { start, interval: Some(Duration::from_secs(60) / 120), deadline: start, default_deadline: true, transcripts: Transcripts::All };
        assert_eq!(plan.slot(0), start);
        assert_eq!(plan.slot(3), start + Duration::from_millis(1500));
        let unlimited = Plan { interval: None, ..plan };
        assert_eq!(unlimited.slot(1000), start);
    }
}
