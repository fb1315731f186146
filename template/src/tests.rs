//! End-to-end engine behaviour: Go semantics that span parser and
//! executor, exact error texts, argument checks for caller functions, and
//! the limits that keep runaway templates from stalling their caller.

use std::collections::BTreeMap;

use super::*;

/// A small caller function set exercising each parameter kind.
pub(super) struct TestFuncs;

const SAMPLE: Param = Param::Custom(CustomParam {
    go_type: "*test.sample",
    accepts: |v| matches!(v, Value::Map(_) | Value::Nil),
    nil_ok: true,
});

impl FuncSet for TestFuncs {
    fn signature(&self, name: &str) -> Option<Signature> {
        use Param::{Any, Float, Int, Str};
        Some(match name {
            "upper" => Signature::new(&[Str], None),
            "fail" | "empty" => Signature::new(&[], None),
            "half" => Signature::new(&[Float], None),
            "rep" => Signature::new(&[Int, Str], None),
            "keys" => Signature::new(&[SAMPLE], None),
            "count" => Signature::new(&[], Some(Any)),
            _ => return None,
        })
    }

    fn call(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let text = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match (name, args.as_slice()) {
            ("upper", _) => Ok(Value::String(strings::to_upper(&text(0)))),
            ("fail", _) => Err("failed".to_string()),
            ("empty", _) => Ok(Value::List(vec![])),
            ("half", [Value::Float(f)]) => Ok(Value::Float(f / 2.0)),
            ("rep", [Value::Int(n), _]) => Ok(Value::String(
                text(1).repeat(usize::try_from(*n).unwrap_or(0)),
            )),
            ("keys", [Value::Map(m)]) => Ok(Value::Int(m.len() as i64)),
            ("keys", _) => Err("nil sample".to_string()),
            ("count", _) => Ok(Value::Int(args.len() as i64)),
            _ => Err(format!("unexpected call {name}")),
        }
    }
}

pub(super) fn data() -> Value {
    let labels = BTreeMap::from([
        ("instance".to_string(), Value::from("h1:9100")),
        ("job".to_string(), Value::from("node")),
    ]);
    Value::Map(BTreeMap::from([
        ("Labels".to_string(), Value::Map(labels)),
        ("Value".to_string(), Value::Float(0.91234)),
    ]))
}

/// Parses as `t` and runs against `data`, returning Go's message on failure.
pub(super) fn run(text: &str, data: &Value) -> Result<String, String> {
    let t = Template::parse("t", text, &TestFuncs).map_err(|e| e.to_string())?;
    t.execute(data, &TestFuncs).map_err(|e| e.to_string())
}

fn exec_err(text: &str, data: &Value) -> String {
    let t = Template::parse("t", text, &TestFuncs).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let err = t.execute(data, &TestFuncs).expect_err(text);
    assert_eq!(err.kind(), ErrorKind::Exec);
    err.to_string()
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

#[test]
fn values_print_as_go_prints_them() {
    let nil = Value::Nil;
    assert_eq!(
        run(
            "{{ 123456789.0 }} {{ 1e21 }} {{ 100.0 }} {{ 0.00001 }}",
            &nil
        )
        .unwrap(),
        "1.23456789e+08 1e+21 100 1e-05"
    );
    assert_eq!(
        run(
            "{{ 'a' }} {{ 0x10 }} {{ -5 }} {{ true }} {{ \"s\" }} {{ `r\\n` }}",
            &nil
        )
        .unwrap(),
        "97 16 -5 true s r\\n"
    );
    assert_eq!(run("{{ . }}", &list(&["a", "b"])).unwrap(), "[a b]");
    assert_eq!(run("{{ . }}", &nil).unwrap(), "<no value>");
    assert_eq!(run("{{ print . }}", &nil).unwrap(), "<nil>");
    assert_eq!(
        run(
            "{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" }}",
            &nil
        )
        .unwrap(),
        "<no value>"
    );
    assert_eq!(
        run("{{ print 1 2 \"a\" 3 }}|{{ println 1 \"a\" }}", &nil).unwrap(),
        "1 2a3|1 a\n"
    );
    assert_eq!(
        run(
            "{{ html \"<b>&\" }} {{ js \"'\" }} {{ \"a b&c\" | urlquery }}",
            &nil
        )
        .unwrap(),
        "&lt;b&gt;&amp; \\' a+b%26c"
    );
    assert_eq!(
        run("{{ printf \"%d %s\" 1 }}", &nil).unwrap(),
        "1 %!s(MISSING)"
    );
    assert_eq!(
        run("{{ \"a\" | printf \"%s-%s\" \"b\" }}", &nil).unwrap(),
        "b-a"
    );
    assert_eq!(
        run("{{ printf \"%5.1f|%-4s|%x\" 3.14159 \"ab\" 255 }}", &nil).unwrap(),
        "  3.1|ab  |ff"
    );
}

