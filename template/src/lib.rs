//! Go's `text/template` language: lexer, parser and executor with Go's
//! semantics, Go's builtin functions, and Go's value printing, shared by
//! Prometheus alert templates (in `hearth-alerting`) and LogQL's
//! `line_format`/`label_format` (in `hearth-query`).
//!
//! Behaviour follows Go closely, down to the wording of error messages and
//! the way floats print (`1.23456789e+08`), because users bring templates
//! written for Prometheus or Loki and compare the results. Each caller adds
//! its own functions through a [`FuncSet`], passed when parsing (names are
//! checked then, as in Go) and when executing.
//!
//! ```
//! use hearth_template::{NoFuncs, Template, Value};
//! let t = Template::parse("t", "{{ range . }}<{{ . }}>{{ end }}", &NoFuncs)?;
//! let data = Value::List(vec![Value::Int(1), Value::from("a")]);
//! assert_eq!(t.execute(&data, &NoFuncs)?, "<1><a>");
//! # Ok::<(), hearth_template::TemplateError>(())
//! ```
#![deny(missing_docs)]

mod builtins;
mod error;
mod exec;
pub mod ftoa;
mod funcs;
pub mod gotime;
mod lex;
mod node;
mod parse;
pub mod printf;
pub mod regexp;
pub mod strconv;
pub mod strings;
pub mod url;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use error::{ErrorKind, TemplateError};
pub use funcs::{CustomParam, FuncSet, NoFuncs, Param, Signature, builtin_signature};
pub use gotime::GoTime;
pub use value::Value;

/// A parsed template: the main text plus every `define`d or `block` template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    trees: BTreeMap<String, node::Tree>,
}

impl Template {
    /// Parses `text` under template name `name`; only builtins and the
    /// functions `funcs` defines may be called. Errors print exactly as
    /// Go's, e.g. `template: __alert_Dup:1: unclosed action`.
    pub fn parse(name: &str, text: &str, funcs: &dyn FuncSet) -> Result<Template, TemplateError> {
        let trees = parse::parse(name, text, &|f: &str| funcs::is_defined(funcs, f))?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            trees,
        })
    }

    /// Executes with `.` = `data`, calling `funcs` for non-builtin functions.
    /// A missing map key yields an empty string (Go's `missingkey=zero` for
    /// string maps), which both Prometheus and Loki rely on.
    pub fn execute(&self, data: &Value, funcs: &dyn FuncSet) -> Result<String, TemplateError> {
        exec::execute(self, data, funcs)
    }

    /// The name the template was parsed under.
    pub fn name(&self) -> &str {
        &self.name
    }
}
