//! Expectations taken from the behaviour Prometheus' own template tests
//! pin down: humanize outputs, host:port handling and error locations.

use super::Value;
use super::tests::run;

/// Outputs and messages that Prometheus' own template tests expect.
#[test]
fn prometheus_upstream_expectations() {
    let each = |f: &str, items: Vec<Value>| {
        run(
            &format!("{{{{ range . }}}}{{{{ {f} . }}}}:{{{{ end }}}}"),
            &Value::List(items),
        )
    };
    let floats = |v: &[f64]| v.iter().map(|f| Value::Float(*f)).collect::<Vec<_>>();
    let strings = |v: &[&str]| v.iter().map(|s| Value::from(*s)).collect::<Vec<_>>();
    let ints = |v: &[i64]| v.iter().map(|i| Value::Int(*i)).collect::<Vec<_>>();
    assert_eq!(
        each("humanize", floats(&[0.0, 1.0, 1234567.0, 0.12])).unwrap(),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        each("humanize", strings(&["0.0", "1.0", "1234567.0", ".12"])).unwrap(),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        each("humanize", ints(&[0, -1, 1, 1234567, i64::MAX])).unwrap(),
        "0:-1:1:1.235M:9.223E:"
    );
    assert_eq!(
        each("humanize1024", floats(&[0.0, 1.0, 1048576.0, 0.12])).unwrap(),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        each("humanize1024", ints(&[0, -1, 1, 1234567, i64::MAX])).unwrap(),
        "0:-1:1:1.177Mi:8Ei:"
    );
    assert_eq!(
        each(
            "humanizeDuration",
            floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                90000.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        )
        .unwrap(),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        each(
            "humanizeDuration",
            floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])
        )
        .unwrap(),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        each("humanizeDuration", ints(&[0, -1, 1, 1234567])).unwrap(),
        "0s:-1s:1s:14d 6h 56m 7s:"
    );
    let specials = floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
    let all = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{ humanizeTimestamp . }}:{{ end }}";
    assert_eq!(
        run(all, &Value::List(specials)).unwrap(),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
    assert_eq!(
        run(all, &Value::List(strings(&["+Inf", "-Inf", "NaN"]))).unwrap(),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
    assert_eq!(
        run("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}", &Value::Nil).unwrap(),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        each("humanizePercentage", ints(&[0, -1, 1, 1234567, i64::MAX])).unwrap(),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:"
    );
    assert_eq!(
        each("humanizeTimestamp", ints(&[0, -1, 1, 1234567, 9223372036])).unwrap(),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"
    );
    assert_eq!(
        each("humanizeTimestamp", ints(&[i64::MIN, i64::MAX])).unwrap_err(),
        "template: t:1:16: executing \"t\" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"
    );
    assert_eq!(
        run(
            "{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}",
            &Value::Nil
        )
        .unwrap(),
        "3720.01"
    );
    assert_eq!(
        run(
            "{{ \"aa bb CC\" | title }}|{{ \"aa bb CC\" | toUpper }}|{{ \"aA bB CC\" | toLower }}",
            &Value::Nil
        )
        .unwrap(),
        "Aa Bb CC|AA BB CC|aa bb cc"
    );
    assert_eq!(
        run(
            "{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}",
            &Value::Nil
        )
        .unwrap(),
        "true false"
    );
    assert_eq!(
        run("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", &Value::Nil).unwrap(),
        "xa"
    );
    assert_eq!(
        run(
            "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
            &Value::Nil
        )
        .unwrap(),
        "1 2"
    );
    for (input, port, domain) in [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        (
            "[2001:0DB8::1]:12345",
            "2001:0DB8::1",
            "[2001:0DB8::1]:12345",
        ),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ] {
        let got = run("{{ stripPort . }}|{{ stripDomain . }}", &Value::from(input)).unwrap();
        assert_eq!(got, format!("{port}|{domain}"), "for {input}");
    }
    assert_eq!(run("{{ \"{{\" }}", &Value::Nil).unwrap(), "{{");
    assert_eq!(
        run("{{\u{a0}}}", &Value::Nil).unwrap_err(),
        "template: t:1: unrecognized character in action: U+00A0"
    );
    assert_eq!(
        run("{{", &Value::Nil).unwrap_err(),
        "template: t:1: unclosed action"
    );
    assert_eq!(run("{{ .Foo }}", &Value::Nil).unwrap(), "<no value>");
    assert_eq!(
        run("{{ query \"empty\" | first }}", &Value::Nil).unwrap_err(),
        "template: t:1:19: executing \"t\" at <first>: error calling first: first() called on vector with no elements"
    );
    assert_eq!(
        run("{{ \"one\" | humanizePercentage }}", &Value::Nil).unwrap_err(),
        "template: t:1:11: executing \"t\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
    let err = run("{{ (query \"empty\").banana }}", &Value::Nil).unwrap_err();
    assert!(
        err.starts_with(
            "template: t:1:10: executing \"t\" at <\"empty\">: can't evaluate field banana in type "
        ),
        "{err}"
    );
}
