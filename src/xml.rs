//! A small element tree over quick-xml, for the exchange files (XLIFF, TMX): read whole, with
//! every error placed at its line and column, and text written so that any XML reader opens it.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::borrow::Cow;

/// An element: its name as written (with any prefix), attributes, children, and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// Line and column (1-based) of its start tag.
    pub at: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Why a file is not well-formed XML, with where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The name without its prefix: `tolk:doc` -> `doc`, `xml:lang` -> `lang`.
pub fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

impl Element {
    /// The value of the attribute whose local name is `name` (any prefix).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| local(k) == name)
            .map(|(_, v)| v.as_str())
    }

    /// The child elements whose local name is `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter_map(move |n| match n {
            Node::Element(e) if local(&e.name) == name => Some(e),
            _ => None,
        })
    }

    /// The first child element named `name`.
    pub fn first<'a>(&'a self, name: &'a str) -> Option<&'a Element> {
        self.all(name).next()
    }

    /// Every element below this one named `name`, in document order.
    pub fn descendants<'a>(&'a self, name: &str, into: &mut Vec<&'a Element>) {
        for n in &self.children {
            if let Node::Element(e) = n {
                if local(&e.name) == name {
                    into.push(e);
                }
                e.descendants(name, into);
            }
        }
    }

    /// Its text, with the text of inline elements inside it, except those named in `skip` (a
    /// TMX `<bpt>` holds the original's code, not words).
    pub fn text_without(&self, skip: &[&str]) -> String {
        let mut s = String::new();
        self.collect(&mut s, skip);
        s
    }

    pub fn text(&self) -> String {
        self.text_without(&[])
    }

    fn collect(&self, into: &mut String, skip: &[&str]) {
        for n in &self.children {
            match n {
                Node::Text(t) => into.push_str(t),
                Node::Element(e) if !skip.contains(&local(&e.name)) => e.collect(into, skip),
                Node::Element(_) => {}
            }
        }
    }
}

/// Whether language tag `tag` (`nl`, `nl-NL`, `EN_gb`, as `xml:lang` holds it) is language
/// `want` (lower case).
pub fn lang_is(tag: &str, want: &str) -> bool {
    let t = tag.to_ascii_lowercase();
    t.strip_prefix(want)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_']))
}

/// Line and column (1-based, columns in characters) of byte `offset` in `text`.
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut at = offset;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Read `text` as one XML document: its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let fail = |offset: u64, message: String| {
        let (line, column) = position(text, offset as usize);
        XmlError {
            line,
            column,
            message,
        }
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position();
            // An error in the last tag of the text is most likely a file cut short.
            let after = (at as usize + 1).min(text.len());
            let cut = !text.is_char_boundary(after) || !text[after..].contains('<');
            let mut message = e.to_string();
            if cut {
                message.push_str("; the file may be cut short");
            }
            fail(at, message)
        })?;
        let push_text = |stack: &mut Vec<Element>, t: Cow<'_, str>| {
            if let Some(top) = stack.last_mut() {
                match top.children.last_mut() {
                    Some(Node::Text(s)) => s.push_str(&t),
                    _ => top.children.push(Node::Text(t.into_owned())),
                }
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| fail(start, err.to_string()))?;
                    let value = a
                        .unescape_value()
                        .map_err(|err| fail(start, err.to_string()))?;
                    attrs.push((
                        String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                        value.into_owned(),
                    ));
                }
                if root.is_some() {
                    return Err(fail(start, "a second root element".into()));
                }
                let el = Element {
                    name,
                    attrs,
                    children: Vec::new(),
                    at: position(text, start as usize),
                };
                if empty {
                    match stack.last_mut() {
                        Some(top) => top.children.push(Node::Element(el)),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| fail(start, "a closing tag without its start".into()))?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| fail(start, e.to_string()))?;
                // XML reads a line break of \r\n or \r as \n.
                let s = s.replace("\r\n", "\n").replace('\r', "\n");
                push_text(&mut stack, Cow::Owned(s));
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| fail(start, e.to_string()))?;
                push_text(&mut stack, s);
            }
            Event::GeneralRef(r) => {
                let resolved = match r
                    .resolve_char_ref()
                    .map_err(|e| fail(start, e.to_string()))?
                {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| fail(start, e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| fail(start, format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                push_text(&mut stack, Cow::Owned(resolved));
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(fail(
                        text.len() as u64,
                        format!(
                            "the file ends before <{}> (line {}) is closed; it may be cut short",
                            open.name, open.at.0
                        ),
                    ));
                }
                return root.ok_or_else(|| fail(0, "no element: the file is empty".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

/// `s` as XML text or attribute value: the five special characters escaped, a carriage return
/// and a tab kept as character references (a reader would otherwise turn them into a line feed
/// or a space), and a character XML 1.0 cannot hold (most control characters) as U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` with every character XML 1.0 cannot hold replaced by U+FFFD: what a reader of the file
/// will read back for it.
pub fn clean(s: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    if s.chars().all(allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if allowed(c) { c } else { '\u{fffd}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let hard = "a < b & c > d ]]> \"q\" 'a'\tx\r\ny\u{1}z";
        let doc = format!("<r a=\"{}\"><t>{}</t></r>", escape(hard), escape(hard));
        let root = parse(&doc).unwrap();
        let want = "a < b & c > d ]]> \"q\" 'a'\tx\r\ny\u{fffd}z";
        assert_eq!(root.first("t").unwrap().text(), want);
        assert_eq!(root.attr("a"), Some(want));
        assert_eq!(clean("x\u{1}"), "x\u{fffd}");
    }

    #[test]
    fn a_broken_file_says_where() {
        let err = parse("<r>\n  <t>open\n</r>").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let cut = parse("<r>\n<t>a</t>\n<t>b").unwrap_err();
        assert!(cut.message.contains("cut short"), "{cut}");
        // Cut inside a tag: quick-xml's own error, and the same hint.
        let in_tag = parse("<r>\n<t>a</t>\n<t x=\"1").unwrap_err();
        assert!(
            in_tag.message.contains("cut short") && in_tag.line == 3,
            "{in_tag}"
        );
        assert_eq!(
            parse("").unwrap_err().message,
            "no element: the file is empty"
        );
    }

    #[test]
    fn every_cut_of_a_file_is_said_to_be_cut_short() {
        let doc = "<?xml version=\"1.0\"?>\n<x a=\"1\">\n  <y b=\"&amp;\">t&lt;x</y><!-- c -->\n  <z/>\n</x>\n";
        let end = doc.find("</x>").unwrap();
        for cut in doc.find("<x").unwrap() + 1..end {
            let err = parse(&doc[..cut]).unwrap_err();
            assert!(err.message.contains("cut short"), "cut at {cut}: {err}");
        }
    }

    #[test]
    fn prefixed_names_are_found_by_their_local_name() {
        let root =
            parse(r#"<x xmlns:t="urn:t" t:doc="d"><y xml:lang="nl">a<b>c</b>d</y></x>"#).unwrap();
        assert_eq!(root.attr("doc"), Some("d"));
        let y = root.first("y").unwrap();
        assert_eq!(y.attr("lang"), Some("nl"));
        assert_eq!(y.text(), "acd");
        assert_eq!(y.text_without(&["b"]), "ad");
    }
}
