//! End-to-end behaviour: Prometheus documentation examples, Go semantics that
//! span parser and executor, exact error texts, and no-panic properties.

use std::collections::BTreeMap;

use super::*;

const EXTERNAL_URL: &str = "http://hearth.example:9090/prom";

pub(super) struct FakeHost {
    pub(super) results: Vec<Value>,
}

impl Host for FakeHost {
    fn query(&self, query: &str) -> Result<Vec<Value>, String> {
        match query {
            "fail" => Err("query failed".to_string()),
            "empty" => Ok(Vec::new()),
            _ => Ok(self.results.clone()),
        }
    }

    fn external_url(&self) -> &str {
        EXTERNAL_URL
    }

    fn now_ms(&self) -> i64 {
        0
    }
}

fn sample(labels: &[(&str, &str)], value: f64) -> Value {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let mut m = BTreeMap::new();
    m.insert("Labels".to_string(), Value::Map(labels));
    m.insert("Value".to_string(), Value::Float(value));
    Value::Map(m)
}

pub(super) fn host() -> FakeHost {
    FakeHost {
        results: vec![
            sample(&[("instance", "h1:9100"), ("job", "node")], 1234567.0),
            sample(&[("instance", "h0:9100"), ("__value__", "up")], 1.0),
        ],
    }
}

pub(super) fn data() -> Value {
    let labels = BTreeMap::from([
        ("instance".to_string(), "h1:9100".to_string()),
        ("job".to_string(), "node".to_string()),
    ]);
    let external = BTreeMap::from([("cluster".to_string(), "home".to_string())]);
    alert_data(&labels, &external, EXTERNAL_URL, 0.91234)
}

