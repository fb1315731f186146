//! `hearth-loadgen`: sends deterministic node-exporter-like metrics to a
//! Prometheus remote write 1.0 endpoint, time-major (every series at `t`, then
//! `t + interval`, …) the way scrapes arrive, and prints a one-line JSON
//! summary.
//!
//! Series are sharded by instance over `--connections` senders (as Prometheus
//! shards by series), so every series' samples arrive in order; the shards are
//! kept within a few minutes of each other so no receiver sees one shard run
//! far ahead of the others. Batches are generated on the fly; nothing larger
//! than a few requests per connection is ever held in memory.

mod series;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hearth_bench_push::{Endpoint, Outcome, PushCounters, post};
use hearth_ingest::proto::remote_v1::Sample;
use prost::Message;
use tokio::sync::mpsc;

use series::{Instance, SERIES_PER_INSTANCE};

/// How far (in intervals) one shard may run ahead of the slowest one.
const MAX_SHARD_LAG_STEPS: u64 = 8;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "hearth-loadgen",
    about = "Remote write 1.0 load generator (node-exporter-like series, time-major)"
)]
struct Args {
    /// Remote write endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9700/api/v1/write")]
    url: String,
    /// Number of series.
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Hours of data, ending at now (rounded down to the interval).
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// Scrape interval in seconds.
    #[arg(long, default_value_t = 15)]
    interval_secs: u64,
    /// Concurrent connections (shards).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Samples per request (Prometheus' max_samples_per_send is 2000).
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    /// PRNG seed; the same seed and flags give byte-identical requests.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Last timestamp (ms since the epoch) instead of now rounded down.
    #[arg(long)]
    end_ms: Option<i64>,
    /// Give up on one request after retrying 5xx/429/transport errors this long.
    #[arg(long, default_value_t = 300)]
    max_retry_secs: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Generate and compress everything but send nothing (measures the
    /// generator's own ceiling).
    #[arg(long)]
    dry_run: bool,
}

/// Counters shared by all senders.
#[derive(Default)]
struct Stats {
    push: PushCounters,
    samples_sent: AtomicU64,
    bytes_sent: AtomicU64,
    errors_4xx: AtomicU64,
    samples_rejected_4xx: AtomicU64,
}

/// Appends one `WriteRequest.timeseries` entry (field 1) holding `labels`
/// (pre-encoded `TimeSeries.labels` fields) and one sample. Byte-identical to
/// what `WriteRequest::encode_to_vec` produces for the same request, without
/// cloning label strings per sample.
fn push_series(out: &mut Vec<u8>, labels: &[u8], value: f64, timestamp: i64) -> Result<()> {
    let sample = Sample { value, timestamp };
    let sample_len = sample.encoded_len();
    let series_len = labels.len() + 1 + varint_len(sample_len as u64) + sample_len;
    out.push(0x0A); // field 1 (timeseries), length-delimited
    put_varint(out, series_len as u64);
    out.extend_from_slice(labels);
    out.push(0x12); // TimeSeries field 2 (samples), length-delimited
    sample
        .encode_length_delimited(out)
        .context("encoding a sample")?;
    Ok(())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// One compressed request ready to send.
struct Body {
    data: Vec<u8>,
    samples: u64,
}

/// Time range of the run.
#[derive(Clone, Copy, Debug)]
struct Span {
    first_ms: i64,
    interval_ms: i64,
    steps: u64,
}

/// Generates shard `shard`'s requests, step by step, into `tx`.
fn generate(
    args: &Args,
    span: Span,
    shard: usize,
    progress: &[AtomicU64],
    tx: &mpsc::Sender<Body>,
) -> Result<()> {
    let instances_total = args.series.div_ceil(SERIES_PER_INSTANCE);
    let mut instances: Vec<Instance> = (shard..instances_total)
        .step_by(args.connections)
        .map(|i| {
            let limit = (args.series - i * SERIES_PER_INSTANCE).min(SERIES_PER_INSTANCE);
            Instance::new(args.seed, i, limit, span.interval_ms as f64 / 1000.0)
        })
        .collect();
    let mut encoder = snap::raw::Encoder::new();
    let mut raw: Vec<u8> = Vec::with_capacity(args.batch * 160);
    let mut in_batch = 0u64;
    let batch = args.batch as u64;
    let mut flush = |raw: &mut Vec<u8>, in_batch: &mut u64| -> Result<()> {
        if *in_batch == 0 {
            return Ok(());
        }
        let data = encoder.compress_vec(raw).context("snappy")?;
        raw.clear();
        let body = Body {
            data,
            samples: std::mem::take(in_batch),
        };
        tx.blocking_send(body)
            .map_err(|_| anyhow::anyhow!("sender {shard} stopped"))
    };
    for step in 0..span.steps {
        // Keep shards within MAX_SHARD_LAG_STEPS of each other.
        loop {
            let slowest = progress
                .iter()
                .map(|p| p.load(Ordering::Acquire))
                .min()
                .unwrap_or(step);
            if step <= slowest + MAX_SHARD_LAG_STEPS {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let t = span.first_ms + step as i64 * span.interval_ms;
        for inst in &mut instances {
            let ts = t - inst.offset_ms;
            let mut push_result = Ok(());
            inst.scrape(ts, |labels, value| {
                if push_result.is_ok() {
                    push_result = push_series(&mut raw, labels, value, ts);
                    in_batch += 1;
                }
            });
            push_result?;
            // Requests end on instance boundaries: `batch` samples, or up to
            // SERIES_PER_INSTANCE - 1 more when batch is not a multiple of it.
            if in_batch >= batch {
                flush(&mut raw, &mut in_batch)?;
            }
        }
        if let Some(p) = progress.get(shard) {
            p.store(step + 1, Ordering::Release);
        }
    }
    flush(&mut raw, &mut in_batch)?;
    if let Some(p) = progress.get(shard) {
        p.store(u64::MAX / 2, Ordering::Release);
    }
    Ok(())
}

/// Sends bodies from `rx` one at a time, retrying 5xx/429/transport errors.
async fn send_all(
    client: reqwest::Client,
    args: Arc<Args>,
    stats: Arc<Stats>,
    mut rx: mpsc::Receiver<Body>,
) {
    let endpoint = Endpoint {
        url: args.url.clone(),
        headers: vec![
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ("User-Agent", "hearth-loadgen/0.1"),
        ],
        max_retry: Duration::from_secs(args.max_retry_secs),
        backoff,
    };
    while let Some(body) = rx.recv().await {
        let (len, samples) = (body.data.len() as u64, body.samples);
        if args.dry_run {
            stats.push.requests.fetch_add(1, Ordering::Relaxed);
        } else {
            match post(&client, &endpoint, &stats.push, body.data.into()).await {
                Outcome::Accepted(_) => {}
                Outcome::Refused => {
                    stats.errors_4xx.fetch_add(1, Ordering::Relaxed);
                    stats
                        .samples_rejected_4xx
                        .fetch_add(samples, Ordering::Relaxed);
                    continue;
                }
                Outcome::GaveUp => continue,
            }
        }
        stats.samples_sent.fetch_add(samples, Ordering::Relaxed);
        stats.bytes_sent.fetch_add(len, Ordering::Relaxed);
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(6)).min(2_000))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.series == 0 || args.connections == 0 || args.batch == 0 || args.interval_secs == 0 {
        bail!("--series, --connections, --batch and --interval-secs must be positive");
    }
    if args.hours.is_nan() || args.hours <= 0.0 {
        bail!("--hours must be positive");
    }
    let interval_ms = i64::try_from(args.interval_secs)
        .context("--interval-secs")?
        .saturating_mul(1000);
    let steps = (args.hours * 3600.0 * 1000.0 / interval_ms as f64).floor() as u64;
    if steps == 0 {
        bail!("--hours is shorter than one interval");
    }
    let end_ms = match args.end_ms {
        Some(ms) => ms,
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("clock before 1970")?
                .as_millis();
            i64::try_from(now).context("clock")?
        }
    };
    let end_ms = end_ms - end_ms.rem_euclid(interval_ms);
    let span = Span {
        first_ms: end_ms - (steps as i64 - 1) * interval_ms,
        interval_ms,
        steps,
    };

    let args = Arc::new(args);
    let stats = Arc::new(Stats::default());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")?;
    let progress: Arc<Vec<AtomicU64>> =
        Arc::new((0..args.connections).map(|_| AtomicU64::new(0)).collect());

    let started = Instant::now();
    let mut generators = Vec::new();
    let mut senders = Vec::new();
    for shard in 0..args.connections {
        let (tx, rx) = mpsc::channel::<Body>(2);
        senders.push(tokio::spawn(send_all(
            client.clone(),
            Arc::clone(&args),
            Arc::clone(&stats),
            rx,
        )));
        let args = Arc::clone(&args);
        let progress = Arc::clone(&progress);
        generators.push(tokio::task::spawn_blocking(move || {
            let result = generate(&args, span, shard, &progress, &tx);
            // Never block the other shards if this one failed.
            if let Some(p) = progress.get(shard) {
                p.store(u64::MAX / 2, Ordering::Release);
            }
            result
        }));
    }
    let mut generator_error = None;
    for g in generators {
        match g.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => generator_error = Some(format!("{e:#}")),
            Err(e) => generator_error = Some(format!("generator panicked: {e}")),
        }
    }
    for s in senders {
        if let Err(e) = s.await {
            generator_error = Some(format!("sender panicked: {e}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let sent = stats.samples_sent.load(Ordering::Relaxed);
    let first_error = stats.push.first_error().await;
    let summary = serde_json::json!({
        "url": args.url,
        "dry_run": args.dry_run,
        "series": args.series,
        "steps": steps,
        "first_ts_ms": span.first_ms,
        "last_ts_ms": end_ms,
        "samples_expected": steps * args.series as u64,
        "samples_sent": sent,
        "requests": stats.push.requests.load(Ordering::Relaxed),
        "compressed_bytes_sent": stats.bytes_sent.load(Ordering::Relaxed),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "samples_per_sec": (sent as f64 / seconds).round(),
        "retries": stats.push.retries.load(Ordering::Relaxed),
        "errors_4xx": stats.errors_4xx.load(Ordering::Relaxed),
        "samples_rejected_4xx": stats.samples_rejected_4xx.load(Ordering::Relaxed),
        "failed_requests": stats.push.failed_requests.load(Ordering::Relaxed),
        "first_error": first_error,
        "generator_error": generator_error,
    });
    println!("{summary}");
    if generator_error.is_some() {
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_ingest::proto::remote_v1::{TimeSeries, WriteRequest};

    #[test]
    fn framing_matches_prost() -> Result<()> {
        let mut a = Instance::new(7, 3, SERIES_PER_INSTANCE, 15.0);
        let mut b = a.clone();
        let mut raw = Vec::new();
        let mut err = Ok(());
        a.scrape(1_700_000_000_000, |labels, v| {
            if err.is_ok() {
                err = push_series(&mut raw, labels, v, 1_700_000_000_000);
            }
        });
        err?;
        let mut expected = WriteRequest::default();
        let mut decode_err = Ok(());
        b.scrape(1_700_000_000_000, |labels, v| {
            match TimeSeries::decode(labels) {
                Ok(mut ts) => {
                    ts.samples.push(Sample {
                        value: v,
                        timestamp: 1_700_000_000_000,
                    });
                    expected.timeseries.push(ts);
                }
                Err(e) => decode_err = Err(e),
            }
        });
        decode_err?;
        assert_eq!(expected.timeseries.len(), SERIES_PER_INSTANCE);
        assert_eq!(raw, expected.encode_to_vec());
        assert_eq!(WriteRequest::decode(raw.as_slice())?, expected);
        Ok(())
    }

    #[test]
    fn deterministic_and_monotonic_counters() {
        let mut a = Instance::new(1, 0, SERIES_PER_INSTANCE, 15.0);
        let mut b = Instance::new(1, 0, SERIES_PER_INSTANCE, 15.0);
        let mut prev: Vec<f64> = Vec::new();
        for step in 0..50 {
            let mut va = Vec::new();
            let mut vb = Vec::new();
            a.scrape(step * 15_000, |_, v| va.push(v));
            b.scrape(step * 15_000, |_, v| vb.push(v));
            assert_eq!(va, vb);
            if !prev.is_empty() {
                // The first 55 series are counters.
                for (i, (now, before)) in va.iter().zip(&prev).take(55).enumerate() {
                    assert!(now >= before, "counter {i} went down");
                }
            }
            prev = va;
        }
    }

    #[test]
    fn varint_len_matches() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v));
        }
    }
}
