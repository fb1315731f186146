//! Case tables from `logql-cases.md` §3A (the stages this module runs),
//! plus the finer points of each stage.

use super::super::super::ast::{Expr, Stage};
use super::super::super::parse;
use super::super::labels;
use super::*;

const ERR_LINE: &str = r#"level=error status=500 took=1.5s size=2KB msg="db down""#;
const INFO_LINE: &str = "level=info status=200 took=20ms size=512B msg=ok";
const JSON_LINE: &str = r#"{"level":"warn","user":{"id":"u1"},"tags":["x","y"],"latency":0.25}"#;

fn stream_a() -> Vec<(String, String)> {
    vec![("app".into(), "a".into()), ("env".into(), "prod".into())]
}

fn stream_b() -> Vec<(String, String)> {
    vec![("app".into(), "b".into()), ("env".into(), "dev".into())]
}

fn stages(query: &str) -> Vec<Stage> {
    match parse(query).unwrap_or_else(|e| panic!("{query}: {e}")) {
        Expr::Log(q) => q.pipeline,
        other => panic!("{query} is not a log query: {other:?}"),
    }
}

fn run_with(
    query: &str,
    stream: &[(String, String)],
    metadata: &[(String, String)],
    line: &str,
) -> Option<ProcessedEntry> {
    let pipeline = Pipeline::new(&stages(query)).unwrap_or_else(|e| panic!("{query}: {e}"));
    pipeline.process(InputEntry {
        ts_ns: 1,
        line: line.as_bytes(),
        stream,
        structured_metadata: metadata,
    })
}

fn run(query: &str, stream: &[(String, String)], line: &str) -> Option<ProcessedEntry> {
    run_with(query, stream, &[], line)
}

fn pairs(items: &[(&str, &str)]) -> LabelPairs {
    let mut v: LabelPairs = items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    v.sort();
    v
}

/// Which of the D1 app=a lines pass (error line, info line).
fn passes_a(query: &str) -> (bool, bool) {
    (
        run(query, &stream_a(), ERR_LINE).is_some(),
        run(query, &stream_a(), INFO_LINE).is_some(),
    )
}

