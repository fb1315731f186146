//! The label representation evaluation works on.

/// Label pairs sorted by name, names unique. Empty values are allowed while
/// a pipeline runs (a missing JSON path yields `name=""`).
pub type LabelPairs = Vec<(String, String)>;

/// Looks up `name` in sorted pairs.
pub fn get<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .binary_search_by(|(n, _)| n.as_str().cmp(name))
        .ok()
        .map(|i| labels[i].1.as_str())
}
