//! SMTP replies (RFC 5321 section 4.2) and enhanced status codes (RFC 3463).

/// One complete server reply, possibly of several lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub code: u16,
    /// "5.7.139" when the server gave an enhanced status code (RFC 2034).
    pub enhanced: Option<String>,
    /// The text of each line, without code, separator or enhanced code.
    pub lines: Vec<String>,
}

/// Where a line stands in a reply being read.
#[derive(Debug, PartialEq)]
pub enum LineParse {
    /// "250-..." : more lines follow.
    More(u16, String),
    /// "250 ..." or "250": the reply ends here.
    Last(u16, String),
}

/// Parses one reply line (without CRLF). `None` if it is not an SMTP reply
/// line at all, as when an HTTP server or a TLS record answers.
pub fn parse_line(line: &str) -> Option<LineParse> {
    let bytes = line.as_bytes();
    if bytes.len() < 3 || !bytes[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&bytes[0]) {
        return None;
    }
    let code: u16 = line[..3].parse().ok()?;
    match bytes.get(3) {
        None => Some(LineParse::Last(code, String::new())),
        Some(b' ') => Some(LineParse::Last(code, line[4..].to_string())),
        Some(b'-') => Some(LineParse::More(code, line[4..].to_string())),
        _ => None,
    }
}

impl Reply {
    /// Builds a reply from its parsed lines and pulls out the enhanced code
    /// when the first line starts with one whose class matches the reply's.
    pub fn new(code: u16, texts: Vec<String>) -> Reply {
        let enhanced = texts.first().and_then(|t| enhanced_code(t, code));
        let lines = texts
            .into_iter()
            .map(|t| match &enhanced {
                Some(e) if t.starts_with(e.as_str()) => t[e.len()..].trim_start().to_string(),
                _ => t,
            })
            .collect();
        Reply { code, enhanced, lines }
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 4xx: "the command was not accepted ... but the error condition is
    /// temporary" (RFC 5321 section 4.2.1).
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The reply's text on one line, for messages and logs.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// Code, enhanced code and text, as a person would quote it.
    pub fn one_line(&self) -> String {
        match &self.enhanced {
            Some(e) => format!("{} {} {}", self.code, e, self.text()),
            None => format!("{} {}", self.code, self.text()),
        }
        .trim_end()
        .to_string()
    }
}

/// "5.7.139 Authentication unsuccessful" -> "5.7.139" for a 5xx reply.
fn enhanced_code(text: &str, code: u16) -> Option<String> {
    let word = text.split_whitespace().next()?;
    let parts: Vec<&str> = word.split('.').collect();
    let valid = parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0] == (code / 100).to_string();
    valid.then(|| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_continuation_and_last_lines() {
        assert_eq!(parse_line("250-PIPELINING"), Some(LineParse::More(250, "PIPELINING".into())));
        assert_eq!(parse_line("250 OK"), Some(LineParse::Last(250, "OK".into())));
        assert_eq!(parse_line("354"), Some(LineParse::Last(354, String::new())));
    }

    #[test]
    fn rejects_non_smtp_lines() {
        assert_eq!(parse_line("HTTP/1.1 400 Bad Request"), None);
        assert_eq!(parse_line("\u{15}\u{3}\u{1}"), None);
        assert_eq!(parse_line("999 nope"), None);
        assert_eq!(parse_line("250_bad"), None);
    }

    #[test]
    fn extracts_enhanced_code_of_matching_class() {
        let r = Reply::new(535, vec!["5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled".into()]);
        assert_eq!(r.enhanced.as_deref(), Some("5.7.139"));
        assert_eq!(r.lines[0], "Authentication unsuccessful, SmtpClientAuthentication is disabled");
        assert_eq!(r.one_line(), "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled");
        // A 4xx reply whose text starts with a 5.x.x code has no valid enhanced code.
        assert_eq!(Reply::new(421, vec!["5.7.1 odd".into()]).enhanced, None);
        assert_eq!(Reply::new(250, vec!["2.0.0 Ok: queued as 1234".into()]).enhanced.as_deref(), Some("2.0.0"));
        assert_eq!(Reply::new(250, vec!["mail.example.com".into()]).enhanced, None);
    }

    #[test]
    fn transience_follows_the_first_digit() {
        assert!(Reply::new(451, vec![]).is_transient());
        assert!(!Reply::new(550, vec![]).is_transient());
        assert!(Reply::new(354, vec![]).is_positive());
    }
}

/// What a server said it can do in its EHLO reply (RFC 5321 section 4.1.1.1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capabilities {
    /// Each extension line as sent: "SIZE 35882577", "AUTH PLAIN LOGIN".
    pub lines: Vec<String>,
}

impl Capabilities {
    /// The first line of an EHLO reply is the greeting; the rest are extensions.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        Capabilities { lines: reply.lines.iter().skip(1).map(|l| l.trim().to_string()).collect() }
    }

    pub fn has(&self, keyword: &str) -> bool {
        self.lines.iter().any(|l| l.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(keyword)))
    }

    /// AUTH mechanisms, upper case. Also reads the pre-standard "AUTH=LOGIN"
    /// form that some old servers still send.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut mechanisms: Vec<String> = Vec::new();
        for line in &self.lines {
            let upper = line.to_ascii_uppercase();
            let rest = upper.strip_prefix("AUTH ").or_else(|| upper.strip_prefix("AUTH="));
            for m in rest.into_iter().flat_map(str::split_whitespace) {
                if !mechanisms.iter().any(|x| x == m) {
                    mechanisms.push(m.to_string());
                }
            }
        }
        mechanisms
    }

    /// The largest message the server accepts, from "SIZE n" (RFC 1870); 0 means no limit.
    pub fn size(&self) -> Option<u64> {
        self.lines.iter().find_map(|l| {
            let mut words = l.split_whitespace();
            words.next().filter(|k| k.eq_ignore_ascii_case("SIZE"))?;
            words.next()?.parse::<u64>().ok().filter(|n| *n > 0)
        })
    }

    /// The keywords alone, for a compact summary.
    pub fn keywords(&self) -> Vec<String> {
        self.lines.iter().filter_map(|l| l.split_whitespace().next()).map(str::to_ascii_uppercase).collect()
    }
}

#[cfg(test)]
mod capability_tests {
    use super::*;

    #[test]
    fn reads_extensions_and_auth_forms() {
        let reply = Reply::new(
            250,
            vec![
                "mx.example.com Hello".into(),
                "PIPELINING".into(),
                "SIZE 1000".into(),
                "AUTH PLAIN LOGIN".into(),
                "AUTH=LOGIN XOAUTH2".into(),
                "STARTTLS".into(),
            ],
        );
        let caps = Capabilities::from_ehlo(&reply);
        assert!(caps.has("starttls") && caps.has("SIZE") && !caps.has("CHUNKING"));
        assert_eq!(caps.auth_mechanisms(), vec!["PLAIN", "LOGIN", "XOAUTH2"]);
        assert_eq!(caps.keywords(), vec!["PIPELINING", "SIZE", "AUTH", "AUTH=LOGIN", "STARTTLS"]);
    }
}
