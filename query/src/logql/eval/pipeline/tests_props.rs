//! Property tests: no line and no pipeline of parsers makes `process`
//! panic, and well-formed logfmt/JSON input comes back unchanged.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::super::super::ast::{Extraction, LabelFilter, LabelMatcher, Stage};
use super::*;
use hearth_storage::MatchOp;

fn stage() -> impl Strategy<Value = Stage> {
    let extraction = ("[a-z]{1,3}", prop::option::of("[a-z.\\[\\]0-9\"]{1,6}"))
        .prop_map(|(label, expression)| Extraction { label, expression });
    prop_oneof![
        Just(Stage::Json(vec![])),
        prop::collection::vec(extraction.clone(), 1..3).prop_map(Stage::Json),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(extraction, 0..3)
        )
            .prop_map(|(strict, keep_empty, extractions)| Stage::Logfmt {
                strict,
                keep_empty,
                extractions,
            }),
        prop::sample::select(vec![
            "(?P<a>\\w+)",
            "(?P<x>[^ ]*) (?P<y>.)",
            "(?P<v>\\d+)?z",
        ])
        .prop_map(|r| Stage::Regexp(r.to_owned())),
        prop::sample::select(vec!["<a> <b>", "x=<_> <c>", "<d>\"<_>\"", "é<e>é"])
            .prop_map(|p| Stage::Pattern(p.to_owned())),
        Just(Stage::Unpack),
        Just(Stage::Decolorize),
        "[a-z_]{1,3}".prop_map(|name| Stage::LabelFilter(LabelFilter::String(LabelMatcher {
            name,
            op: MatchOp::NotEqual,
            value: "zz".into(),
        }))),
        "[a-z_]{1,3}".prop_map(|label| Stage::LabelFilter(LabelFilter::Number {
            label,
            op: crate::logql::ast::CmpOp::Gt,
            value: -1.0,
        })),
    ]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        "[a-z=\" \\\\{}:,\\[\\]0-9\u{1b}]{0,40}".prop_map(String::into_bytes),
        "(\\{\"[a-z_]{1,3}\":(\"[a-z\\\\\"]{0,4}\"|[0-9.e-]{1,4}|true|null|\\{\\}|\\[1\\]),?\\}){1,3}"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn process_never_panics(
        stages in prop::collection::vec(stage(), 0..5),
        line in line(),
    ) {
        let Ok(pipeline) = Pipeline::new(&stages) else {
            return Ok(());
        };
        let stream = vec![("a".to_owned(), "1".to_owned())];
        let metadata = vec![("b".to_owned(), "2".to_owned()), ("b".to_owned(), "3".to_owned())];
        if let Some(out) = pipeline.process(InputEntry {
            ts_ns: 0,
            line: &line,
            stream: &stream,
            structured_metadata: &metadata,
        }) {
            prop_assert!(out.labels.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn logfmt_round_trips(
        pairs in prop::collection::vec(
            ("[a-z][a-z0-9_]{0,6}", prop_oneof!["[a-zA-Z0-9._/-]{1,8}", any::<String>()]),
            0..8,
        ),
    ) {
        let mut line = String::new();
        let mut want = BTreeMap::new();
        for (k, v) in &pairs {
            let bare = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
            let written = if bare { v.clone() } else { serde_json::to_string(v).unwrap() };
            line.push_str(&format!("{k}={written} "));
            if !v.is_empty() {
                want.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let pipeline = Pipeline::new(&[Stage::Logfmt {
            strict: true,
            keep_empty: false,
            extractions: vec![],
        }]).unwrap();
        let out = pipeline.process(InputEntry {
            ts_ns: 0,
            line: line.as_bytes(),
            stream: &[],
            structured_metadata: &[],
        }).unwrap();
        let got: BTreeMap<String, String> = out.parsed.into_iter().collect();
        prop_assert_eq!(got, want, "line: {}", line);
    }

    #[test]
    fn json_strings_round_trip(
        fields in prop::collection::btree_map("[a-z][a-z0-9_]{0,6}", any::<String>(), 0..6),
    ) {
        let line = serde_json::to_string(&fields).unwrap();
        let pipeline = Pipeline::new(&[Stage::Json(vec![])]).unwrap();
        let out = pipeline.process(InputEntry {
            ts_ns: 0,
            line: line.as_bytes(),
            stream: &[],
            structured_metadata: &[],
        }).unwrap();
        let got: BTreeMap<String, String> = out.parsed.into_iter().collect();
        prop_assert_eq!(got, fields);
    }
}
