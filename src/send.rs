//! `rust_mail_send()`: one message, over a pooled or a new connection.

use crate::config::Transport;
use crate::judge::{classify, verdict, Context, Facts};
use crate::message::Outgoing;
use crate::pool;
use crate::result::{Failure, SendResult, Timings};
use crate::smtp::client::transaction::{judge_message, reset_after, streams, unanswered_behind, Next, Transaction};
use crate::smtp::client::Connection;
use crate::smtp::commands as command;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::reply::Reply;
use crate::smtp::transcript::{round_ms, Transcript};
use lettre::Address;
use serde_json::Value as Json;
use std::time::Instant;

/// How far a transaction got; reported whether it succeeded or not.
#[derive(Debug, Default)]
struct Progress {
    sender_accepted: bool,
    accepted: Vec<String>,
    rejected: Vec<(String, Rejection)>,
    last_reply: Option<Reply>,
}

/// Why a recipient did not get the mail.
#[derive(Debug, Clone)]
enum Rejection {
    /// The server's reply to RCPT TO.
    Reply(Reply),
    /// Not offered to the server: see [`Problem::NeedsSmtputf8`].
    NeedsSmtputf8,
}

impl Rejection {
    /// As the result's `rejected` shows it.
    fn text(&self) -> String {
        match self {
            Rejection::Reply(reply) => reply.one_line(),
            Rejection::NeedsSmtputf8 => {
                "not sent: the address has non-ASCII characters before the '@', which need SMTPUTF8 (RFC 6531), and the server does not offer it".to_string()
            }
        }
    }
}

struct Outcome {
    result: Result<(), SendError>,
    progress: Progress,
    timings: Timings,
    reused: bool,
}

/// Sends `message` and describes what happened as the result array.
pub fn send(message: &Outgoing, transport: &Transport) -> Result<Json, String> {
    if transport.api.is_some() {
        return crate::api::client::send(message, transport);
    }
    let key = transport.pool_key();
    pool::with_state(|state| {
        let pooled = if transport.pool { state.take(key) } else { None };
        let deadline = tokio::time::Instant::now() + transport.timeout;
        let sent = state.runtime.block_on(send_on(transport, message, pooled, transport.pool, deadline));
        if let Some(conn) = sent.conn {
            state.give_back(key, conn);
        }
        sent.result.to_json(&transport.secrets())
    })
}

/// What [`send_on`] did with one message.
pub struct Sent {
    /// What happened, secrets not yet scrubbed ([`SendResult::to_json`] does).
    pub result: SendResult,
    /// With `keep_open`, the connection for the next message when it is still good.
    pub conn: Option<Connection>,
    /// The server turned a new connection away before any transaction (a
    /// transient refusal of the connection or a 421 greeting, as a server
    /// over its limit of connections from one client answers): the message
    /// was not sent, and may go over another connection.
    pub turned_away: bool,
}

/// Sends `message` over `conn` (an open connection of this transport) or a
/// new one, by `deadline`.
pub async fn send_on(transport: &Transport, message: &Outgoing, conn: Option<Connection>, keep_open: bool, deadline: tokio::time::Instant) -> Sent {
    let start = Instant::now();
    let mut t = Transcript::new(start);
    let (outcome, conn) = attempt(transport, message, conn, keep_open, &mut t, deadline).await;
    let turned_away =
        !outcome.reused && matches!(&outcome.result, Err(e) if e.is_transient() && matches!(e.stage, Stage::Connect | Stage::Greeting | Stage::Ehlo));
    Sent { result: result(message, transport, outcome, &t, start), conn, turned_away }
}

/// The result of a message that was never sent, with `error` as the
/// reason (a batch whose time ran out before the message's turn).
pub fn unsent(message: &Outgoing, transport: &Transport, error: SendError) -> SendResult {
    let start = Instant::now();
    let mut t = Transcript::new(start);
    t.info(error.message.clone());
    let outcome = Outcome { result: Err(error), progress: Progress::default(), timings: Timings::default(), reused: false };
    result(message, transport, outcome, &t, start)
}

