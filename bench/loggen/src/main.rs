//! `hearth-loggen`: generates realistic logs deterministically — nginx
//! access logs, JSON application logs and syslog over 40 streams — and
//! either writes them to a file, one per line, for `grep` (`--write-raw`) or
//! pushes them to a Loki push endpoint (`--url`), then prints a one-line
//! JSON summary.
//!
//! Both modes produce the same lines for the same `--seed`, `--bytes`,
//! `--hours`, `--end-ms` and needle flags, so the file grep searches holds
//! exactly the bytes the server stored.

mod app;
mod clock;
mod generator;
mod nginx;
mod push;
mod rng;
mod syslog;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;
use tokio::sync::mpsc;

use generator::{Config, Family, Generator};
use push::{Batcher, Body, Stats, Target};

/// Average line length of the mix, used only to pick a default
/// `--needle-every` that gives about [`DEFAULT_NEEDLES`] needles.
const TYPICAL_LINE_BYTES: u64 = 250;
const DEFAULT_NEEDLES: u64 = 30;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "hearth-loggen",
    about = "Deterministic nginx/JSON/syslog log generator: raw file for grep, or Loki push"
)]
struct Args {
    /// Loki push endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9700/loki/api/v1/push")]
    url: String,
    /// Write the lines to FILE (newline after each) instead of pushing.
    #[arg(long, value_name = "FILE")]
    write_raw: Option<PathBuf>,
    /// Generate, encode and compress requests but send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stop once this many bytes of lines (newlines not counted) are made.
    #[arg(long, default_value_t = 1_100_000_000)]
    bytes: u64,
    /// Hours the timestamps are spread over, ending at --end-ms.
    #[arg(long, default_value_t = 6.0)]
    hours: f64,
    /// End of the time window (ms since the epoch); default now. Give both
    /// modes the same value to get the same lines.
    #[arg(long)]
    end_ms: Option<i64>,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rare token put into one line out of --needle-every (letters, digits
    /// and `_` only, so it is one whole token).
    #[arg(long, default_value = "hearthneedle7f3a9c")]
    needle: String,
    /// One needle line per this many lines; default: about 30 in total.
    #[arg(long)]
    needle_every: Option<u64>,
    /// Concurrent connections; each stream always uses the same one.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Raw line bytes per push request.
    #[arg(long, default_value_t = 1 << 20)]
    batch_bytes: usize,
    /// Give up on a request after retrying 429/5xx/transport errors this long.
    #[arg(long, default_value_t = 300)]
    max_retry_secs: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

/// Lines and bytes per family, for the summary.
#[derive(Default)]
struct Tally {
    lines: [u64; 3],
    bytes: [u64; 3],
    needles: [u64; 3],
}

impl Tally {
    fn add(&mut self, family: Family, len: usize, needle: bool) {
        self.lines[family as usize] += 1;
        self.bytes[family as usize] += len as u64;
        self.needles[family as usize] += u64::from(needle);
    }

    fn json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for f in Family::ALL {
            map.insert(
                f.name().to_owned(),
                json!({
                    "lines": self.lines[f as usize],
                    "bytes": self.bytes[f as usize],
                    "needles": self.needles[f as usize],
                }),
            );
        }
        serde_json::Value::Object(map)
    }
}

fn config(args: &Args) -> Result<Config> {
    if args.needle.is_empty()
        || !args
            .needle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("--needle must be non-empty letters, digits or _ (one whole token)");
    }
    if args.hours.is_nan() || args.hours <= 0.0 {
        bail!("--hours must be positive");
    }
    if args.bytes == 0 {
        bail!("--bytes must be positive");
    }
    let end_ms = match args.end_ms {
        Some(ms) => ms,
        None => i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("clock before 1970")?
                .as_millis(),
        )
        .context("clock")?,
    };
    let end_ns = end_ms.checked_mul(1_000_000).context("--end-ms")?;
    let span_ns = (args.hours * 3_600e9) as i64;
    let needle_every = args
        .needle_every
        .unwrap_or_else(|| (args.bytes / (TYPICAL_LINE_BYTES * DEFAULT_NEEDLES)).max(1));
    if needle_every == 0 {
        bail!("--needle-every must be positive");
    }
    Ok(Config {
        seed: args.seed,
        bytes: args.bytes,
        start_ns: end_ns.saturating_sub(span_ns),
        end_ns,
        needle: args.needle.as_bytes().to_vec(),
        needle_every,
    })
}

/// Fields every summary has.
fn base_summary(
    mode: &str,
    cfg: &Config,
    gen_: &Generator,
    tally: &Tally,
    first_ts: i64,
    last_ts: i64,
    seconds: f64,
) -> serde_json::Value {
    json!({
        "mode": mode,
        "seed": cfg.seed,
        "lines": gen_.lines(),
        "raw_bytes": gen_.bytes(),
        "needle": String::from_utf8_lossy(&cfg.needle),
        "needle_every": cfg.needle_every,
        "needles": gen_.needles(),
        "streams": gen_.streams().len(),
        "families": tally.json(),
        "start_ns": cfg.start_ns,
        "end_ns": cfg.end_ns,
        "first_ts_ns": first_ts,
        "last_ts_ns": last_ts,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "mb_per_sec": ((gen_.bytes() as f64 / 1e6 / seconds) * 10.0).round() / 10.0,
    })
}

