//! A readable plain-text version of an HTML body, for `'text' => true`: paragraphs, headings and line breaks
//! kept as lines, list items as "- " or "1. " lines, each link's URL kept after its text, scripts, styles and
//! comments left out. It reads HTML as a tolerant tokenizer does (tags, attributes, entities), which is all a
//! text part needs; the HTML part still goes as given.

/// Elements whose content is never text.
const HIDDEN: &[&str] = &["script", "style", "head", "title", "template", "noscript"];
/// Elements that stand as a paragraph of their own (a blank line around them).
const PARAGRAPHS: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr", "dl"];
/// Elements that start a line of their own (a list item does too, with its marker).
const LINES: &[&str] = &["div", "tr", "dt", "dd", "section", "article", "header", "footer", "nav", "main", "aside", "address", "figure"];

/// The text of `html`, its lines ended by "\n".
pub fn html_to_text(html: &str) -> String {
    let mut out = Text::default();
    let mut lists: Vec<Option<u32>> = Vec::new(); // each open list: its next number (ol) or None (ul)
    let mut links: Vec<(Option<String>, usize)> = Vec::new(); // each open link: its URL, where its text starts
    let mut hidden: Option<String> = None;
    let mut pre = 0u32; // open <pre> elements: their spaces and line ends are kept
    let mut rest = html;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if hidden.is_none() {
                out.text(&decode_entities(rest), pre > 0);
            }
            break;
        };
        if hidden.is_none() {
            out.text(&decode_entities(&rest[..open]), pre > 0);
        }
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let end = tag_end(rest);
        let Some(tag) = Tag::parse(&rest[1..end]) else {
            // A '<' that starts no tag ("a < b") is text.
            if hidden.is_none() {
                out.text("<", pre > 0);
            }
            rest = &rest[1..];
            continue;
        };
        rest = &rest[(end + 1).min(rest.len())..];
        if let Some(element) = &hidden {
            if tag.closing && tag.name == *element {
                hidden = None;
            }
            continue;
        }
        let name = tag.name.as_str();
        match (name, tag.closing) {
            _ if HIDDEN.contains(&name) && !tag.closing => hidden = Some(tag.name.clone()),
            ("br", _) => out.line_break(),
            ("li", false) => {
                out.line_break();
                let marker = match lists.last_mut() {
                    Some(Some(number)) => {
                        *number += 1;
                        format!("{}. ", *number - 1)
                    }
                    _ => "- ".to_string(),
                };
                out.text(&"  ".repeat(lists.len().saturating_sub(1)), true);
                out.text(&marker, true);
            }
            ("ul", false) => lists.push(None),
            ("ol", false) => lists.push(Some(tag.attribute("start").and_then(|s| s.trim().parse().ok()).unwrap_or(1))),
            ("ul" | "ol", true) => {
                lists.pop();
            }
            ("a", false) => links.push((tag.attribute("href"), out.buffer.len())),
            ("a", true) => {
                if let Some((Some(url), start)) = links.pop() {
                    let text = out.buffer[start.min(out.buffer.len())..].trim().to_string();
                    let url = url.trim();
                    let shown = url.strip_prefix("mailto:").unwrap_or(url);
                    if url.is_empty() || url.starts_with('#') || url.starts_with("javascript:") || text == url || text == shown {
                        // Nothing to add: no address to follow, or the text is the address.
                    } else if text.is_empty() {
                        out.text(shown, false);
                    } else {
                        out.text(&format!(" ({url})"), false);
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = tag.attribute("alt").filter(|a| !a.trim().is_empty()) {
                    out.text(&alt, false);
                }
            }
            ("td" | "th", false) => out.text(" ", false),
            _ => {}
        }
        if name == "pre" {
            pre = if tag.closing { pre.saturating_sub(1) } else { pre + 1 };
        }
        // A list is a paragraph; a list inside a list item starts a line.
        let list = matches!(name, "ul" | "ol");
        let outermost_list = list && lists.len() == usize::from(!tag.closing);
        if PARAGRAPHS.contains(&name) || outermost_list {
            out.paragraph_break();
        } else if LINES.contains(&name) || list {
            out.line_break();
        }
    }
    out.finish()
}

/// The index of the '>' that ends the tag `text` starts with (quotes in attributes skipped), or its length.
fn tag_end(text: &str) -> usize {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    text.len()
}

struct Tag {
    name: String,
    closing: bool,
    attributes: String,
}