/// A message of `rust_mail_send_many()` written on a connection that
/// streams (see [`streams`]), its replies not read yet.
pub struct Streamed {
    message: Outgoing,
    transaction: Transaction<'static>,
    /// Why writing it failed, if it did: its result, once the transaction before it is read.
    write_failed: Option<SendError>,
    progress: Progress,
    t: Transcript,
    start: Instant,
    /// When it was written, in the transcript's milliseconds.
    written_at: f64,
    deadline: tokio::time::Instant,
}

impl Streamed {
    /// Whether it went out: nothing goes behind a message whose write failed.
    pub fn written(&self) -> bool {
        self.write_failed.is_none()
    }
}

/// Whether `conn` takes a batch's next message behind the one in flight.
pub fn streams_on(conn: &Connection, transport: &Transport) -> bool {
    streams(&conn.capabilities, transport.chunking)
}

/// Writes `message` on `conn` (which [`streams_on`]) without reading a
/// reply; `behind`: the previous message's replies are not read yet. A
/// message refused before anything is written comes back, for [`send_on`]
/// to refuse it as it refuses any.
pub async fn write_streamed(
    transport: &Transport,
    conn: &mut Connection,
    message: Outgoing,
    behind: bool,
    deadline: tokio::time::Instant,
) -> Result<Streamed, Outgoing> {
    let start = Instant::now();
    let mut t = Transcript::new(start);
    t.info(format!("reusing the open connection to {}", conn.peer));
    let mut progress = Progress::default();
    let Ok(transaction) = prepare(conn, &message, transport.chunking, &mut progress, &mut t) else {
        return Err(message);
    };
    let transaction = if behind { transaction.behind_another() } else { transaction };
    let written_at = t.elapsed_ms();
    let write = transaction.next_write(0, &[]).expect("a pipelined transaction is written at once");
    let write_failed = conn.write_lines_and_chunk(&write.lines, write.chunk, &mut t, deadline).await.err();
    let transaction = transaction.into_written();
    Ok(Streamed { message, transaction, write_failed, progress, t, start, written_at, deadline })
}

/// Reads the replies of a streamed message: its result, and the connection
/// when it is still good, else the error that ended it. With
/// `another_behind` (the next message is written already, RSET first), a
/// refusal needs no RSET of its own.
pub async fn finish_streamed(
    transport: &Transport,
    mut conn: Connection,
    streamed: Streamed,
    another_behind: bool,
) -> (SendResult, Result<Connection, SendError>) {
    let Streamed { message, transaction, write_failed, mut progress, mut t, start, written_at, deadline } = streamed;
    let delivered = match write_failed {
        Some(e) => Err(e),
        None => match exchange(&mut conn, &transaction, transaction.commands(), &mut t, deadline).await {
            Ok(replies) => conclude(&mut conn, &transaction, replies, &message, &mut progress, &mut t, deadline).await,
            Err(e) => Err(e),
        },
    }
    .map_err(|e| with_size(e, &conn));
    let timings = Timings { send: t.elapsed_ms() - written_at, ..Timings::default() };
    let kept = if another_behind && delivered.as_ref().is_err_and(reset_after) { Some(conn) } else { settle(conn, &delivered, true, &mut t, deadline).await };
    let conn = kept.ok_or_else(|| delivered.clone().expect_err("a message sent keeps its connection"));
    (result(&message, transport, Outcome { result: delivered, progress, timings, reused: true }, &t, start), conn)
}

/// The result of a streamed message whose replies never come: the
/// transaction before it ended the connection with `ended`.
pub fn unanswered(transport: &Transport, streamed: Streamed, ended: &SendError) -> SendResult {
    let Streamed { message, progress, mut t, start, written_at, .. } = streamed;
    let error = unanswered_behind(ended);
    t.info(error.message.clone());
    let timings = Timings { send: t.elapsed_ms() - written_at, ..Timings::default() };
    result(&message, transport, Outcome { result: Err(error), progress, timings, reused: true }, &t, start)
}

