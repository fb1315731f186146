//! Log pattern detection for `GET /loki/api/v1/patterns`, compatible with
//! Loki's pattern ingester: a Drain clustering of each stream's lines into
//! patterns such as `<_> - - [<_>] "GET <_> HTTP/1.1" <_> <_>`, where `<_>`
//! stands for the parts that vary. Written from a description of Loki's
//! behaviour; no code is taken from Loki.
//!
//! Hearth mines at query time rather than at ingest, so Loki's pause of
//! training after heavy cluster eviction has no counterpart here.

mod drain;
mod logfmt;
mod tokenize;

use drain::Drain;
use tokenize::LineFormat;

/// Loki's `MaxAllowedLineLength`.
const MAX_LINE_BYTES: usize = 3000;

/// Identifies a cluster for as long as it lives in its miner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(pub u32);

/// Mines patterns from the lines of one stream (and one level), in time order.
#[derive(Clone, Debug, Default)]
pub struct PatternMiner {
    /// Decided by the first line, as Loki does per stream.
    format: Option<LineFormat>,
    drain: Drain,
}

impl PatternMiner {
    /// A miner that has seen no line yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Assigns the line to a cluster (creating one if needed); `None` when
    /// the line is skipped (too short/long, json without a message field,
    /// ...). The first call decides the stream's format.
    pub fn train(&mut self, line: &[u8]) -> Option<ClusterId> {
        let text = String::from_utf8_lossy(line);
        let format = *self
            .format
            .get_or_insert_with(|| tokenize::detect_format(&text));
        if line.len() > MAX_LINE_BYTES {
            return None;
        }
        self.drain.train(tokenize::tokenize(format, &text)?)
    }

