//! Text the grammar forces, decoded as a prompt is, many tokens in one step, instead of one
//! generation step per token ("jump-forward" decoding). Two kinds:
//!
//! - **Structure.** In a reply whose objects have all their properties required and no others
//!   allowed (every schema tolk asks of the embedded model), the grammar decides the keys, their
//!   order, the colons and commas between them and the closing brackets: `"rationale_en":` comes
//!   after the evidence whatever the model thinks. Some 30 of a stance answer's 45 tokens of
//!   JSON are such, each a whole generation step over a letter-sized context.
//! - **Quotes.** Inside the string value of an enum of strings (a quoted sentence of the letter),
//!   once the characters written fit one value only, the rest of it.
//!
//! [`Forcing::continuation`] walks what the model has written against the schema and gives
//! what must follow, up to the next place where the model chooses. Where the grammar allows
//! whitespace it is laid out as the model lays out JSON when nothing is forced: a property a
//! line, two spaces an indent; on one line where the model began an object or a list on one
//! line. Whitespace the model wrote is taken as it is.
//!
//! What is forced ends where the model would end a token itself, so that it goes on from a
//! boundary it would have chosen: after ` "` before a string's characters, after `":` before a
//! number or a list (the model writes ` [` with the newline after it as one token), never
//! after a closing bracket (`},` and `}\n` are single tokens too). A value's start that several
//! values share ("Het Hongaarse voorstel voor de ") is not forced either: forced that far, the
//! model would have to choose the next word from an unnatural token boundary, and on the
//! Offlimits letter it then chose other quotes and with them other stances. A string's closing
//! quote is the model's (it writes `",` as one token). Every forced token is still checked
//! against the grammar before it is taken ([`super::sample::take_if_allowed`]), so a mistake
//! here can cost speed, never a reply the grammar refuses; and where the written text does not
//! follow the schema as this walk reads it, nothing is forced.

use serde_json::Value;

/// A reply's JSON Schema, for the text its grammar (llama.cpp's `json_schema_to_grammar`)
/// forces.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Forcing(Value);

impl Forcing {
    pub fn of(schema: &Value) -> Forcing {
        Forcing(schema.clone())
    }

    /// What must follow `text` (a JSON reply being written) up to the next place where the
    /// model chooses; None when nothing is forced there, or when `text` does not follow the
    /// schema as this walk reads it.
    pub fn continuation(&self, text: &str) -> Option<String> {
        let mut walk = Walk {
            text,
            pos: 0,
            out: None,
        };
        match walk.value(&self.0, 0, true) {
            Ok(()) | Err(Stop::Choice) => walk.out.filter(|s| !s.is_empty()),
            Err(Stop::Lost) => None,
        }
    }
}

/// Why a walk ends before the reply's end.
enum Stop {
    /// The model chooses what comes next.
    Choice,
    /// The written text does not follow the schema as read here (or the schema has what this
    /// walk does not read: `anyOf`, `$ref`, optional properties).
    Lost,
}

/// What comes after the place where a forced text stops, for where to cut it back.
#[derive(Clone, Copy)]
enum Next {
    /// A string's characters: the text ends with its opening quote.
    Content,
    /// A number or another scalar: the text ends with the key's colon.
    Scalar,
    /// A list's items or its end: the text ends with the key's colon (or nothing).
    Items,
}

/// A walk through a reply being written: `text` read up to `pos`; once all of it is read,
/// `out` gathers the text the grammar forces from there.
struct Walk<'a> {
    text: &'a str,
    pos: usize,
    out: Option<String>,
}

/// A newline and the indent of `depth`.
fn indent(depth: usize) -> String {
    format!("\n{}", "  ".repeat(depth))
}

/// Between a list's or an object's members: a line each, or a space.
fn between(pretty: bool, depth: usize) -> String {
    if pretty {
        indent(depth)
    } else {
        " ".to_string()
    }
}