impl Tag {
    /// What is between '<' and '>'; `None` when it is no tag.
    fn parse(inside: &str) -> Option<Tag> {
        let (closing, inside) = match inside.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inside),
        };
        let name_end = inside.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(inside.len());
        let name = inside[..name_end].to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // "<!DOCTYPE ...>" and "<?xml ...?>" are tags that say nothing; a lone '<' is text.
            return inside.starts_with(['!', '?']).then(|| Tag { name: String::new(), closing, attributes: String::new() });
        }
        Some(Tag { name, closing, attributes: inside[name_end..].to_string() })
    }

    /// The value of attribute `name`, its entities decoded.
    fn attribute(&self, name: &str) -> Option<String> {
        let mut rest = self.attributes.as_str();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            let key_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
            if key_end == 0 {
                return None;
            }
            let key = &rest[..key_end];
            rest = rest[key_end..].trim_start();
            let mut value = "";
            if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start();
                let (v, r) = match after.chars().next() {
                    Some(q @ ('"' | '\'')) => after[1..].split_once(q).unwrap_or((&after[1..], "")),
                    _ => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
                };
                value = v;
                rest = r;
            }
            if key.eq_ignore_ascii_case(name) {
                return Some(decode_entities(value));
            }
        }
    }
}

/// The text being written: lines, with the blank lines between paragraphs.
#[derive(Default)]
struct Text {
    buffer: String,
    /// Line ends owed before the next text: 1 for a line break, 2 for a paragraph.
    pending: usize,
}

impl Text {
    fn text(&mut self, text: &str, keep_spaces: bool) {
        let text = if keep_spaces { text.to_string() } else { collapse_whitespace(text) };
        if text.is_empty() || (!keep_spaces && text == " " && (self.pending > 0 || self.buffer.is_empty() || self.buffer.ends_with([' ', '\n']))) {
            return;
        }
        if self.pending > 0 {
            if !self.buffer.is_empty() {
                self.buffer.truncate(self.buffer.trim_end_matches(' ').len());
                self.buffer.push_str(&"\n".repeat(self.pending));
            }
            self.pending = 0;
        }
        let text = if !keep_spaces && (self.buffer.is_empty() || self.buffer.ends_with(['\n', ' '])) { text.trim_start_matches(' ') } else { &text };
        self.buffer.push_str(text);
    }

    fn line_break(&mut self) {
        self.pending = self.pending.max(1);
    }

    fn paragraph_break(&mut self) {
        self.pending = 2;
    }

    fn finish(mut self) -> String {
        let lines: Vec<&str> = self.buffer.lines().map(str::trim_end).collect();
        self.buffer = lines.join("\n").trim().to_string();
        if !self.buffer.is_empty() {
            self.buffer.push('\n');
        }
        self.buffer
    }
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `&amp;`, `&lt;`, `&#8364;`, `&#x20AC;` and the other common named entities; an unknown one is left as written.
fn decode_entities(text: &str) -> String {
    const NAMED: &[(&str, &str)] = &[
        ("amp", "&"),
        ("lt", "<"),
        ("gt", ">"),
        ("quot", "\""),
        ("apos", "'"),
        ("nbsp", "\u{a0}"),
        ("copy", "©"),
        ("reg", "®"),
        ("trade", "™"),
        ("euro", "€"),
        ("pound", "£"),
        ("mdash", "—"),
        ("ndash", "–"),
        ("hellip", "…"),
        ("laquo", "«"),
        ("raquo", "»"),
        ("lsquo", "‘"),
        ("rsquo", "’"),
        ("ldquo", "“"),
        ("rdquo", "”"),
        ("bull", "•"),
        ("middot", "·"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest[1..].find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..=end];
            let c = match entity.strip_prefix('#') {
                Some(number) => match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).map(String::from),
                    None => number.parse().ok().and_then(char::from_u32).map(String::from),
                },
                None => NAMED.iter().find(|(name, _)| *name == entity).map(|(_, c)| c.to_string()),
            };
            c.map(|c| (c, end + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push_str(&c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn paragraphs_lists_and_links_are_kept() {
        let html = "<html><head><title>T</title><style>p{color:red}</style></head><body>\
            <h1>Your order</h1><p>Thank   you,\n <b>Anna</b>!<br>See <a href=\"https://example.com/o/1?a=1&amp;b=2\">your order</a>.</p>\
            <ul><li>One</li><li>Two <a href=\"https://example.com/two\">https://example.com/two</a></li></ul>\
            <ol start=\"3\"><li>Third</li><li>Fourth</li></ol><!-- hidden --><script>alert(1)</script>\
            <p>Fish &amp; chips &euro;5 &#8364;&#x20AC; a&lt;b, <a href=\"mailto:help@example.com\">help@example.com</a></p></body></html>";
        assert_eq!(
            html_to_text(html),
            "Your order\n\nThank you, Anna!\nSee your order (https://example.com/o/1?a=1&b=2).\n\n- One\n- Two https://example.com/two\n\n\
             3. Third\n4. Fourth\n\nFish & chips €5 €€ a<b, help@example.com\n"
        );
    }

    #[test]
    fn odd_html_still_reads() {
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d\n");
        assert_eq!(html_to_text("<p>unclosed <a href=x>link"), "unclosed link\n");
        assert_eq!(html_to_text("<div>one</div><div>two</div>"), "one\ntwo\n");
        assert_eq!(html_to_text("<pre>  keep\n    this</pre>"), "keep\n    this\n");
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("<img src=x alt=\"Logo\"> & more &unknown;"), "Logo & more &unknown;\n");
    }
}
