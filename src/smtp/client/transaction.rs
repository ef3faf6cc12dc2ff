//! One mail transaction, planned apart from the I/O that runs it (as rustls
//! keeps I/O out of its protocol logic): MAIL FROM, RCPT TO for each
//! recipient, then the message, `BDAT <n> LAST` with the message right
//! behind it when the server offers CHUNKING (RFC 3030) and chunking is on,
//! else DATA. Pure: what to write and when, what the replies mean, whether
//! RSET puts the session back in step. `send::deliver` drives it.
//!
//! A server that offers PIPELINING (RFC 2920) gets every command in one
//! write and answers in order: one round trip instead of one per command,
//! which is most of a send's time on a distant server; with BDAT the message
//! goes in that same write, so a warm connection needs one round trip per
//! mail. Without PIPELINING, each command waits for its reply, and the
//! transaction stops at the first reply that makes the rest pointless.
//!
//! With both PIPELINING and CHUNKING, `rust_mail_send_many()` streams: it
//! writes the next transaction behind the previous one's `BDAT <n> LAST`
//! before reading the previous one's replies (RFC 2920 section 3.1: only
//! EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP end a pipelined group; RFC
//! 3030 section 3: the server reads a BDAT chunk even when it refuses it).
//! A transaction written so begins with RSET: the one before it may have
//! been refused, and not every server resets after a refused `BDAT LAST`.

use std::borrow::Cow;

use crate::message::Dsn;
use crate::smtp::commands::{bdat_last, envelope, Envelope, DATA, RSET};
use crate::smtp::data;
use crate::smtp::error::{ErrorKind, Problem, SendError, Stage};
use crate::smtp::reply::{Capabilities, Reply};

pub struct Transaction<'m> {
    from: String,
    recipients: Vec<String>,
    /// MAIL FROM, one RCPT TO a recipient, then DATA or BDAT; RSET before
    /// them when written behind another transaction.
    commands: Vec<String>,
    reset_first: bool,
    /// With BDAT, the message as it goes behind the last command (the message itself when its lines end in CRLF
    /// already); else empty.
    chunk: Cow<'m, [u8]>,
    chunked: bool,
    pipelined: bool,
}

/// One write: command lines, and the BDAT chunk behind the last of them.
pub struct Write<'a> {
    pub lines: Vec<&'a str>,
    pub chunk: &'a [u8],
}

/// What the replies to the commands say.
#[derive(Debug)]
pub struct Judged {
    pub sender_accepted: bool,
    pub accepted: Vec<String>,
    /// Each recipient the server refused, with its reply, in order.
    pub refused: Vec<(String, Reply)>,
    /// The last reply that counted.
    pub last_reply: Option<Reply>,
    pub next: Next,
}

/// What the driver does once the commands are answered.
#[derive(Debug)]
pub enum Next {
    /// The transaction failed before the message. With `end_empty_data`, a
    /// pipelined DATA that the server accepted all the same is ended with an
    /// empty message, which has no recipient to go to, so that the session
    /// stays in step; a pipelined BDAT chunk was read and dropped by the
    /// server already (RFC 3030 section 3).
    Fail { error: SendError, end_empty_data: bool },
    /// DATA was answered 354: send the message, then [`judge_message`] the reply.
    SendMessage,
    /// BDAT's reply, the verdict on the message: [`judge_message`] it.
    Judge(Reply),
}

impl<'m> Transaction<'m> {
    /// `from` is the reverse-path ("" for `<>`); `recipients` are the ones
    /// that can be offered to this server.
    pub fn plan(from: &str, recipients: Vec<String>, message: &'m [u8], dsn: Option<&Dsn>, chunking: bool, capabilities: &Capabilities) -> Transaction<'m> {
        let Envelope { mail, rcpts } = envelope(from, &recipients, Some(message), dsn, capabilities);
        let chunked = chunking && capabilities.has("CHUNKING");
        let chunk = if chunked { data::chunk(message) } else { Cow::Borrowed(&[][..]) };
        let mut commands = vec![mail];
        commands.extend(rcpts);
        commands.push(if chunked { bdat_last(chunk.len()) } else { DATA.to_string() });
        Transaction { from: from.to_string(), recipients, commands, reset_first: false, chunk, chunked, pipelined: capabilities.has("PIPELINING") }
    }

    /// The transaction, to be written behind another one's `BDAT <n> LAST`
    /// (see [`streams`]): RSET first, whose reply [`Transaction::judge`] skips.
    pub fn behind_another(mut self) -> Transaction<'m> {
        self.commands.insert(0, RSET.to_string());
        self.reset_first = true;
        self
    }

