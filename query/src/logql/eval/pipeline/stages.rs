//! Compiled pipeline stages and what each does to one line.

use std::borrow::Cow;

use regex::bytes::Regex as BytesRegex;

use super::super::super::ast::{Extraction, LabelSelector, LineFilterOp, LineFilterValue, Stage};
use super::super::format::{LabelFormats, LineFormat};
use super::ip::IpRange;
use super::json::{self, Kind};
use super::label_filter::{Filter, StringMatcher};
use super::pattern::{Extractor, Glob};
use super::state::{Labels, is_error_label, sanitize};
use super::{PipelineError, decolorize, logfmt, regex_problem};

const JSON_PARSER_ERR: &str = "JSONParserErr";
const LOGFMT_PARSER_ERR: &str = "LogfmtParserErr";
const TEMPLATE_FORMAT_ERR: &str = "TemplateFormatErr";

fn bytes_regex(re: &str) -> Result<BytesRegex, PipelineError> {
    BytesRegex::new(re).map_err(|e| PipelineError::Regex {
        regex: re.to_owned(),
        problem: regex_problem(&e),
    })
}

/// One way a line filter operand can match.
#[derive(Debug)]
enum Operand {
    /// Every text operand of a `|=`/`!=`, as one alternation.
    Texts(BytesRegex),
    Regex(BytesRegex),
    Glob(Glob),
    Ip(IpRange),
}

impl Operand {
    fn matches(&self, line: &[u8]) -> bool {
        match self {
            Self::Texts(re) | Self::Regex(re) => re.is_match(line),
            Self::Glob(g) => g.matches(line),
            Self::Ip(r) => r.in_line(line),
        }
    }
}

/// A compiled line filter.
#[derive(Debug)]
pub(super) struct LineFilter {
    /// `|=`, `|~`, `|>`: some operand must match; otherwise none may.
    positive: bool,
    operands: Vec<Operand>,
}

impl LineFilter {
    fn new(f: &super::super::super::ast::LineFilter) -> Result<Self, PipelineError> {
        let positive = matches!(
            f.op,
            LineFilterOp::Contains | LineFilterOp::Regex | LineFilterOp::Pattern
        );
        let mut operands = Vec::with_capacity(f.operands.len());
        let mut texts = Vec::new();
        for operand in &f.operands {
            let text = match operand {
                LineFilterValue::Ip(p) => {
                    operands.push(Operand::Ip(IpRange::parse(p).map_err(PipelineError::Ip)?));
                    continue;
                }
                LineFilterValue::Text(t) => t,
            };
            match f.op {
                LineFilterOp::Contains | LineFilterOp::NotContains => {
                    texts.push(regex::escape(text));
                }
                LineFilterOp::Regex | LineFilterOp::NotRegex => {
                    operands.push(Operand::Regex(bytes_regex(text)?));
                }
                LineFilterOp::Pattern | LineFilterOp::NotPattern => {
                    operands.push(Operand::Glob(
                        Glob::new(text).map_err(PipelineError::Pattern)?,
                    ));
                }
            }
        }
        if !texts.is_empty() {
            // One alternation lets the regex engine search for all the
            // literals in a single pass.
            operands.insert(0, Operand::Texts(bytes_regex(&texts.join("|"))?));
        }
        Ok(Self { positive, operands })
    }

    pub(super) fn matches(&self, line: &[u8]) -> bool {
        self.operands.iter().any(|o| o.matches(line)) == self.positive
    }
}

/// `drop`/`keep` operand.
#[derive(Debug)]
pub(super) struct Selector {
    name: String,
    matcher: Option<StringMatcher>,
}

impl Selector {
    fn new(s: &LabelSelector) -> Result<Self, PipelineError> {
        Ok(Self {
            name: s.name.clone(),
            matcher: match &s.matcher {
                Some((op, v)) => Some(StringMatcher::new(*op, v)?),
                None => None,
            },
        })
    }

    fn selects(&self, name: &str, value: &str) -> bool {
        self.name == name && self.matcher.as_ref().is_none_or(|m| m.matches(value))
    }
}

