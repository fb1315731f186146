//! Feeds arbitrary text to Alertmanager matcher parsing (routes, inhibit
//! rules and silence filters use it). Any input must parse or give an
//! error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = hearth_alerting::notify::parse_matchers(text);
});