#[test]
fn control_structures_and_scoping() {
    let nil = Value::Nil;
    assert_eq!(
        run(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ $y }}{{ end }}{{ $x }}",
            &nil
        )
        .unwrap(),
        "32"
    );
    assert_eq!(
        run("{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}", &nil).unwrap_err(),
        "template: t:1: undefined variable \"$y\""
    );
    let letters = list(&["a", "b", "c", "d", "e"]);
    let text = "{{ range $i, $e := . }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $e }}{{ end }}";
    assert_eq!(run(text, &letters).unwrap(), "ac");
    assert_eq!(
        run(
            "{{ range . }}x{{ else }}empty{{ end }}",
            &Value::List(vec![])
        )
        .unwrap(),
        "empty"
    );
    assert_eq!(
        run("{{ range . }}x{{ else }}empty{{ end }}", &nil).unwrap(),
        "empty"
    );
    assert_eq!(run("{{ range 3 }}{{ . }}{{ end }}", &nil).unwrap(), "012");
    let map = Value::Map(BTreeMap::from([
        ("b".to_string(), Value::Int(2)),
        ("a".to_string(), Value::Int(1)),
    ]));
    assert_eq!(
        run("{{ range $v := . }}{{ $v }}{{ end }}", &map).unwrap(),
        "12"
    );
    assert_eq!(
        run("{{ range $k, $v := . }}{{ $k }}{{ $v }}{{ end }}", &map).unwrap(),
        "a1b2"
    );
    assert_eq!(
        exec_err("{{ $k := 0 }}{{ range $k, $v = . }}{{ end }}{{ $k }}", &map),
        "template: t:1:31: executing \"t\" at <.>: undefined variable: $v"
    );
    assert_eq!(
        run(
            "{{ $k := 0 }}{{ $v := 0 }}{{ range $k, $v = . }}{{ end }}{{ $k }}{{ $v }}",
            &map
        )
        .unwrap(),
        "b2"
    );
    assert_eq!(
        run(
            "{{ with .a }}A{{ else with .b }}B{{ . }}{{ else }}C{{ end }}",
            &map
        )
        .unwrap(),
        "A"
    );
    let only_b = Value::Map(BTreeMap::from([("b".to_string(), Value::Int(7))]));
    assert_eq!(
        run(
            "{{ with .a }}A{{ else with .b }}B{{ . }}{{ else }}C{{ end }}",
            &only_b
        )
        .unwrap(),
        "B7"
    );
    assert_eq!(
        run(
            "{{ if 0 }}a{{ else if \"\" }}b{{ else if 3 }}c{{ end }}",
            &nil
        )
        .unwrap(),
        "c"
    );
    assert_eq!(
        run("{{ with $x := 5 }}{{ $x }}{{ . }}{{ end }}", &nil).unwrap(),
        "55"
    );
    assert_eq!(
        run(
            "{{ block \"b\" . }}default {{ . }}{{ end }}",
            &Value::from("data")
        )
        .unwrap(),
        "default data"
    );
    assert_eq!(
        run(
            "{{ define \"b\" }}override{{ end }}{{ block \"b\" . }}default{{ end }}",
            &nil
        )
        .unwrap_err(),
        "template: t:1: template: multiple definition of template \"b\""
    );
    assert_eq!(run("a{{/* c */}}b {{- /* c */ -}} c", &nil).unwrap(), "abc");
    assert_eq!(run("{{ $ }}", &Value::Int(4)).unwrap(), "4");
    assert_eq!(
        run(
            "{{ define \"inner\" }}{{ $ }}{{ end }}{{ template \"inner\" 5 }}",
            &Value::Int(4)
        )
        .unwrap(),
        "5"
    );
}