    /// The transaction once written, for its replies: without its chunk,
    /// which is on the wire and no longer borrows the message.
    pub fn into_written(self) -> Transaction<'static> {
        let Transaction { from, recipients, commands, reset_first, chunk: _, chunked, pipelined } = self;
        Transaction { from, recipients, commands, reset_first, chunk: Cow::Borrowed(&[]), chunked, pipelined }
    }

    /// How many commands one pipelined write of the transaction holds.
    pub fn commands(&self) -> usize {
        self.commands.len()
    }

    /// What to write next, with `written` commands written and `replies`
    /// read so far; `None`: nothing now (read the replies still due, or the
    /// transaction is over).
    pub fn next_write(&self, written: usize, replies: &[Reply]) -> Option<Write<'_>> {
        let total = self.commands.len();
        let lines = if self.pipelined {
            (written == 0).then_some(0..total)?
        } else {
            (written == replies.len() && written < total && !rest_is_pointless(replies, total)).then_some(written..written + 1)?
        };
        let chunk = if lines.end == total { &self.chunk[..] } else { &[] };
        Some(Write { lines: self.commands[lines].iter().map(String::as_str).collect(), chunk })
    }

    /// The stage whose reply the `n`th reply is.
    pub fn stage_of_reply(&self, n: usize) -> Stage {
        Stage::of_command(&self.commands[n])
    }

    /// What the replies to the commands mean; MAIL FROM always has one.
    pub fn judge(&self, mut replies: Vec<Reply>) -> Judged {
        if self.reset_first {
            // RSET's reply says nothing about this message: a server out of
            // step, or closing, answers the commands behind it accordingly.
            replies.remove(0);
        }
        // The reply to DATA (a 354 to go on) or to BDAT (the verdict on the message).
        let envelope_commands = self.commands.len() - usize::from(self.reset_first);
        let final_reply = (replies.len() == envelope_commands).then(|| replies.pop()).flatten();
        let mut replies = replies.into_iter();
        let mail = replies.next().expect("MAIL FROM always gets a reply");
        let mut judged =
            Judged { sender_accepted: mail.is_positive(), accepted: Vec::new(), refused: Vec::new(), last_reply: Some(mail.clone()), next: Next::SendMessage };
        let error = if !mail.is_positive() {
            Some(SendError::from_reply(ErrorKind::SenderRejected, Stage::MailFrom, &format!("the server refused the sender <{}>", self.from), mail))
        } else {
            for (recipient, reply) in self.recipients.iter().zip(replies) {
                judged.last_reply = Some(reply.clone());
                if reply.is_positive() {
                    judged.accepted.push(recipient.clone());
                } else {
                    judged.refused.push((recipient.clone(), reply));
                }
            }
            judged.accepted.is_empty().then(|| {
                let (recipient, reply) = judged.refused.last().cloned().expect("a recipient was sent, and none was accepted");
                SendError::from_reply(ErrorKind::RecipientRejected, Stage::RcptTo, &format!("the server refused every recipient (last: <{recipient}>)"), reply)
            })
        };
        if let Some(error) = error {
            let end_empty_data = !self.chunked && final_reply.is_some_and(|r| r.code == 354);
            judged.next = Next::Fail { error, end_empty_data };
            return judged;
        }
        let reply = final_reply.expect("DATA or BDAT was sent once a recipient was accepted");
        judged.next = if self.chunked {
            Next::Judge(reply)
        } else if reply.code == 354 {
            judged.last_reply = Some(reply);
            Next::SendMessage
        } else {
            judged.last_reply = Some(reply.clone());
            Next::Fail { error: SendError::from_reply(ErrorKind::DataRejected, Stage::Data, "the server refused DATA", reply), end_empty_data: false }
        };
        judged
    }
}

/// The server's verdict on the message.
pub fn judge_message(reply: Reply) -> Result<(), SendError> {
    if reply.is_positive() {
        Ok(())
    } else {
        Err(SendError::from_reply(ErrorKind::DataRejected, Stage::Message, "the server refused the message", reply))
    }
}

/// Whether RSET can put the session back in step after `error`: a refused
/// MAIL, RCPT or DATA leaves the session open (RFC 5321 section 4.1.1.5),
/// unless the reply was a 421 ("service closing").
pub fn reset_after(error: &SendError) -> bool {
    matches!(error.kind, ErrorKind::SenderRejected | ErrorKind::RecipientRejected | ErrorKind::DataRejected)
        && error.reply.as_ref().is_some_and(|r| r.code != 421)
}

