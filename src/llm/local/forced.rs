//! Text the grammar forces: once a reply is inside the string value of a property whose schema
//! is an enum of strings, and the characters written so far fit one value only (a quoted
//! sentence of the letter, told apart from the others by its first words), the rest of it is
//! not for the model to choose. The engine decodes such text as it decodes a prompt, many tokens
//! in one step, instead of one generation step per token ("jump-forward" decoding).
//!
//! A quote of up to 80 tokens is then a few steps instead of up to 80, and the answer's text is
//! the same. Only a value's whole rest is forced, never the start that several values share
//! ("Het Hongaarse voorstel voor de "): forced that far, the model would have to choose the
//! next word from an unnatural token boundary, and on the Offlimits letter it then chose other
//! quotes and with them other stances. The closing quote is left to the model too (it writes
//! `",` as one token). Every forced token is still checked against the grammar before it is
//! taken ([`super::sample::take_if_allowed`]), so a mistake here can cost speed, never a reply
//! the grammar refuses.

use serde_json::Value;

/// The properties whose values are enums of strings, each with its values as they are written
/// in JSON (escaped, without the quotes).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Enums(Vec<(String, Vec<String>)>);

impl Enums {
    /// Every property of `schema`, at any depth, whose value is an enum of strings. Enums with a
    /// value that is not a string are left to the model.
    pub fn of(schema: &Value) -> Enums {
        let mut out = Vec::new();
        collect(schema, &mut out);
        Enums(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What must follow `text` (a JSON reply being written): when it ends inside the string
    /// value of one of these properties and only one value still fits, the rest of that value
    /// (without the closing quote). None when the model has a choice to make.
    pub fn continuation<'a>(&'a self, text: &str) -> Option<&'a str> {
        let (key, written) = open_value(text)?;
        let mut fits = self
            .0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, values)| values)
            .filter(|v| v.starts_with(written));
        let one = fits.next()?;
        // Another value fits, or an equal one under another schema of the same name.
        if fits.any(|v| v != one) {
            return None;
        }
        let rest = &one[written.len()..];
        (!rest.is_empty()).then_some(rest)
    }
}

fn collect(schema: &Value, out: &mut Vec<(String, Vec<String>)>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (key, prop) in props {
                    if let Some(Value::Array(values)) = prop.get("enum")
                        && values.iter().all(Value::is_string)
                        && !values.is_empty()
                    {
                        let written: Vec<String> = values
                            .iter()
                            .map(|v| {
                                let s = serde_json::to_string(v).expect("a string");
                                s[1..s.len() - 1].to_string()
                            })
                            .collect();
                        if !out.iter().any(|(k, w)| k == key && *w == written) {
                            out.push((key.clone(), written));
                        }
                    }
                }
            }
            for v in map.values() {
                collect(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// When `text` ends inside a string that is the value of a property: the property's name and
/// what of the value is written (as it stands in the JSON, escapes and all).
fn open_value(text: &str) -> Option<(&str, &str)> {
    // The last key seen, and whether a ':' came after it with nothing since.
    let mut key: Option<&str> = None;
    let mut after_colon = false;
    let mut last_string: Option<&str> = None;
    let mut open: Option<(usize, Option<&str>)> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some((start, for_key)) = open {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let s = &text[start..i];
                open = None;
                // A string right after a colon is a value; else it may be a key.
                last_string = if for_key.is_some() { None } else { Some(s) };
                after_colon = false;
            }
            continue;
        }
        match c {
            '"' => open = Some((i + 1, after_colon.then_some(key).flatten())),
            ':' => {
                key = last_string.take();
                after_colon = key.is_some();
            }
            c if c.is_whitespace() => {}
            _ => {
                last_string = None;
                after_colon = false;
            }
        }
    }
    let (start, for_key) = open?;
    Some((for_key?, &text[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn quotes() -> Enums {
        Enums::of(&json!({
            "type": "object",
            "properties": {
                "evidence": {"type": "array", "items": {"type": "object", "properties": {
                    "quote_nl": {"enum": [
                        "Wij zijn tegen het voorstel.",
                        "Wij zijn voor \"chatcontrole\" zonder scannen.",
                        "De minister schrijft dat het niet kan."
                    ]},
                    "quote_en": {"type": "string"}
                }}},
                "rationale_en": {"type": "string"},
                "stance": {"enum": ["support", "oppose", "mixed"]}
            }
        }))
    }

    #[test]
    fn a_quote_told_apart_by_its_first_words_is_forced_to_its_end() {
        let e = quotes();
        let text = r#"{"evidence": [{"quote_nl": "De min"#;
        assert_eq!(
            e.continuation(text),
            Some("ister schrijft dat het niet kan.")
        );
        // Escapes are compared as the JSON writes them.
        let text = r#"{"evidence": [{"quote_nl": "Wij zijn v"#;
        assert_eq!(
            e.continuation(text),
            Some(r#"oor \"chatcontrole\" zonder scannen."#)
        );
        assert_eq!(e.continuation(r#"{"stance": "op"#), Some("pose"));
    }

    #[test]
    fn free_text_and_the_places_where_the_model_chooses_are_left_to_it() {
        let e = quotes();
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
            // Not inside a string.
            r#"{"evidence": [{"quote_nl": "De minister schrijft dat het niet kan.""#,
            r#"{"evidence": [{"quote_nl": "De minister schrijft dat het niet kan.", "quote_en": "The min"#,
            // Written past every value (the grammar would have refused it).
            r#"{"evidence": [{"quote_nl": "Xyz"#,
            // A key, not a value.
            r#"{"quote_nl"#,
            r#"{"evidence": [], "stance": ""#,
            "",
        ] {
            assert_eq!(e.continuation(text), None, "{text}");
        }
    }

    #[test]
    fn only_enums_of_strings_are_taken() {
        let e = Enums::of(&json!({"properties": {
            "confidence": {"type": "number", "enum": [0.0, 0.5, 1.0]},
            "date": {"type": ["string", "null"]}
        }}));
        assert!(e.is_empty());
    }
}
