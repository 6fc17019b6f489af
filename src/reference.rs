//! The generated reference in `docs/reference/`: the command line (from clap), every
//! configuration key with its environment variable and default (from the config types), and a
//! JSON Schema for every file a run writes (from the types that write them, with schemars).
//!
//! Nothing here is written by hand, so it cannot drift: the test `reference::*` compares each
//! file with what [`generate`] makes now and fails on any difference;
//! `TOLK_BLESS=1 cargo test --test it reference` writes them anew.

use crate::cli::Cli;
use crate::config::{Config, known_keys};
use crate::ingest::facts::Facts;
use crate::store::Versioned;
use crate::store::run::Manifest;
use crate::tasks::questions::QuestionsOut;
use crate::tasks::refine::RefineOut;
use crate::tasks::review::ReviewOut;
use crate::tasks::stance::StanceOut;
use crate::tasks::summary::SummaryOut;
use crate::tasks::translate::TranslationOut;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// One generated file: its path under `docs/reference/` and its text.
pub struct Generated {
    pub path: &'static str,
    pub text: String,
}

/// Every file of `docs/reference/`, as the code makes it now.
pub fn generate() -> Vec<Generated> {
    let mut out = vec![
        Generated {
            path: "cli.md",
            text: cli_markdown(),
        },
        Generated {
            path: "config.md",
            text: config_markdown(),
        },
    ];
    for (file, schema) in output_schemas() {
        out.push(Generated {
            path: file,
            text: format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).expect("a schema serialises")
            ),
        });
    }
    out
}

/// The JSON Schema of every output file, by its path under `docs/reference/`.
fn output_schemas() -> Vec<(&'static str, Schema)> {
    vec![
        (
            "schemas/translation.schema.json",
            schema_of::<Versioned<TranslationOut>>("translation.json"),
        ),
        (
            "schemas/summary.schema.json",
            schema_of::<Versioned<SummaryOut>>("summary.json"),
        ),
        (
            "schemas/stance.schema.json",
            schema_of::<Versioned<StanceOut>>("stance.json"),
        ),
        (
            "schemas/questions.schema.json",
            schema_of::<Versioned<QuestionsOut>>("questions.json"),
        ),
        (
            "schemas/review.schema.json",
            schema_of::<Versioned<ReviewOut>>("review.json"),
        ),
        (
            "schemas/refine.schema.json",
            schema_of::<Versioned<RefineOut>>("refine.json"),
        ),
        (
            "schemas/facts.schema.json",
            schema_of::<Versioned<Facts>>("facts.json"),
        ),
        (
            "schemas/manifest.schema.json",
            schema_of::<Versioned<Manifest>>("manifest.json"),
        ),
    ]
}

fn schema_of<T: JsonSchema>(file: &str) -> Schema {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), Value::String(format!("tolk {file}")));
    schema
}

/// The command line, every command and flag, from clap.
fn cli_markdown() -> String {
    let body = clap_markdown::help_markdown_custom::<Cli>(
        &clap_markdown::MarkdownOptions::new()
            .title("The command line".to_string())
            .show_footer(false)
            .show_table_of_contents(true),
    );
    format!("{GENERATED}\n{}\n", body.trim_end())
}

const GENERATED: &str = "<!-- Generated from the code by `TOLK_BLESS=1 cargo test --test it reference`; do not edit. -->";

