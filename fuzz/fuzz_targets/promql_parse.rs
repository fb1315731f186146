//! Feeds arbitrary text through PromQL parsing: duration-expression
//! rewriting, the upstream grammar and the conversion to Hearth's tree.
//! Any input must give a tree or an error, never a panic.
#![no_main]

use hearth_query::promql::{DurationContext, parse_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_with(
        text,
        DurationContext {
            step_ms: 15_000,
            range_ms: 3_600_000,
        },
    );
});
