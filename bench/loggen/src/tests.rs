use std::collections::HashMap;

use hearth_ingest::proto::loki_push::PushRequest;
use prost::Message;

use super::*;

const S: i64 = 1_000_000_000;
const END_NS: i64 = 1_764_000_000 * S;

fn cfg(seed: u64, bytes: u64, needle_every: u64) -> Config {
    Config {
        seed,
        bytes,
        start_ns: END_NS - 6 * 3600 * S,
        end_ns: END_NS,
        needle: b"hearthneedle7f3a9c".to_vec(),
        needle_every,
    }
}

/// Every line with its metadata, in order.
fn all_lines(cfg: Config) -> Vec<(generator::LineMeta, Vec<u8>)> {
    let mut g = Generator::new(cfg);
    let mut line = Vec::new();
    let mut out = Vec::new();
    while let Some(meta) = g.next_line(&mut line).unwrap() {
        out.push((meta, line.clone()));
    }
    out
}

#[test]
fn same_seed_same_lines_other_seed_other_lines() {
    let a = all_lines(cfg(7, 300_000, 500));
    let b = all_lines(cfg(7, 300_000, 500));
    let c = all_lines(cfg(8, 300_000, 500));
    assert!(a.len() > 500);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn all_three_families_appear_and_look_right() {
    let g = Generator::new(cfg(1, 1, 1));
    let families: Vec<Family> = g.streams().iter().map(|s| s.family).collect();
    assert_eq!(families.len(), 40);
    let mut seen = HashMap::new();
    for (meta, line) in all_lines(cfg(1, 3_000_000, 100_000)) {
        let family = families[meta.stream];
        *seen.entry(family.name()).or_insert(0u64) += 1;
        let text = std::str::from_utf8(&line).expect("UTF-8");
        assert!(!text.contains('\n'), "{text}");
        match family {
            Family::App => {
                let v: serde_json::Value =
                    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
                assert!(v.is_object(), "{text}");
            }
            Family::Nginx => {
                assert!(text.contains(" - - ["), "{text}");
                assert!(text.contains(" HTTP/"), "{text}");
                assert!(text.contains(" +0000] \""), "{text}");
            }
            Family::Syslog => {
                assert!(
                    text.as_bytes()[3] == b' ' && text.as_bytes()[6] == b' ',
                    "{text}"
                );
                // `host program[pid]: message` (sudo logs no pid).
                let rest = &text[16..];
                assert!(rest.contains(": "), "{text}");
            }
        }
    }
    for f in Family::ALL {
        let n = seen.get(f.name()).copied().unwrap_or(0);
        assert!(n > 1000, "{}: {n} lines", f.name());
    }
}

#[test]
fn timestamps_increase_and_stay_in_the_window() {
    let c = cfg(3, 500_000, 1000);
    let lines = all_lines(c.clone());
    let mut last = i64::MIN;
    for (meta, _) in &lines {
        assert!(meta.ts_ns > last);
        assert!(meta.ts_ns >= c.start_ns && meta.ts_ns < c.end_ns);
        last = meta.ts_ns;
    }
    // Spread over the whole window, not bunched at the start.
    let first = lines.first().unwrap().0.ts_ns;
    assert!(first - c.start_ns < 60 * S);
    assert!(c.end_ns - last < 60 * S);
}

#[test]
fn needle_count_matches_and_needle_is_a_whole_token() {
    let every = 997;
    let c = cfg(5, 2_000_000, every);
    let mut g = Generator::new(c.clone());
    let mut line = Vec::new();
    let (mut lines, mut found) = (0u64, 0u64);
    let mut per_family = HashMap::new();
    let families: Vec<Family> = g.streams().iter().map(|s| s.family).collect();
    while let Some(meta) = g.next_line(&mut line).unwrap() {
        let hits: Vec<usize> = line
            .windows(c.needle.len())
            .enumerate()
            .filter(|(_, w)| *w == c.needle.as_slice())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(meta.needle, !hits.is_empty());
        assert!(hits.len() <= 1);
        for i in hits {
            let token = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            assert!(i == 0 || !token(line[i - 1]));
            assert!(line.get(i + c.needle.len()).is_none_or(|&b| !token(b)));
            found += 1;
            *per_family.entry(families[meta.stream].name()).or_insert(0) += 1;
        }
        lines += 1;
    }
    let expected = (lines + every - 1 - every / 2) / every;
    assert_eq!(found, expected);
    assert_eq!(g.needles(), expected);
    assert!(found >= 5, "{found}");
    // The default --needle-every gives a few dozen needles.
    let default_every = 1_100_000_000 / (TYPICAL_LINE_BYTES * DEFAULT_NEEDLES);
    let avg = g.bytes() / lines;
    let default_count = 1_100_000_000 / avg / default_every;
    assert!((10..=50).contains(&default_count), "{default_count}");
}

#[test]
fn pushed_batches_carry_the_raw_lines_in_stream_order() {
    let c = cfg(9, 400_000, 300);
    let labels: Vec<String> = Generator::new(c.clone())
        .streams()
        .iter()
        .map(|s| s.labels.clone())
        .collect();
    let mut expected: HashMap<String, Vec<(i64, Vec<u8>)>> = HashMap::new();
    for (meta, line) in all_lines(c.clone()) {
        expected
            .entry(labels[meta.stream].clone())
            .or_default()
            .push((meta.ts_ns, line));
    }

    let connections = 3;
    let mut txs = Vec::new();
    let mut rxs = Vec::new();
    for _ in 0..connections {
        let (tx, rx) = mpsc::channel::<Body>(10_000);
        txs.push(tx);
        rxs.push(rx);
    }
    let (g, _, _, _) = generate_batches(c, connections, 20_000, txs).unwrap();
    let mut got: HashMap<String, Vec<(i64, Vec<u8>)>> = HashMap::new();
    let mut lines = 0;
    for (conn, mut rx) in rxs.into_iter().enumerate() {
        while let Ok(body) = rx.try_recv() {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&body.data)
                .unwrap();
            let req = PushRequest::decode(raw.as_slice()).unwrap();
            let mut in_body = 0;
            for s in req.streams {
                let l = String::from_utf8(s.labels).unwrap();
                let stream = labels.iter().position(|x| *x == l).unwrap();
                assert_eq!(stream % connections, conn);
                for e in s.entries {
                    let ts = e.timestamp.unwrap();
                    got.entry(l.clone())
                        .or_default()
                        .push((ts.seconds * S + i64::from(ts.nanos), e.line));
                    in_body += 1;
                }
            }
            assert_eq!(in_body, body.lines);
            lines += in_body;
        }
    }
    assert_eq!(lines, g.lines());
    assert_eq!(got, expected);
}

#[test]
fn raw_file_is_the_lines_newline_terminated() {
    let c = cfg(11, 200_000, 100);
    let path = std::env::temp_dir().join(format!("hearth-loggen-test-{}.txt", std::process::id()));
    write_raw(c.clone(), &path).unwrap();
    let file = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut expected = Vec::new();
    for (_, line) in all_lines(c) {
        expected.extend_from_slice(&line);
        expected.push(b'\n');
    }
    assert_eq!(file, expected);
}
