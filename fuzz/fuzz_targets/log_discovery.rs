//! Feeds arbitrary lines through what Hearth reads out of log lines on its
//! own: the ingest-time level detection, the detected-fields re-parse and
//! type check, and the pattern miner (several lines to one miner, so
//! clustering, merging and eviction run too). Nothing may panic, every
//! level is a known one, and the cluster a line was just placed in is
//! alive and has a pattern.
#![no_main]

use hearth_ingest::level::{UNKNOWN_LEVEL, canonical_level, line_level};
use hearth_query::logql::eval::pipeline::discover::{FieldType, humanize_bytes, line_fields};
use hearth_query::logql::patterns::PatternMiner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut miner = PatternMiner::new();
    for line in data.split(|b| *b == b'\n') {
        let level = line_level(line);
        assert!(level == UNKNOWN_LEVEL || canonical_level(level) == Some(level));
        if let Some((_, fields)) = line_fields(line) {
            for f in fields {
                let _ = FieldType::of(&f.value);
                let _ = humanize_bytes(&f.value);
            }
        }
        if let Some(id) = miner.train(line) {
            assert!(miner.pattern(id).is_some());
        }
    }
});
