//! Properties over arbitrary input: nothing panics, plain text passes through,
//! and printed floats read back exactly.

use proptest::prelude::*;

use super::tests::{TestFuncs, data};
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
            "printf", "print", "println", "len", "index", "slice", "eq", "ne", "lt", "le", "gt",
            "ge", "and", "or", "not", "html", "js", "urlquery", "upper", "fail", "empty", "half",
            "rep", "keys", "count",
        ])
        .prop_map(|s| format!("{s} ")),
        "[a-z\"{}()|$. -]{0,4}",
    ]
}

fn no_panic(text: &str) {
    if let Ok(t) = Template::parse("p", text, &TestFuncs) {
        let _ = t.execute(&Value::Nil, &TestFuncs);
        let _ = t.execute(&data(), &TestFuncs);
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
    fn printf_never_panics(format in any::<String>(), n in any::<i64>(), f in any::<f64>(), s in any::<String>()) {
        let _ = printf::sprintf(&format, &[Value::Int(n), Value::Float(f), Value::String(s), Value::Nil]);
        let _ = printf::sprintf(&format, &[]);
    }

    #[test]
    fn plain_text_renders_unchanged(text in any::<String>().prop_filter("no delimiter", |t| !t.contains("{{"))) {
        let t = Template::parse("plain", &text, &NoFuncs).unwrap();
        prop_assert_eq!(t.execute(&Value::Nil, &NoFuncs).unwrap(), text);
    }

    #[test]
    fn shortest_floats_read_back(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let shown = Value::Float(f).to_string();
        prop_assert_eq!(strconv::parse_float(&shown).ok(), Some(f));
    }
}
