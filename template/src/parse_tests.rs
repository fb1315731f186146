//! Parser tests: Go's parse error texts, tree shapes and limits.

use super::*;

fn any_func(name: &str) -> bool {
    matches!(name, "printf" | "len" | "humanize" | "eq")
}

fn err(text: &str) -> String {
    match parse("t", text, &any_func) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.to_string(),
    }
}

fn round_trip(text: &str) -> String {
    let trees = parse("t", text, &any_func).unwrap();
    trees["t"].root.to_string()
}

#[test]
fn go_parse_errors() {
    let cases = [
        ("{{.X", "template: t:1: unclosed action"),
        ("{{ . }", "template: t:1: unexpected \"}\" in operand"),
        ("{{nope 1}}", "template: t:1: function \"nope\" not defined"),
        ("{{$x}}", "template: t:1: undefined variable \"$x\""),
        ("{{end}}", "template: t:1: unexpected {{end}}"),
        ("{{else}}", "template: t:1: unexpected {{else}}"),
        ("{{if .}}x", "template: t:1: unexpected EOF"),
        ("{{}}", "template: t:1: missing value for command"),
        ("a\n{{/* x", "template: t:2: unclosed comment"),
        (
            "{{/* x */ }}",
            "template: t:1: comment ends before closing delimiter",
        ),
        ("{{if}}{{end}}", "template: t:1: missing value for if"),
        (
            "{{range .}}{{else}}{{else}}{{end}}",
            "template: t:1: expected end; found {{else}}",
        ),
        ("{{break}}", "template: t:1: {{break}} outside {{range}}"),
        (
            "{{range .}}{{continue 1}}{{end}}",
            "template: t:1: unexpected \"1\" in {{continue}}",
        ),
        (
            "{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
            "template: t:1: template: multiple definition of template \"a\"",
        ),
        (
            "{{. | 1}}",
            "template: t:1: non executable command in pipeline stage 2",
        ),
        ("{{1.x}}", "template: t:1: bad number syntax: \"1.x\""),
        (
            "{{\"a\".x}}",
            "template: t:1: unexpected . after term \"\\\"a\\\"\"",
        ),
        (
            "{{with $a, $b := .}}{{end}}",
            "template: t:1: too many declarations in with",
        ),
        (
            "{{range $a, 1}}{{end}}",
            "template: t:1: range can only initialize variables",
        ),
        ("{{if .}}\n{{.X", "template: t:2: unclosed action"),
        ("{{.X\n}", "template: t:2: unexpected \"}\" in operand"),
        ("{{\"x\n}}", "template: t:1: unterminated quoted string"),
        (
            "{{template .}}",
            "template: t:1: unexpected <.> in template clause",
        ),
        (
            "{{99999999999999999999}}",
            "template: t:1: integer overflow: \"99999999999999999999\"",
        ),
        (
            "{{define \"a\"}}{{$}}{{else}}{{end}}",
            "template: t:1: unexpected {{else}} in define clause",
        ),
        (
            "{{if 1}}{{define \"a\"}}{{end}}{{end}}",
            "template: t:1: unexpected <define> in command",
        ),
        (
            "{{'ab'}}",
            "template: t:1: malformed character constant: 'ab'",
        ),
        ("{{ x := 1 }}", "template: t:1: function \"x\" not defined"),
        ("{{ (1 }}", "template: t:1: unclosed left paren"),
        ("{{ a@ }}", "template: t:1: bad character U+0040 '@'"),
        ("{{ .a@ }}", "template: t:1: bad character U+0040 '@'"),
        (
            "{{ 1\u{1} }}",
            "template: t:1: unrecognized character in action: U+0001",
        ),
        (
            "{{ 1+2i }}",
            "template: t:1: illegal number syntax: \"1+2i\"",
        ),
        ("{{ \"\\q\" }}", "template: t:1: invalid syntax"),
        (
            "{{ block \"b\" }}{{ end }}",
            "template: t:1: missing value for block clause",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "for {text:?}");
    }
}

#[test]
fn multi_line_action_error_names_start() {
    assert_eq!(
        err("{{if\n\"x}}"),
        "template: t:2: unterminated quoted string in action started at t:1"
    );
    assert_eq!(
        err("x\n{{ 1 |\n\n"),
        "template: t:4: unclosed action started at t:2"
    );
}

#[test]
fn strings_render_back() {
    assert_eq!(
        round_trip("a{{.X.Y | printf \"%d\" 1}}b"),
        "a{{.X.Y | printf \"%d\" 1}}b"
    );
    assert_eq!(
        round_trip("{{if $x := 1}}a{{else if 2}}b{{end}}"),
        "{{if $x := 1}}a{{else}}{{if 2}}b{{end}}{{end}}"
    );
    assert_eq!(
        round_trip("{{range $i, $e := .}}{{$e}}{{end}}"),
        "{{range $i, $e := .}}{{$e}}{{end}}"
    );
    assert_eq!(round_trip("{{(len .).X}}"), "{{(len .).X}}");
    assert_eq!(round_trip("{{template \"x\" .}}"), "{{template \"x\" .}}");
    assert_eq!(
        round_trip("{{with $x := 1}}{{$x = 2}}{{end}}"),
        "{{with $x := 1}}{{$x = 2}}{{end}}"
    );
}

#[test]
fn numbers_are_typed_like_go() {
    let num = |text: &str| -> Num {
        let trees = parse("t", &format!("{{{{{text}}}}}"), &any_func).unwrap();
        match &trees["t"].root.nodes[0] {
            Node::Action(p) => match &p.cmds[0].args[0] {
                Arg::Number { num, .. } => *num,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    };
    assert!(matches!(num("42"), Num::Int(42)));
    assert!(matches!(num("0x1F"), Num::Int(31)));
    assert!(matches!(num("1e3"), Num::Float(f) if f == 1000.0));
    assert!(matches!(num("1.5"), Num::Float(f) if f == 1.5));
    assert!(matches!(num("0x1p4"), Num::Float(f) if f == 16.0));
    assert!(matches!(num("'a'"), Num::Int(97)));
    assert!(matches!(num("-7"), Num::Int(-7)));
    assert!(matches!(num("1_000"), Num::Int(1000)));
    assert!(matches!(num("18446744073709551615"), Num::Overflow));
}

#[test]
fn definitions_and_blocks_become_trees() {
    let trees = parse(
        "t",
        "{{define \"a\"}}A{{end}}x{{block \"b\" .}}B{{end}}",
        &any_func,
    )
    .unwrap();
    assert_eq!(
        trees.keys().cloned().collect::<Vec<_>>(),
        vec!["a", "b", "t"]
    );
    // An empty main tree does not replace a definition of the same name.
    let trees = parse("t", "{{define \"t\"}}T{{end}} ", &any_func).unwrap();
    assert_eq!(trees["t"].root.to_string(), "T");
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&deep).ends_with("max expression depth exceeded"));
    let deep = "{{if 1}}".repeat(5000);
    assert!(err(&deep).ends_with("max expression depth exceeded"));
    let chain = format!("{{{{if 0}}}}{}{{{{end}}}}", "{{else if 0}}".repeat(5000));
    assert!(err(&chain).ends_with("max expression depth exceeded"));
}