    /// The current pattern text of a live cluster (`None` once evicted).
    pub fn pattern(&self, id: ClusterId) -> Option<String> {
        let (tokens, spacing) = self.drain.cluster(id)?;
        Some(tokenize::render(self.format?, tokens, spacing))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use tokenize::PARAM;

    /// Trains one miner on the lines and returns the patterns in order of
    /// first appearance, each with how many lines it took.
    fn mine(lines: &[&str]) -> Vec<(String, usize)> {
        let mut miner = PatternMiner::new();
        let mut counts: Vec<(ClusterId, usize)> = Vec::new();
        for line in lines {
            let Some(id) = miner.train(line.as_bytes()) else {
                continue;
            };
            match counts.iter_mut().find(|(seen, _)| *seen == id) {
                Some((_, count)) => *count += 1,
                None => counts.push((id, 1)),
            }
        }
        counts
            .into_iter()
            .filter_map(|(id, count)| Some((miner.pattern(id)?, count)))
            .collect()
    }

    fn owned(expected: &[(&str, usize)]) -> Vec<(String, usize)> {
        expected
            .iter()
            .map(|(pattern, count)| (pattern.to_string(), *count))
            .collect()
    }

    #[test]
    fn nginx_access_lines() {
        let lines = [
            r#"192.168.1.10 - - [10/Oct/2023:13:55:36 +0000] "GET /api/users/42 HTTP/1.1" 200 512 "-" "curl/7.68.0""#,
            r#"10.0.0.7 - - [10/Oct/2023:13:55:37 +0000] "GET /api/users/7 HTTP/1.1" 404 0 "-" "curl/7.68.0""#,
            r#"172.16.0.3 - - [10/Oct/2023:13:55:39 +0000] "GET /api/orders/9001 HTTP/1.1" 200 2048 "-" "curl/7.68.0""#,
            r#"10.0.0.8 - - [10/Oct/2023:13:55:40 +0000] "POST /api/orders HTTP/1.1" 201 64 "-" "Go-http-client/1.1""#,
            r#"10.0.0.9 - - [10/Oct/2023:13:55:41 +0000] "POST /api/orders HTTP/1.1" 500 12 "-" "Go-http-client/1.1""#,
        ];
        assert_eq!(
            mine(&lines),
            owned(&[
                (
                    r#"<_> - - [<_> +0000] "GET <_> HTTP/1.1" <_> <_> "-" "curl/7.68.0""#,
                    3
                ),
                (
                    r#"<_> - - [<_> +0000] "POST /api/orders HTTP/1.1" <_> <_> "-" "Go-http-client/1.1""#,
                    2
                ),
            ])
        );
    }

    #[test]
    fn logfmt_lines() {
        let lines = [
            r#"level=info msg="user 42 logged in" duration=12ms"#,
            r#"level=info msg="user 7 logged in" duration=3ms"#,
            r#"level=error msg="db timeout" duration=30s"#,
            r#"level=error msg="db timeout" duration=31s"#,
        ];
        assert_eq!(
            mine(&lines),
            owned(&[
                ("level=info msg=<_> duration=<_>", 2),
                (r#"level=error msg="db timeout" duration=<_>"#, 2),
            ])
        );
        let with_timestamps = [
            r#"ts=2024-03-30T10:00:00Z caller=api.go:42 level=info msg="request served" status=200"#,
            r#"ts=2024-03-30T10:00:01Z caller=api.go:42 level=info msg="request served" status=404"#,
        ];
        assert_eq!(
            mine(&with_timestamps),
            owned(&[(
                r#"ts=<_> caller=api.go:42 level=info msg="request served" status=<_>"#,
                2
            )])
        );
    }

    #[test]
    fn json_lines() {
        let lines = [
            r#"{"ts":"2024-03-30T10:00:00Z","level":"info","msg":"user 42 logged in"}"#,
            r#"{"ts":"2024-03-30T10:00:01Z","level":"info","msg":"user 7 logged in"}"#,
            r#"{"ts":"2024-03-30T10:00:02Z","level":"debug"}"#,
            r#"{"level":"warn","message":"cache miss for key \"k1\""}"#,
        ];
        assert_eq!(
            mine(&lines),
            owned(&[
                ("<_>user <_> logged in<_>", 2),
                (r#"<_>cache miss for key \"k1\"<_>"#, 1),
            ])
        );
    }

    #[test]
    fn plain_application_lines() {
        let lines = [
            "2024-03-30 10:00:00.123 INFO [main] Started server on port 8080 in 1234 ms",
            "2024-03-30 10:00:05.456 INFO [main] Started server on port 9090 in 87 ms",
            "2024-03-30 10:00:06.001 WARN [pool-1] Connection to db-1 lost, retrying (attempt 3)",
            "2024-03-30 10:00:07.002 WARN [pool-2] Connection to db-2 lost, retrying (attempt 4)",
        ];
        assert_eq!(
            mine(&lines),
            owned(&[
                (
                    "2024-03-30 <_> INFO [main] Started server on port <_> in <_> ms",
                    2
                ),
                (
                    "2024-03-30 <_> WARN [<_>] Connection to <_> lost, retrying (attempt <_>)",
                    2
                ),
            ])
        );
    }

    #[test]
    fn lines_over_3000_bytes_are_skipped() {
        let mut miner = PatternMiner::new();
        let words = "word ".repeat(MAX_LINE_BYTES / 5);
        assert!(
            miner.train(words.trim_end().as_bytes()).is_none(),
            "too many tokens"
        );
        let long = format!("{} end of line", "x".repeat(MAX_LINE_BYTES - 12));
        assert_eq!(long.len(), MAX_LINE_BYTES);
        assert!(miner.train(long.as_bytes()).is_some());
        assert!(miner.train(format!("{long}!").as_bytes()).is_none());
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        let mut miner = PatternMiner::new();
        let first = miner.train(b"bad \xff\xfe byte 1 here");
        let second = miner.train(b"bad \xff\xfe byte 2 here");
        assert_eq!(first, second);
        assert_eq!(
            miner.pattern(first.unwrap()).unwrap(),
            "bad \u{fffd}\u{fffd} byte <_> here"
        );
    }

    fn arbitrary_line() -> impl Strategy<Value = Vec<u8>> {
        const WORDS: &[&str] = &[
            "GET", "POST", "user", "42", "7", "id=9", "a", "b", "c", "d", "e", "f", "g", "h", "i",
            "j", "k", "l", "m", "n", "o", "p", "[x]", "\"q\"", "<_>", "ok", "é", "—", "{", "}",
            " ",
        ];
        const KEYS: &[&str] = &["ts", "level", "msg", "t", "k", "caller"];
        const VALUES: &[&str] = &[
            "1",
            "info",
            "\"a b\"",
            "x",
            "\"\\\"e\\\"\"",
            "",
            "<_>",
            "=",
            "\"",
        ];
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..120),
            prop::collection::vec(prop::sample::select(WORDS), 0..24)
                .prop_map(|words| words.join(" ").into_bytes()),
            prop::collection::vec(
                (prop::sample::select(KEYS), prop::sample::select(VALUES)),
                0..8
            )
            .prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                pairs.join(" ").into_bytes()
            }),
            prop::collection::vec(prop::sample::select(WORDS), 0..12).prop_map(|words| format!(
                "{{\"msg\":\"{}\"}}",
                words.join(" ")
            )
            .into_bytes()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 128,
            rng_seed: prop::test_runner::RngSeed::Fixed(0x5eed_d4a1),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn assigned_lines_match_their_live_cluster(
            lines in prop::collection::vec(arbitrary_line(), 1..400),
        ) {
            let mut miner = PatternMiner::new();
            let assigned: Vec<(Vec<u8>, ClusterId)> = lines
                .into_iter()
                .filter_map(|line| miner.train(&line).map(|id| (line, id)))
                .collect();
            let live = assigned.iter().filter(|(_, id)| miner.pattern(*id).is_some());
            let live: std::collections::BTreeSet<ClusterId> = live.map(|(_, id)| *id).collect();
            prop_assert!(live.len() <= 300);
            for (line, id) in assigned {
                let Some((cluster_tokens, _)) = miner.drain.cluster(id) else {
                    continue;
                };
                prop_assert!(miner.pattern(id).is_some_and(|pattern| !pattern.is_empty()));
                let text = String::from_utf8_lossy(&line);
                let format = miner.format.unwrap();
                let tokenized = tokenize::tokenize(format, &text).unwrap();
                prop_assert_eq!(cluster_tokens.len(), tokenized.tokens.len());
                for (kept, seen) in cluster_tokens.iter().zip(&tokenized.tokens) {
                    prop_assert!(kept == PARAM || kept == seen, "{kept:?} vs {seen:?}");
                }
            }
        }
    }
}
