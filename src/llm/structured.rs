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
    if cut_off(completion) {
        return Err(LlmError::Truncated {
            max_tokens: request.max_tokens,
            raw: completion.content.clone(),
        });
    }
    let schema = request
        .schema
        .as_ref()
        .ok_or_else(|| LlmError::Local("a structured reply needs a schema".into()))?;
    parse_and_validate(&completion.content, &schema.schema)
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