/// A compiled stage.
#[derive(Debug)]
pub(super) enum Step {
    Line(LineFilter),
    /// `json`: flatten everything.
    JsonAll,
    /// `json a="path"`: label and path.
    JsonPaths(Vec<(String, Vec<json::Step>)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        /// `(key, label)` when extractions are given.
        wanted: Vec<(String, String)>,
    },
    Regexp(BytesRegex, Vec<(usize, String)>),
    Pattern(Extractor),
    Unpack,
    LabelFilter(Filter),
    Drop(Vec<Selector>),
    Keep(Vec<Selector>),
    Decolorize,
    LineFormat(Formatter<LineFormat>),
    LabelFormat(Formatter<LabelFormats>),
}

/// A template stage; the formatter types have no `Debug` of their own.
pub(super) struct Formatter<T>(T);

impl<T> std::fmt::Debug for Formatter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Formatter")
    }
}

fn extraction_key(e: &Extraction) -> String {
    e.expression.clone().unwrap_or_else(|| e.label.clone())
}

impl Step {
    pub(super) fn new(stage: &Stage) -> Result<Self, PipelineError> {
        Ok(match stage {
            Stage::LineFilter(f) => Self::Line(LineFilter::new(f)?),
            Stage::Json(ex) if ex.is_empty() => Self::JsonAll,
            Stage::Json(ex) => Self::JsonPaths(
                ex.iter()
                    .map(|e| {
                        let path = json::parse_path(&extraction_key(e))
                            .map_err(PipelineError::JsonPath)?;
                        Ok((e.label.clone(), path))
                    })
                    .collect::<Result<_, PipelineError>>()?,
            ),
            Stage::Logfmt {
                strict,
                keep_empty,
                extractions,
            } => Self::Logfmt {
                strict: *strict,
                keep_empty: *keep_empty,
                wanted: extractions
                    .iter()
                    .map(|e| (extraction_key(e), e.label.clone()))
                    .collect(),
            },
            Stage::Regexp(re) => {
                let compiled = bytes_regex(re)?;
                let names: Vec<(usize, String)> = compiled
                    .capture_names()
                    .enumerate()
                    .filter_map(|(i, n)| n.map(|n| (i, sanitize(n).into_owned())))
                    .collect();
                if names.is_empty() {
                    return Err(PipelineError::NoNamedCapture);
                }
                Self::Regexp(compiled, names)
            }
            Stage::Pattern(p) => Self::Pattern(Extractor::new(p).map_err(PipelineError::Pattern)?),
            Stage::Unpack => Self::Unpack,
            Stage::LabelFilter(f) => Self::LabelFilter(Filter::new(f)?),
            Stage::Drop(sel) => {
                Self::Drop(sel.iter().map(Selector::new).collect::<Result<_, _>>()?)
            }
            Stage::Keep(sel) => {
                Self::Keep(sel.iter().map(Selector::new).collect::<Result<_, _>>()?)
            }
            Stage::Decolorize => Self::Decolorize,
            // wiring: line_format/label_format
            Stage::LineFormat(t) => Self::LineFormat(Formatter(
                LineFormat::new(t).map_err(|e| PipelineError::Template(e.to_string()))?,
            )),
            Stage::LabelFormat(f) => Self::LabelFormat(Formatter(
                LabelFormats::new(f).map_err(|e| PipelineError::Template(e.to_string()))?,
            )),
        })
    }

