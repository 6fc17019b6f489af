//! One way to say an error to a user: its message and its causes, once each.
//!
//! The error types of the library modules keep their causes as `#[source]` and do not repeat
//! them in their own message, so that printing the chain (`{:#}` at the top, [`chain`] inside)
//! says each cause once.

/// An error and its causes, joined by ": ".
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // A wrapper that shows its cause's message already (thiserror's `transparent`, or a
        // foreign error that does) is not said twice.
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        next = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: cannot read")]
    struct Outer {
        path: String,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let e = Outer {
            path: "prompts/translate.toml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"),
        };
        assert_eq!(
            chain(&e),
            "prompts/translate.toml: cannot read: No such file"
        );
    }
}
