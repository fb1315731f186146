//! Case tables for the LogQL parser: every query of the shared case list
//! (`logql-cases.md`), valid queries per construct (each must print and
//! re-parse to the same tree), invalid queries with their exact errors,
//! nesting limits, and property tests.

use hearth_storage::MatchOp;

use super::ast::*;
use super::parse;

mod props;

/// Parses, prints, re-parses: the tree must survive the round trip, and
/// printing must be stable.
fn round_trip(query: &str) -> Expr {
    let expr = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let printed = expr.to_string();
    let again = parse(&printed).unwrap_or_else(|e| panic!("{query} printed as {printed}: {e}"));
    assert_eq!(expr, again, "{query} printed as {printed}");
    assert_eq!(printed, again.to_string(), "{query}");
    expr
}

fn error(query: &str) -> String {
    match parse(query) {
        Ok(e) => panic!("{query} parsed as {e}"),
        Err(e) => e.to_string(),
    }
}

/// The queries of `logql-cases.md` §3, with `None` where they parse and
/// the expected message where they must not.
const REFERENCE_CASES: &[(&str, Option<&str>)] = &[
    (r#"{app="a"}"#, None),
    (r#"{app="a", env!="dev"}"#, None),
    (r#"{app=~"a|b"}"#, None),
    (
        r#"{env=~".*"}"#,
        Some(
            "parse error at line 1, col 1: queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will",
        ),
    ),
    (r#"{env=~".+"}"#, None),
    (r#"{app="a"} |= "error""#, None),
    (r#"{app="a"} != "error""#, None),
    (r#"{app="a"} |~ "status=5..""#, None),
    (r#"{app="a"} !~ "(?i)LEVEL=ERROR""#, None),
    (r#"{app=~"a|b"} |= "error" or "warn""#, None),
    (r#"{app="a"} |= "level" != "status=500""#, None),
    (r#"{app="a"} |> "level=<_> status=500 <_>""#, None),
    (
        r#"{app="a"} |> "level=<lvl> status=500""#,
        Some(
            "parse error at line 1, col 14: pattern line filters only allow <_> captures, found <lvl>",
        ),
    ),
    (r#"{app="a"} |= ip("10.0.0.0/8")"#, None),
    (r#"{app="b"} | json"#, None),
    (r#"{app="b"} | json who="user.id", tag="tags[0]""#, None),
    (r#"{app="a"} | logfmt"#, None),
    (r#"{app="a"} | logfmt --strict --keep-empty"#, None),
    (
        r#"{app="a"} | regexp "level=(?P<lvl>\\w+) status=(?P<code>\\d+)""#,
        None,
    ),
    (
        r#"{app="a"} | regexp "level=\\w+""#,
        Some("parse error at line 1, col 20: at least one named capture must be supplied"),
    ),
    (
        r#"{app="a"} | pattern "level=<lvl> status=<code> <_>""#,
        None,
    ),
    (r#"{app="x"} | unpack"#, None),
    (r#"{app="a"} | logfmt | status >= 500"#, None),
    (r#"{app="a"} | logfmt | took > 1s"#, None),
    (r#"{app="a"} | logfmt | size >= 1KB"#, None),
    (
        r#"{app="a"} | logfmt | level="error" and (status >= 500 or took > 10s)"#,
        None,
    ),
    (r#"{app="a"} | logfmt | level=~"err""#, None),
    (r#"{app="a"} | logfmt | msg > 5"#, None),
    (r#"{app="a"} | logfmt | msg > 5 | __error__="""#, None),
    (
        r#"{app="a"} | logfmt | line_format "{{.level | upper}}: {{.msg}}""#,
        None,
    ),
    (r#"{app="a"} | logfmt | label_format sev=level"#, None),
    (
        r#"{app="a"} | logfmt | label_format route="{{.status}}-x""#,
        None,
    ),
    (r#"{app="a"} | logfmt | drop took, size"#, None),
    (r#"{app="a"} | logfmt | drop level="info""#, None),
    (r#"{app="a"} | logfmt | keep level, status"#, None),
    (r#"{app="a"} | decolorize"#, None),
    (r#"count_over_time({app="a"}[1m])"#, None),
    (r#"rate({app="foo"}[30s])"#, None),
    (r#"bytes_over_time({app="foo"}[30s])"#, None),
    (r#"bytes_rate({app="a"} |~ ".+bar" [30s])"#, None),
    (
        r#"bytes_rate({app="a"} |~ ".+bar" [30s]) by (x)"#,
        Some("parse error at line 1, col 1: grouping not allowed for bytes_rate aggregation"),
    ),
    (
        r#"bytes_rate({app="a"} | unwrap v [30s])"#,
        Some("parse error at line 1, col 1: invalid aggregation bytes_rate with unwrap"),
    ),
    (
        r#"sum_over_time({app="a"} | logfmt | unwrap status [1m]) by (app)"#,
        None,
    ),
    (
        r#"sum_over_time({app="a"} | logfmt | unwrap status [1m])"#,
        None,
    ),
    (r#"rate({app="foo", foo="2"} | unwrap foo [30s])"#, None),
    (
        r#"avg_over_time({app="a"} | logfmt | unwrap duration(took) [1m]) by (app)"#,
        None,
    ),
    (
        r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) [1m]) by (app)"#,
        None,
    ),
    (
        r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) | __error__="" [1m]) by (app)"#,
        None,
    ),
    (
        r#"quantile_over_time(0.5, {app="a"} | logfmt | unwrap v [1m]) by (pod)"#,
        None,
    ),
    (
        r#"quantile_over_time(-0.5, {app="a"} | logfmt | unwrap v [1m])"#,
        Some(
            "parse error at line 1, col 20: parameter required for operation quantile_over_time, e.g. quantile_over_time(0.99, ...)",
        ),
    ),
    (
        r#"quantile_over_time(0.5, {app="a"} [1m])"#,
        Some("parse error at line 1, col 1: invalid aggregation quantile_over_time without unwrap"),
    ),
    (r#"first_over_time({app="a"} | unwrap v [1m])"#, None),
    (r#"last_over_time({app="a"} | unwrap v [1m])"#, None),
    (r#"absent_over_time({app="foo"} |~ ".+bar" [1m])"#, None),
    (r#"sum by (env) (count_over_time({app=~"a|b"}[1m]))"#, None),
    (r#"sum(count_over_time({app=~"a|b"}[1m])) by (env)"#, None),
    (
        r#"topk(2, count_over_time({app=~"foo|bar"} |~ ".+bar" [1m]))"#,
        None,
    ),
    (
        r#"topk(1, count_over_time({app=~"foo|bar"} |~ ".+bar" [1m])) by (app)"#,
        None,
    ),
    (
        r#"topk(1.5, count_over_time({app="a"}[1m]))"#,
        Some(
            "parse error at line 1, col 6: invalid parameter topk(1.5,: must be a positive integer",
        ),
    ),
    (
        r#"sum by (app) (count_over_time({app="a"} |= "error" [5m])) / sum by (app) (count_over_time({app="a"}[5m]))"#,
        None,
    ),
    (r#"count_over_time({app="a"}[1m] offset 30s)"#, None),
    (r#"count_over_time({app="b"} | json [1m])"#, None),
    (
        r#"count_over_time({app="b"} | json | __error__="" [1m])"#,
        None,
    ),
    (
        r#"sum(count_over_time({app="a"} | logfmt | status >= 500 [1m])) > bool 3"#,
        None,
    ),
    (
        r#"label_replace(count_over_time({app="a"}[1m]), "svc", "$1", "app", "(.*)")"#,
        None,
    ),
    (r#"sort_desc(count_over_time({app="a"}[1m]))"#, None),
    (r#"vector(1)"#, None),
    (
        r#"first_over_time({app="a"}[1m])"#,
        Some("parse error at line 1, col 1: invalid aggregation first_over_time without unwrap"),
    ),
    (
        r#"bytes_rate({app="a"}[1m]) by (app)"#,
        Some("parse error at line 1, col 1: grouping not allowed for bytes_rate aggregation"),
    ),
    (
        r#"count_over_time({app="a"})"#,
        Some(
            "parse error at line 1, col 26: range aggregation count_over_time requires a range, e.g. count_over_time({app=\"x\"}[5m])",
        ),
    ),
    (r#"rate_counter({app="a"} | logfmt | unwrap n [1m])"#, None),
    (
        r#"stddev_over_time({app="a"} | logfmt | unwrap n [1m])"#,
        None,
    ),
    (
        r#"stdvar_over_time({app="a"} | logfmt | unwrap n [1m])"#,
        None,
    ),
    (r#"min_over_time({app="a"} | logfmt | unwrap n [1m])"#, None),
    (
        r#"approx_topk(3, sum by (app) (count_over_time({app="a"}[1m])))"#,
        None,
    ),
];

#[test]
fn reference_cases() {
    for (query, expected) in REFERENCE_CASES {
        match expected {
            None => {
                round_trip(query);
            }
            Some(message) => assert_eq!(error(query), *message, "{query}"),
        }
    }
}

/// Valid queries, at least one per construct.
const VALID: &[&str] = &[
    // Stream selectors.
    r#"{a="b"}"#,
    r#"{a="b", c=~"re.*", d!="x", e!~"y"}"#,
    r#"{a = "b" , c =~ "x|y"}"#,
    r#"{a=`raw\d`}"#,
    r#"{a="tab\there", b="quote\"d"}"#,
    r#"{a="\u00e9\x41\101"}"#,
    r#"{a=~".+"}"#,
    r#"{a=""  , b="x"}"#,
    r#"{__name__="x"}"#,
    "{a=\"b\"} # a comment\n|= \"x\" # another",
    "{a=\"b\"}\n  | json\n  | level=\"error\"",
    r#"({a="b"})"#,
    r#"({a="b"} |= "x")"#,
    // Line filters.
    r#"{a="b"} |= "x" |~ "y" != "z" !~ "w""#,
    r#"{a="b"} |= "x" or "y" or "z""#,
    r#"{a="b"} != "x" or "y""#,
    r#"{a="b"} |~ "x" or "(?i)y""#,
    r#"{a="b"} |> "<_> GET <_>""#,
    r#"{a="b"} !> "<_> GET <_>""#,
    r#"{a="b"} |= ip("192.168.0.0/16")"#,
    r#"{a="b"} != ip("10.0.0.1-10.0.0.9")"#,
    r#"{a="b"} |= "x" or ip("::1")"#,
    r#"{a="b"} |= `raw "quotes"`"#,
    // Parsers.
    r#"{a="b"} | json"#,
    r#"{a="b"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]""#,
    r#"{a="b"} | json status, method="request.method""#,
    r#"{a="b"} | logfmt --strict"#,
    r#"{a="b"} | logfmt --keep-empty"#,
    r#"{a="b"} | logfmt --keep-empty --strict host, level="lvl""#,
    r#"{a="b"} | logfmt level, status"#,
    r#"{a="b"} | regexp `(?P<method>\w+) (?P<path>\S+)`"#,
    r#"{a="b"} | pattern `<ip> - <_> "<method> <path>"`"#,
    r#"{a="b"} | unpack"#,
    r#"{a="b"} | json | unpack | logfmt"#,
    r#"{a="b"} | json != "x" | unpack !~ "y" | decolorize != "z""#,
    r#"{a="b"} | json="x" | unpack=~"y""#,
    // Label filters.
    r#"{a="b"} | x="y""#,
    r#"{a="b"} | x!="y""#,
    r#"{a="b"} | x=~"y.*""#,
    r#"{a="b"} | x!~"y.*""#,
    r#"{a="b"} | x == "y""#,
    r#"{a="b"} | status == 200"#,
    r#"{a="b"} | status = 200"#,
    r#"{a="b"} | status != 200"#,
    r#"{a="b"} | status > 200 | status >= 200 | status < 300 | status <= 300"#,
    r#"{a="b"} | latency > 1.5"#,
    r#"{a="b"} | delta > -3"#,
    r#"{a="b"} | took > 250ms"#,
    r#"{a="b"} | took <= 1h30m"#,
    r#"{a="b"} | took >= 1.5s"#,
    r#"{a="b"} | size > 1MB"#,
    r#"{a="b"} | size < 1KiB"#,
    r#"{a="b"} | size >= 512B"#,
    r#"{a="b"} | addr = ip("10.0.0.0/8")"#,
    r#"{a="b"} | addr != ip("10.0.0.0/8")"#,
    r#"{a="b"} | x="1" and y="2""#,
    r#"{a="b"} | x="1", y="2""#,
    r#"{a="b"} | x="1" y="2""#,
    r#"{a="b"} | x="1" or y="2""#,
    r#"{a="b"} | x="1" or y="2" and z="3""#,
    r#"{a="b"} | (x="1" or y="2") and z="3""#,
    r#"{a="b"} | x="1" and (y="2" and z="3")"#,
    r#"{a="b"} | ((x="1"))"#,
    r#"{a="b"} | __error__="""#,
    r#"{a="b"} | json | __error__!="JSONParserErr""#,
    // Formatters and label stages.
    r#"{a="b"} | line_format "{{.a}} {{.b | upper}}""#,
    r#"{a="b"} | line_format `{{ printf "%s" .x }}`"#,
    r#"{a="b"} | label_format a="{{.b}}", c=d"#,
    r#"{a="b"} | label_format dst=src"#,
    r#"{a="b"} | drop a, b"#,
    r#"{a="b"} | drop a, b="v", c=~"x.*", d!="w", e!~"z""#,
    r#"{a="b"} | keep a, b"#,
    r#"{a="b"} | keep a, b="v""#,
    r#"{a="b"} | decolorize"#,
    r#"{a="b"} |= "x" | json | x > 1 | line_format "{{.x}}" | drop y | decolorize"#,
    // Range aggregations.
    r#"rate({a="b"}[5m])"#,
    r#"rate({a="b"} |= "x" [5m])"#,
    r#"count_over_time({a="b"}[5m] |= "x")"#,
    r#"count_over_time({a="b"}[5m] | json | x="y")"#,
    r#"count_over_time(({a="b"} |= "x")[5m])"#,
    r#"count_over_time(({a="b"}[5m]))"#,
    r#"count_over_time({a="b"}[5m] offset 1h)"#,
    r#"count_over_time({a="b"} |= "x" [5m] offset 10m)"#,
    r#"bytes_rate({a="b"}[1d])"#,
    r#"bytes_over_time({a="b"}[1w])"#,
    r#"count_over_time({a="b"}[1y])"#,
    r#"absent_over_time({a="b"}[5m])"#,
    r#"rate({a="b"} | unwrap x [5m]) by (a)"#,
    r#"rate_counter({a="b"} | unwrap x [5m])"#,
    r#"sum_over_time({a="b"} | unwrap x [1m]) by (a)"#,
    r#"sum_over_time({a="b"} | unwrap x [1m]) without (a, b)"#,
    r#"sum_over_time({a="b"}[1m] | unwrap x)"#,
    r#"avg_over_time({a="b"} | unwrap duration(x) [1m])"#,
    r#"avg_over_time({a="b"} | unwrap duration_seconds(x) [1m])"#,
    r#"avg_over_time({a="b"} | unwrap bytes(x) [1m])"#,
    r#"avg_over_time({a="b"} | unwrap bytes [1m])"#,
    r#"max_over_time({a="b"} | json | unwrap x | __error__="" [1m])"#,
    r#"max_over_time({a="b"} | json | unwrap x | __error__="" | y > 1 [1m])"#,
    r#"quantile_over_time(0.99, {a="b"} | unwrap x [1m]) by (a)"#,
    r#"first_over_time({a="b"} | unwrap x [1m]) by ()"#,
    r#"last_over_time({a="b"} | unwrap x [1m] offset 5m)"#,
    // Vector aggregations and functions.
    r#"sum(rate({a="b"}[5m]))"#,
    r#"sum by (a) (rate({a="b"}[5m]))"#,
    r#"sum(rate({a="b"}[5m])) by (a, b)"#,
    r#"sum without (a) (rate({a="b"}[5m]))"#,
    r#"avg(rate({a="b"}[5m]))"#,
    r#"min(rate({a="b"}[5m]))"#,
    r#"max(rate({a="b"}[5m]))"#,
    r#"count(rate({a="b"}[5m]))"#,
    r#"stddev(rate({a="b"}[5m]))"#,
    r#"stdvar(rate({a="b"}[5m]))"#,
    r#"topk(5, rate({a="b"}[5m]))"#,
    r#"topk by (a) (5, rate({a="b"}[5m]))"#,
    r#"bottomk(3, rate({a="b"}[5m])) by (a,)"#,
    r#"sort(rate({a="b"}[5m]))"#,
    r#"sort_desc(sum by (a) (rate({a="b"}[5m])))"#,
    r#"label_replace(rate({a="b"}[5m]), "dst", "$1-x", "src", "(.*)")"#,
    r#"vector(1)"#,
    r#"vector(0.5) + 1"#,
    // Literals and binary operators.
    "1",
    "1.5",
    "-1",
    "1 + 2 * 3",
    "(1 + 2) * 3",
    "2 ^ 3 ^ 2",
    "(2 ^ 3) ^ 2",
    "-2 ^ 2",
    "(-2) ^ 2",
    "2 ^ -1",
    "1 - -1",
    "--1",
    "1 % 2 / 3",
    "1 == bool 1",
    "1e3 + .5",
    r#"-rate({a="b"}[5m])"#,
    r#"-(rate({a="b"}[5m]) + 1)"#,
    r#"rate({a="b"}[5m]) / rate({a="c"}[5m])"#,
    r#"rate({a="b"}[5m]) > 1"#,
    r#"rate({a="b"}[5m]) >= bool 1"#,
    r#"rate({a="b"}[5m]) != 1 and rate({a="c"}[5m]) < 2"#,
    r#"rate({a="b"}[5m]) or rate({a="c"}[5m]) unless rate({a="d"}[5m])"#,
    r#"rate({a="b"}[5m]) * on (a) rate({a="c"}[5m])"#,
    r#"rate({a="b"}[5m]) * ignoring (a, b) group_left rate({a="c"}[5m])"#,
    r#"rate({a="b"}[5m]) * on (a) group_left (c) rate({a="c"}[5m])"#,
    r#"rate({a="b"}[5m]) / on () group_right () rate({a="c"}[5m])"#,
    r#"rate({a="b"}[5m]) and on (a) rate({a="c"}[5m])"#,
    r#"sum(rate({a="b"}[5m])) by (a) / ignoring (b) sum(rate({a="c"}[5m])) by (a)"#,
    "sum(\n  count_over_time({a=\"b\"}[5m])\n) by (a)\n# trailing comment",
];

#[test]
fn valid_queries_round_trip() {
    assert!(VALID.len() >= 80, "{}", VALID.len());
    for query in VALID {
        round_trip(query);
    }
}

/// Invalid queries with their exact messages.
const INVALID: &[(&str, &str)] = &[
    (
        "",
        "parse error at line 1, col 1: syntax error: unexpected end of query, expecting a stream selector or metric expression",
    ),
    (
        "{",
        "parse error at line 1, col 2: syntax error: unexpected end of query, expecting IDENTIFIER",
    ),
    (
        r#"{a="b""#,
        "parse error at line 1, col 7: syntax error: unexpected end of query, expecting , or }",
    ),
    (r#"{a="b}"#, "parse error at line 1, col 4: unclosed string"),
    (
        "{a=\"b\n\"}",
        "parse error at line 1, col 4: unclosed string",
    ),
    ("{a=`b}", "parse error at line 1, col 4: unclosed string"),
    (
        r#"{a=b}"#,
        "parse error at line 1, col 4: syntax error: unexpected IDENTIFIER, expecting STRING",
    ),
    (
        r#"{a:"b"}"#,
        "parse error at line 1, col 3: syntax error: unexpected character ':'",
    ),
    (
        r#"{a=="b"}"#,
        "parse error at line 1, col 3: syntax error: unexpected ==, expecting =, !=, =~ or !~",
    ),
    (
        "{}",
        "parse error at line 1, col 1: queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will",
    ),
    (
        r#"{a!="b"}"#,
        "parse error at line 1, col 1: queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will",
    ),
    (
        r#"{app=~"(a"}"#,
        "parse error at line 1, col 7: invalid regexp for matcher app: unclosed group",
    ),
    (
        r#"{a="b"} |~ "(x""#,
        "parse error at line 1, col 12: invalid regexp for line filter: unclosed group",
    ),
    (
        r#"{a="b"} |= 5"#,
        "parse error at line 1, col 12: syntax error: unexpected NUMBER, expecting STRING or ip(...)",
    ),
    (
        r#"{a="b"} |~ ip("1.2.3.4")"#,
        "parse error at line 1, col 12: ip() line filters only work with |= and !=",
    ),
    (
        r#"{a="b"} |= ip("1.2.3")"#,
        "parse error at line 1, col 15: invalid ip pattern \"1.2.3\": expected an address, CIDR or range",
    ),
    (
        r#"{a="b"} | "x""#,
        "parse error at line 1, col 11: syntax error: unexpected STRING, expecting a pipeline stage or label filter",
    ),
    (
        r#"{a="b"} | foo"#,
        "parse error at line 1, col 11: unknown pipeline stage \"foo\"",
    ),
    (
        r#"{a="b"} json"#,
        "parse error at line 1, col 9: syntax error: unexpected IDENTIFIER, expecting a line filter, | or end of query",
    ),
    (
        r#"{a="b"} | logfmt --strict2"#,
        "parse error at line 1, col 18: unknown logfmt flag, expecting --strict or --keep-empty",
    ),
    (
        r#"{a="b"} | json a="#,
        "parse error at line 1, col 18: syntax error: unexpected end of query, expecting STRING",
    ),
    (
        r#"{a="b"} | pattern "<a><b>""#,
        "parse error at line 1, col 19: pattern has consecutive captures <a><b>: put literal text between them",
    ),
    (
        r#"{a="b"} | pattern "<_> x""#,
        "parse error at line 1, col 19: at least one capture is required in pattern",
    ),
    (
        r#"{a="b"} | regexp "(?P<x>""#,
        "parse error at line 1, col 18: invalid regexp for regexp parser: unclosed group",
    ),
    (
        r#"{a="b"} | x > "y""#,
        "parse error at line 1, col 15: syntax error: unexpected STRING, expecting NUMBER, DURATION or BYTES",
    ),
    (
        r#"{a="b"} | x =~ 5"#,
        "parse error at line 1, col 16: syntax error: unexpected NUMBER, expecting STRING",
    ),
    (
        r#"{a="b"} | x > 5x"#,
        "parse error at line 1, col 15: invalid duration \"5x\"",
    ),
    (
        r#"{a="b"} | x > 5zb"#,
        "parse error at line 1, col 15: invalid bytes \"5zb\"",
    ),
    (
        r#"{a="b"} | x="1" and"#,
        "parse error at line 1, col 20: syntax error: unexpected end of query, expecting a stream selector or metric expression",
    ),
    (
        r#"{a="b"} | (x="1""#,
        "parse error at line 1, col 17: syntax error: unexpected end of query, expecting )",
    ),
    (
        r#"{a="b"} | label_format a="x", a=b"#,
        "parse error at line 1, col 31: multiple label name 'a' not allowed in a single format operation",
    ),
    (
        r#"{a="b"} | label_format"#,
        "parse error at line 1, col 23: syntax error: unexpected end of query, expecting IDENTIFIER",
    ),
    (
        r#"{a="b"} | drop"#,
        "parse error at line 1, col 15: syntax error: unexpected end of query, expecting IDENTIFIER",
    ),
    (
        r#"{a="b"} | line_format x"#,
        "parse error at line 1, col 23: syntax error: unexpected IDENTIFIER, expecting STRING",
    ),
    (
        r#"{a="b"} | unwrap x"#,
        "parse error at line 1, col 11: unwrap is only allowed inside a range aggregation, e.g. sum_over_time({app=\"x\"} | unwrap v [5m])",
    ),
    (
        r#"sum_over_time({a="b"} | unwrap [5m])"#,
        "parse error at line 1, col 32: unwrap requires a label name",
    ),
    (
        r#"sum_over_time({a="b"} | unwrap foo(x) [5m])"#,
        "parse error at line 1, col 32: unknown unwrap conversion \"foo\", expecting duration, duration_seconds or bytes",
    ),
    (
        r#"sum_over_time({a="b"} | unwrap x | json [5m])"#,
        "parse error at line 1, col 36: only label filters are allowed after unwrap",
    ),
    (
        r#"sum_over_time({a="b"} | unwrap x |= "y" [5m])"#,
        "parse error at line 1, col 34: only label filters are allowed after unwrap",
    ),
    (
        r#"{a="b"}[5m]"#,
        "parse error at line 1, col 8: a range like [5m] is only allowed inside a range aggregation, e.g. count_over_time({app=\"x\"}[5m])",
    ),
    (
        r#"rate({a="b"}[5])"#,
        "parse error at line 1, col 14: invalid duration \"5\": expecting a number with a unit, e.g. 5m",
    ),
    (
        r#"rate({a="b"}[5q])"#,
        "parse error at line 1, col 14: invalid duration \"5q\"",
    ),
    (
        r#"rate({a="b"}[5m] offset)"#,
        "parse error at line 1, col 24: syntax error: unexpected ), expecting DURATION",
    ),
    (
        r#"rate({a="b"}[5m]"#,
        "parse error at line 1, col 17: syntax error: unexpected end of query, expecting )",
    ),
    (
        r#"rate(5, {a="b"}[5m])"#,
        "parse error at line 1, col 6: parameter not supported for operation rate",
    ),
    (
        r#"rate(sum({a="b"}))"#,
        "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting a stream selector",
    ),
    (
        r#"count_over_time({a="b"}[5m]) without (a)"#,
        "parse error at line 1, col 1: grouping not allowed for count_over_time aggregation",
    ),
    (
        r#"count_over_time({a="b"} | unwrap x [5m])"#,
        "parse error at line 1, col 1: invalid aggregation count_over_time with unwrap",
    ),
    (
        r#"sum({a="b"})"#,
        "parse error at line 1, col 5: vector aggregation sum requires a metric query, found a log query; wrap it in a range aggregation such as count_over_time({...}[5m])",
    ),
    (
        r#"sum(5, rate({a="b"}[5m]))"#,
        "parse error at line 1, col 5: unsupported parameter for operation sum(5,",
    ),
    (
        r#"topk(rate({a="b"}[5m]))"#,
        "parse error at line 1, col 6: parameter required for operation topk, e.g. topk(5, ...)",
    ),
    (
        r#"topk(0, rate({a="b"}[5m]))"#,
        "parse error at line 1, col 6: invalid parameter topk(0,: must be a positive integer",
    ),
    (
        r#"sum by (a) (rate({a="b"}[5m])) by (b)"#,
        "parse error at line 1, col 32: grouping may be given before or after the aggregation, not both",
    ),
    (
        r#"sum by a (rate({a="b"}[5m]))"#,
        "parse error at line 1, col 8: syntax error: unexpected IDENTIFIER, expecting (",
    ),
    (
        r#"sum by (a b) (rate({a="b"}[5m]))"#,
        "parse error at line 1, col 11: syntax error: unexpected IDENTIFIER, expecting , or )",
    ),
    (
        r#"approx_topk(3, rate({a="b"}[5m])) by (a)"#,
        "parse error at line 1, col 1: grouping not allowed for approx_topk aggregation",
    ),
    (
        r#"foo({a="b"})"#,
        "parse error at line 1, col 1: unknown function \"foo\"",
    ),
    (
        r#"label_replace(rate({a="b"}[5m]), "1x", "", "a", "b")"#,
        "parse error at line 1, col 34: invalid destination label name in label_replace(): 1x",
    ),
    (
        r#"label_replace(rate({a="b"}[5m]), "x", "", "a", "(")"#,
        "parse error at line 1, col 48: invalid regular expression in label_replace(): unclosed group",
    ),
    (
        r#"vector("x")"#,
        "parse error at line 1, col 8: syntax error: unexpected STRING, expecting NUMBER",
    ),
    (
        r#"{a="b"} + 1"#,
        "parse error at line 1, col 1: binary operation \"+\" requires metric queries on both sides, found a log query",
    ),
    (
        r#"1 + bool 2"#,
        "parse error at line 1, col 5: bool modifier can only be used on comparison operators",
    ),
    (
        r#"1 and rate({a="b"}[5m])"#,
        "parse error at line 1, col 1: unexpected literal for left leg of logical/set binary operation (and): 1",
    ),
    (
        r#"rate({a="b"}[5m]) or 2"#,
        "parse error at line 1, col 22: unexpected literal for right leg of logical/set binary operation (or): 2",
    ),
    (
        r#"rate({a="b"}[5m]) and on (a) group_left rate({a="b"}[5m])"#,
        "parse error at line 1, col 19: no grouping allowed for \"and\" operation",
    ),
    (
        r#"1 + on (a) 2"#,
        "parse error at line 1, col 3: vector matching only allowed between vectors, not numbers",
    ),
    (
        r#"-{a="b"}"#,
        "parse error at line 1, col 1: unary operators require a metric query, found a log query",
    ),
    (
        r#"rate({a="b"}[5m]) +"#,
        "parse error at line 1, col 20: syntax error: unexpected end of query, expecting a stream selector or metric expression",
    ),
    (
        r#"rate({a="b"}[5m]) 1"#,
        "parse error at line 1, col 19: syntax error: unexpected NUMBER, expecting a binary operator or end of query",
    ),
    (
        r#"(1"#,
        "parse error at line 1, col 3: syntax error: unexpected end of query, expecting )",
    ),
    (
        "{a=\"b\"}\n| x > \"y\"",
        "parse error at line 2, col 7: syntax error: unexpected STRING, expecting NUMBER, DURATION or BYTES",
    ),
    (
        r#"{a="\q"}"#,
        "parse error at line 1, col 5: invalid escape sequence \"\\\\q\" in string",
    ),
    (
        "1e999",
        "parse error at line 1, col 1: invalid number \"1e999\"",
    ),
];

#[test]
fn invalid_queries_fail_with_positioned_errors() {
    assert!(INVALID.len() >= 30, "{}", INVALID.len());
    let mut failures = Vec::new();
    for (query, expected) in INVALID {
        let got = error(query);
        if got != *expected {
            failures.push(format!("{query}\n  want {expected}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_carry_line_and_column() {
    let err = parse("{a=\"b\"}\n  | foo").unwrap_err();
    assert_eq!((err.line, err.col), (2, 5));
    assert_eq!(err.message, "unknown pipeline stage \"foo\"");
}

fn metric(query: &str) -> MetricExpr {
    match round_trip(query) {
        Expr::Metric(m) => m,
        Expr::Log(q) => panic!("{query} is a log query: {q}"),
    }
}

fn log(query: &str) -> LogQuery {
    match round_trip(query) {
        Expr::Log(q) => q,
        Expr::Metric(m) => panic!("{query} is a metric query: {m}"),
    }
}

fn binary(e: &MetricExpr) -> &BinaryExpr {
    match e {
        MetricExpr::Binary(b) => b,
        other => panic!("not binary: {other}"),
    }
}

#[test]
fn binary_precedence_follows_promql() {
    let e = metric("1 + 2 * 3");
    let b = binary(&e);
    assert_eq!(b.op, BinOp::Add);
    assert_eq!(binary(&b.rhs).op, BinOp::Mul);

    let e = metric("2 ^ 3 ^ 2");
    let b = binary(&e);
    assert_eq!(b.lhs, MetricExpr::Literal(2.0));
    assert_eq!(binary(&b.rhs).op, BinOp::Pow);

    let e = metric("1 - 2 - 3");
    assert_eq!(binary(&e).rhs, MetricExpr::Literal(3.0));

    // Unary minus binds looser than `^` only.
    assert!(matches!(metric("-2 ^ 2"), MetricExpr::Negate(_)));
    let e = metric("-2 * 3");
    assert_eq!(binary(&e).lhs, MetricExpr::Literal(-2.0));

    let e = metric(r#"rate({a="b"}[1m]) > 1 and rate({a="b"}[1m]) or rate({a="b"}[1m])"#);
    let b = binary(&e);
    assert_eq!(b.op, BinOp::Or);
    assert_eq!(binary(&b.lhs).op, BinOp::And);
}

#[test]
fn label_filter_and_binds_before_or() {
    let q = log(r#"{a="b"} | x="1" or y="2", z="3""#);
    let Stage::LabelFilter(LabelFilter::Or(_, rhs)) = &q.pipeline[0] else {
        panic!("{:?}", q.pipeline);
    };
    assert!(matches!(**rhs, LabelFilter::And(..)));
}

#[test]
fn values_are_resolved() {
    let q = log(r#"{a="b"} | took > 1h30m | size >= 1KiB | n == 2.5 | s == "2.5""#);
    assert_eq!(
        q.pipeline,
        vec![
            Stage::LabelFilter(LabelFilter::Duration {
                label: "took".into(),
                op: CmpOp::Gt,
                nanos: 5_400_000_000_000,
            }),
            Stage::LabelFilter(LabelFilter::Bytes {
                label: "size".into(),
                op: CmpOp::Ge,
                bytes: 1024,
            }),
            Stage::LabelFilter(LabelFilter::Number {
                label: "n".into(),
                op: CmpOp::Eq,
                value: 2.5,
            }),
            Stage::LabelFilter(LabelFilter::String(LabelMatcher {
                name: "s".into(),
                op: MatchOp::Equal,
                value: "2.5".into(),
            })),
        ]
    );
}

#[test]
fn range_forms_are_equivalent() {
    let canonical = metric(r#"count_over_time({a="b"} |= "x" [5m] offset 1m)"#);
    for other in [
        r#"count_over_time({a="b"}[5m] offset 1m |= "x")"#,
        r#"count_over_time(({a="b"} |= "x")[5m] offset 1m)"#,
        r#"count_over_time(({a="b"} |= "x" [5m] offset 1m))"#,
    ] {
        assert_eq!(metric(other), canonical, "{other}");
    }
    let MetricExpr::RangeAggregation(r) = canonical else {
        panic!()
    };
    assert_eq!(r.range.range_ns, 300_000_000_000);
    assert_eq!(r.range.offset_ns, 60_000_000_000);
}

#[test]
fn canonical_printing() {
    for (query, printed) in [
        (
            r#"sum(rate({a="b"}[5m])) by (a)"#,
            r#"sum by (a) (rate({a="b"}[5m]))"#,
        ),
        (
            r#"count_over_time({a="b"}[300s] |= `x`)"#,
            r#"count_over_time({a="b"} |= "x" [5m])"#,
        ),
        (
            "rate({a=\"b\"}[90m] offset 90s)",
            r#"rate({a="b"}[1h30m] offset 1m30s)"#,
        ),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2"),
        (
            r#"{a="b"} | x="1" and (y="2" or z>1KB)"#,
            r#"{a="b"} | x="1" and (y="2" or z > 1000B)"#,
        ),
        (
            r#"{a="b"} | logfmt --keep-empty --strict"#,
            r#"{a="b"} | logfmt --strict --keep-empty"#,
        ),
    ] {
        assert_eq!(round_trip(query).to_string(), printed, "{query}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(10_000), close.repeat(10_000))
    };
    for query in [
        deep("(", "1", ")"),
        deep("-", "1", ""),
        deep("sum(", r#"rate({a="b"}[5m])"#, ")"),
        format!(
            r#"count_over_time({}{{a="b"}}[5m]{})"#,
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!(
            r#"{{a="b"}} | {}x="1"{}"#,
            "(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!("1{}", " + 1".repeat(10_000)),
        format!(r#"{{a="b"}} | x="1"{}"#, " or y=\"2\"".repeat(10_000)),
        format!("{}1", "2 ^ ".repeat(10_000)),
    ] {
        let err = parse(&query).unwrap_err();
        assert!(
            err.message.contains("too deeply") || err.message.contains("too many operators"),
            "{}",
            err.message
        );
    }
    // Just under the limits still parses.
    round_trip(&format!("{}1{}", "(".repeat(60), ")".repeat(60)));
    round_trip(&format!("1{}", " + 1".repeat(400)));
}