    /// Runs the stage; `false` drops the line. `stage` numbers this
    /// stage so a parser can let the first of two equal keys win.
    pub(super) fn apply(
        &self,
        stage: usize,
        ts_ns: i64,
        line: &mut Cow<'_, [u8]>,
        labels: &mut Labels,
    ) -> bool {
        match self {
            Self::Line(f) => return f.matches(line),
            Self::JsonAll => {
                let mut fields = Vec::new();
                match json::flatten(line, &mut fields) {
                    Ok(()) => {
                        for (k, v) in fields {
                            labels.set_parsed(&sanitize(&k), v, stage);
                        }
                    }
                    Err(e) => labels.set_error(JSON_PARSER_ERR, e),
                }
            }
            Self::JsonPaths(paths) => match json::validate(line) {
                Ok(()) => {
                    for (label, path) in paths {
                        let value = json::lookup(line, path)
                            .map(|(kind, text)| json::label_value(kind, text))
                            .unwrap_or_default();
                        labels.set_parsed(label, value, stage);
                    }
                }
                Err(e) => labels.set_error(JSON_PARSER_ERR, e),
            },
            Self::Logfmt {
                strict,
                keep_empty,
                wanted,
            } => run_logfmt(line, labels, stage, *strict, *keep_empty, wanted),
            Self::Regexp(re, names) => {
                if let Some(caps) = re.captures(line) {
                    for (i, name) in names {
                        let value = caps.get(*i).map_or(&[][..], |m| m.as_bytes());
                        labels.set_parsed(name, lossy(value), stage);
                    }
                }
            }
            Self::Pattern(p) => p.captures(line, |name, value| {
                labels.set_parsed(name, lossy(value), stage);
            }),
            Self::Unpack => run_unpack(line, labels, stage),
            Self::LabelFilter(f) => return f.eval(labels),
            Self::Drop(sel) => {
                labels.retain(|n, v| !sel.iter().any(|s| s.selects(n, v)));
            }
            Self::Keep(sel) => {
                labels.retain(|n, v| is_error_label(n) || sel.iter().any(|s| s.selects(n, v)));
            }
            Self::Decolorize => {
                if let Some(clean) = decolorize::strip(line) {
                    *line = Cow::Owned(clean);
                }
            }
            // A template that fails on this entry leaves the line (or the
            // label) as it was and marks the entry, as Loki does.
            Self::LineFormat(Formatter(f)) => match f.format(ts_ns, line, &labels.pairs()) {
                Ok(new) => *line = Cow::Owned(new),
                Err(e) => labels.set_error(TEMPLATE_FORMAT_ERR, e.to_string()),
            },
            Self::LabelFormat(Formatter(f)) => {
                let mut pairs = labels.pairs();
                let result = f.apply(ts_ns, line, &mut pairs);
                labels.replace_with(pairs);
                if let Err(e) = result {
                    labels.set_error(TEMPLATE_FORMAT_ERR, e.to_string());
                }
            }
        }
        true
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run_logfmt(
    line: &[u8],
    labels: &mut Labels,
    stage: usize,
    strict: bool,
    keep_empty: bool,
    wanted: &[(String, String)],
) {
    for pair in logfmt::Pairs::new(line) {
        let pair = match pair {
            Ok(p) => p,
            Err(e) if strict => {
                labels.set_error(LOGFMT_PARSER_ERR, e);
                return;
            }
            Err(_) => continue,
        };
        if pair.value.is_empty() && !keep_empty {
            continue;
        }
        let key = String::from_utf8_lossy(pair.key);
        if wanted.is_empty() {
            labels.set_parsed(&sanitize(&key), lossy(&pair.value), stage);
            continue;
        }
        for (_, label) in wanted.iter().filter(|(k, _)| *k == key) {
            labels.set_parsed(label, lossy(&pair.value), stage);
        }
    }
}

fn run_unpack(line: &mut Cow<'_, [u8]>, labels: &mut Labels, stage: usize) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut r = json::Reader::new(line);
    let read = if r.next_kind() == Some(Kind::Object) {
        r.members(|r, key| {
            let (kind, text) = r.value()?;
            if kind == Kind::String {
                fields.push((json::key_text(key).into_owned(), json::unescape(text)));
            }
            Ok(())
        })
        .and_then(|()| r.end())
    } else {
        Err("expected a JSON object at offset 0".to_owned())
    };
    if let Err(e) = read {
        labels.set_error(JSON_PARSER_ERR, e);
        return;
    }
    let mut entry = None;
    for (k, v) in fields {
        if k == "_entry" {
            entry.get_or_insert(v);
        } else {
            labels.set_parsed(&sanitize(&k), v, stage);
        }
    }
    if let Some(entry) = entry {
        *line = Cow::Owned(entry.into_bytes());
    }
}
