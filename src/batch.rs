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
use std::cell::RefCell;
use std::time::Duration;
use tokio::sync::{futures::Notified, Notify};
use tokio::time::Instant;

/// Most parallel connections one call opens.
pub const MAX_CONNECTIONS: i64 = 32;
pub const DEFAULT_CONNECTIONS: usize = 4;

/// Most messages one call takes, unless `max_messages` says otherwise. Each
/// message is read and composed when a connection takes it and dropped once
/// sent, but each result takes 5 to 7 KiB of PHP's memory with its
/// transcript (about 2 KiB without).
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

/// Where a batch's messages come from and where their results go: each
/// message is read (and composed) only when a connection takes it, and its
/// result handed over as soon as it is known, so that a batch holds the
/// messages in flight, not all of them.
pub struct Batch<'a> {
    /// How many messages there are.
    pub count: usize,
    /// The `n`th message (0-based), read now.
    pub message: &'a mut dyn FnMut(usize) -> Result<Outgoing, UsageError>,
    /// The `n`th message's result.
    pub result: &'a mut dyn FnMut(usize, Json),
}

/// What the workers share: the queue, the batch, and a signal that a message
/// in flight finished or came back. The workers take turns on one thread.
struct Shared<'a, 'b> {
    queue: RefCell<Queue>,
    batch: RefCell<&'b mut Batch<'a>>,
    changed: Notify,
}

