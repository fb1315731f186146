//! The label set one line carries through the pipeline, remembering where
//! each label came from so the response can split them into stream,
//! structured-metadata and parsed labels.

use std::borrow::Cow;

use super::super::labels::LabelPairs;

/// Set when a stage fails on a line.
pub(crate) const ERROR: &str = "__error__";
/// Why the stage failed.
pub(crate) const ERROR_DETAILS: &str = "__error_details__";

/// Whether `name` is one of the two error labels.
pub(crate) fn is_error_label(name: &str) -> bool {
    name == ERROR || name == ERROR_DETAILS
}

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Stream,
    Metadata,
    Parsed,
}

#[derive(Debug, Clone)]
struct Label {
    name: String,
    value: String,
    origin: Origin,
    /// The stage that last wrote a parsed label, so a parser can let the
    /// first of two equal keys in one line win.
    stage: usize,
}

/// Labels sorted by name, names unique.
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels {
    items: Vec<Label>,
}

/// Stage number for writes that no parser made (errors, formats).
pub(crate) const NO_STAGE: usize = usize::MAX;

/// `key` made into a label name: every character outside
/// `[a-zA-Z0-9_]` becomes `_`, and a leading digit gets a `_` in front.
pub(crate) fn sanitize(key: &str) -> Cow<'_, str> {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let leading_digit = key.starts_with(|c: char| c.is_ascii_digit());
    if !leading_digit && key.chars().all(valid) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len() + 1);
    if leading_digit {
        out.push('_');
    }
    out.extend(key.chars().map(|c| if valid(c) { c } else { '_' }));
    Cow::Owned(out)
}

impl Labels {
    /// Stream labels plus structured metadata; a metadata name that a
    /// stream label already holds is kept as `<name>_extracted`, and of
    /// repeated metadata names the last wins.
    pub(crate) fn new(stream: &[(String, String)], metadata: &[(String, String)]) -> Self {
        let mut items: Vec<Label> = Vec::with_capacity(stream.len() + metadata.len());
        items.extend(stream.iter().map(|(n, v)| Label {
            name: n.clone(),
            value: v.clone(),
            origin: Origin::Stream,
            stage: NO_STAGE,
        }));
        // Callers promise sorted stream labels; sorting again is cheap
        // when true and keeps lookups right when not.
        if !items.is_sorted_by(|a, b| a.name < b.name) {
            items.sort_by(|a, b| a.name.cmp(&b.name));
            items.dedup_by(|b, a| a.name == b.name);
        }
        let mut labels = Self { items };
        for (name, value) in metadata {
            labels.add(name, value.clone(), Origin::Metadata, NO_STAGE, false);
        }
        labels
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.items.binary_search_by(|l| l.name.as_str().cmp(name))
    }

    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.find(name).ok().map(|i| self.items[i].value.as_str())
    }

    /// Whether a stage has failed on this line.
    pub(crate) fn has_error(&self) -> bool {
        self.get(ERROR).is_some_and(|v| !v.is_empty())
    }

    /// Marks the line as failed in `kind`.
    pub(crate) fn set_error(&mut self, kind: &str, details: String) {
        self.set(ERROR, kind.to_owned(), Origin::Parsed);
        self.set(ERROR_DETAILS, details, Origin::Parsed);
    }

    /// Writes `name` as is, replacing any label of that name.
    pub(crate) fn set(&mut self, name: &str, value: String, origin: Origin) {
        match self.find(name) {
            Ok(i) => {
                let l = &mut self.items[i];
                l.value = value;
                l.origin = origin;
                l.stage = NO_STAGE;
            }
            Err(i) => self.items.insert(
                i,
                Label {
                    name: name.to_owned(),
                    value,
                    origin,
                    stage: NO_STAGE,
                },
            ),
        }
    }

    /// A parser's write: a clash with a stream or metadata label goes to
    /// `<name>_extracted`; an earlier parser's label is overwritten unless
    /// this same stage wrote it (the first of equal keys in a line wins).
    pub(crate) fn set_parsed(&mut self, name: &str, value: String, stage: usize) {
        self.add(name, value, Origin::Parsed, stage, true);
    }

    fn add(&mut self, name: &str, value: String, origin: Origin, stage: usize, first_wins: bool) {
        if name.is_empty() {
            return;
        }
        let clashes = |labels: &Self, n: &str| match labels.find(n) {
            Ok(i) => labels.items[i].origin.rank() < origin.rank(),
            Err(_) => false,
        };
        let extracted;
        let name = if clashes(self, name) {
            extracted = format!("{name}_extracted");
            extracted.as_str()
        } else {
            name
        };
        match self.find(name) {
            Ok(i) => {
                let l = &mut self.items[i];
                if first_wins && l.origin == origin && l.stage == stage && stage != NO_STAGE {
                    return;
                }
                l.value = value;
                l.origin = origin;
                l.stage = stage;
            }
            Err(i) => self.items.insert(
                i,
                Label {
                    name: name.to_owned(),
                    value,
                    origin,
                    stage,
                },
            ),
        }
    }

    /// Removes `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.items.remove(i);
        }
    }

    /// Keeps the labels for which `keep(name, value)` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.items.retain(|l| keep(&l.name, &l.value));
    }

    /// The plain pairs, for stages that work on [`LabelPairs`].
    pub(crate) fn pairs(&self) -> LabelPairs {
        self.items
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    /// Takes pairs back after a stage rewrote them: unchanged labels keep
    /// their origin, new or changed ones count as parsed.
    pub(crate) fn replace_with(&mut self, mut pairs: LabelPairs) {
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|b, a| a.0 == b.0);
        let items = pairs
            .into_iter()
            .map(|(name, value)| {
                let (origin, stage) = match self.find(&name) {
                    Ok(i) if self.items[i].value == value => {
                        (self.items[i].origin, self.items[i].stage)
                    }
                    _ => (Origin::Parsed, NO_STAGE),
                };
                Label {
                    name,
                    value,
                    origin,
                    stage,
                }
            })
            .collect();
        self.items = items;
    }

    /// All labels, then those from structured metadata, then the parsed
    /// ones.
    pub(crate) fn split(self) -> (LabelPairs, LabelPairs, LabelPairs) {
        let mut metadata = Vec::new();
        let mut parsed = Vec::new();
        for l in &self.items {
            match l.origin {
                Origin::Stream => {}
                Origin::Metadata => metadata.push((l.name.clone(), l.value.clone())),
                Origin::Parsed => parsed.push((l.name.clone(), l.value.clone())),
            }
        }
        let all = self.items.into_iter().map(|l| (l.name, l.value)).collect();
        (all, metadata, parsed)
    }

    /// Series labels: every label with a value (an empty value means
    /// absent in a series).
    pub(crate) fn into_series(self) -> LabelPairs {
        self.items
            .into_iter()
            .filter(|l| !l.value.is_empty())
            .map(|l| (l.name, l.value))
            .collect()
    }
}

impl Origin {
    /// Precedence for a contested name: stream over metadata over parsed.
    fn rank(self) -> u8 {
        match self {
            Origin::Stream => 0,
            Origin::Metadata => 1,
            Origin::Parsed => 2,
        }
    }
}
