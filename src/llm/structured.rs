//! Structured output: pull the JSON out of a reply (a ```json fence or a little prose around it is
//! tolerated) and validate it against the request's JSON Schema with the jsonschema crate.
//! Servers accept a schema and do not always enforce it, so this runs in every mode.

use super::{ChatRequest, Completion, LlmError};
use serde_json::Value;

/// Whether a reply was cut off at the token limit (`finish_reason: "length"`).
pub fn cut_off(completion: &Completion) -> bool {
    completion.finish_reason.as_deref() == Some("length")
}

/// The one check of a structured reply, wherever it comes from (a live call or a batch result):
/// not cut off at the token limit, valid JSON, and matching the request's schema. The validated
/// value, or the error that says what is wrong.
pub fn accept(completion: &Completion, request: &ChatRequest) -> Result<Value, LlmError> {
    if request.plain {
        return accept_plain(completion, request);
    }
    if cut_off(completion) {
        return Err(LlmError::Truncated {
            max_tokens: request.max_tokens,
            raw: completion.content.clone(),
        });
    }
    let schema = request
        .schema
        .as_ref()
        .ok_or(LlmError::NoSchema("a structured reply"))?;
    parse_and_validate(&completion.content, &schema.schema)
}

/// A plain-text reply: its value (see [`plain_value`]) checked against the request's schema, if
/// any. A reply cut off at the token limit is kept, marked `cut_off`: in plain text there is no
/// structure to break, and the task decides what a run-on reply is worth.
fn accept_plain(completion: &Completion, request: &ChatRequest) -> Result<Value, LlmError> {
    let value = plain_value(&completion.content, cut_off(completion));
    if let Some(spec) = &request.schema {
        validate(&spec.schema, &value).map_err(|errors| LlmError::SchemaViolation {
            errors,
            raw: completion.content.clone(),
        })?;
    }
    Ok(value)
}

/// `{"text": ..., "cut_off": ...}` of a plain-text reply. The text is cleaned of what small
/// models wrap around an answer: a ``` fence, a leading "English:" / "Translation:" label,
/// quotes around the whole reply, a trailing "(Note: ...)" remark.
pub fn plain_value(content: &str, cut_off: bool) -> Value {
    serde_json::json!({"text": clean_plain(content), "cut_off": cut_off})
}

fn clean_plain(content: &str) -> String {
    let mut t = content.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.split_once('\n').map_or("", |(_, body)| body);
        t = rest.strip_suffix("```").unwrap_or(rest).trim();
    }
    for label in [
        "English translation:",
        "Translation:",
        "English:",
        "Here is the translation:",
        "Here is the English translation:",
    ] {
        // `get`: a reply that starts with a multi-byte character ("«") has no char boundary
        // where the label would end.
        if t.get(..label.len())
            .is_some_and(|l| l.eq_ignore_ascii_case(label))
        {
            t = t[label.len()..].trim_start();
        }
    }
    // "Here is the English translation of the Dutch text:" and the like, on a line of its own.
    if let Some((first, rest)) = t.split_once('\n')
        && first.trim_end().ends_with(':')
        && ["Here is", "Here's", "Sure", "Certainly"]
            .iter()
            .any(|p| first.trim_start().starts_with(p))
    {
        t = rest.trim_start();
    }
    for (open, close) in [("\"", "\""), ("“", "”"), ("'", "'")] {
        if let Some(inner) = t.strip_prefix(open).and_then(|r| r.strip_suffix(close))
            && !inner.contains(open)
            && !inner.contains(close)
        {
            t = inner.trim();
        }
    }
    for note in ["\n\nNote:", "\n\n(Note:", "\n(Note:", "\nNote:"] {
        if let Some(at) = t.find(note) {
            t = t[..at].trim_end();
        }
    }
    t.to_string()
}

/// The JSON value in `content`: the whole text, else the inside of a ``` fence, else the span
/// from the first `{` to the last `}`.
pub fn extract_json(content: &str) -> Result<Value, LlmError> {
    let trimmed = content.trim();
    let first_err = match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let after = after.strip_prefix("json").unwrap_or(after);
        let after = after.strip_prefix("JSON").unwrap_or(after);
        let body = match after.find("```") {
            Some(end) => &after[..end],
            None => after,
        };
        if let Ok(v) = serde_json::from_str::<Value>(body.trim()) {
            return Ok(v);
        }
    }
    if let (Some(a), Some(b)) = (trimmed.find('{'), trimmed.rfind('}'))
        && a < b
        && let Ok(v) = serde_json::from_str::<Value>(&trimmed[a..=b])
    {
        return Ok(v);
    }
    Err(LlmError::InvalidJson {
        message: first_err.to_string(),
        raw: content.to_owned(),
    })
}

