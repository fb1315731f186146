//! Feeds arbitrary text to rule-file loading: YAML with positions, strict
//! decoding, validation (PromQL and template parsing included). Any input
//! must load or give errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = hearth_alerting::rulefmt::parse("fuzz.yml", text);
});