#[test]
fn line_filters_cases_5_to_12() {
    let cases: &[(&str, (bool, bool))] = &[
        (r#"{app="a"} |= "error""#, (true, false)),
        (r#"{app="a"} |= "ERROR""#, (false, false)),
        (r#"{app="a"} != "error""#, (false, true)),
        (r#"{app="a"} |~ "status=5..""#, (true, false)),
        (r#"{app="a"} !~ "(?i)LEVEL=ERROR""#, (false, true)),
        (r#"{app="a"} |= "error" or "info""#, (true, true)),
        (r#"{app="a"} != "error" or "info""#, (false, false)),
        (r#"{app="a"} |= "level" != "status=500""#, (false, true)),
        (r#"{app="a"} |> "level=<_> status=500 <_>""#, (true, false)),
        (r#"{app="a"} !> "level=<_> status=500 <_>""#, (false, true)),
        (r#"{app="a"} |> "level=<_>""#, (true, true)),
        (r#"{app="a"} |> "status=<_>""#, (false, false)),
        (r#"{app="a"} |~ "took=[0-9]+ms" or "db""#, (true, true)),
        (r#"{app="a"} !~ "took=[0-9]+ms" or "db""#, (false, false)),
    ];
    for (query, want) in cases {
        assert_eq!(passes_a(query), *want, "{query}");
    }
    // Case 9: `or` across streams.
    let q = r#"{app=~"a|b"} |= "error" or "warn""#;
    assert!(run(q, &stream_b(), JSON_LINE).is_some());
    assert_eq!(passes_a(q), (true, false));
}

#[test]
fn ip_line_filter_case_12() {
    let q = r#"{app="a"} |= ip("10.0.0.0/8")"#;
    assert!(run(q, &stream_a(), "conn from 10.1.2.3 port 80").is_some());
    assert!(run(q, &stream_a(), "conn from 10.1.2.3:8080").is_some());
    assert!(run(q, &stream_a(), "conn from 192.168.0.1").is_none());
    let q = r#"{app="a"} != ip("10.0.0.0/8")"#;
    assert!(run(q, &stream_a(), "conn from 10.1.2.3").is_none());
    assert!(run(q, &stream_a(), "conn from ::1").is_some());
    let q = r#"{app="a"} |= ip("::1") or "plain""#;
    assert!(run(q, &stream_a(), "from ::1 x").is_some());
    assert!(run(q, &stream_a(), "plain text").is_some());
    assert!(run(q, &stream_a(), "other").is_none());
}

#[test]
fn line_filters_read_invalid_utf8() {
    let pipeline = Pipeline::new(&stages(r#"{a="b"} |~ "x.z" |= "q""#)).unwrap();
    let stream = stream_a();
    let entry = |line: &'static [u8]| InputEntry {
        ts_ns: 0,
        line,
        stream: &stream,
        structured_metadata: &[],
    };
    assert!(pipeline.process(entry(b"\xff\xfex1z q")).is_some());
    assert!(pipeline.process(entry(b"\xff\xfex1z")).is_none());
}

#[test]
fn json_case_13() {
    let got = run(r#"{app="b"} | json"#, &stream_b(), JSON_LINE).unwrap();
    assert_eq!(
        got.labels,
        pairs(&[
            ("app", "b"),
            ("env", "dev"),
            ("latency", "0.25"),
            ("level", "warn"),
            ("user_id", "u1"),
        ])
    );
    assert_eq!(
        got.parsed,
        pairs(&[("latency", "0.25"), ("level", "warn"), ("user_id", "u1")])
    );
    assert!(got.structured_metadata.is_empty());
    assert_eq!(got.line, JSON_LINE.as_bytes());
}

#[test]
fn json_details() {
    let line = r#"{"a b":"x\"y\u00e9","1st":true,"n":null,"e":1e3,"o":{"p":{"q":false}},"app":"z","a b":"dup"}"#;
    let got = run(r#"{app="b"} | json"#, &stream_b(), line).unwrap();
    assert_eq!(
        got.parsed,
        pairs(&[
            ("_1st", "true"),
            ("a_b", "x\"y\u{e9}"),
            ("app_extracted", "z"),
            ("e", "1e3"),
            ("o_p_q", "false"),
        ])
    );
    // A later parser overwrites an earlier parsed label.
    let got = run(
        r#"{app="b"} | json | regexp "\"e\":(?P<e>\\d)""#,
        &stream_b(),
        line,
    )
    .unwrap();
    assert_eq!(labels::get(&got.labels, "e"), Some("1"));
}

#[test]
fn json_extractions_case_14() {
    let q = r#"{app="b"} | json who="user.id", tag="tags[0]", age="age", user="user", tags="tags", lvl=`["level"]`"#;
    let got = run(q, &stream_b(), JSON_LINE).unwrap();
    assert_eq!(
        got.parsed,
        pairs(&[
            ("age", ""),
            ("lvl", "warn"),
            ("tag", "x"),
            ("tags", r#"["x","y"]"#),
            ("user", r#"{"id":"u1"}"#),
            ("who", "u1"),
        ])
    );
    let got = run(
        r#"{app="b"} | json k=`a["b c"][1].d`, level"#,
        &stream_b(),
        r#"{"a":{"b c":[0,{"d":"deep"}]},"level":"info"}"#,
    )
    .unwrap();
    assert_eq!(got.parsed, pairs(&[("k", "deep"), ("level", "info")]));
}

#[test]
fn json_errors_keep_the_line() {
    for line in ["not json", r#"{"a":1"#, r#"["x"]"#, r#"{"a":1} x"#, ""] {
        let got = run(r#"{app="b"} | json"#, &stream_b(), line).unwrap();
        assert_eq!(
            labels::get(&got.labels, "__error__"),
            Some("JSONParserErr"),
            "{line}"
        );
        assert!(labels::get(&got.labels, "__error_details__").is_some_and(|d| !d.is_empty()));
        assert_eq!(got.line, line.as_bytes());
    }
    let got = run(r#"{app="b"} | json a="x""#, &stream_b(), "{bad").unwrap();
    assert_eq!(labels::get(&got.labels, "__error__"), Some("JSONParserErr"));
    assert_eq!(labels::get(&got.labels, "a"), None);
    // Filtering the error out drops the line.
    assert!(run(r#"{app="b"} | json | __error__="""#, &stream_b(), "nope").is_none());
    assert!(
        run(
            r#"{app="b"} | json | __error__!="JSONParserErr""#,
            &stream_b(),
            "x"
        )
        .is_none()
    );
    assert!(run(r#"{app="b"} | json | __error__="""#, &stream_b(), JSON_LINE).is_some());
    // Deep nesting is an error, not a stack overflow.
    let deep = "{\"a\":".repeat(10_000);
    let got = run(r#"{app="b"} | json"#, &stream_b(), &deep).unwrap();
    assert_eq!(labels::get(&got.labels, "__error__"), Some("JSONParserErr"));
}

#[test]
fn logfmt_case_15() {
    let got = run(r#"{app="a"} | logfmt"#, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(
        got.parsed,
        pairs(&[
            ("level", "error"),
            ("msg", "db down"),
            ("size", "2KB"),
            ("status", "500"),
            ("took", "1.5s"),
        ])
    );
    let line = "a=1 a=2 empty= bare app=x 9k=v";
    let got = run(r#"{app="a"} | logfmt"#, &stream_a(), line).unwrap();
    assert_eq!(
        got.parsed,
        pairs(&[("_9k", "v"), ("a", "1"), ("app_extracted", "x")])
    );
    let got = run(r#"{app="a"} | logfmt --keep-empty"#, &stream_a(), line).unwrap();
    assert_eq!(
        got.parsed,
        pairs(&[
            ("_9k", "v"),
            ("a", "1"),
            ("app_extracted", "x"),
            ("bare", ""),
            ("empty", ""),
        ])
    );
    let got = run(
        r#"{app="a"} | logfmt code="status", level"#,
        &stream_a(),
        ERR_LINE,
    )
    .unwrap();
    assert_eq!(got.parsed, pairs(&[("code", "500"), ("level", "error")]));
}

#[test]
fn logfmt_malformed_input() {
    let line = "a=1 b=x=y c=3";
    let got = run(r#"{app="a"} | logfmt"#, &stream_a(), line).unwrap();
    assert_eq!(got.parsed, pairs(&[("a", "1"), ("c", "3")]));
    let got = run(r#"{app="a"} | logfmt --strict"#, &stream_a(), line).unwrap();
    assert_eq!(
        labels::get(&got.labels, "__error__"),
        Some("LogfmtParserErr")
    );
    assert_eq!(labels::get(&got.labels, "a"), Some("1"));
    assert_eq!(labels::get(&got.labels, "c"), None);
    let got = run(r#"{app="a"} | logfmt --strict"#, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(labels::get(&got.labels, "__error__"), None);
}

#[test]
fn regexp_case_16() {
    let q = r#"{app="a"} | regexp "level=(?P<lvl>\\w+) status=(?P<code>\\d+)""#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(got.parsed, pairs(&[("code", "500"), ("lvl", "error")]));
    let got = run(q, &stream_a(), "something else").unwrap();
    assert!(got.parsed.is_empty());
    // A group that did not take part yields an empty value.
    let q = r#"{app="a"} | regexp "(?P<a>x)|(?P<b>y)""#;
    let got = run(q, &stream_a(), "y").unwrap();
    assert_eq!(got.parsed, pairs(&[("a", ""), ("b", "y")]));
}

#[test]
fn pattern_case_17() {
    let q = r#"{app="a"} | pattern "level=<lvl> status=<code> <_>""#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(got.parsed, pairs(&[("code", "500"), ("lvl", "error")]));
    let got = run(q, &stream_a(), "level=warn").unwrap();
    assert_eq!(got.parsed, pairs(&[("lvl", "warn")]));
    let got = run(q, &stream_a(), "other").unwrap();
    assert!(got.parsed.is_empty());
    let q = r#"{app="a"} | pattern "<app> <_>""#;
    let got = run(q, &stream_a(), "web rest").unwrap();
    assert_eq!(got.parsed, pairs(&[("app_extracted", "web")]));
}

#[test]
fn unpack_case_18() {
    let stream = vec![("app".to_owned(), "x".to_owned())];
    let line = r#"{"lvl":"info","_entry":"real msg","n":3,"o":{"a":"b"},"app":"y"}"#;
    let got = run(r#"{app="x"} | unpack"#, &stream, line).unwrap();
    assert_eq!(got.line, b"real msg");
    assert_eq!(
        got.parsed,
        pairs(&[("app_extracted", "y"), ("lvl", "info")])
    );
    let got = run(r#"{app="x"} | unpack"#, &stream, r#"{"lvl":"info"}"#).unwrap();
    assert_eq!(got.line, br#"{"lvl":"info"}"#);
    let got = run(r#"{app="x"} | unpack"#, &stream, "plain").unwrap();
    assert_eq!(labels::get(&got.labels, "__error__"), Some("JSONParserErr"));
    assert_eq!(got.line, b"plain");
    // Filters after unpack see the new line.
    assert!(run(r#"{app="x"} | unpack |= "real""#, &stream, line).is_some());
    assert!(run(r#"{app="x"} | unpack |= "lvl""#, &stream, line).is_none());
}

#[test]
fn label_filters_cases_19_to_23() {
    let cases: &[(&str, (bool, bool))] = &[
        (r#"{app="a"} | logfmt | status >= 500"#, (true, false)),
        (r#"{app="a"} | logfmt | status == 200"#, (false, true)),
        (r#"{app="a"} | logfmt | status != 200"#, (true, false)),
        (r#"{app="a"} | logfmt | status < 300"#, (false, true)),
        (r#"{app="a"} | logfmt | took > 1s"#, (true, false)),
        (r#"{app="a"} | logfmt | took <= 20ms"#, (false, true)),
        (r#"{app="a"} | logfmt | size >= 1KB"#, (true, false)),
        (r#"{app="a"} | logfmt | size < 1KiB"#, (false, true)),
        (
            r#"{app="a"} | logfmt | level="error" and (status >= 500 or took > 10s)"#,
            (true, false),
        ),
        (
            r#"{app="a"} | logfmt | level="info" or status > 400"#,
            (true, true),
        ),
        (
            r#"{app="a"} | logfmt | level="error", status=500"#,
            (true, false),
        ),
        (r#"{app="a"} | logfmt | level=~"err""#, (false, false)),
        (r#"{app="a"} | logfmt | level=~"err.*""#, (true, false)),
        (r#"{app="a"} | logfmt | level!~"err.*""#, (false, true)),
        (r#"{app="a"} | logfmt | missing="""#, (true, true)),
        (r#"{app="a"} | logfmt | missing > 1"#, (false, false)),
        (r#"{app="a"} | env="prod""#, (true, true)),
    ];
    for (query, want) in cases {
        assert_eq!(passes_a(query), *want, "{query}");
    }
}

#[test]
fn ip_label_filter() {
    let stream = vec![("addr".to_owned(), "10.1.1.1".to_owned())];
    assert!(run(r#"{a="b"} | addr = ip("10.0.0.0/8")"#, &stream, "x").is_some());
    assert!(run(r#"{a="b"} | addr != ip("10.0.0.0/8")"#, &stream, "x").is_none());
    assert!(run(r#"{a="b"} | addr = ip("11.0.0.1-11.0.0.9")"#, &stream, "x").is_none());
}

#[test]
fn conversion_errors_case_24() {
    let q = r#"{app="a"} | logfmt | msg > 5"#;
    for line in [ERR_LINE, INFO_LINE] {
        let got = run(q, &stream_a(), line).unwrap();
        assert_eq!(
            labels::get(&got.labels, "__error__"),
            Some("LabelFilterErr")
        );
        assert!(
            labels::get(&got.labels, "__error_details__")
                .is_some_and(|d| d.contains("invalid syntax"))
        );
        assert!(got.parsed.iter().any(|(n, _)| n == "__error__"));
    }
    assert!(
        run(
            r#"{app="a"} | logfmt | msg > 5 | __error__="""#,
            &stream_a(),
            ERR_LINE
        )
        .is_none()
    );
    // A line with an error passes filters that are not about the error.
    let q = r#"{app="a"} | logfmt | msg > 5 | level="nope" | status > 1000"#;
    assert!(run(q, &stream_a(), ERR_LINE).is_some());
    assert!(run(r#"{app="a"} | logfmt | took > 1KB"#, &stream_a(), ERR_LINE).is_some());
    let got = run(r#"{app="a"} | logfmt | size > 1s"#, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(
        labels::get(&got.labels, "__error__"),
        Some("LabelFilterErr")
    );
}

#[test]
fn drop_and_keep_cases_28_29() {
    let got = run(
        r#"{app="a"} | logfmt | drop took, size"#,
        &stream_a(),
        ERR_LINE,
    )
    .unwrap();
    assert_eq!(
        got.labels,
        pairs(&[
            ("app", "a"),
            ("env", "prod"),
            ("level", "error"),
            ("msg", "db down"),
            ("status", "500"),
        ])
    );
    let q = r#"{app="a"} | logfmt | drop level="info", env=~"pr.*""#;
    let info = run(q, &stream_a(), INFO_LINE).unwrap();
    assert_eq!(labels::get(&info.labels, "level"), None);
    assert_eq!(labels::get(&info.labels, "env"), None);
    let err = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(labels::get(&err.labels, "level"), Some("error"));

    let got = run(
        r#"{app="a"} | logfmt | keep level, status"#,
        &stream_a(),
        ERR_LINE,
    )
    .unwrap();
    assert_eq!(got.labels, pairs(&[("level", "error"), ("status", "500")]));
    let q = r#"{app="a"} | logfmt | keep level="info", app"#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(got.labels, pairs(&[("app", "a")]));
    // Keep leaves the error labels; drop removes them when named.
    let q = r#"{app="a"} | logfmt | msg > 1 | keep app"#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(
        labels::get(&got.labels, "__error__"),
        Some("LabelFilterErr")
    );
    let q = r#"{app="a"} | logfmt | msg > 1 | drop __error__, __error_details__"#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(labels::get(&got.labels, "__error__"), None);
}

#[test]
fn decolorize_case_30() {
    let got = run(
        r#"{app="a"} | decolorize"#,
        &stream_a(),
        "\x1b[31merror\x1b[0m: x",
    )
    .unwrap();
    assert_eq!(got.line, b"error: x");
    // A later filter sees the clean line.
    assert!(
        run(
            r#"{app="a"} | decolorize |= "error:""#,
            &stream_a(),
            "\x1b[1merror\x1b[0m:"
        )
        .is_some()
    );
}

#[test]
fn structured_metadata() {
    let metadata = vec![
        ("trace_id".to_owned(), "t1".to_owned()),
        ("app".to_owned(), "meta".to_owned()),
        ("trace_id".to_owned(), "t2".to_owned()),
    ];
    let got = run_with(
        r#"{app="a"} | logfmt"#,
        &stream_a(),
        &metadata,
        "trace_id=p level=x",
    )
    .unwrap();
    assert_eq!(
        got.structured_metadata,
        pairs(&[("app_extracted", "meta"), ("trace_id", "t2")])
    );
    assert_eq!(
        got.parsed,
        pairs(&[("level", "x"), ("trace_id_extracted", "p")])
    );
    assert_eq!(labels::get(&got.labels, "app"), Some("a"));
    assert!(run_with(r#"{app="a"} | trace_id="t2""#, &stream_a(), &metadata, "x").is_some());
}

#[test]
fn build_errors() {
    let bad = [
        Stage::Regexp("(a".into()),
        Stage::Regexp("(a)".into()),
        Stage::Pattern("<_> x".into()),
        Stage::Pattern("<a><b>".into()),
        Stage::Json(vec![crate::logql::ast::Extraction {
            label: "a".into(),
            expression: Some("x[".into()),
        }]),
        Stage::LineFilter(crate::logql::ast::LineFilter {
            op: crate::logql::ast::LineFilterOp::Pattern,
            operands: vec![crate::logql::ast::LineFilterValue::Text("<name> x".into())],
        }),
    ];
    for stage in bad {
        assert!(
            Pipeline::new(std::slice::from_ref(&stage)).is_err(),
            "{stage:?}"
        );
    }
    assert_eq!(
        Pipeline::new(&[Stage::Regexp("(a)".into())])
            .unwrap_err()
            .to_string(),
        "at least one named capture must be supplied"
    );
}

#[test]
fn required_substrings() {
    let got = leading_required_substrings(&stages(
        r#"{a="b"} |= "x" or "y" != "z" |= ip("1.2.3.4") | logfmt |= "w" | decolorize |= "after""#,
    ));
    assert_eq!(
        got,
        vec![vec!["x".to_owned(), "y".to_owned()], vec!["w".to_owned()]]
    );
    assert!(leading_required_substrings(&stages(r#"{a="b"} | unpack |= "x""#)).is_empty());
    assert!(leading_required_substrings(&stages(r#"{a="b"} |= """#)).is_empty());
}

#[test]
fn pipeline_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Pipeline>();
    check::<SampleExtractor>();
}

#[test]
fn formats_cases_25_to_27() {
    let q = r#"{app="a"} | logfmt | line_format "{{.level | upper}}: {{.msg}}""#;
    let err = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(err.line, b"ERROR: db down");
    assert_eq!(labels::get(&err.labels, "level"), Some("error"));
    assert_eq!(run(q, &stream_a(), INFO_LINE).unwrap().line, b"INFO: ok");
    // Later stages see the new line.
    assert!(run(&format!("{q} |= \"ERROR\""), &stream_a(), ERR_LINE).is_some());

    let got = run(
        r#"{app="a"} | logfmt | label_format sev=level"#,
        &stream_a(),
        ERR_LINE,
    )
    .unwrap();
    assert_eq!(labels::get(&got.labels, "sev"), Some("error"));
    assert_eq!(labels::get(&got.labels, "level"), None);
    assert_eq!(labels::get(&got.parsed, "sev"), Some("error"));
    assert_eq!(labels::get(&got.labels, "app"), Some("a"));
    assert!(labels::get(&got.parsed, "app").is_none());

    let q = r#"{app="a"} | logfmt | label_format route="{{.status}}-x" | route="500-x""#;
    let got = run(q, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(labels::get(&got.labels, "route"), Some("500-x"));
    assert_eq!(labels::get(&got.labels, "status"), Some("500"));
    assert!(run(q, &stream_a(), INFO_LINE).is_none());
}

#[test]
fn format_errors_keep_the_old_value() {
    let got = run(
        r#"{app="a"} | line_format "{{ div 1 0 }}""#,
        &stream_a(),
        "orig",
    )
    .unwrap();
    assert_eq!(got.line, b"orig");
    assert_eq!(
        labels::get(&got.labels, "__error__"),
        Some("TemplateFormatErr")
    );
    assert!(labels::get(&got.labels, "__error_details__").is_some_and(|d| d.contains("divide")));
    let q = r#"{app="a"} | label_format bad="{{ div 1 0 }}", good="ok""#;
    let got = run(q, &stream_a(), "x").unwrap();
    assert_eq!(labels::get(&got.labels, "bad"), None);
    assert_eq!(labels::get(&got.labels, "good"), Some("ok"));
    assert_eq!(
        labels::get(&got.labels, "__error__"),
        Some("TemplateFormatErr")
    );
    assert!(Pipeline::new(&stages(r#"{app="a"} | line_format "{{ nope }}""#)).is_err());
}
