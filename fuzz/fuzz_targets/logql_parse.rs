//! Feeds arbitrary text through the LogQL lexer and parser, and prints
//! whatever parses: any input must give a tree or an error, never a panic,
//! and a printed tree must parse back to itself.
#![no_main]

use hearth_query::logql::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = parse(text) {
        let printed = expr.to_string();
        let again = parse(&printed);
        assert_eq!(again.as_ref().ok(), Some(&expr), "{text:?} printed as {printed:?}");
    }
});