impl Shared<'_, '_> {
    /// The next message for a worker, with its rate slot (taken together, so
    /// that slots go in message order); or a wait while others are in
    /// flight; or the end. A message that could not be read gets its result
    /// here.
    fn take(&self, plan: &Plan) -> Take<'_> {
        if let Some((index, slot, message)) = self.take_ready(plan) {
            return Take::Send(index, slot, message);
        }
        let mut q = self.queue.borrow_mut();
        if q.in_flight > 0 {
            // Made before the queue is let go, so no finish is missed.
            return Take::Wait(self.changed.notified());
        }
        q.workers -= 1;
        Take::Done
    }

    /// The next message with its rate slot, if there is one now: for a
    /// worker that has a message in flight, never waiting.
    fn take_ready(&self, plan: &Plan) -> Option<(usize, Instant, Outgoing)> {
        let mut q = self.queue.borrow_mut();
        loop {
            let (index, again, message) = match q.again.pop() {
                Some((index, message)) => (index, true, Ok(message)),
                None if q.next < q.count => {
                    q.next += 1;
                    (q.next - 1, false, (self.batch.borrow_mut().message)(q.next - 1))
                }
                None => return None,
            };
            match message {
                Err(e) => (self.batch.borrow_mut().result)(index, SendResult::invalid_input(&e).to_json(&[])),
                Ok(message) => {
                    q.in_flight += 1;
                    // A message handed back had its slot already.
                    let slot = if again {
                        plan.start
                    } else {
                        q.started += 1;
                        plan.slot(q.started - 1)
                    };
                    return Some((index, slot, message));
                }
            }
        }
    }

    /// A message's result: it is no longer in flight.
    fn finish(&self, index: usize, result: Json) {
        (self.batch.borrow_mut().result)(index, result);
        self.queue.borrow_mut().in_flight -= 1;
        self.changed.notify_waiters();
    }

    /// Gives the message of a worker whose connection was turned away to the
    /// other workers and ends that worker; false when no other worker is
    /// left to take it (the message keeps its failure).
    fn hand_back(&self, index: usize, message: Outgoing) -> bool {
        let mut q = self.queue.borrow_mut();
        if q.workers == 1 {
            return false;
        }
        q.again.push((index, message));
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

/// How many messages there are, the next to take, how many have been
/// started (for the rate), and the workers' state.
struct Queue {
    count: usize,
    next: usize,
    /// Messages handed back by a worker whose connection the server turned
    /// away, for the workers that still have one.
    again: Vec<(usize, Outgoing)>,
    started: u32,
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

/// Sends every message of `batch`, each result handed to `batch.result`.
pub fn send_many(batch: &mut Batch, transport: &Transport, options: &BatchOptions) -> Result<(), String> {
    if transport.api.is_some() {
        let messages = (0..batch.count).map(|n| (batch.message)(n)).collect();
        let results = crate::api::client::send_many(messages, transport, options)?;
        results.into_iter().enumerate().for_each(|(n, result)| (batch.result)(n, result));
        return Ok(());
    }
    let key = transport.pool_key();
    // At least one worker, which also reports messages that cannot be read when no message can.
    let workers = options.connections.min(batch.count).max(1);
    pool::with_state(|state| {
        let pooled: Vec<Connection> = if transport.pool { (0..workers).map_while(|_| state.take(key)).collect() } else { Vec::new() };
        let open = state.runtime.block_on(run(batch, transport, options, workers, pooled));
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
    })
}

/// The workers, each over its own connection, in one task: they borrow the
/// batch, which reads PHP's messages on this thread. Returns the
/// connections still open.
async fn run(batch: &mut Batch<'_>, transport: &Transport, options: &BatchOptions, workers: usize, mut pooled: Vec<Connection>) -> Vec<Connection> {
    let start = Instant::now();
    let plan = Plan {
        start,
        interval: options.per_minute.map(|n| Duration::from_secs(60) / n),
        deadline: start + options.timeout_for(transport),
        default_deadline: options.timeout.is_none(),
        transcripts: options.transcripts,
    };
    let queue = Queue { count: batch.count, next: 0, again: Vec::new(), started: 0, workers, in_flight: 0 };
    let shared = Shared { queue: RefCell::new(queue), batch: RefCell::new(batch), changed: Notify::new() };
    let running = (0..workers).map(|_| worker(&shared, transport, pooled.pop(), plan)).collect::<Vec<_>>();
    let mut open = pooled; // idle connections no worker needed
    open.extend(futures_util::future::join_all(running).await.into_iter().flatten());
    open
}

/// Takes the next message until none is left and none is in flight,
/// sending over one connection that it keeps open between messages; returns
/// that connection. A worker whose new connection the server turns away
/// (over its limit of connections from one client, say) hands its message
/// back and stops while another worker still runs: the batch goes on over
/// fewer connections.
///
/// On a connection that streams (PIPELINING and CHUNKING, see
/// [`send::streams_on`]) and that this worker has used already, the next
/// message is written before the replies of the one in flight are read:
/// at most two transactions in flight, answered in order. When the
/// connection ends before they are answered, neither is sent again.
async fn worker(shared: &Shared<'_, '_>, transport: &Transport, mut conn: Option<Connection>, plan: Plan) -> Option<Connection> {
    let finish = |index: usize, mut result: SendResult| {
        if !plan.transcripts.keep(result.ok) {
            result.transcript = Json::Array(Vec::new());
        }
        shared.finish(index, result.to_json(&transport.secrets()));
    };
    // A message written whose replies are not read yet.
    let mut in_flight: Option<(usize, send::Streamed)> = None;
    // Whether `conn` has carried a message of this batch: a pooled connection
    // goes through `send_on` first, which replaces it when the server closed it while idle.
    let mut warm = false;
    loop {
        let taken = if in_flight.is_some() {
            shared.take_ready(&plan)
        } else {
            match shared.take(&plan) {
                Take::Send(index, slot, message) => Some((index, slot, message)),
                Take::Wait(changed) => {
                    changed.await;
                    continue;
                }
                Take::Done => break,
            }
        };
        // The message taken is written now when its turn has come (behind the
        // one in flight, if any), else it goes on its own once that one is read.
        let (mut written, mut alone) = (None, None);
        if let Some((index, slot, message)) = taken {
            let now = Instant::now();
            match conn.as_mut() {
                Some(c)
                    if warm
                        && slot <= now
                        && now < plan.deadline
                        && send::streams_on(c, transport)
                        && in_flight.as_ref().is_none_or(|(_, streamed)| streamed.written()) =>
                {
                    let deadline = plan.deadline.min(now + transport.timeout);
                    match send::write_streamed(transport, c, message, in_flight.is_some(), deadline).await {
                        Ok(streamed) => written = Some((index, streamed)),
                        Err(message) => alone = Some((index, slot, message)),
                    }
                }
                _ => alone = Some((index, slot, message)),
            }
        }
        if let Some((index, streamed)) = in_flight.take() {
            let open = conn.take().expect("a message in flight has its connection");
            let (result, open) = send::finish_streamed(transport, open, streamed, written.is_some()).await;
            finish(index, result);
            match open {
                Ok(open) => conn = Some(open),
                Err(ended) => {
                    if let Some((index, streamed)) = written.take() {
                        finish(index, send::unanswered(transport, streamed, &ended));
                    }
                }
            }
        }
        in_flight = written;
        let Some((index, slot, message)) = alone else { continue };
        // A message whose turn comes at or after the deadline is not started: its result says why.
        if slot.max(Instant::now()) >= plan.deadline {
            finish(index, send::unsent(&message, transport, out_of_time(&plan, slot)));
            continue;
        }
        tokio::time::sleep_until(slot).await;
        let deadline = plan.deadline.min(Instant::now() + transport.timeout);
        let sent = send::send_on(transport, &message, conn.take(), true, deadline).await;
        conn = sent.conn;
        warm = conn.is_some();
        if sent.turned_away && shared.hand_back(index, message) {
            return None;
        }
        finish(index, sent.result);
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
