//! `printf` verb tests against outputs Go produces.

use super::*;

fn f(format: &str, args: &[Value]) -> String {
    sprintf(format, args)
}

#[test]
fn common_verbs() {
    assert_eq!(f("%.2f", &[Value::Float(0.91234)]), "0.91");
    assert_eq!(f("%5.2f|", &[Value::Float(3.14659)]), " 3.15|");
    assert_eq!(f("%-10s|", &[Value::from("ab")]), "ab        |");
    assert_eq!(f("%10s|", &[Value::from("ab")]), "        ab|");
    assert_eq!(
        f(
            "%d %5d %-5d| %05d",
            &[Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(-4)]
        ),
        "1     2 3    | -0004"
    );
    assert_eq!(f("%+d % d", &[Value::Int(5), Value::Int(5)]), "+5  5");
    assert_eq!(
        f(
            "%x %X %#x %o %#o %b %O",
            &[
                Value::Int(255),
                Value::Int(255),
                Value::Int(255),
                Value::Int(8),
                Value::Int(8),
                Value::Int(5),
                Value::Int(8)
            ]
        ),
        "ff FF 0xff 10 010 101 0o10"
    );
    assert_eq!(
        f(
            "%e %E %g %G",
            &[
                Value::Float(1234.5678),
                Value::Float(1234.5678),
                Value::Float(1234.5678),
                Value::Float(1e-7)
            ]
        ),
        "1.234568e+03 1.234568E+03 1234.5678 1E-07"
    );
    assert_eq!(
        f(
            "%q %v %s",
            &[Value::from("a\"b"), Value::from("x"), Value::from("y")]
        ),
        "\"a\\\"b\" x y"
    );
    assert_eq!(
        f("%t %v", &[Value::Bool(true), Value::Bool(false)]),
        "true false"
    );
    assert_eq!(
        f(
            "%c %q %U %#U",
            &[
                Value::Int(65),
                Value::Int(97),
                Value::Int(0x1F600),
                Value::Int(65)
            ]
        ),
        "A 'a' U+1F600 U+0041 'A'"
    );
    assert_eq!(
        f(
            "%x % x %#x %X",
            &[
                Value::from("hi"),
                Value::from("hi"),
                Value::from("hi"),
                Value::from("hi")
            ]
        ),
        "6869 68 69 0x6869 6869"
    );
    assert_eq!(f("100%%", &[]), "100%");
    assert_eq!(f("%.3s", &[Value::from("abcdef")]), "abc");
    assert_eq!(f("%08.3f", &[Value::Float(-2.5678)]), "-002.568");
    assert_eq!(f("%+.1e", &[Value::Float(12345.0)]), "+1.2e+04");
    assert_eq!(
        f("%#g %#.3g", &[Value::Float(1.0), Value::Float(100.0)]),
        "1.00000 100."
    );
    assert_eq!(
        f("%T %T %T", &[Value::Int(1), Value::from("a"), Value::Nil]),
        "int string <nil>"
    );
    assert_eq!(f("%5.1f%%", &[Value::Float(99.44)]), " 99.4%");
    assert_eq!(f("%v", &[Value::Float(f64::INFINITY)]), "+Inf");
    assert_eq!(f("%5.2f|", &[Value::Float(f64::NAN)]), "  NaN|");
    assert_eq!(
        f(
            "%*d|%-*d|",
            &[Value::Int(4), Value::Int(7), Value::Int(3), Value::Int(1)]
        ),
        "   7|1  |"
    );
    assert_eq!(f("%[2]d %[1]d", &[Value::Int(1), Value::Int(2)]), "2 1");
}

#[test]
fn mismatches_print_go_error_forms() {
    assert_eq!(f("%d", &[Value::from("abc")]), "%!d(string=abc)");
    assert_eq!(f("%f", &[Value::Int(1)]), "%!f(int=1)");
    assert_eq!(f("%s", &[Value::Int(1)]), "%!s(int=1)");
    assert_eq!(f("%s %s", &[Value::from("a")]), "a %!s(MISSING)");
    assert_eq!(
        f("%s", &[Value::from("a"), Value::from("x"), Value::Int(2)]),
        "a%!(EXTRA string=x, int=2)"
    );
    assert_eq!(f("%d", &[Value::Nil]), "%!d(<nil>)");
    assert_eq!(
        f(
            "%v %s",
            &[Value::Nil, Value::List(vec![Value::Int(1), Value::Nil])]
        ),
        "<nil> [%!s(int=1) <nil>]"
    );
    assert_eq!(f("%", &[]), "%!(NOVERB)");
    assert_eq!(f("%z", &[Value::Int(1)]), "%!z(int=1)");
    assert_eq!(f("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
    assert_eq!(f("%!", &[]), "%!!(MISSING)");
}

#[test]
fn sprint_spacing() {
    assert_eq!(
        sprint(&[
            Value::from("a"),
            Value::Int(1),
            Value::Int(2),
            Value::from("b")
        ]),
        "a1 2b"
    );
    assert_eq!(sprint(&[Value::Float(1.5), Value::Nil]), "1.5 <nil>");
    assert_eq!(sprintln(&[Value::from("a"), Value::from("b")]), "a b\n");
}
