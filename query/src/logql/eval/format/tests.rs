//! `line_format`/`label_format` semantics from logql-cases.md (cases 25–27)
//! and Loki's template functions, one table row or more per function.

use proptest::prelude::*;

use super::*;
use crate::logql::ast::{Expr, Stage};
use crate::logql::eval::labels;

/// 2023-11-14 22:13:20.123456789 UTC.
const TS: i64 = 1_700_000_000_123_456_789;
const LINE: &[u8] = b"Hello World";

fn pairs(items: &[(&str, &str)]) -> LabelPairs {
    let mut v: LabelPairs = items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

fn labels() -> LabelPairs {
    pairs(&[
        ("path", "/a/b c"),
        ("n", "42"),
        ("f", "2.5"),
        ("empty", ""),
        (
            "json",
            r#"{"foo": 55, "q": [{"query": "up"}, {"query": "rate(x[1m])"}]}"#,
        ),
        ("date", "2021-11-02"),
        ("epoch", "1679577215"),
    ])
}

fn render(template: &str) -> Result<String, String> {
    let lf = LineFormat::new(template).map_err(|e| e.to_string())?;
    let out = lf.format(TS, LINE, &labels()).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

/// The stages of a parsed log query.
fn stages(query: &str) -> Vec<Stage> {
    match crate::logql::parse(query).unwrap() {
        Expr::Log(q) => q.pipeline,
        other => panic!("not a log query: {other:?}"),
    }
}

/// Labels of D1's two app=a lines after `| logfmt`.
fn d1_error() -> LabelPairs {
    pairs(&[
        ("app", "a"),
        ("env", "prod"),
        ("level", "error"),
        ("status", "500"),
        ("took", "1.5s"),
        ("size", "2KB"),
        ("msg", "db down"),
    ])
}

fn d1_info() -> LabelPairs {
    pairs(&[
        ("app", "a"),
        ("env", "prod"),
        ("level", "info"),
        ("status", "200"),
        ("took", "20ms"),
        ("size", "512B"),
        ("msg", "ok"),
    ])
}

#[test]
fn case_25_line_format_rewrites_the_line() {
    let [_, Stage::LineFormat(text)] =
        &stages(r#"{app="a"} | logfmt | line_format "{{.level | upper}}: {{.msg}}""#)[..]
    else {
        panic!("unexpected stages");
    };
    let lf = LineFormat::new(text).unwrap();
    let error = d1_error();
    assert_eq!(lf.format(20, b"x", &error).unwrap(), b"ERROR: db down");
    assert_eq!(lf.format(30, b"x", &d1_info()).unwrap(), b"INFO: ok");
    assert_eq!(error, d1_error(), "labels are unchanged");
}

fn label_format(query: &str) -> LabelFormats {
    let [_, Stage::LabelFormat(formats)] = &stages(query)[..] else {
        panic!("unexpected stages in {query}");
    };
    LabelFormats::new(formats).unwrap()
}

#[test]
fn case_26_rename_removes_the_source() {
    let lf = label_format(r#"{app="a"} | logfmt | label_format sev=level"#);
    let mut l = d1_error();
    lf.apply(0, b"", &mut l).unwrap();
    assert_eq!(labels::get(&l, "sev"), Some("error"));
    assert_eq!(labels::get(&l, "level"), None);
    assert!(l.windows(2).all(|w| w[0].0 < w[1].0), "sorted: {l:?}");
    // Renaming a label that is not there changes nothing.
    let mut l = pairs(&[("app", "a")]);
    lf.apply(0, b"", &mut l).unwrap();
    assert_eq!(l, pairs(&[("app", "a")]));
}

#[test]
fn case_27_template_adds_and_keeps_sources() {
    let lf = label_format(r#"{app="a"} | logfmt | label_format route="{{.status}}-x""#);
    let mut l = d1_error();
    lf.apply(0, b"", &mut l).unwrap();
    assert_eq!(labels::get(&l, "route"), Some("500-x"));
    assert_eq!(labels::get(&l, "status"), Some("500"));
    let mut l = d1_info();
    lf.apply(0, b"", &mut l).unwrap();
    assert_eq!(labels::get(&l, "route"), Some("200-x"));
}

#[test]
fn templates_see_the_labels_from_before_the_stage() {
    let formats = [
        ast::LabelFormat::Rename {
            dst: "a".to_string(),
            src: "b".to_string(),
        },
        ast::LabelFormat::Template {
            dst: "c".to_string(),
            template: "{{.b}}-{{.a}}-{{ __line__ }}".to_string(),
        },
        ast::LabelFormat::Template {
            dst: "b".to_string(),
            template: "new".to_string(),
        },
    ];
    let lf = LabelFormats::new(&formats).unwrap();
    let mut l = pairs(&[("b", "1"), ("z", "last")]);
    lf.apply(0, b"line", &mut l).unwrap();
    assert_eq!(
        l,
        pairs(&[("a", "1"), ("b", "new"), ("c", "1--line"), ("z", "last")])
    );
    // An existing label is overwritten in place.
    let lf = LabelFormats::new(&[ast::LabelFormat::Template {
        dst: "z".to_string(),
        template: "{{ .z | upper }}".to_string(),
    }])
    .unwrap();
    lf.apply(0, b"", &mut l).unwrap();
    assert_eq!(labels::get(&l, "z"), Some("LAST"));
}

#[test]
fn one_stage_may_not_write_a_label_twice() {
    // The parser refuses this already; the stage checks too, for trees built in code.
    let parsed = crate::logql::parse(r#"{app="a"} | label_format x=a, x="{{.b}}""#);
    assert!(
        parsed
            .unwrap_err()
            .message
            .contains("multiple label name 'x'")
    );
    let formats = [
        ast::LabelFormat::Rename {
            dst: "x".to_string(),
            src: "a".to_string(),
        },
        ast::LabelFormat::Template {
            dst: "x".to_string(),
            template: "{{.b}}".to_string(),
        },
    ];
    let err = LabelFormats::new(&formats).err().unwrap();
    assert!(matches!(err, FormatError::DuplicateLabel(ref n) if n == "x"));
    assert_eq!(
        err.to_string(),
        "multiple label name 'x' not allowed in a single format operation"
    );
}

#[test]
fn a_failing_template_leaves_its_label_and_reports() {
    let formats = [
        ast::LabelFormat::Template {
            dst: "bad".to_string(),
            template: "{{ div 1 0 }}".to_string(),
        },
        ast::LabelFormat::Template {
            dst: "good".to_string(),
            template: "ok".to_string(),
        },
    ];
    let lf = LabelFormats::new(&formats).unwrap();
    let mut l = pairs(&[("bad", "old")]);
    let err = lf.apply(0, b"", &mut l).unwrap_err();
    assert!(matches!(err, FormatError::Exec(_)));
    assert_eq!(
        err.to_string(),
        "template: bad:1:3: executing \"bad\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
    );
    assert_eq!(l, pairs(&[("bad", "old"), ("good", "ok")]));
}

#[test]
fn templates_read_labels_line_and_time() {
    let cases = [
        ("{{ .path }}|{{ .missing }}|{{ .empty }}", "/a/b c||"),
        ("{{ __line__ }}", "Hello World"),
        ("{{ __line__ | lower }}", "hello world"),
        (
            "{{ __timestamp__ }}",
            "2023-11-14 22:13:20.123456789 +0000 UTC",
        ),
        (
            "{{ __timestamp__ | date \"2006-01-02T15:04:05.00Z07:00\" }}",
            "2023-11-14T22:13:20.12Z",
        ),
        ("{{ __timestamp__ | unixEpoch }}", "1700000000"),
        ("{{ __timestamp__ | unixEpochMillis }}", "1700000000123"),
        (
            "{{ __timestamp__ | unixEpochNanos }}",
            "1700000000123456789",
        ),
        ("{{ if eq .n \"42\" }}yes{{ end }}", "yes"),
        (
            "{{ range $k, $v := . }}{{ if eq $k \"n\" }}{{ $v }}{{ end }}{{ end }}",
            "42",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
    let lf = LineFormat::new("{{ __line__ }}").unwrap();
    assert_eq!(
        lf.format(0, b"a\xffb", &[]).unwrap(),
        "a\u{fffd}b".as_bytes()
    );
}

#[test]
fn string_functions() {
    let cases = [
        ("{{ ToLower \"ABC\" }} {{ ToUpper \"abc\" }}", "abc ABC"),
        ("{{ lower \"HELLO\" }} {{ upper \"hello\" }}", "hello HELLO"),
        ("{{ title \"hello world\" }}", "Hello World"),
        (
            "{{ trunc 5 \"hello world\" }}|{{ trunc -5 \"hello world\" }}|{{ trunc 9 \"hi\" }}",
            "hello|world|hi",
        ),
        (
            "{{ .path | replace \" \" \"_\" | trunc 5 | upper }}",
            "/A/B_",
        ),
        (
            "{{ substr 0 5 \"hello world\" }}|{{ substr 6 11 \"hello world\" }}",
            "hello|world",
        ),
        (
            "{{ substr -1 2 \"abc\" }}|{{ substr 1 -1 \"abc\" }}|{{ substr 1 9 \"abc\" }}",
            "ab|bc|bc",
        ),
        (
            "{{ replace \"hello\" \"world\" \"hello world\" }}",
            "world world",
        ),
        (
            "{{ Replace \"aaa\" \"a\" \"b\" 2 }}|{{ Replace \"aaa\" \"a\" \"b\" -1 }}",
            "bba|bbb",
        ),
        (
            "[{{ trim \"   hello    \" }}][{{ TrimSpace \"\\t x \\n\" }}]",
            "[hello][x]",
        ),
        (
            "{{ trimAll \"$\" \"$5.00$\" }}|{{ trimAll \"$\" \"$5.00\" }}",
            "5.00|5.00",
        ),
        (
            "{{ trimSuffix \"-\" \"hello-\" }}|{{ trimPrefix \"-\" \"-hello\" }}",
            "hello|hello",
        ),
        (
            "{{ Trim \"xxhixx\" \"x\" }}|{{ TrimLeft \"xxhixx\" \"x\" }}|{{ TrimRight \"xxhixx\" \"x\" }}",
            "hi|hixx|xxhi",
        ),
        (
            "{{ TrimPrefix \"pre-x\" \"pre-\" }}|{{ TrimSuffix \"x-suf\" \"-suf\" }}",
            "x|x",
        ),
        (
            "{{ contains \"he\" \"hello\" }} {{ contains \"x\" \"hello\" }}",
            "true false",
        ),
        (
            "{{ hasPrefix \"he\" \"hello\" }} {{ hasSuffix \"lo\" \"hello\" }} {{ hasSuffix \"he\" \"hello\" }}",
            "true true false",
        ),
        (
            "{{ if and (contains \"he\" \"hello\") (contains \"llo\" \"hello\") }}yes{{ end }}",
            "yes",
        ),
        ("{{ indent 2 \"a\\nb\" }}", "  a\n  b"),
        ("{{ nindent 2 \"a\" }}", "\n  a"),
        ("{{ repeat 3 \"hello\" }}", "hellohellohello"),
        ("{{ printf \"%-5s|%d\" \"ab\" 7 }}", "ab   |7"),
        (
            "{{ .empty | default \"-\" }}|{{ .missing | default \"-\" }}|{{ default \"-\" \"foo\" }}|{{ default \"-\" }}",
            "-|-|foo|-",
        ),
        (
            "{{ alignLeft 5 \"hello world\" }}|{{ alignLeft 5 \"hi\" }}|",
            "hello|hi   |",
        ),
        (
            "{{ alignRight 5 \"hello world\" }}|{{ alignRight 5 \"hi\" }}|{{ alignRight 2 \"héé\" }}",
            "world|   hi|éé",
        ),
        (
            "{{ urlencode \"a b&c/é\" }}|{{ urldecode \"a+b%26c\" }}",
            "a+b%26c%2F%C3%A9|a b&c",
        ),
        (
            "{{ b64enc \"hello\" }}|{{ b64dec \"aGVsbG8=\" }}|{{ b64enc \"hi\" }}",
            "aGVsbG8=|hello|aGk=",
        ),
        (
            "{{ b64dec \"!!\" }}|{{ b64dec \"aGk\" }}",
            "illegal base64 data at input byte 0|illegal base64 data at input byte 3",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn regex_and_json_functions() {
    let cases = [
        (
            "{{ regexReplaceAll \"(a*)bc\" \"aabcxbc\" \"${1}X\" }}",
            "aaXxX",
        ),
        // Sprig's order: the piped value is the replacement, not the subject.
        (
            "{{ .path | regexReplaceAll \"/([a-z])\" \"<$1>\" }}",
            "<$1>",
        ),
        (
            "{{ regexReplaceAll \"/([a-z])\" .path \"<$1>\" }}",
            "<a><b> c",
        ),
        (
            "{{ regexReplaceAllLiteral \"(ts=)\" \"ts=1\" \"$1x=\" }}",
            "$1x=1",
        ),
        (
            "{{ count \"a|b\" \"abab\" }} {{ count \"o\" \"foo\" }} {{ __line__ | count \"o\" }}",
            "4 2 2",
        ),
        ("{{ (fromJson .json).foo }}", "55"),
        (
            "{{ range $q := (fromJson .json).q }}[{{ $q.query }}]{{ end }}",
            "[up][rate(x[1m])]",
        ),
        ("[{{ fromJson \"nope\" }}]", "[]"),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn date_functions() {
    let cases = [
        ("{{ date \"2006-01-02\" 0 }}", "1970-01-01"),
        (
            "{{ toDate \"2006-01-02\" \"2021-11-02\" }}",
            "2021-11-02 00:00:00 +0000 UTC",
        ),
        (
            "{{ toDate \"2006-01-02\" \"bad\" }}",
            "0001-01-01 00:00:00 +0000 UTC",
        ),
        (
            "{{ toDateInZone \"2006-01-02\" \"UTC\" \"2021-11-02\" | unixEpoch }}",
            "1635811200",
        ),
        (
            "{{ .date | toDateInZone \"2006-01-02\" \"Europe/Paris\" | unixEpoch }}",
            "1635807600",
        ),
        (
            "{{ .date | toDateInZone \"2006-01-02\" \"Europe/Paris\" }}",
            "2021-11-02 00:00:00 +0100 CET",
        ),
        (
            "{{ .date | toDateInZone \"2006-01-02\" \"Nowhere/Special\" | unixEpoch }}",
            "1635811200",
        ),
        (
            "{{ unixEpoch (toDate \"2006-01-02\" .date) }}",
            "1635811200",
        ),
        ("{{ gt (unixEpoch now | int) 1600000000 }}", "true"),
        (
            "{{ date \"2006-01-02\" (unixToTime .epoch) }}",
            "2023-03-23",
        ),
        (
            "{{ unixToTime \"19435\" }}",
            "2023-03-19 00:00:00 +0000 UTC",
        ),
        (
            "{{ unixToTime \"1679577215123\" | unixEpochMillis }}",
            "1679577215123",
        ),
        (
            "{{ unixToTime \"1679577215123456\" | unixEpochNanos }}",
            "1679577215123456000",
        ),
        (
            "{{ unixToTime \"1679577215123456789\" | unixEpochNanos }}",
            "1679577215123456789",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn math_functions() {
    let cases = [
        ("{{ add 3 2 5 }} {{ add .n 1 }} {{ add }}", "10 43 0"),
        (
            "{{ sub 5 2 }} {{ mul 5 2 3 }} {{ div 10 2 }} {{ mod 10 3 }}",
            "3 30 5 1",
        ),
        (
            "{{ max 1 2 3 }} {{ min 1 2 3 }} {{ max .n \"7\" }}",
            "3 1 42",
        ),
        (
            "{{ addf 3.5 2 5 }} {{ addf 0.1 0.2 }} {{ subf 5.5 2 1.5 }}",
            "10.5 0.3 2",
        ),
        (
            "{{ mulf 5.5 2 2.5 }} {{ divf 10 2 4 }} {{ mulf 1000 1000 }}",
            "27.5 1.25 1e+06",
        ),
        (
            "{{ maxf 1 2.5 3 }} {{ minf 1 2.5 3 }} {{ maxf .f 1 }}",
            "3 1 2.5",
        ),
        (
            "{{ \"3.5\" | float64 }} {{ \"3\" | int }} {{ .f | int }} {{ \"12.00\" | int }} {{ 2.9 | int }}",
            "3.5 3 0 12 2",
        ),
        (
            "{{ ceil 123.001 }} {{ floor 123.9999 }} {{ ceil \"1.5\" }}",
            "124 123 2",
        ),
        (
            "{{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }} {{ round 2.5 0 }}",
            "123.556 123.88572 3",
        ),
        (
            "{{ bytes \"2KB\" }} {{ bytes \"1KiB\" }} {{ bytes \"1 MB\" }} {{ bytes \"42\" }}",
            "2000 1024 1e+06 42",
        ),
        (
            "{{ duration \"1m30s\" }} {{ duration_seconds \"1.5s\" }} {{ .took | default \"250ms\" | duration }}",
            "90 1.5 0.25",
        ),
        ("{{ duration \"-1h\" }} {{ duration \"0\" }}", "-3600 0"),
        ("{{ if gt (.n | int) 40 }}big{{ end }}", "big"),
    ];
    for (template, want) in cases {
        assert_eq!(render(template).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn errors_carry_go_messages() {
    let exec = |t: &str| render(t).unwrap_err();
    let cases = [
        (
            "{{ div 1 0 }}",
            "template: line:1:3: executing \"line\" at <div 1 0>: error calling div: runtime error: integer divide by zero",
        ),
        (
            "{{ regexReplaceAll \"(\" \"x\" \"y\" }}",
            "template: line:1:3: executing \"line\" at <regexReplaceAll \"(\" \"x\" \"y\">: error calling regexReplaceAll: error parsing regexp: missing closing ): `(`",
        ),
        (
            "{{ trunc \"a\" \"b\" }}",
            "template: line:1:9: executing \"line\" at <\"a\">: expected integer; found \"a\"",
        ),
        (
            "{{ .n | trunc .n }}",
            "template: line:1:14: executing \"line\" at <.n>: wrong type for value; expected int; got string",
        ),
        (
            "{{ unixEpoch \"x\" }}",
            "template: line:1:13: executing \"line\" at <\"x\">: can't handle \"x\" for arg of type time.Time",
        ),
        (
            "{{ unixEpoch .n }}",
            "template: line:1:13: executing \"line\" at <.n>: wrong type for value; expected time.Time; got string",
        ),
        (
            "{{ unixToTime \"12\" }}",
            "template: line:1:3: executing \"line\" at <unixToTime \"12\">: error calling unixToTime: unable to parse time '12'",
        ),
        (
            "{{ duration \"5\" }}",
            "template: line:1:3: executing \"line\" at <duration \"5\">: error calling duration: time: missing unit in duration \"5\"",
        ),
        (
            "{{ duration \"5d\" }}",
            "template: line:1:3: executing \"line\" at <duration \"5d\">: error calling duration: time: unknown unit \"d\" in duration \"5d\"",
        ),
        (
            "{{ bytes \"5 XB\" }}",
            "template: line:1:3: executing \"line\" at <bytes \"5 XB\">: error calling bytes: unhandled size name: xb",
        ),
        (
            "{{ urldecode \"%zz\" }}",
            "template: line:1:3: executing \"line\" at <urldecode \"%zz\">: error calling urldecode: invalid URL escape \"%zz\"",
        ),
        (
            "{{ substr 2 1 \"abc\" }}",
            "template: line:1:3: executing \"line\" at <substr 2 1 \"abc\">: error calling substr: runtime error: slice bounds out of range [2:1]",
        ),
        (
            "{{ repeat -1 \"a\" }}",
            "template: line:1:3: executing \"line\" at <repeat -1 \"a\">: error calling repeat: strings: negative Repeat count",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(exec(template), want, "{template}");
    }
    assert!(exec("{{ repeat 100000000 \"ab\" }}").contains("exceeds the limit"));
    let parse = |t: &str| LineFormat::new(t).err().unwrap();
    let err = parse("{{ nope }}");
    assert!(matches!(err, FormatError::Parse(_)));
    assert_eq!(
        err.to_string(),
        "template: line:1: function \"nope\" not defined"
    );
    assert_eq!(
        parse("{{ .a ").to_string(),
        "template: line:1: unclosed action"
    );
    assert_eq!(
        parse("{{ sha256 .a }}").to_string(),
        "template: line:1: function \"sha256\" not defined"
    );
}

#[test]
fn stages_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<LineFormat>();
    check::<LabelFormats>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_templates_never_panic(template in any::<String>(), line in any::<Vec<u8>>()) {
        if let Ok(lf) = LineFormat::new(&template) {
            let _ = lf.format(TS, &line, &labels());
        }
    }

    #[test]
    fn function_calls_on_arbitrary_text_never_panic(
        name in prop::sample::select(vec![
            "trunc 3", "trunc -3", "substr 1 4", "substr -1 2", "indent 2", "alignLeft 3",
            "alignRight 3", "b64dec", "b64enc", "urldecode", "fromJson", "bytes", "duration",
            "unixToTime", "toDate \"2006-01-02\"", "int", "float64", "count \"a*\"",
            "regexReplaceAll \"a*\" \"x\"", "trimAll \"ab\"", "title", "upper",
        ]),
        text in any::<String>(),
    ) {
        let lf = LineFormat::new(&format!("{{{{ .v | {name} }}}}")).unwrap();
        let _ = lf.format(TS, b"", &[("v".to_string(), text)]);
    }

    #[test]
    fn plain_lines_pass_through(line in "[^{}]*") {
        let lf = LineFormat::new(&line).unwrap();
        prop_assert_eq!(lf.format(TS, b"", &[]).unwrap(), line.into_bytes());
    }
}