fn alert(text: &str) -> String {
    match parse_alert_template("a", text) {
        Ok(t) => t
            .execute(&data(), &host())
            .unwrap_or_else(|e| panic!("{text:?}: {e}")),
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// Parses as `t` and runs against `data`, returning Go's message on failure.
pub(super) fn run(text: &str, data: &Value) -> Result<String, String> {
    let t = Template::parse("t", text).map_err(|e| e.to_string())?;
    t.execute(data, &host()).map_err(|e| e.to_string())
}

fn exec_err(text: &str, data: &Value) -> String {
    let t = Template::parse("t", text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let err = t.execute(data, &host()).expect_err(text);
    assert_eq!(err.kind(), ErrorKind::Exec);
    err.to_string()
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

#[test]
fn module_doc_example() {
    let labels = BTreeMap::from([("instance".to_string(), "h1:9100".to_string())]);
    let data = alert_data(&labels, &BTreeMap::new(), "http://hearth:9090", 0.5);
    let t = parse_alert_template(
        "__alert_Down",
        "{{ $labels.instance }} at {{ $value | humanizePercentage }}",
    )
    .unwrap();
    assert_eq!(t.execute(&data, &host()).unwrap(), "h1:9100 at 50%");
}

#[test]
fn prometheus_documentation_examples() {
    assert_eq!(alert("{{ $labels.instance }} down"), "h1:9100 down");
    assert_eq!(alert("{{ $value | humanizePercentage }}"), "91.23%");
    assert_eq!(alert("{{ printf \"%.2f\" $value }}"), "0.91");
    assert_eq!(
        alert("{{ if gt $value 0.5 }}high{{ else }}low{{ end }}"),
        "high"
    );
    assert_eq!(
        alert("{{ if lt $value 0.5 }}high{{ else }}low{{ end }}"),
        "low"
    );
    assert_eq!(
        alert("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}"),
        "instance=h1:9100 job=node "
    );
    assert_eq!(
        alert("{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}"),
        "1.235M"
    );
    assert_eq!(
        alert("{{ define \"x\" }}X{{ end }}{{ template \"x\" }}"),
        "X"
    );
    assert_eq!(alert("a  {{- 1 -}}  \n b"), "a1b");
    assert_eq!(alert("{{ humanizeDuration 3661 }}"), "1h 1m 1s");
    assert_eq!(alert("{{ \"abc\" | toUpper }}"), "ABC");
    assert_eq!(
        alert("{{ reReplaceAll \"(a+)\" \"<$1>\" \"baaac\" }}"),
        "b<aaa>c"
    );
    assert_eq!(alert("[{{ $labels.missing }}]"), "[]");
    assert_eq!(
        alert("{{ .Labels.job }} {{ $externalLabels.cluster }}"),
        "node home"
    );
    assert_eq!(alert("{{ $value }}"), "0.91234");
    assert_eq!(
        alert("{{ $externalURL }}|{{ externalURL }}|{{ pathPrefix }}"),
        format!("{EXTERNAL_URL}|{EXTERNAL_URL}|/prom")
    );
    assert_eq!(
        alert("{{ graphLink \"up == 0\" }}"),
        "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"
    );
    assert_eq!(
        alert("{{ tableLink \"up\" }}"),
        "/graph?g0.expr=up&g0.tab=1"
    );
}

#[test]
fn query_results_work_like_prometheus() {
    assert_eq!(
        alert(
            "{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }} {{ end }}"
        ),
        "h0:9100 h1:9100 "
    );
    assert_eq!(
        alert("{{ range query \"up\" }}{{ label \"instance\" . }}={{ .Value }};{{ end }}"),
        "h1:9100=1.234567e+06;h0:9100=1;"
    );
    assert_eq!(
        alert("{{ with query \"empty\" }}x{{ else }}none{{ end }}"),
        "none"
    );
    assert_eq!(alert("{{ (query \"up\" | first).Labels.job }}"), "node");
    assert_eq!(
        alert("{{ range query \"up\" }}{{ strvalue . }};{{ end }}"),
        ";up;"
    );
    assert_eq!(alert("{{ len (query \"up\") }}"), "2");
    let err = parse_alert_template("a", "{{ query \"empty\" | first }}")
        .unwrap()
        .execute(&data(), &host())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("error calling first: first() called on vector with no elements"),
        "{err}"
    );
    let err = exec_err("{{ query \"fail\" }}", &Value::Nil);
    assert_eq!(
        err,
        "template: t:1:3: executing \"t\" at <query \"fail\">: error calling query: query failed"
    );
}

#[test]
fn prometheus_functions_through_templates() {
    assert_eq!(
        alert("{{ stripPort $labels.instance }} {{ stripDomain \"a.b.c:1\" }}"),
        "h1 a:1"
    );
    assert_eq!(
        alert("{{ title \"hello world\" }} {{ toLower \"ABC\" }}"),
        "Hello World abc"
    );
    assert_eq!(alert("{{ match \"^h1\" $labels.instance }}"), "true");
    assert_eq!(alert("{{ args 1 \"a\" }}"), "map[arg0:1 arg1:a]");
    assert_eq!(
        alert(
            "{{ define \"t\" }}{{ .arg0 }}-{{ .arg1 }}{{ end }}{{ template \"t\" (args 1 2.5) }}"
        ),
        "1-2.5"
    );
    assert_eq!(alert("{{ parseDuration \"1h\" }}"), "3600");
    assert_eq!(alert("{{ parseDuration \"1s500ms\" }}"), "1.5");
    let err = parse_alert_template("a", "{{ parseDuration \"1m1h\" }}")
        .expect("parses")
        .execute(&data(), &host())
        .expect_err("units out of order are refused, as in rule files");
    assert!(
        err.to_string()
            .contains("not a valid duration string: \"1m1h\""),
        "{err}"
    );
    assert_eq!(
        alert("{{ 1435065584.128 | humanizeTimestamp }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        alert("{{ toTime 1435065584.128 }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(alert("{{ toDuration 90 }}"), "1m30s");
    assert_eq!(alert("{{ \"1024\" | humanize1024 }}"), "1ki");
    assert_eq!(alert("{{ safeHtml \"<b>\" }}"), "<b>");
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
        run("{{ or 1 (first (query \"empty\")) }}", &nil).unwrap(),
        "1"
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
fn execution_errors_match_go() {
    let nil = Value::Nil;
    let d = data();
    let one = list(&["a"]);
    let one_int = Value::Int(1);
    let cases: Vec<(&str, &Value, &str)> = vec![
        (
            "{{ humanize \"x\" }}",
            &nil,
            "template: t:1:3: executing \"t\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax",
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
            "{{ humanize }}",
            &nil,
            "template: t:1:3: executing \"t\" at <humanize>: wrong number of args for humanize: want 1 got 0",
        ),
        (
            "{{ toUpper 1 }}",
            &nil,
            "template: t:1:11: executing \"t\" at <1>: expected string; found 1",
        ),
        (
            "{{ toUpper .Value }}",
            &d,
            "template: t:1:11: executing \"t\" at <.Value>: wrong type for value; expected string; got float64",
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
            "{{ reReplaceAll \"(\" \"\" \"\" }}",
            &nil,
            "template: t:1:3: executing \"t\" at <reReplaceAll \"(\" \"\" \"\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`",
        ),
        (
            "{{ value . }}",
            &one_int,
            "template: t:1:9: executing \"t\" at <.>: wrong type for value; expected *template.sample; got int",
        ),
    ];
    for (text, data, want) in cases {
        assert_eq!(exec_err(text, data), want, "for {text:?}");
    }
}

#[test]
fn alert_template_parse_errors_keep_user_line_numbers() {
    let err = |text: &str| {
        parse_alert_template("__alert_Dup", text)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err("{{ .Foo"), "template: __alert_Dup:1: unclosed action");
    assert_eq!(
        err("ok\n{{ nope }}"),
        "template: __alert_Dup:2: function \"nope\" not defined"
    );
    assert_eq!(
        err("{{ $x }}"),
        "template: __alert_Dup:1: undefined variable \"$x\""
    );
    assert_eq!(
        err("{{ end }}"),
        "template: __alert_Dup:1: unexpected {{end}}"
    );
    assert_eq!(err("{{ if 1 }}"), "template: __alert_Dup:1: unexpected EOF");
    assert_eq!(
        err("{{ }}"),
        "template: __alert_Dup:1: missing value for command"
    );
    assert_eq!(
        err("{{ . }"),
        "template: __alert_Dup:1: unexpected \"}\" in operand"
    );
    assert_eq!(
        err("\n{{/* x "),
        "template: __alert_Dup:2: unclosed comment"
    );
    assert_eq!(parse_alert_template("n", "x").unwrap().name(), "n");
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
    let host = FakeHost { results: vec![] };
    for text in [
        "{{ range 1000000000000 }}{{ end }}",
        "{{ range 100000000 }}x{{ end }}",
        "{{ define \"outer\" }}{{ range 1000 }}{{ template \"inner\" }}{{ end }}{{ end }}{{ define \"inner\" }}{{ range 1000 }}y{{ end }}{{ end }}{{ template \"outer\" }}",
    ] {
        let t = Template::parse("t", text).expect("parses");
        let err = t.execute(&Value::Nil, &host).expect_err(text);
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
    let t = Template::parse("t", &doubling).expect("parses");
    let err = t.execute(&Value::Nil, &host).expect_err("doubling");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    // Ordinary loops stay well inside the budget.
    let t = Template::parse("t", "{{ range 10000 }}.{{ end }}").expect("parses");
    assert_eq!(
        t.execute(&Value::Nil, &host).map(|s| s.len()).ok(),
        Some(10_000)
    );
}