#[test]
fn builtin_functions() {
    let nil = Value::Nil;
    assert_eq!(
        run(
            "{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }}",
            &nil
        )
        .unwrap(),
        "0 2 x "
    );
    assert_eq!(
        run("{{ or 1 (fail) }} {{ and 0 (fail) }}", &nil).unwrap(),
        "1 0"
    );
    assert_eq!(
        run("{{ not 0 }} {{ not \"x\" }}", &nil).unwrap(),
        "true false"
    );
    assert_eq!(
        run(
            "{{ eq 2 1 2 }} {{ ne \"a\" \"b\" }} {{ le 2 2 }} {{ ge 1 2 }}",
            &nil
        )
        .unwrap(),
        "true true true false"
    );
    assert_eq!(
        run(
            "{{ index . 1 }} {{ slice . 1 2 }} {{ len . }}",
            &list(&["a", "b", "c"])
        )
        .unwrap(),
        "b [b] 3"
    );
    assert_eq!(
        run(
            "{{ index . \"k\" }}",
            &Value::Map(BTreeMap::from([("k".to_string(), Value::Int(1))]))
        )
        .unwrap(),
        "1"
    );
}

#[test]
fn caller_functions_get_checked_and_converted_arguments() {
    let d = data();
    assert_eq!(run("{{ half 3 }} {{ half 0.5 }}", &d).unwrap(), "1.5 0.25");
    assert_eq!(run("{{ rep 2e0 \"ab\" }}", &d).unwrap(), "abab");
    assert_eq!(run("{{ \"ab\" | rep 2 | upper }}", &d).unwrap(), "ABAB");
    assert_eq!(run("{{ count 1 \"a\" nil . }}", &d).unwrap(), "4");
    assert_eq!(run("{{ keys .Labels }}", &d).unwrap(), "2");
    assert_eq!(
        run("{{ range empty }}x{{ else }}none{{ end }}", &d).unwrap(),
        "none"
    );
    assert_eq!(
        run("{{ nope }}", &d).unwrap_err(),
        "template: t:1: function \"nope\" not defined"
    );
}

#[test]
fn execution_errors_match_go() {
    let nil = Value::Nil;
    let d = data();
    let one = list(&["a"]);
    let one_int = Value::Int(1);
    let cases: Vec<(&str, &Value, &str)> = vec![
        (
            "{{ fail }}",
            &nil,
            "template: t:1:3: executing \"t\" at <fail>: error calling fail: failed",
        ),
        (
            "{{ eq .Value 1 }}",
            &d,
            "template: t:1:3: executing \"t\" at <eq .Value 1>: error calling eq: incompatible types for comparison",
        ),
        (
            "{{ .Labels.instance.x }}",
            &d,
            "template: t:1:10: executing \"t\" at <.Labels.instance.x>: can't evaluate field x in type string",
        ),
        (
            "{{ .Value.Foo }}",
            &d,
            "template: t:1:9: executing \"t\" at <.Value.Foo>: can't evaluate field Foo in type float64",
        ),
        (
            "{{ .Labels.job 1 }}",
            &d,
            "template: t:1:10: executing \"t\" at <.Labels.job>: job is not a method but has arguments",
        ),
        (
            "{{ 1 2 }}",
            &nil,
            "template: t:1:3: executing \"t\" at <1>: can't give argument to non-function 1",
        ),
        (
            "{{ nil }}",
            &nil,
            "template: t:1:3: executing \"t\" at <nil>: nil is not a command",
        ),
        (
            "{{ half }}",
            &nil,
            "template: t:1:3: executing \"t\" at <half>: wrong number of args for half: want 1 got 0",
        ),
        (
            "{{ upper 1 }}",
            &nil,
            "template: t:1:9: executing \"t\" at <1>: expected string; found 1",
        ),
        (
            "{{ upper .Value }}",
            &d,
            "template: t:1:9: executing \"t\" at <.Value>: wrong type for value; expected string; got float64",
        ),
        (
            "{{ rep 1.5 \"a\" }}",
            &nil,
            "template: t:1:7: executing \"t\" at <1.5>: expected integer; found 1.5",
        ),
        (
            "{{ rep \"2\" \"a\" }}",
            &nil,
            "template: t:1:7: executing \"t\" at <\"2\">: expected integer; found \"2\"",
        ),
        (
            "{{ rep nil \"a\" }}",
            &nil,
            "template: t:1:7: executing \"t\" at <nil>: cannot assign nil to int",
        ),
        (
            "{{ half \"x\" }}",
            &nil,
            "template: t:1:8: executing \"t\" at <\"x\">: expected float; found \"x\"",
        ),
        (
            "{{ half .Labels.job }}",
            &d,
            "template: t:1:15: executing \"t\" at <.Labels.job>: wrong type for value; expected float64; got string",
        ),
        (
            "{{ keys nil }}",
            &nil,
            "template: t:1:3: executing \"t\" at <keys nil>: error calling keys: nil sample",
        ),
        (
            "{{ template \"nope\" }}",
            &nil,
            "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined",
        ),
        (
            "{{ range 1.5 }}{{ end }}",
            &nil,
            "template: t:1:9: executing \"t\" at <1.5>: range can't iterate over 1.5",
        ),
        (
            "{{ define \"d\" }}{{ .x.y }}{{ end }}{{ template \"d\" 1 }}",
            &nil,
            "template: t:1:21: executing \"d\" at <.x.y>: can't evaluate field x in type int",
        ),
        (
            "\n\n  {{ len 3 }}",
            &nil,
            "template: t:3:5: executing \"t\" at <len 3>: error calling len: len of type int",
        ),
        (
            "{{ index . 5 }}",
            &one,
            "template: t:1:3: executing \"t\" at <index . 5>: error calling index: index out of range: 5",
        ),
        (
            "{{ $x := 1 }}{{ $x.y }}",
            &nil,
            "template: t:1:18: executing \"t\" at <$x.y>: can't evaluate field y in type int",
        ),
        (
            "{{ eq 1 nil }}",
            &nil,
            "template: t:1:8: executing \"t\" at <nil>: cannot assign nil to reflect.Value",
        ),
        (
            "{{ 18446744073709551615 }}",
            &nil,
            "template: t:1:3: executing \"t\" at <18446744073709551615>: 18446744073709551615 overflows int",
        ),
        (
            "{{ keys . }}",
            &one_int,
            "template: t:1:8: executing \"t\" at <.>: wrong type for value; expected *test.sample; got int",
        ),
    ];
    for (text, data, want) in cases {
        assert_eq!(exec_err(text, data), want, "for {text:?}");
    }
}

