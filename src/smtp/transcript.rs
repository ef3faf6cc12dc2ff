//! The record of one SMTP conversation, as a person debugging it wants to
//! read it: every line with its time and direction, secrets replaced.

use crate::secrets::REDACTED;
use serde_json::{json, Value as Json};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Client,
    Server,
    /// Notes that are not on the wire: connecting, TLS negotiated, reuse.
    Info,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub ms: f64,
    pub dir: Direction,
    pub line: String,
}

/// Most bytes of lines a transcript keeps. A real session is a few KiB; a
/// hostile server sending many long replies would otherwise grow it (and
/// the PHP array made of it) without bound.
pub const MAX_TRANSCRIPT_BYTES: usize = 256 * 1024;

#[derive(Debug)]
pub struct Transcript {
    start: Instant,
    pub entries: Vec<Entry>,
    kept_bytes: usize,
    /// Lines and bytes left out once the transcript was full.
    dropped: (usize, usize),
    /// Where the single line saying what was left out stands.
    marker: Option<usize>,
}

impl Transcript {
    pub fn new(start: Instant) -> Self {
        Transcript { start, entries: Vec::new(), kept_bytes: 0, dropped: (0, 0), marker: None }
    }

    pub fn elapsed_ms(&self) -> f64 {
        ms_since(self.start)
    }

    /// Records a line; once the transcript holds [`MAX_TRANSCRIPT_BYTES`],
    /// later lines are only counted, in one marker line.
    pub fn push(&mut self, dir: Direction, line: impl Into<String>) {
        let ms = self.elapsed_ms();
        let line = line.into();
        if self.marker.is_none() && self.kept_bytes + line.len() <= MAX_TRANSCRIPT_BYTES {
            self.kept_bytes += line.len();
            self.entries.push(Entry { ms, dir, line });
            return;
        }
        self.dropped.0 += 1;
        self.dropped.1 += line.len();
        let (lines, bytes) = self.dropped;
        let note = format!("[transcript truncated at {} KiB: {lines} later lines ({bytes} bytes) left out]", MAX_TRANSCRIPT_BYTES / 1024);
        let marker = *self.marker.get_or_insert(self.entries.len());
        match self.entries.get_mut(marker) {
            Some(entry) => entry.line = note,
            None => self.entries.push(Entry { ms, dir: Direction::Info, line: note }),
        }
    }

    pub fn info(&mut self, line: impl Into<String>) {
        self.push(Direction::Info, line);
    }

    pub fn to_json(&self) -> Json {
        Json::Array(
            self.entries
                .iter()
                .map(|e| {
                    let dir = match e.dir {
                        Direction::Client => "client",
                        Direction::Server => "server",
                        Direction::Info => "info",
                    };
                    json!({ "ms": round_ms(e.ms), "dir": dir, "line": e.line })
                })
                .collect(),
        )
    }
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Milliseconds to 0.01 ms: finer digits are noise, and they make results
/// harder to read.
pub fn round_ms(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// How a client line appears in the transcript. `AUTH <mechanism> <initial
/// response>` keeps its mechanism; a line answering a 334 challenge is all
/// secret (RFC 4954 section 4: it carries the credentials).
pub fn redact_client_line(line: &str, answering_challenge: bool) -> String {
    if answering_challenge {
        return REDACTED.to_string();
    }
    let mut words = line.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(verb), Some(mechanism), Some(_)) if verb.eq_ignore_ascii_case("AUTH") => {
            format!("{verb} {mechanism} {REDACTED}")
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_initial_response_is_redacted_but_mechanism_kept() {
        assert_eq!(redact_client_line("AUTH PLAIN AHVzZXIAcGFzcw==", false), "AUTH PLAIN [redacted]");
        assert_eq!(redact_client_line("AUTH LOGIN", false), "AUTH LOGIN");
        assert_eq!(redact_client_line("dXNlcg==", true), "[redacted]");
        assert_eq!(redact_client_line("MAIL FROM:<a@example.com>", false), "MAIL FROM:<a@example.com>");
    }

    #[test]
    fn transcript_keeps_its_first_bytes_and_says_how_much_was_left_out() {
        let mut t = Transcript::new(Instant::now());
        let line = "x".repeat(1000);
        for _ in 0..300 {
            t.push(Direction::Server, line.clone());
        }
        t.info("closing");
        let kept = MAX_TRANSCRIPT_BYTES / 1000;
        assert_eq!(t.entries.len(), kept + 1);
        let last = t.entries.last().unwrap();
        assert_eq!(last.dir, Direction::Info);
        let dropped_bytes = (300 - kept) * 1000 + "closing".len();
        assert_eq!(last.line, format!("[transcript truncated at 256 KiB: {} later lines ({dropped_bytes} bytes) left out]", 300 - kept + 1));
        let total: usize = t.entries.iter().map(|e| e.line.len()).sum();
        assert!(total <= MAX_TRANSCRIPT_BYTES + 100, "{total}");
    }
}
