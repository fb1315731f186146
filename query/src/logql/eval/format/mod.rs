//! LogQL's template stages: `| line_format "…"` rewrites the line and
//! `| label_format dst="…", dst=src` sets or renames labels. Templates are
//! Go `text/template` (the `hearth-template` engine) with Loki's documented
//! function set (`funcs`): the dot is the label map, `{{ __line__ }}` and
//! `{{ __timestamp__ }}` are functions, and a missing label is `""`.

mod funcs;
mod numbers;
mod strs;
mod times;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use hearth_template::{Template, TemplateError, Value};
use regex::Regex;

use crate::logql::ast;
use crate::logql::eval::labels::LabelPairs;

use funcs::LokiFuncs;

/// Why a template stage could not be built or applied.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The template does not parse; the text is Go's, e.g.
    /// `template: line:1: function "nope" not defined`.
    #[error("{0}")]
    Parse(TemplateError),
    /// The template failed on this entry (a bad argument, a regex that does
    /// not compile, …); the text is Go's `template: … executing …` message.
    #[error("{0}")]
    Exec(TemplateError),
    /// Two assignments of one `label_format` write the same label.
    #[error("multiple label name '{0}' not allowed in a single format operation")]
    DuplicateLabel(String),
}

/// Compiled regexes by pattern: templates usually pass literal patterns,
/// so each is compiled once per stage rather than once per line.
#[derive(Default)]
struct RegexCache {
    map: Mutex<HashMap<String, Regex>>,
}

/// Patterns kept per stage; past this a pattern is compiled for each use.
const MAX_CACHED_REGEXES: usize = 64;

impl RegexCache {
    fn get(&self, pattern: &str) -> Result<Regex, String> {
        if let Ok(map) = self.map.lock()
            && let Some(re) = map.get(pattern)
        {
            return Ok(re.clone());
        }
        let re = hearth_template::regexp::compile(pattern)?;
        if let Ok(mut map) = self.map.lock()
            && map.len() < MAX_CACHED_REGEXES
        {
            map.insert(pattern.to_string(), re.clone());
        }
        Ok(re)
    }
}

/// The dot of a LogQL template: label name → value.
fn label_data(labels: &[(String, String)]) -> Value {
    Value::Map(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn parse(name: &str, text: &str) -> Result<Template, FormatError> {
    Template::parse(name, text, &LokiFuncs::for_parsing()).map_err(FormatError::Parse)
}

fn execute(
    template: &Template,
    data: &Value,
    ts_ns: i64,
    line: &str,
    regexes: &RegexCache,
) -> Result<String, FormatError> {
    let funcs = LokiFuncs {
        line,
        ts_ns,
        regexes,
    };
    template.execute(data, &funcs).map_err(FormatError::Exec)
}

/// A compiled `| line_format "template"` stage.
pub struct LineFormat {
    template: Template,
    regexes: RegexCache,
}

impl LineFormat {
    /// Parses the template; unknown functions and syntax errors fail here.
    pub fn new(template: &str) -> Result<Self, FormatError> {
        Ok(LineFormat {
            template: parse("line", template)?,
            regexes: RegexCache::default(),
        })
    }

    /// Renders the template with `.label` fields = labels, `__line__` = the line, `__timestamp__` = entry time.
    pub fn format(
        &self,
        ts_ns: i64,
        line: &[u8],
        labels: &[(String, String)],
    ) -> Result<Vec<u8>, FormatError> {
        // Templates work on strings; bytes that are not UTF-8 become U+FFFD.
        let line = String::from_utf8_lossy(line);
        let out = execute(
            &self.template,
            &label_data(labels),
            ts_ns,
            &line,
            &self.regexes,
        )?;
        Ok(out.into_bytes())
    }
}

/// One compiled assignment of a `label_format` stage.
enum Assignment {
    Rename { dst: String, src: String },
    Template { dst: String, template: Template },
}

/// A compiled `| label_format a="template", b=c` stage.
pub struct LabelFormats {
    assignments: Vec<Assignment>,
    regexes: RegexCache,
}

impl LabelFormats {
    /// Parses every template; a label written twice is an error, as in Loki.
    pub fn new(formats: &[ast::LabelFormat]) -> Result<Self, FormatError> {
        let mut seen = std::collections::HashSet::new();
        let mut assignments = Vec::with_capacity(formats.len());
        for format in formats {
            let assignment = match format {
                ast::LabelFormat::Rename { dst, src } => Assignment::Rename {
                    dst: dst.clone(),
                    src: src.clone(),
                },
                ast::LabelFormat::Template { dst, template } => Assignment::Template {
                    dst: dst.clone(),
                    template: parse(dst, template)?,
                },
            };
            let dst = match &assignment {
                Assignment::Rename { dst, .. } | Assignment::Template { dst, .. } => dst,
            };
            if !seen.insert(dst.clone()) {
                return Err(FormatError::DuplicateLabel(dst.clone()));
            }
            assignments.push(assignment);
        }
        Ok(LabelFormats {
            assignments,
            regexes: RegexCache::default(),
        })
    }

    /// Applies every assignment (renames remove the source; templates see the labels as they were before this stage), keeping `labels` sorted by name.
    ///
    /// An assignment whose template fails leaves its label alone; the others
    /// still apply (Loki marks the entry and carries on), and the first
    /// failure is returned.
    pub fn apply(
        &self,
        ts_ns: i64,
        line: &[u8],
        labels: &mut LabelPairs,
    ) -> Result<(), FormatError> {
        let mut data = None;
        let line = String::from_utf8_lossy(line);
        let mut first_error = None;
        // Every template runs against the labels as they were on entry.
        let mut rendered = Vec::with_capacity(self.assignments.len());
        for assignment in &self.assignments {
            let Assignment::Template { template, .. } = assignment else {
                rendered.push(None);
                continue;
            };
            let data = data.get_or_insert_with(|| label_data(labels));
            match execute(template, data, ts_ns, &line, &self.regexes) {
                Ok(value) => rendered.push(Some(value)),
                Err(e) => {
                    first_error.get_or_insert(e);
                    rendered.push(None);
                }
            }
        }
        for (assignment, value) in self.assignments.iter().zip(rendered) {
            match assignment {
                Assignment::Rename { dst, src } => {
                    if let Some(value) = remove_label(labels, src) {
                        set_label(labels, dst, value);
                    }
                }
                Assignment::Template { dst, .. } => {
                    if let Some(value) = value {
                        set_label(labels, dst, value);
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn set_label(labels: &mut LabelPairs, name: &str, value: String) {
    match labels.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) => labels[i].1 = value,
        Err(i) => labels.insert(i, (name.to_string(), value)),
    }
}

fn remove_label(labels: &mut LabelPairs, name: &str) -> Option<String> {
    let i = labels
        .binary_search_by(|(n, _)| n.as_str().cmp(name))
        .ok()?;
    Some(labels.remove(i).1)
}
