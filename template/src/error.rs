//! The error type shared by parsing and execution.

use thiserror::Error;

/// Whether a [`TemplateError`] came from parsing or from executing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The template text is malformed, so nothing can be executed.
    Parse,
    /// The template parsed but failed while rendering.
    Exec,
}

/// A template failure whose `Display` text is what Go's `text/template` prints,
/// e.g. `template: __alert_Dup:1: unclosed action`; users compare these strings
/// with what Prometheus reported for the same template.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct TemplateError {
    kind: ErrorKind,
    message: String,
}

impl TemplateError {
    pub(crate) fn parse(message: String) -> Self {
        TemplateError {
            kind: ErrorKind::Parse,
            message,
        }
    }

    pub(crate) fn exec(message: String) -> Self {
        TemplateError {
            kind: ErrorKind::Exec,
            message,
        }
    }

    /// Whether parsing or execution failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The Go-style message, identical to the `Display` text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_go_message() {
        let e = TemplateError::parse("template: t:1: unclosed action".to_string());
        assert_eq!(e.to_string(), "template: t:1: unclosed action");
        assert_eq!(e.message(), "template: t:1: unclosed action");
        assert_eq!(e.kind(), ErrorKind::Parse);
        assert_eq!(TemplateError::exec(String::new()).kind(), ErrorKind::Exec);
    }
}