/// Validate `value` against `schema`; every violation as "path: message".
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("the schema itself is invalid: {e}")]),
    };
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(20)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_string()
            } else {
                path
            };
            format!("{path}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Parse and validate a reply in one step.
pub fn parse_and_validate(content: &str, schema: &Value) -> Result<Value, LlmError> {
    let value = extract_json(content)?;
    validate(schema, &value).map_err(|errors| LlmError::SchemaViolation {
        errors,
        raw: content.to_owned(),
    })?;
    Ok(value)
}

/// The follow-up message of a repair attempt of a plain-text reply.
pub fn plain_repair_message(err: &LlmError) -> String {
    let what = match err {
        LlmError::SchemaViolation { errors, .. } => errors
            .iter()
            .map(|e| describe_plain(e))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    format!(
        "Your previous reply cannot be used: {what} Reply again with the English translation only."
    )
}

/// A schema violation of a plain reply's text in words a small model follows.
pub fn describe_plain(error: &str) -> &'static str {
    // "/text: <what was refused or the text> <why>": the refused schema comes first for `not`,
    // the reply's text first for a length (so its own words cannot be taken for the reason).
    let e = error.split_once(": ").map_or(error, |(_, e)| e);
    if e.starts_with("{\"pattern\":") {
        "it repeats the instructions instead of translating the text."
    } else if e.starts_with("{\"const\":") {
        "it is the Dutch text itself, not an English translation."
    } else if e.contains("\" is shorter than ") || e.ends_with("is shorter than 1 character") {
        "it is empty or much shorter than the Dutch."
    } else if e.contains("\" is longer than ") {
        "it is much longer than the Dutch; translate only the text given, with no notes."
    } else {
        "it is not a translation of the text."
    }
}

/// The follow-up message of a repair attempt: the model sees its own output and what is wrong.
pub fn repair_message(err: &LlmError) -> String {
    let what = match err {
        LlmError::InvalidJson { message, .. } => format!("It is not valid JSON ({message})."),
        LlmError::SchemaViolation { errors, .. } => format!(
            "It does not match the required JSON Schema:\n- {}",
            errors.join("\n- ")
        ),
        other => other.to_string(),
    };
    format!(
        "Your previous reply cannot be used. {what}\nReply again with only the corrected JSON object, \
         matching the schema exactly: no prose, no code fence."
    )
}

/// Instructions that put the schema in the prompt, for servers without schema support.
pub fn schema_instruction(schema: &Value) -> String {
    format!(
        "Reply with one JSON object only (no prose, no code fence) that matches this JSON Schema:\n{}",
        serde_json::to_string(schema).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fences_and_prose_are_tolerated() {
        assert_eq!(extract_json("{\"a\":1}").unwrap(), json!({"a":1}));
        assert_eq!(
            extract_json("```json\n{\"a\":1}\n```").unwrap(),
            json!({"a":1})
        );
        assert_eq!(
            extract_json("Here you go:\n{\"a\": 2}\nThanks").unwrap(),
            json!({"a":2})
        );
        assert!(matches!(
            extract_json("no json here"),
            Err(LlmError::InvalidJson { .. })
        ));
    }

    fn completion(content: &str, finish: &str) -> Completion {
        Completion {
            content: content.into(),
            finish_reason: Some(finish.into()),
            usage: None,
            model: None,
            system_fingerprint: None,
            latency: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn a_reply_that_starts_with_a_multi_byte_character_is_cleaned_without_a_panic() {
        // The fake's reply to a quoted line: the label check once sliced inside the '«'.
        let reply = "[fake] «ervoor te zorgen»";
        assert_eq!(plain_value(reply, false)["text"], reply);
        assert_eq!(plain_value("«é»", false)["text"], "«é»");
        assert_eq!(plain_value("English: «We»", false)["text"], "«We»");
    }

    #[test]
    fn a_plain_reply_is_cleaned_checked_and_kept_when_cut_off() {
        let schema = json!({
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 5, "maxLength": 60,
                                    "not": {"const": "Wij zijn tegen."}}},
            "required": ["text"]
        });
        let request = ChatRequest {
            plain: true,
            schema: Some(crate::llm::SchemaSpec {
                name: "t".into(),
                schema,
            }),
            ..ChatRequest::default()
        };
        let ok = accept(
            &completion("Translation: \"We are against.\"", "stop"),
            &request,
        );
        assert_eq!(
            ok.unwrap(),
            json!({"text": "We are against.", "cut_off": false})
        );
        let noted = accept(
            &completion("We are against.\n\nNote: 'tegen' means against.", "stop"),
            &request,
        );
        assert_eq!(noted.unwrap()["text"], "We are against.");
        let fenced = accept(&completion("```\nWe are against.\n```", "stop"), &request);
        assert_eq!(fenced.unwrap()["text"], "We are against.");
        let told = accept(
            &completion(
                "Here is the English translation:\n\nWe are against.",
                "stop",
            ),
            &request,
        );
        assert_eq!(told.unwrap()["text"], "We are against.");
        // Cut off: kept and marked, not an error.
        let cut = accept(
            &completion("We are against it, against it", "length"),
            &request,
        );
        assert_eq!(cut.unwrap()["cut_off"], true);
        // The Dutch unchanged, or nothing: a violation, and the repair says which in words.
        for (reply, says) in [("Wij zijn tegen.", "Dutch text itself"), ("", "empty")] {
            let err = accept(&completion(reply, "stop"), &request).unwrap_err();
            assert!(matches!(err, LlmError::SchemaViolation { .. }), "{err}");
            let repair = plain_repair_message(&err);
            assert!(repair.contains(says), "{repair}");
        }
        let long = accept(
            &completion(&"We are against. ".repeat(10), "stop"),
            &request,
        );
        assert!(plain_repair_message(&long.unwrap_err()).contains("much longer"));
    }

    #[test]
    fn violations_are_listed_with_paths() {
        let schema = json!({
            "type": "object",
            "properties": {"id": {"enum": ["p1", "p2"]}, "n": {"type": "integer"}},
            "required": ["id", "n"],
            "additionalProperties": false
        });
        assert!(validate(&schema, &json!({"id": "p1", "n": 3})).is_ok());
        let errs = validate(&schema, &json!({"id": "p9"})).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().any(|e| e.starts_with("/id")), "{errs:?}");
        let err = parse_and_validate("{\"id\": \"p9\", \"n\": 1}", &schema).unwrap_err();
        assert!(repair_message(&err).contains("/id"));
    }
}
