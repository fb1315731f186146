//! `hearth-tracegen`: generates realistic OTLP traces deterministically —
//! a twelve-service shop on Kubernetes, one trace per browser request with
//! gRPC/HTTP client and server spans, SQL through a database proxy, Redis,
//! Kafka, errors and exception events — and exports them to an OTLP/HTTP
//! endpoint (`POST /v1/traces`, protobuf) over several connections, then
//! prints a one-line JSON summary.
//!
//! The same `--seed`, `--spans`, `--hours`, `--end-ms` and
//! `--batch-spans` give byte-identical requests whatever `--connections`
//! is.

mod push;
mod rng;
mod shard;
mod shop;
mod topology;
mod trace;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;
use tokio::sync::mpsc;

use push::{Body, Stats, Target};
use shard::{Plan, Tally};
use topology::Topology;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "hearth-tracegen",
    about = "Deterministic OTLP trace generator and OTLP/HTTP load generator"
)]
struct Args {
    /// OTLP/HTTP traces endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9700/v1/traces")]
    url: String,
    /// Spans to generate in total (the last trace of each shard may go a
    /// few spans over).
    #[arg(long, default_value_t = 1_200_000)]
    spans: u64,
    /// Spans per request (whole traces, so a request may hold a few more).
    /// 8192 is the OpenTelemetry Collector batch processor's default.
    #[arg(long, default_value_t = 8192)]
    batch_spans: usize,
    /// Concurrent connections, each with its own generator thread.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// End of the time window (ms since the epoch); default now.
    #[arg(long)]
    end_ms: Option<i64>,
    /// Hours the traces are spread over, ending at --end-ms.
    #[arg(long, default_value_t = 6.0)]
    hours: f64,
    /// Generate and encode the requests but send nothing: the generator's
    /// own ceiling.
    #[arg(long)]
    dry_run: bool,
    /// Write a sample of the trace ids (hex, one per line, oldest first)
    /// to FILE, for trace-by-id queries.
    #[arg(long, value_name = "FILE")]
    write_ids: Option<PathBuf>,
    /// Sample about one trace in this many for --write-ids.
    #[arg(long, default_value_t = 1000)]
    id_every: u64,
    /// Give up on a request after retrying 429/5xx/transport errors this long.
    #[arg(long, default_value_t = 300)]
    max_retry_secs: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

fn plan(args: &Args) -> Result<Plan> {
    if args.hours.is_nan() || args.hours <= 0.0 {
        bail!("--hours must be positive");
    }
    if args.spans == 0 || args.batch_spans == 0 || args.connections == 0 {
        bail!("--spans, --batch-spans and --connections must be positive");
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
    let end_ns = u64::try_from(end_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .context("--end-ms must be a positive time in milliseconds")?;
    let window_ns = (args.hours * 3_600e9) as u64;
    Ok(Plan {
        seed: args.seed,
        spans: args.spans,
        start_ns: end_ns.saturating_sub(window_ns),
        end_ns,
        batch_spans: args.batch_spans,
        id_every: args.id_every,
    })
}

fn write_ids(path: &Path, tally: &mut Tally) -> Result<()> {
    tally.ids.sort_unstable();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for (_, id) in &tally.ids {
        writeln!(out, "{}", rng::hex(id)).with_context(|| format!("writing {}", path.display()))?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

async fn run(args: Args, plan: Plan) -> Result<i32> {
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
    let topo = Arc::new(Topology::new(plan.seed));
    let mut per_conn: Vec<Vec<shard::Shard>> = (0..args.connections).map(|_| Vec::new()).collect();
    let all = shard::shards(&plan);
    let shard_count = all.len();
    for s in all {
        let conn = (s.index % args.connections as u64) as usize;
        if let Some(list) = per_conn.get_mut(conn) {
            list.push(s);
        }
    }
    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let mut senders = Vec::new();
    let mut generators = Vec::new();
    for shards in per_conn {
        // Two requests queued per connection: enough to keep it busy while
        // the next is built, little enough to bound memory.
        let (tx, rx) = mpsc::channel::<Body>(2);
        senders.push(tokio::spawn(push::send_all(
            client.clone(),
            target.clone(),
            Arc::clone(&stats),
            rx,
        )));
        let (topo, plan) = (Arc::clone(&topo), plan.clone());
        generators.push(tokio::task::spawn_blocking(move || {
            shard::generate(&topo, shards, &plan, |body| {
                tx.blocking_send(Body {
                    data: bytes::Bytes::from(body.data),
                    spans: body.spans,
                })
                .map_err(|_| anyhow::anyhow!("sender stopped"))
            })
        }));
    }
    let mut tally = Tally::default();
    let mut generator_error = None;
    for g in generators {
        match g.await {
            Ok(Ok(t)) => tally.merge(t),
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
    if let Some(path) = &args.write_ids {
        write_ids(path, &mut tally)?;
    }
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let errors =
        load(&stats.errors_4xx) + load(&stats.push.failed_requests) + load(&stats.partial_success);
    let spans_sent = load(&stats.spans_acked);
    let round = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    let summary = json!({
        "mode": if args.dry_run { "dry-run" } else { "push" },
        "url": args.url,
        "seed": plan.seed,
        "spans_requested": plan.spans,
        "spans": tally.spans,
        "spans_sent": spans_sent,
        "traces": tally.traces,
        "error_traces": tally.error_traces,
        "slow_traces_over_500ms": tally.slow_traces,
        "max_spans_per_trace": tally.max_trace_spans,
        "mean_spans_per_trace": round(tally.spans as f64 / tally.traces.max(1) as f64, 2),
        "requests": load(&stats.push.requests),
        "bodies": tally.bodies,
        "protobuf_bytes": tally.protobuf_bytes,
        "protobuf_bytes_sent": load(&stats.bytes_acked),
        "protobuf_bytes_per_span": round(tally.protobuf_bytes as f64 / tally.spans.max(1) as f64, 1),
        "seconds": round(seconds, 3),
        "spans_per_sec": round(spans_sent as f64 / seconds.max(1e-9), 0),
        "retries": load(&stats.push.retries),
        "errors": errors,
        "errors_4xx": load(&stats.errors_4xx),
        "failed_requests": load(&stats.push.failed_requests),
        "partial_success_responses": load(&stats.partial_success),
        "spans_rejected": load(&stats.spans_rejected),
        "first_error": stats.push.first_error().await,
        "generator_error": generator_error,
        "connections": args.connections,
        "batch_spans": plan.batch_spans,
        "shards": shard_count,
        "services": topology::SERVICES,
        "pods": topo.instances.len(),
        "start_ns": plan.start_ns,
        "end_ns": plan.end_ns,
        "first_trace_ns": tally.first_ns,
        "last_span_end_ns": tally.last_ns,
        "ids_written": args.write_ids.as_ref().map(|_| tally.ids.len()),
    });
    println!("{summary}");
    Ok(if generator_error.is_some() {
        2
    } else {
        i32::from(errors > 0)
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let plan = plan(&args)?;
    let code = run(args, plan).await?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