fn write_raw(cfg: Config, path: &Path) -> Result<()> {
    let started = Instant::now();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut gen_ = Generator::new(cfg.clone());
    let families: Vec<Family> = gen_.streams().iter().map(|s| s.family).collect();
    let mut tally = Tally::default();
    let mut line = Vec::with_capacity(4096);
    let (mut first_ts, mut last_ts) = (0, 0);
    while let Some(meta) = gen_.next_line(&mut line).context("generating")? {
        if gen_.lines() == 1 {
            first_ts = meta.ts_ns;
        }
        last_ts = meta.ts_ns;
        if let Some(&f) = families.get(meta.stream) {
            tally.add(f, line.len(), meta.needle);
        }
        out.write_all(&line)
            .and_then(|()| out.write_all(b"\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let mut summary = base_summary("raw", &cfg, &gen_, &tally, first_ts, last_ts, seconds);
    summary["file"] = json!(path.display().to_string());
    summary["file_bytes"] = json!(gen_.bytes() + gen_.lines());
    println!("{summary}");
    Ok(())
}

/// Generates every line, batching per connection; runs on a blocking thread.
fn generate_batches(
    cfg: Config,
    connections: usize,
    batch_bytes: usize,
    txs: Vec<mpsc::Sender<Body>>,
) -> Result<(Generator, Tally, i64, i64)> {
    let mut gen_ = Generator::new(cfg);
    let labels: Vec<String> = gen_.streams().iter().map(|s| s.labels.clone()).collect();
    let families: Vec<Family> = gen_.streams().iter().map(|s| s.family).collect();
    let mut batchers: Vec<Batcher> = (0..connections)
        .map(|_| Batcher::new(labels.len()))
        .collect();
    let mut encoder = snap::raw::Encoder::new();
    let mut tally = Tally::default();
    let mut line = Vec::with_capacity(4096);
    let (mut first_ts, mut last_ts) = (0, 0);
    while let Some(meta) = gen_.next_line(&mut line).context("generating")? {
        if gen_.lines() == 1 {
            first_ts = meta.ts_ns;
        }
        last_ts = meta.ts_ns;
        if let Some(&f) = families.get(meta.stream) {
            tally.add(f, line.len(), meta.needle);
        }
        let conn = meta.stream % connections;
        let (Some(batcher), Some(tx)) = (batchers.get_mut(conn), txs.get(conn)) else {
            bail!("no connection {conn}");
        };
        batcher.add(meta.stream, meta.ts_ns, &line);
        if batcher.bytes() >= batch_bytes
            && let Some(body) = batcher.finish(&labels, &mut encoder)?
        {
            tx.blocking_send(body)
                .map_err(|_| anyhow::anyhow!("sender {conn} stopped"))?;
        }
    }
    for (conn, (batcher, tx)) in batchers.iter_mut().zip(&txs).enumerate() {
        if let Some(body) = batcher.finish(&labels, &mut encoder)? {
            tx.blocking_send(body)
                .map_err(|_| anyhow::anyhow!("sender {conn} stopped"))?;
        }
    }
    Ok((gen_, tally, first_ts, last_ts))
}

async fn push(args: &Args, cfg: Config) -> Result<()> {
    if args.connections == 0 || args.batch_bytes == 0 {
        bail!("--connections and --batch-bytes must be positive");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")?;
    let target = Target {
        url: args.url.clone(),
        max_retry: Duration::from_secs(args.max_retry_secs),
        dry_run: args.dry_run,
    };
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let mut txs = Vec::new();
    let mut senders = Vec::new();
    for _ in 0..args.connections {
        // Two requests queued per connection: enough to keep it busy while
        // the next one is built, little enough to bound memory.
        let (tx, rx) = mpsc::channel::<Body>(2);
        txs.push(tx);
        senders.push(tokio::spawn(push::send_all(
            client.clone(),
            target.clone(),
            Arc::clone(&stats),
            rx,
        )));
    }
    let (connections, batch_bytes) = (args.connections, args.batch_bytes);
    let gen_cfg = cfg.clone();
    let generated = tokio::task::spawn_blocking(move || {
        generate_batches(gen_cfg, connections, batch_bytes, txs)
    })
    .await;
    let mut generator_error = None;
    let outcome = match generated {
        Ok(Ok(done)) => Some(done),
        Ok(Err(e)) => {
            generator_error = Some(format!("{e:#}"));
            None
        }
        Err(e) => {
            generator_error = Some(format!("generator panicked: {e}"));
            None
        }
    };
    for s in senders {
        if let Err(e) = s.await {
            generator_error = Some(format!("sender panicked: {e}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let first_error = stats.push.first_error().await;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let mut summary = match &outcome {
        Some((gen_, tally, first_ts, last_ts)) => base_summary(
            if args.dry_run { "dry-run" } else { "push" },
            &cfg,
            gen_,
            tally,
            *first_ts,
            *last_ts,
            seconds,
        ),
        None => json!({"mode": "push", "seconds": seconds}),
    };
    let errors = load(&stats.errors_4xx) + load(&stats.push.failed_requests);
    summary["url"] = json!(args.url);
    summary["connections"] = json!(args.connections);
    summary["batch_bytes"] = json!(args.batch_bytes);
    summary["lines_acked"] = json!(load(&stats.lines_acked));
    summary["requests"] = json!(load(&stats.push.requests));
    summary["compressed_bytes_sent"] = json!(load(&stats.compressed_bytes));
    summary["retries"] = json!(load(&stats.push.retries));
    summary["errors"] = json!(errors);
    summary["errors_4xx"] = json!(load(&stats.errors_4xx));
    summary["lines_rejected_4xx"] = json!(load(&stats.lines_rejected_4xx));
    summary["failed_requests"] = json!(load(&stats.push.failed_requests));
    summary["first_error"] = json!(first_error);
    summary["generator_error"] = json!(generator_error);
    println!("{summary}");
    if generator_error.is_some() {
        std::process::exit(2);
    }
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let cfg = config(&args)?;
    match &args.write_raw {
        Some(path) => write_raw(cfg, path),
        None => push(&args, cfg).await,
    }
}

#[cfg(test)]
mod tests;
