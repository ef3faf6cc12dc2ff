//! `rust_mail_send()`: one message, over a pooled or a new connection.

use crate::config::Transport;
use crate::judge::{classify, verdict, Context, Facts};
use crate::message::Outgoing;
use crate::pool;
use crate::result::{Failure, SendResult, Timings};
use crate::smtp::client::Connection;
use crate::smtp::commands::{self as command, bdat_last, envelope, Envelope, DATA};
use crate::smtp::data;
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
        // A refused MAIL, RCPT or DATA leaves the session open; RSET
        // (RFC 5321 section 4.1.1.5) clears the transaction.
        Err(e)
            if matches!(e.kind, ErrorKind::SenderRejected | ErrorKind::RecipientRejected | ErrorKind::DataRejected)
                && e.reply.as_ref().is_some_and(|r| r.code != 421) =>
        {
            keep_open && conn.command(command::RSET, t, deadline).await.is_ok_and(|r| r.code == 250)
        }
        Err(_) => false,
    };
    if keep_open && reusable {
        Some(conn)
    } else {
        conn.quit(t, deadline).await;
        None
    }
}

/// One mail transaction: MAIL FROM, RCPT TO for each recipient, then the
/// message: `BDAT <n> LAST` with the message right behind it when the
/// server offers CHUNKING (RFC 3030) and `chunking` is on, else DATA.
///
/// A server that offers PIPELINING (RFC 2920) gets all of them in one write
/// and answers in order: one round trip instead of one per command, which is
/// most of a send's time on a distant server; with BDAT the message goes in
/// that same write, so a warm connection needs one round trip per mail.
/// Without PIPELINING, each command waits for its reply, and the
/// transaction stops at the first reply that makes the rest pointless.
async fn deliver(
    conn: &mut Connection,
    message: &Outgoing,
    chunking: bool,
    progress: &mut Progress,
    t: &mut Transcript,
    deadline: tokio::time::Instant,
) -> Result<(), SendError> {
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
    let Envelope { mail, rcpts } = envelope(&from, &recipients, !message.data.is_ascii(), &conn.capabilities);
    let mut commands = vec![mail];
    commands.extend(rcpts);
    // With BDAT the chunk follows the last command in the same write.
    let chunked = chunking && conn.capabilities.has("CHUNKING");
    let chunk = if chunked { data::chunk(&message.data) } else { Vec::new() };
    commands.push(if chunked { bdat_last(chunk.len()) } else { DATA.to_string() });

    let pipelined = conn.capabilities.has("PIPELINING");
    if pipelined {
        let lines: Vec<&str> = commands.iter().map(String::as_str).collect();
        conn.write_lines_and_chunk(&lines, &chunk, t, deadline).await?;
    }
    let mut replies: Vec<Reply> = Vec::with_capacity(commands.len());
    for (i, command) in commands.iter().enumerate() {
        if !pipelined {
            if rest_is_pointless(&replies, commands.len()) {
                break;
            }
            let last = i + 1 == commands.len();
            conn.write_lines_and_chunk(&[command], if last { &chunk } else { &[] }, t, deadline).await?;
        }
        replies.push(conn.read_reply(t, deadline, Stage::of_command(command)).await?);
    }

    // The reply to DATA (a 354 to go on) or to BDAT (the verdict on the message).
    let final_reply = (replies.len() == commands.len()).then(|| replies.pop()).flatten();
    let mut replies = replies.into_iter();
    let mail = replies.next().expect("MAIL FROM always gets a reply");
    progress.last_reply = Some(mail.clone());
    let refused = if !mail.is_positive() {
        Some(SendError::from_reply(ErrorKind::SenderRejected, Stage::MailFrom, &format!("the server refused the sender <{from}>"), mail))
    } else {
        progress.sender_accepted = true;
        let mut last_refusal = None;
        for (recipient, reply) in recipients.iter().zip(replies) {
            progress.last_reply = Some(reply.clone());
            if reply.is_positive() {
                progress.accepted.push(recipient.to_string());
            } else {
                progress.rejected.push((recipient.to_string(), Rejection::Reply(reply.clone())));
                last_refusal = Some((recipient, reply));
            }
        }
        progress.accepted.is_empty().then(|| {
            let (recipient, reply) = last_refusal.expect("a recipient was sent, and none was accepted");
            SendError::from_reply(ErrorKind::RecipientRejected, Stage::RcptTo, &format!("the server refused every recipient (last: <{recipient}>)"), reply)
        })
    };
    if let Some(error) = refused {
        // A pipelined DATA that a server accepted all the same is ended with
        // an empty message, which has no recipient to go to, so that the
        // session stays in step. A pipelined BDAT chunk was read and
        // dropped by the server already (RFC 3030 section 3).
        if !chunked && final_reply.is_some_and(|r| r.code == 354) {
            conn.send_data(b"", t, deadline).await?;
        }
        return Err(error);
    }

    let mut reply = final_reply.expect("DATA or BDAT was sent once a recipient was accepted");
    if !chunked {
        progress.last_reply = Some(reply.clone());
        if reply.code != 354 {
            return Err(SendError::from_reply(ErrorKind::DataRejected, Stage::Data, "the server refused DATA", reply));
        }
        reply = conn.send_data(&message.data, t, deadline).await?;
    }
    progress.last_reply = Some(reply.clone());
    if !reply.is_positive() {
        return Err(SendError::from_reply(ErrorKind::DataRejected, Stage::Message, "the server refused the message", reply));
    }
    Ok(())
}

/// Without pipelining: whether the next of `total` commands (MAIL, RCPTs,
/// DATA) is pointless given the replies so far: no RCPT after a refused
/// sender, no DATA when every recipient was refused.
fn rest_is_pointless(replies: &[Reply], total: usize) -> bool {
    match replies.first() {
        None => false,
        Some(mail) if !mail.is_positive() => true,
        Some(_) => replies.len() == total - 1 && !replies[1..].iter().any(Reply::is_positive),
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
    let error = result.as_ref().err().map(|e| {
        let cause = classify(Some(e), &Facts::of(transport));
        let v = verdict(cause, &Context::for_error(transport, from.clone(), e));
        Failure {
            kind: e.kind.as_str(),
            message: e.message.clone(),
            transient: e.is_transient(),
            cause: cause.as_str(),
            stage: e.stage.as_str(),
            advice: v.advice,
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16) -> Reply {
        Reply::new(code, vec![])
    }

    #[test]
    fn sequential_transaction_stops_when_the_rest_is_pointless() {
        // MAIL, two RCPTs, DATA: four commands.
        assert!(!rest_is_pointless(&[], 4));
        assert!(rest_is_pointless(&[reply(550)], 4));
        assert!(!rest_is_pointless(&[reply(250)], 4));
        assert!(!rest_is_pointless(&[reply(250), reply(550)], 4));
        assert!(rest_is_pointless(&[reply(250), reply(550), reply(450)], 4));
        assert!(!rest_is_pointless(&[reply(250), reply(550), reply(250)], 4));
    }
}
