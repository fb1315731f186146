//! Properties over arbitrary input with Prometheus' functions and the alert
//! preamble: nothing panics, and plain text passes through.

use proptest::prelude::*;

use super::tests::{data, host};
use super::*;

/// Fragments that make random input look like templates often enough to
/// reach deep parser and executor paths.
fn template_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{- ".to_string()),
        Just(" -}}".to_string()),
        Just("{{/*".to_string()),
        Just("*/".to_string()),
        Just("if ".to_string()),
        Just("else ".to_string()),
        Just("end".to_string()),
        Just("range ".to_string()),
        Just("with ".to_string()),
        Just("define \"a\"".to_string()),
        Just("template \"a\" .".to_string()),
        Just("block \"b\" .".to_string()),
        Just("break".to_string()),
        Just("continue".to_string()),
        Just("$x := ".to_string()),
        Just("$x = ".to_string()),
        Just("$x".to_string()),
        Just("$".to_string()),
        Just(".".to_string()),
        Just(".Labels.instance".to_string()),
        Just("$labels".to_string()),
        Just("$value".to_string()),
        Just(" | ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"%d %s %v %.2f %5x\"".to_string()),
        Just("'a'".to_string()),
        Just("`raw`".to_string()),
        Just("1.5e3".to_string()),
        Just("-3".to_string()),
        Just("0x1F".to_string()),
        Just("nil".to_string()),
        Just("true".to_string()),
        Just(", ".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        prop::sample::select(vec![
            "printf",
            "print",
            "println",
            "len",
            "index",
            "slice",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "and",
            "or",
            "not",
            "html",
            "js",
            "urlquery",
            "query",
            "first",
            "label",
            "value",
            "strvalue",
            "sortByLabel",
            "humanize",
            "humanize1024",
            "humanizeDuration",
            "humanizePercentage",
            "humanizeTimestamp",
            "toTime",
            "toDuration",
            "parseDuration",
            "title",
            "toUpper",
            "toLower",
            "match",
            "reReplaceAll",
            "safeHtml",
            "stripPort",
            "stripDomain",
            "args",
            "pathPrefix",
            "externalURL",
            "graphLink",
            "tableLink",
        ])
        .prop_map(|s| format!("{s} ")),
        "[a-z\"{}()|$. -]{0,4}",
    ]
}

fn no_panic(text: &str) {
    if let Ok(t) = parse_alert_template("p", text) {
        let _ = t.execute(&data(), &host());
    }
    if let Ok(t) = Template::parse("p", text) {
        let _ = t.execute(&Value::Nil, &host());
        let _ = t.execute(&data(), &host());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        no_panic(&text);
    }

    #[test]
    fn arbitrary_actions_never_panic(inner in any::<String>()) {
        no_panic(&format!("{{{{{inner}}}}}"));
        no_panic(&format!("{{{{ {inner} }}}}"));
    }

    #[test]
    fn template_like_text_never_panics(parts in prop::collection::vec(template_fragment(), 0..24)) {
        no_panic(&parts.concat());
    }

    #[test]
    fn plain_text_renders_unchanged(text in any::<String>().prop_filter("no delimiter", |t| !t.contains("{{"))) {
        let t = Template::parse("plain", &text).unwrap();
        prop_assert_eq!(t.execute(&Value::Nil, &host()).unwrap(), text);
    }
}