/// Whether `rust_mail_send_many()` writes the next transaction behind the
/// previous one before reading its replies: with both PIPELINING and
/// CHUNKING, and chunking on (DATA ends a pipelined group).
pub fn streams(capabilities: &Capabilities, chunking: bool) -> bool {
    chunking && capabilities.has("PIPELINING") && capabilities.has("CHUNKING")
}

/// The error of a transaction written behind one whose replies could not all
/// be read (`ended`: the connection failed, or the server closed it): its own
/// replies never came, so it may have been delivered or not, and it is not
/// sent again.
pub fn unanswered_behind(ended: &SendError) -> SendError {
    let (kind, problem) = match ended.reply {
        None => (ended.kind, ended.problem.clone()),
        Some(_) => (ErrorKind::Protocol, Problem::Closed),
    };
    let message = format!(
        "the server did not answer this message, written behind the previous one on the same connection, whose \
         transaction ended with: {}; it may have been delivered or not, and is not sent again",
        ended.message
    );
    SendError::new(kind, Stage::MailFrom, problem, message)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16) -> Reply {
        Reply::new(code, vec![])
    }

    fn offering(extensions: &[&str]) -> Capabilities {
        let lines: Vec<String> = std::iter::once("mx.example.com".to_string()).chain(extensions.iter().map(|e| e.to_string())).collect();
        Capabilities::from_ehlo(&Reply::new(250, lines))
    }

    fn plan(extensions: &[&str], chunking: bool) -> Transaction<'static> {
        let recipients = vec!["a@example.com".to_string(), "b@example.com".to_string()];
        Transaction::plan("me@example.com", recipients, b"Subject: x\r\n\r\nhi\r\n", None, chunking, &offering(extensions))
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

    #[test]
    fn pipelining_writes_everything_at_once_with_the_chunk_behind_bdat() {
        let tx = plan(&["PIPELINING", "CHUNKING"], true);
        let write = tx.next_write(0, &[]).expect("the first write");
        assert_eq!(write.lines, ["MAIL FROM:<me@example.com>", "RCPT TO:<a@example.com>", "RCPT TO:<b@example.com>", "BDAT 18 LAST"]);
        assert_eq!(write.chunk, b"Subject: x\r\n\r\nhi\r\n");
        assert!(tx.next_write(4, &[reply(250)]).is_none(), "the replies are read, nothing more written");
        assert_eq!(tx.stage_of_reply(3), Stage::Message);
        // CHUNKING offered but chunking off: DATA, and no chunk.
        let tx = plan(&["PIPELINING", "CHUNKING"], false);
        let write = tx.next_write(0, &[]).unwrap();
        assert_eq!((write.lines.last().copied(), write.chunk.len()), (Some("DATA"), 0));
    }

    #[test]
    fn without_pipelining_each_command_waits_for_its_reply() {
        let tx = plan(&[], true);
        assert_eq!(tx.next_write(0, &[]).unwrap().lines, ["MAIL FROM:<me@example.com>"]);
        assert!(tx.next_write(1, &[]).is_none(), "MAIL FROM's reply first");
        assert_eq!(tx.next_write(1, &[reply(250)]).unwrap().lines, ["RCPT TO:<a@example.com>"]);
        assert!(tx.next_write(1, &[reply(550)]).is_none(), "no RCPT after a refused sender");
        assert!(tx.next_write(3, &[reply(250), reply(550), reply(550)]).is_none(), "no DATA when every recipient was refused");
        assert_eq!(tx.next_write(3, &[reply(250), reply(550), reply(250)]).unwrap().lines, ["DATA"]);
    }

    #[test]
    fn the_replies_say_who_was_accepted_and_what_comes_next() {
        let tx = plan(&["PIPELINING"], true);
        let judged = tx.judge(vec![reply(250), reply(550), reply(250), reply(354)]);
        assert_eq!((judged.accepted, judged.refused.len()), (vec!["b@example.com".to_string()], 1));
        assert!(matches!(judged.next, Next::SendMessage));
        assert_eq!(judged.last_reply.map(|r| r.code), Some(354));
        let judged = tx.judge(vec![reply(250), reply(250), reply(250), reply(554)]);
        assert!(matches!(judged.next, Next::Fail { ref error, end_empty_data: false } if error.stage == Stage::Data));
    }

    #[test]
    fn a_pipelined_data_accepted_after_every_refusal_is_ended_empty() {
        let judged = plan(&["PIPELINING"], true).judge(vec![reply(250), reply(550), reply(550), reply(354)]);
        assert!(matches!(judged.next, Next::Fail { ref error, end_empty_data: true } if error.kind == ErrorKind::RecipientRejected));
        let judged = plan(&["PIPELINING"], true).judge(vec![reply(550), reply(503), reply(503), reply(503)]);
        assert!(matches!(judged.next, Next::Fail { ref error, end_empty_data: false } if error.kind == ErrorKind::SenderRejected));
        assert!(!judged.sender_accepted && judged.refused.is_empty());
        // A pipelined BDAT chunk needs no ending: the server dropped it.
        let judged = plan(&["PIPELINING", "CHUNKING"], true).judge(vec![reply(250), reply(550), reply(550), reply(503)]);
        assert!(matches!(judged.next, Next::Fail { end_empty_data: false, .. }));
    }

    #[test]
    fn rset_follows_a_refusal_but_not_a_closing_server() {
        let refused = |kind, code| SendError::from_reply(kind, Stage::RcptTo, "refused", reply(code));
        assert!(reset_after(&refused(ErrorKind::RecipientRejected, 550)));
        assert!(!reset_after(&refused(ErrorKind::RecipientRejected, 421)));
        assert!(!reset_after(&refused(ErrorKind::Auth, 535)));
        assert!(judge_message(reply(250)).is_ok());
        assert_eq!(judge_message(reply(552)).unwrap_err().stage, Stage::Message);
    }

    #[test]
    fn a_transaction_behind_another_resets_first_and_is_judged_on_its_own_replies() {
        let tx = plan(&["PIPELINING", "CHUNKING"], true).behind_another();
        let write = tx.next_write(0, &[]).expect("everything in one write");
        assert_eq!(write.lines, ["RSET", "MAIL FROM:<me@example.com>", "RCPT TO:<a@example.com>", "RCPT TO:<b@example.com>", "BDAT 18 LAST"]);
        assert_eq!(write.chunk, b"Subject: x\r\n\r\nhi\r\n");
        assert_eq!(tx.commands(), 5);
        // Once written, its replies are read and judged without the chunk, which no longer borrows the message.
        let tx = tx.into_written();
        assert!(tx.next_write(5, &[]).is_none(), "nothing more to write");
        assert_eq!([0, 1, 4].map(|n| tx.stage_of_reply(n)), [Stage::Rset, Stage::MailFrom, Stage::Message]);
        let judged = tx.judge(vec![reply(250), reply(250), reply(550), reply(250), reply(250)]);
        assert_eq!((judged.accepted, judged.refused.len()), (vec!["b@example.com".to_string()], 1));
        assert!(matches!(judged.next, Next::Judge(ref r) if r.code == 250));
        // Its own refusal decides, not RSET's reply.
        let judged = tx.judge(vec![reply(250), reply(553), reply(503), reply(503), reply(503)]);
        assert!(matches!(judged.next, Next::Fail { ref error, end_empty_data: false } if error.kind == ErrorKind::SenderRejected));
        assert_eq!(judged.last_reply.map(|r| r.code), Some(553));
    }

    #[test]
    fn only_pipelining_with_chunking_streams() {
        assert!(streams(&offering(&["PIPELINING", "CHUNKING"]), true));
        assert!(!streams(&offering(&["PIPELINING", "CHUNKING"]), false), "chunking off: DATA, which ends a group");
        assert!(!streams(&offering(&["PIPELINING"]), true));
        assert!(!streams(&offering(&["CHUNKING"]), true));
    }

    #[test]
    fn a_message_behind_a_lost_transaction_is_unanswered_not_refused() {
        let closed = SendError::new(ErrorKind::Protocol, Stage::Message, Problem::Closed, "the server closed the connection after the message");
        let behind = unanswered_behind(&closed);
        assert_eq!((behind.kind, behind.stage, &behind.problem, behind.reply.is_none()), (ErrorKind::Protocol, Stage::MailFrom, &Problem::Closed, true));
        assert!(behind.message.contains("after the message") && behind.message.contains("not sent again"), "{}", behind.message);
        assert!(behind.is_transient());
        let timed_out = SendError::new(ErrorKind::Timeout, Stage::RcptTo, Problem::Timeout, "no answer");
        assert_eq!(unanswered_behind(&timed_out).kind, ErrorKind::Timeout);
        // A 421 ("closing") to the previous one: this one's replies never came, it was not refused.
        let closing = SendError::from_reply(ErrorKind::SenderRejected, Stage::MailFrom, "refused", reply(421));
        let behind = unanswered_behind(&closing);
        assert_eq!((behind.kind, behind.problem), (ErrorKind::Protocol, Problem::Closed));
    }
}