/// Tries a pooled connection first; if the server had closed it, opens a new
/// one without the caller ever seeing the dead one. Returns the connection
/// to keep for the next send, if it is still good.
async fn attempt(
    transport: &Transport,
    message: &Outgoing,
    pooled: Option<Connection>,
    keep_open: bool,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> (Outcome, Option<Connection>) {
    let mut timings = Timings::default();

    if let Some(mut conn) = pooled {
        t.info(format!("reusing the open connection to {}", conn.peer));
        let started = t.elapsed_ms();
        let mut progress = Progress::default();
        let result = deliver(&mut conn, message, transport.chunking, &mut progress, t, deadline).await.map_err(|e| with_size(e, &conn));
        match result {
            Err(e) if !progress.sender_accepted && is_dead_connection(&e) => {
                t.info("the server had closed that connection; opening a new one");
            }
            result => {
                timings.send = t.elapsed_ms() - started;
                let keep = settle(conn, &result, keep_open, t, deadline).await;
                return (Outcome { result, progress, timings, reused: true }, keep);
            }
        }
    }

    let failed = |e: SendError, timings: Timings| Outcome { result: Err(e), progress: Progress::default(), timings, reused: false };
    let mut conn = match Connection::open(transport, t, deadline).await {
        Ok((conn, open)) => {
            timings.connect = open.connect;
            timings.tls = open.tls;
            conn
        }
        Err(e) => return (failed(e, timings), None),
    };
    let started = t.elapsed_ms();
    if let Err(e) = conn.authenticate(transport, t, deadline).await {
        timings.auth = t.elapsed_ms() - started;
        conn.quit(t, deadline).await;
        return (failed(e, timings), None);
    }
    timings.auth = t.elapsed_ms() - started;

    let started = t.elapsed_ms();
    let mut progress = Progress::default();
    let result = deliver(&mut conn, message, transport.chunking, &mut progress, t, deadline).await.map_err(|e| with_size(e, &conn));
    timings.send = t.elapsed_ms() - started;
    let keep = settle(conn, &result, keep_open, t, deadline).await;
    (Outcome { result, progress, timings, reused: false }, keep)
}

/// The error, with the SIZE the server offered, for advice on a message too large.
fn with_size(mut e: SendError, conn: &Connection) -> SendError {
    e.size_limit = conn.capabilities.size();
    e
}

/// A pooled connection the server closed while it sat idle: it fails at
/// once with a closed socket or a 421 ("service closing"), before MAIL FROM
/// was accepted, so nothing was delivered and retrying is safe.
fn is_dead_connection(e: &SendError) -> bool {
    match &e.reply {
        Some(reply) => reply.code == 421,
        None => e.kind == ErrorKind::Protocol,
    }
}

/// After a transaction: keep the connection for the next send when pooling
/// and the session is in a clean state, otherwise say QUIT.
async fn settle(
    mut conn: Connection,
    result: &Result<(), SendError>,
    keep_open: bool,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> Option<Connection> {
    let reusable = match result {
        Ok(()) => true,
        // RSET clears a refused transaction, and the session goes on.
        Err(e) if reset_after(e) => keep_open && conn.command(command::RSET, t, deadline).await.is_ok_and(|r| r.code == 250),
        Err(_) => false,
    };
    if keep_open && reusable {
        Some(conn)
    } else {
        conn.quit(t, deadline).await;
        None
    }
}

/// One mail transaction (see [`Transaction`]) for the recipients this
/// server can take.
async fn deliver(
    conn: &mut Connection,
    message: &Outgoing,
    chunking: bool,
    progress: &mut Progress,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> Result<(), SendError> {
    let transaction = prepare(conn, message, chunking, progress, t)?;
    let replies = exchange(conn, &transaction, 0, t, deadline).await?;
    conclude(conn, &transaction, replies, message, progress, t, deadline).await
}

/// What must hold before anything of `message` is written, and its
/// transaction: an error here wrote nothing.
fn prepare<'m>(conn: &Connection, message: &'m Outgoing, chunking: bool, progress: &mut Progress, t: &mut Transcript) -> Result<Transaction<'m>, SendError> {
    let from = message.envelope_from.as_ref().map(ToString::to_string).unwrap_or_default();
    // Domains are IDNA already; a non-ASCII part before the '@' needs SMTPUTF8 (RFC 6531). Without it such a
    // recipient is refused here, never offered to a server that would mangle or bounce it; the others get the mail.
    let smtputf8 = conn.capabilities.has("SMTPUTF8");
    if !smtputf8 && !from.is_ascii() {
        return Err(SendError::new(
            ErrorKind::SenderRejected,
            Stage::MailFrom,
            Problem::NeedsSmtputf8,
            format!("the sender <{from}> has non-ASCII characters before the '@', and the server does not offer SMTPUTF8: nothing was sent"),
        ));
    }
    let (recipients, unsendable): (Vec<Address>, Vec<Address>) = message.recipients.iter().cloned().partition(|r| smtputf8 || r.user().is_ascii());
    for recipient in &unsendable {
        t.info(format!("not sent to <{recipient}>: non-ASCII before the '@', and the server does not offer SMTPUTF8"));
        progress.rejected.push((recipient.to_string(), Rejection::NeedsSmtputf8));
    }
    if recipients.is_empty() {
        return Err(SendError::new(
            ErrorKind::RecipientRejected,
            Stage::RcptTo,
            Problem::NeedsSmtputf8,
            "every recipient has non-ASCII characters before the '@', and the server does not offer SMTPUTF8: nothing was sent",
        ));
    }
    // RFC 6531 section 3.4: a message whose headers are not ASCII (an address with non-ASCII before the '@' in
    // To, Cc, From or Reply-To; nothing else composed here is 8-bit) must not go to a server without SMTPUTF8.
    if !smtputf8 {
        if let Some(fields) = non_ascii_header_fields(&message.data) {
            return Err(SendError::new(
                ErrorKind::DataRejected,
                Stage::MailFrom,
                Problem::NeedsSmtputf8,
                format!(
                    "the message's {fields} header has non-ASCII characters, which only a server that offers SMTPUTF8 may get, and \
                     this one does not: nothing was sent; an address with non-ASCII before the '@' may go in bcc, where only it is left out"
                ),
            ));
        }
    }

    // RFC 1870: a message over the server's SIZE would be refused after all of it was sent; say so before.
    if let Some(limit) = conn.capabilities.size() {
        let size = crate::smtp::data::size(&message.data);
        if size > limit {
            return Err(SendError::new(
                ErrorKind::DataRejected,
                Stage::MailFrom,
                Problem::OverSizeLimit,
                format!("the message is {size} bytes, more than the {limit} bytes the server takes (SIZE in its EHLO reply): nothing was sent"),
            ));
        }
    }
    if message.dsn.is_some() && !conn.capabilities.has("DSN") {
        t.info("DSN not offered by the server: the message goes without NOTIFY, RET and ENVID (RFC 3461)");
    }
    Ok(Transaction::plan(&from, recipients.iter().map(ToString::to_string).collect(), &message.data, message.dsn.as_ref(), chunking, &conn.capabilities))
}

/// Writes what the transaction says to and reads every reply due, with
/// `written` of its commands written already; returns the replies.
async fn exchange(
    conn: &mut Connection,
    transaction: &Transaction<'_>,
    mut written: usize,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> Result<Vec<Reply>, SendError> {
    let mut replies = Vec::new();
    loop {
        if let Some(write) = transaction.next_write(written, &replies) {
            conn.write_lines_and_chunk(&write.lines, write.chunk, t, deadline).await?;
            written += write.lines.len();
        }
        if replies.len() == written {
            return Ok(replies);
        }
        replies.push(conn.read_reply(t, deadline, transaction.stage_of_reply(replies.len())).await?);
    }
}

/// What the replies mean for the message, after DATA's message when DATA was accepted.
async fn conclude(
    conn: &mut Connection,
    transaction: &Transaction<'_>,
    replies: Vec<Reply>,
    message: &Outgoing,
    progress: &mut Progress,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> Result<(), SendError> {
    let judged = transaction.judge(replies);
    progress.sender_accepted = judged.sender_accepted;
    progress.accepted = judged.accepted;
    progress.rejected.extend(judged.refused.into_iter().map(|(recipient, reply)| (recipient, Rejection::Reply(reply))));
    progress.last_reply = judged.last_reply;
    let reply = match judged.next {
        Next::Fail { error, end_empty_data } => {
            if end_empty_data {
                conn.send_data(b"", t, deadline).await?;
            }
            return Err(error);
        }
        Next::SendMessage => conn.send_data(&message.data, t, deadline).await?,
        Next::Judge(reply) => reply,
    };
    progress.last_reply = Some(reply.clone());
    judge_message(reply)
}

/// The names of the header fields of `message` that are not ASCII, joined by ", "; `None` when all are.
fn non_ascii_header_fields(message: &[u8]) -> Option<String> {
    let head = message.split(|&b| b == b'\n').take_while(|line| !line.iter().all(|&b| b == b'\r'));
    let mut names: Vec<String> = Vec::new();
    let mut name = String::new();
    for line in head {
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            name = String::from_utf8_lossy(line.split(|&b| b == b':').next().unwrap_or_default()).trim().to_string();
        }
        if !line.is_ascii() && !names.contains(&name) {
            names.push(name.clone());
        }
    }
    (!names.is_empty()).then(|| names.join(", "))
}

/// A failed send judged: its cause and the advice for this transport, as the result's `error`.
pub fn failure_of(e: &SendError, transport: &Transport, from: Option<String>) -> Failure {
    let cause = classify(Some(e), &Facts::of(transport));
    let v = verdict(cause, &Context::for_error(transport, from, e));
    let retry_after = match &e.problem {
        Problem::Api(refusal) => refusal.retry_after,
        _ => None,
    };
    Failure {
        kind: e.kind.as_str(),
        message: e.message.clone(),
        transient: e.is_transient(),
        cause: cause.as_str(),
        stage: e.stage.as_str(),
        advice: v.advice,
        retry_after,
    }
}

fn result(message: &Outgoing, transport: &Transport, outcome: Outcome, t: &Transcript, start: Instant) -> SendResult {
    let Outcome { result, progress, timings, reused } = outcome;
    // The reply that decided the outcome: the error's, else the last one.
    let reply = match &result {
        Err(e) => e.reply.clone(),
        Ok(()) => progress.last_reply.clone(),
    };
    let from = message.envelope_from.as_ref().map(ToString::to_string);
    let error = result.as_ref().err().map(|e| failure_of(e, transport, from.clone()));
    SendResult {
        ok: result.is_ok(),
        message_id: message.message_id.clone(),
        accepted: progress.accepted,
        rejected: progress.rejected.iter().map(|(addr, why)| (addr.clone(), Json::String(why.text()))).collect(),
        code: reply.as_ref().map(|r| r.code),
        enhanced_code: reply.as_ref().and_then(|r| r.enhanced.clone()),
        reply: reply.as_ref().map(Reply::text),
        error,
        transcript: t.to_json(),
        timings: Timings {
            connect: round_ms(timings.connect),
            tls: round_ms(timings.tls),
            auth: round_ms(timings.auth),
            send: round_ms(timings.send),
            total: round_ms(start.elapsed().as_secs_f64() * 1000.0),
        },
        reused_connection: reused,
    }
}