/// Every configuration key: its section, type, default, environment variable and meaning.
fn config_markdown() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Config>();
    let root = schema.as_value();
    let defaults = serde_json::to_value(Config::default()).expect("config serialises");
    let mut md = format!(
        "{GENERATED}\n# Configuration\n\n\
         Settings come from, lowest to highest: the defaults, `tolk.toml` in the working folder \
         (or `--config FILE`, or `TOLK_CONFIG`), the environment, and flags. Every key `key` of \
         section `[section]` is also the environment variable `TOLK_SECTION_KEY`; a value there \
         is read as TOML when it is one (`8`, `true`, `[\"a\", \"b\"]`), else as a string. A \
         wrong key or value is an error that names the key and where it came from. The API key \
         itself is never a setting: `endpoint.api_key_env` names the variable that holds it.\n"
    );
    let mut section = String::new();
    for (sec, key) in known_keys() {
        if sec != section {
            section = sec.clone();
            let about = section_schema(root, &sec)
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("");
            md.push_str(&format!("\n## [{sec}]\n\n"));
            if !about.is_empty() {
                md.push_str(&one_line(about));
                md.push_str("\n\n");
            }
            md.push_str(
                "| key | type | default | environment | meaning |\n|---|---|---|---|---|\n",
            );
        }
        let field = section_schema(root, &sec)
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(&key));
        let meaning = field
            .and_then(|f| description(root, f))
            .map(|d| one_line(&d))
            .unwrap_or_default();
        let ty = field.map(|f| type_of(root, f)).unwrap_or_default();
        let default = match &defaults[&sec][&key] {
            Value::Null => "unset".to_string(),
            Value::Object(m) if m.is_empty() => "{}".to_string(),
            v => format!("`{}`", toml_of(v)),
        };
        md.push_str(&format!(
            "| `{key}` | {ty} | {default} | `TOLK_{}_{}` | {} |\n",
            sec.to_ascii_uppercase(),
            key.to_ascii_uppercase(),
            meaning.replace('|', "\\|")
        ));
    }
    // The user's questions: an array of tables, not a section of keys.
    if let Some(q) = root.pointer("/$defs/Question") {
        md.push_str(&format!(
            "\n## [[questions]]\n\n{}\n\n| key | type | meaning |\n|---|---|---|\n",
            one_line(
                root.pointer("/properties/questions/description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )
        ));
        for (key, field) in q["properties"].as_object().into_iter().flatten() {
            let meaning = description(root, field)
                .map(|d| one_line(&d))
                .unwrap_or_default();
            md.push_str(&format!(
                "| `{key}` | {} | {} |\n",
                type_of(root, field),
                meaning.replace('|', "\\|")
            ));
        }
    }
    md
}

/// The schema of section `sec` of the configuration, its `$ref` followed.
fn section_schema<'a>(root: &'a Value, sec: &str) -> Option<&'a Value> {
    resolve(root, root.get("properties")?.get(sec)?)
}

/// A schema with its `$ref` (or an `allOf` of one `$ref`) followed to the definition.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> Option<&'a Value> {
    let reference = s.get("$ref").or_else(|| {
        s.get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|f| f.get("$ref"))
    });
    match reference.and_then(Value::as_str) {
        Some(r) => root.pointer(r.strip_prefix('#')?),
        None => Some(s),
    }
}

/// A field's description, else its type's (an enum of modes says what each one does).
fn description(root: &Value, field: &Value) -> Option<String> {
    if let Some(d) = field.get("description").and_then(Value::as_str) {
        return Some(d.to_string());
    }
    let target = resolve(root, field)?;
    let mut text = target
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(variants) = target.get("oneOf").and_then(Value::as_array) {
        for v in variants {
            let name = v
                .get("const")
                .or_else(|| v.get("enum").and_then(|e| e.get(0)))
                .and_then(Value::as_str);
            if let (Some(name), Some(d)) = (name, v.get("description").and_then(Value::as_str)) {
                text.push_str(&format!(" `{name}`: {}", one_line(d)));
            }
        }
    }
    (!text.is_empty()).then_some(text)
}

/// A short type name: integer, number, string, boolean, a list, a table, or the values of an enum.
fn type_of(root: &Value, field: &Value) -> String {
    let Some(target) = resolve(root, field) else {
        return String::new();
    };
    let mut values: Vec<String> = Vec::new();
    if let Some(variants) = target.get("oneOf").and_then(Value::as_array) {
        for v in variants {
            if let Some(c) = v.get("const").and_then(Value::as_str) {
                values.push(format!("`{c}`"));
            }
            if let Some(e) = v.get("enum").and_then(Value::as_array) {
                values.extend(e.iter().filter_map(Value::as_str).map(|s| format!("`{s}`")));
            }
        }
    }
    if let Some(e) = target.get("enum").and_then(Value::as_array) {
        values.extend(e.iter().filter_map(Value::as_str).map(|s| format!("`{s}`")));
    }
    if !values.is_empty() {
        return values.join(", ");
    }
    if let Some(any) = target.get("anyOf").and_then(Value::as_array) {
        // Option<T>: the T.
        if let Some(inner) = any
            .iter()
            .find(|v| v.get("type") != Some(&Value::from("null")))
        {
            return type_of(root, inner);
        }
    }
    let ty = match target.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    match ty.as_str() {
        "array" => {
            let item = target
                .get("items")
                .map(|i| type_of(root, i))
                .unwrap_or_default();
            format!("list of {item}")
        }
        "object" => "table".to_string(),
        "" => "any".to_string(),
        _ => ty,
    }
}

/// A default value as it is written in tolk.toml.
fn toml_of(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_of).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A doc comment on one line (for a table cell).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