impl<'a> Walk<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn forcing(&self) -> bool {
        self.out.is_some()
    }

    /// Whitespace the grammar allows here (its `space`): what the model wrote, else
    /// `canonical` (or the rest of it, when the text ends in the start of it). The whitespace
    /// the model wrote.
    fn space(&mut self, canonical: &str) -> &'a str {
        if let Some(out) = &mut self.out {
            out.push_str(canonical);
            return "";
        }
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
        let written = &rest[..n];
        self.pos += n;
        if self.pos == self.text.len() {
            self.out = Some(canonical.strip_prefix(written).unwrap_or("").to_string());
        }
        written
    }

    /// Whitespace where the model chooses what follows it: read, never forced.
    fn free_space(&mut self) -> Result<&'a str, Stop> {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
        self.pos += n;
        if self.pos == self.text.len() {
            return Err(Stop::Choice);
        }
        Ok(&rest[..n])
    }

    /// Text the grammar decides.
    fn lit(&mut self, s: &str) -> Result<(), Stop> {
        if let Some(out) = &mut self.out {
            out.push_str(s);
            return Ok(());
        }
        let rest = self.rest();
        if let Some(after) = s.strip_prefix(rest) {
            self.pos = self.text.len();
            self.out = Some(after.to_string());
            Ok(())
        } else if rest.starts_with(s) {
            self.pos += s.len();
            Ok(())
        } else {
            Err(Stop::Lost)
        }
    }

    /// A place where the model chooses: the walk stops here when the written text is all read,
    /// the forced text cut back to where the model would end a token ([`Next`]).
    fn choice(&mut self, next: Next) -> Result<(), Stop> {
        if let Some(out) = &mut self.out {
            let keep = match next {
                Next::Content => out.len(),
                Next::Scalar => out.trim_end().len(),
                Next::Items => out
                    .trim_end_matches(|c: char| c.is_whitespace() || "[]{},".contains(c))
                    .len(),
            };
            out.truncate(keep);
            return Err(Stop::Choice);
        }
        if self.pos == self.text.len() {
            return Err(Stop::Choice);
        }
        Ok(())
    }

    /// A value at `depth`, in a container laid out a member a line when `pretty`.
    fn value(&mut self, schema: &Value, depth: usize, pretty: bool) -> Result<(), Stop> {
        if ["anyOf", "oneOf", "allOf", "$ref", "const", "not"]
            .iter()
            .any(|k| schema.get(k).is_some())
        {
            return Err(Stop::Lost);
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return self.constant(values);
        }
        match schema.get("type") {
            Some(Value::String(t)) if t == "object" => self.object(schema, depth, pretty),
            Some(Value::String(t)) if t == "array" => self.array(schema, depth, pretty),
            Some(Value::String(t)) if t == "string" => self.string(&[]),
            Some(Value::String(_)) => self.scalar(),
            Some(Value::Array(types))
                if types.iter().all(|t| {
                    matches!(
                        t.as_str(),
                        Some("string" | "null" | "number" | "integer" | "boolean")
                    )
                }) =>
            {
                self.scalar()
            }
            _ => Err(Stop::Lost),
        }
    }

    /// An object. Its keys are forced only when all its properties are required and no
    /// others allowed: then the grammar writes them in the schema's order. Laid out as the
    /// model began it, or as its container (`pretty`) when that is forced too.
    fn object(&mut self, schema: &Value, depth: usize, pretty: bool) -> Result<(), Stop> {
        let empty = serde_json::Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        self.lit("{")?;
        if !closed || !props.keys().all(|k| required.contains(&k.as_str())) {
            self.choice(Next::Items)?;
            return Err(Stop::Lost);
        }
        if props.is_empty() {
            self.space("");
            return self.lit("}");
        }
        let first = self.space(&if pretty {
            indent(depth + 1)
        } else {
            String::new()
        });
        let pretty = if self.forcing() {
            pretty
        } else {
            first.contains('\n')
        };
        for (i, (key, sub)) in props.iter().enumerate() {
            if i > 0 {
                self.lit(",")?;
                self.space(&between(pretty, depth + 1));
            }
            self.lit(&Value::from(key.as_str()).to_string())?;
            self.space("");
            self.lit(":")?;
            self.space(" ");
            self.value(sub, depth + 1, pretty)?;
        }
        self.space(&if pretty { indent(depth) } else { String::new() });
        self.lit("}")
    }

    /// A list: the model chooses whether another item comes, within `minItems`..`maxItems`;
    /// what an item begins with is forced once it comes. Laid out as the model began it, or
    /// as its container (`pretty`).
    fn array(&mut self, schema: &Value, depth: usize, pretty: bool) -> Result<(), Stop> {
        let items = schema.get("items").ok_or(Stop::Lost)?;
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = schema.get("maxItems").and_then(Value::as_u64);
        self.lit("[")?;
        let mut n = 0;
        let mut pretty = pretty;
        loop {
            let may_add = max.is_none_or(|m| n < m);
            if !may_add {
                self.space(&if pretty { indent(depth) } else { String::new() });
                return self.lit("]");
            }
            if n >= min {
                self.choice(Next::Items)?;
                let written = self.free_space()?;
                if self.rest().starts_with(']') {
                    self.pos += 1;
                    return Ok(());
                }
                if n == 0 {
                    pretty = written.contains('\n');
                } else {
                    if !written.is_empty() {
                        return Err(Stop::Lost);
                    }
                    self.lit(",")?;
                    self.space(&between(pretty, depth + 1));
                }
            } else if n == 0 {
                let written = self.space(&if pretty {
                    indent(depth + 1)
                } else {
                    String::new()
                });
                if !self.forcing() {
                    pretty = written.contains('\n');
                }
            } else {
                self.lit(",")?;
                self.space(&between(pretty, depth + 1));
            }
            self.value(items, depth + 1, pretty)?;
            n += 1;
        }
    }

    /// A string; `values` (as written in JSON, without quotes) when it is one of them.
    fn string(&mut self, values: &[String]) -> Result<(), Stop> {
        self.lit("\"")?;
        self.choice(Next::Content)?;
        let rest = self.rest();
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                self.pos += i + 1;
                return Ok(());
            }
        }
        // The text ends inside the string: the rest of the one value that still fits, short
        // of the closing quote.
        self.pos = self.text.len();
        self.out = only_fit(values, rest)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        Err(Stop::Choice)
    }

    /// One of `values`: strings as [`Self::string`]; numbers and the like are forced to their
    /// end once one value only fits what is written.
    fn constant(&mut self, values: &[Value]) -> Result<(), Stop> {
        let written: Vec<String> = values.iter().map(Value::to_string).collect();
        if values.iter().all(Value::is_string) {
            let inner: Vec<String> = written
                .iter()
                .map(|v| v[1..v.len() - 1].to_string())
                .collect();
            return self.string(&inner);
        }
        self.choice(Next::Scalar)?;
        let rest = self.rest();
        let n = scalar_len(rest);
        if n < rest.len() {
            self.pos += n;
            return Ok(());
        }
        // The text ends in the value: complete when one value only fits (its rest forced).
        let Some(after) = only_fit(&written, rest) else {
            return Err(Stop::Choice);
        };
        self.pos = self.text.len();
        self.out = Some(after.to_string());
        Ok(())
    }

    /// A number, a boolean, null, or a string where other types are allowed too: the model's.
    fn scalar(&mut self) -> Result<(), Stop> {
        self.choice(Next::Scalar)?;
        if self.rest().starts_with('"') {
            return self.string(&[]);
        }
        let n = scalar_len(self.rest());
        if n == 0 || n == self.rest().len() {
            // Not a scalar, or one the model may still be writing.
            return Err(if n == 0 { Stop::Lost } else { Stop::Choice });
        }
        self.pos += n;
        Ok(())
    }
}

