//! Feeds arbitrary text through the TraceQL lexer, parser and validator:
//! any input must give a query or a positioned error, never a panic, and a
//! printed query must parse back to the same tree. Queries that parse are
//! also compiled and run over a small fixed trace.
#![no_main]

use hearth_query::traceql::{compile, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(query) = parse(text) {
        let printed = query.to_string();
        let again = parse(&printed);
        assert_eq!(again.as_ref().ok(), Some(&query), "{text:?} printed as {printed:?}");
        if let Ok(compiled) = compile(text)
            && !compiled.is_metrics()
        {
            let _ = compiled.eval_trace(&hearth_query::traceql::model::Trace::new([1; 16], Vec::new()));
        }
    }
});