/// Runs `text` on a thread with a 1 MiB stack, half of what tokio and test
/// threads get, so the depth limits are known to leave a margin even in debug builds.
fn run_small_stack(text: String) -> Result<String, String> {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || run(&text, &Value::Nil))
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn recursion_is_bounded_without_exhausting_the_stack() {
    for text in [
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
        "{{ define \"r\" }}{{ range 1 }}{{ template \"r\" . }}{{ end }}{{ end }}{{ template \"r\" . }}",
        "{{ define \"r\" }}{{ if 1 }}{{ with 1 }}{{ template \"r\" . }}{{ end }}{{ end }}{{ end }}{{ template \"r\" . }}",
        "{{ define \"r\" }}{{ template \"r\" (print (print (print .))) }}{{ end }}{{ template \"r\" . }}",
    ] {
        let err = run_small_stack(text.to_string()).unwrap_err();
        assert!(
            err.contains("exceeded maximum template depth (200)"),
            "{err}"
        );
    }
    let parens = format!("{{{{ len {}1{} }}}}", "(print ".repeat(98), ")".repeat(98));
    assert_eq!(run_small_stack(parens), Ok("1".to_string()));
    let nested = format!(
        "{}{}{}",
        "{{ with 1 }}".repeat(45),
        "{{ len (print (print (print (print 1)))) }}",
        "{{ end }}".repeat(45)
    );
    assert_eq!(run_small_stack(nested), Ok("1".to_string()));
}

#[test]
fn runaway_templates_fail_instead_of_stalling_evaluation() {
    let funcs = TestFuncs;
    for text in [
        "{{ range 1000000000000 }}{{ end }}",
        "{{ range 100000000 }}x{{ end }}",
        "{{ define \"outer\" }}{{ range 1000 }}{{ template \"inner\" }}{{ end }}{{ end }}{{ define \"inner\" }}{{ range 1000 }}y{{ end }}{{ end }}{{ template \"outer\" }}",
    ] {
        let t = Template::parse("t", text, &funcs).expect("parses");
        let err = t.execute(&Value::Nil, &funcs).expect_err(text);
        let message = err.to_string();
        assert!(
            message.contains("execution steps") || message.contains("output exceeds"),
            "{text}: {message}"
        );
    }
    // Values that double in size fail before they exhaust memory.
    let mut doubling = String::from("{{ $x := printf \"%01000000d\" 0 }}");
    for _ in 0..25 {
        doubling.push_str("{{ $x = print $x $x }}");
    }
    let t = Template::parse("t", &doubling, &funcs).expect("parses");
    let err = t.execute(&Value::Nil, &funcs).expect_err("doubling");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    // Ordinary loops stay well inside the budget.
    let t = Template::parse("t", "{{ range 10000 }}.{{ end }}", &funcs).expect("parses");
    assert_eq!(
        t.execute(&Value::Nil, &funcs).map(|s| s.len()).ok(),
        Some(10_000)
    );
}
