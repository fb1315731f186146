//! End-to-end behaviour: Prometheus documentation examples, Prometheus
//! functions inside Go templates, and their exact error texts. The
//! engine's own behaviour is tested in `hearth-template`.

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
fn builtins_short_circuit_around_prometheus_functions() {
    assert_eq!(
        run("{{ or 1 (first (query \"empty\")) }}", &Value::Nil).unwrap(),
        "1"
    );
    assert_eq!(
        run(
            "{{ len (query \"up\") }} {{ index (query \"up\") 1 | value }}",
            &Value::Nil
        )
        .unwrap(),
        "2 1"
    );
}

#[test]
fn execution_errors_match_go() {
    let nil = Value::Nil;
    let d = data();
    let one_int = Value::Int(1);
    let cases: Vec<(&str, &Value, &str)> = vec![
        (
            "{{ humanize \"x\" }}",
            &nil,
            "template: t:1:3: executing \"t\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax",
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