/// The length of the number or word `text` begins with.
fn scalar_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .unwrap_or(text.len())
}

/// The rest of the one value of `values` that begins with `written`; None when none or
/// several (different ones) do.
fn only_fit<'v>(values: &'v [String], written: &str) -> Option<&'v str> {
    let mut fits = values.iter().filter(|v| v.starts_with(written));
    let one = fits.next()?;
    if fits.any(|v| v != one) {
        return None;
    }
    Some(&one[written.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stance topic's answer as the embedded model is asked it: quotes an enum of sentences.
    fn topic() -> Forcing {
        Forcing::of(&json!({
            "type": "object",
            "properties": {
                "evidence": {"type": "array", "maxItems": 2, "items": {
                    "type": "object",
                    "properties": {
                        "quote_nl": {"enum": [
                            "Wij zijn tegen het voorstel.",
                            "Wij zijn voor \"chatcontrole\" zonder scannen.",
                            "De minister schrijft dat het niet kan."
                        ]},
                        "quote_en": {"type": "string", "maxLength": 160}
                    },
                    "required": ["quote_nl", "quote_en"],
                    "additionalProperties": false
                }},
                "rationale_en": {"type": "string"},
                "stance": {"enum": ["support", "oppose", "mixed"]},
                "confidence": {"type": "number", "enum": [0.0, 0.5, 0.9, 1.0]}
            },
            "required": ["evidence", "rationale_en", "stance", "confidence"],
            "additionalProperties": false
        }))
    }

    fn next(f: &Forcing, text: &str) -> Option<String> {
        f.continuation(text)
    }

    #[test]
    fn keys_colons_and_commas_are_forced_laid_out_as_the_model_writes_json() {
        let f = topic();
        let at = |text: &str| next(&f, text);
        // The model chooses its first token before anything is forced; were it asked, the
        // brace too is the grammar's.
        assert_eq!(at("").as_deref(), Some("{\n  \"evidence\":"));
        // Up to the list, whose bracket the model writes with its newline.
        assert_eq!(at("{").as_deref(), Some("\n  \"evidence\":"));
        assert_eq!(at("{\n").as_deref(), Some("  \"evidence\":"));
        assert_eq!(at("{\n  \"evi").as_deref(), Some("dence\":"));
        assert_eq!(at("{\n  \"evidence\": [\n"), None);
        // An item, once begun, up to the quote's first character.
        assert_eq!(
            at("{\n  \"evidence\": [\n    {\n").as_deref(),
            Some("      \"quote_nl\": \"")
        );
        let quoted =
            "{\n  \"evidence\": [\n    {\n      \"quote_nl\": \"Wij zijn tegen het voorstel.\"";
        assert_eq!(at(quoted).as_deref(), Some(",\n      \"quote_en\": \""));
        // The model's `",\n` as one token.
        assert_eq!(
            at(&format!("{quoted},\n")).as_deref(),
            Some("      \"quote_en\": \"")
        );
        // After an item the model chooses: another, or the end of the list.
        let item = format!("{quoted},\n      \"quote_en\": \"We are against it.\"");
        assert_eq!(at(&item), None);
        assert_eq!(at(&format!("{item}\n    }}")), None);
        assert_eq!(
            at(&format!("{item}\n    }},")).as_deref(),
            Some("\n    {\n      \"quote_nl\": \"")
        );
        let listed = format!("{item}\n    }}\n  ],\n");
        assert_eq!(at(&listed).as_deref(), Some("  \"rationale_en\": \""));
        let reasoned = format!("{listed}  \"rationale_en\": \"It says so.\",\n");
        assert_eq!(at(&reasoned).as_deref(), Some("  \"stance\": \""));
        let judged = format!("{reasoned}  \"stance\": \"oppose\",\n");
        // Before a number the colon, not the space: the model writes " " and "0" as tokens.
        assert_eq!(at(&judged).as_deref(), Some("  \"confidence\":"));
        // A number is done when no other value goes on from it: then the end.
        assert_eq!(at(&format!("{judged}  \"confidence\": 0")), None);
        assert_eq!(
            at(&format!("{judged}  \"confidence\": 0.9")).as_deref(),
            Some("\n}")
        );
        assert_eq!(
            at(&format!("{judged}  \"confidence\": 1")).as_deref(),
            Some(".0\n}")
        );
        assert_eq!(at(&format!("{judged}  \"confidence\": 0.9\n}}")), None);
    }

    #[test]
    fn a_full_list_is_closed_and_a_reply_begun_on_one_line_goes_on_on_one_line() {
        let f = topic();
        let item = "{\"quote_nl\": \"Wij zijn tegen het voorstel.\", \"quote_en\": \"No.\"}";
        assert_eq!(
            next(&f, &format!("{{\"evidence\": [{item}, {item}")).as_deref(),
            Some("], \"rationale_en\": \"")
        );
        assert_eq!(
            next(&f, &format!("{{\"evidence\": [{item},")).as_deref(),
            Some(" {\"quote_nl\": \"")
        );
        assert_eq!(
            next(&f, "{\"evidence\": [], \"rationale_en\": \"x\",").as_deref(),
            Some(" \"stance\": \"")
        );
        // Whitespace the model wrote its own way is kept, and none is added to it.
        assert_eq!(
            next(&f, "{\"evidence\": [],\t").as_deref(),
            Some("\"rationale_en\": \"")
        );
    }

    #[test]
    fn a_quote_told_apart_by_its_first_words_is_forced_to_its_end() {
        let f = topic();
        let text = r#"{"evidence": [{"quote_nl": "De min"#;
        assert_eq!(
            next(&f, text).as_deref(),
            Some("ister schrijft dat het niet kan.")
        );
        // Escapes are compared as the JSON writes them.
        let text = r#"{"evidence": [{"quote_nl": "Wij zijn v"#;
        assert_eq!(
            next(&f, text).as_deref(),
            Some(r#"oor \"chatcontrole\" zonder scannen."#)
        );
        let text = r#"{"evidence": [], "rationale_en": "x", "stance": "op"#;
        assert_eq!(next(&f, text).as_deref(), Some("pose"));
    }

    #[test]
    fn free_text_and_the_places_where_the_model_chooses_are_left_to_it() {
        let f = topic();
        for text in [
            // Free text that happens to begin like a quote.
            r#"{"evidence": [], "rationale_en": "De min"#,
            // The first letters of the values differ.
            r#"{"evidence": [{"quote_nl": ""#,
            // Two values still fit: what they share is not forced either.
            r#"{"evidence": [{"quote_nl": "W"#,
            r#"{"evidence": [{"quote_nl": "Wij zijn "#,
            // The whole value is written; the closing quote is the model's.
            r#"{"evidence": [{"quote_nl": "De minister schrijft dat het niet kan."#,
            // Inside free text.
            r#"{"evidence": [{"quote_nl": "De minister schrijft dat het niet kan.", "quote_en": "The min"#,
            // A list: empty or not, the model's.
            r#"{"evidence": ["#,
            r#"{"evidence": [ "#,
            // Where the text does not follow the schema: written past every value (the grammar
            // would have refused it), a key it does not have, another shape.
            r#"{"evidence": [{"quote_nl": "Xyz"#,
            r#"{"quote_nl"#,
            "[",
            r#"{"evidence": [] , "#,
        ] {
            assert_eq!(next(&f, text), None, "{text}");
        }
    }

    #[test]
    fn objects_with_optional_properties_and_unread_schemas_force_nothing_after_their_brace() {
        let loose = Forcing::of(&json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "required": ["a"]
        }));
        assert_eq!(loose.continuation("{"), None);
        assert_eq!(loose.continuation("{\"a\": \""), None);
        let union = Forcing::of(&json!({"anyOf": [{"type": "string"}, {"type": "null"}]}));
        assert_eq!(union.continuation("\"x"), None);
        // Within a closed object, a nullable string is the model's, and what follows it is not.
        let dated = Forcing::of(&json!({
            "type": "object",
            "properties": {"date": {"type": ["string", "null"]}, "kind": {"enum": ["letter", "note"]}},
            "required": ["date", "kind"],
            "additionalProperties": false
        }));
        assert_eq!(dated.continuation("{").as_deref(), Some("\n  \"date\":"));
        assert_eq!(dated.continuation("{\n  \"date\": nu"), None);
        assert_eq!(
            dated.continuation("{\n  \"date\": null,").as_deref(),
            Some("\n  \"kind\": \"")
        );
        assert_eq!(
            dated
                .continuation("{\n  \"date\": \"2024-09-18\",")
                .as_deref(),
            Some("\n  \"kind\": \"")
        );
        assert_eq!(
            dated
                .continuation("{\n  \"date\": null, \"kind\": \"n")
                .as_deref(),
            Some("ote")
        );
    }
}
