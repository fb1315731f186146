//! Wiring: build the routers, bind the listener, open storage in the
//! background (so `/-/ready` can say "not yet"), run upkeep, shut down
//! gracefully.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware;
use axum::routing::get;
use hearth_ingest::otlp::OtlpIngest;
use hearth_ingest::{IngestMetrics, LokiPushState, RemoteWriteState};
use hearth_query::QueryState;
use hearth_storage::logs::{LogsCell, LogsEngine};
use hearth_storage::metrics::StorageMetrics;
use hearth_storage::object_store::DataStore;
use hearth_storage::wal::FsyncPolicy;
use hearth_storage::{EngineCell, MetricsEngine, TracesCell, TracesEngine};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin;
use crate::alerting::{Alerting, ConfigLoader};
use crate::config::Config;
use crate::status;
use crate::telemetry::{Telemetry, count_requests, metrics_handler};

/// How often flush, compaction and retention are considered.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Runs the server until SIGINT/SIGTERM.
pub async fn serve(cfg: Config, load_config: ConfigLoader) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let storage_metrics = StorageMetrics::new(&mut registry);
    let ingest_metrics = IngestMetrics::new(&mut registry);
    let engine = EngineCell::new();
    let logs = LogsCell::new();
    let traces = TracesCell::new();
    let alerting = Alerting::start(
        &cfg,
        engine.clone(),
        logs.clone(),
        load_config,
        &mut registry,
    )
    .await?;
    let telemetry = Telemetry::new(registry);
    let otlp = OtlpIngest {
        metrics_engine: engine.clone(),
        logs_engine: logs.clone(),
        traces_engine: traces.clone(),
        span_metrics: (cfg.span_metrics.span_metrics || cfg.span_metrics.service_graph).then(
            || {
                Arc::new(parking_lot::Mutex::new(
                    hearth_ingest::otlp::spanmetrics::SpanMetricsGenerator::new(
                        cfg.span_metrics.clone(),
                    ),
                ))
            },
        ),
        limits: cfg.otlp_limits,
        log_limits: Arc::new(cfg.loki_push),
        logs: Arc::new(cfg.otlp_logs.clone()),
        metrics: Arc::new(cfg.otlp_metrics.clone()),
        counters: ingest_metrics.clone(),
    };

    let app = Router::new()
        .merge(admin::routes(admin::Engines {
            metrics: engine.clone(),
            logs: logs.clone(),
            traces: traces.clone(),
        }))
        .merge(hearth_ingest::routes(RemoteWriteState {
            engine: engine.clone(),
            limits: Arc::new(cfg.remote_write),
            metrics: ingest_metrics.clone(),
        }))
        .merge(hearth_ingest::otlp::routes(otlp.clone()))
        .merge(hearth_ingest::loki_routes(LokiPushState {
            engine: logs.clone(),
            limits: Arc::new(cfg.loki_push),
            max_entry_age_ns: cfg.logs_max_entry_age.map(|d| d.as_nanos() as i64),
            max_entry_future_ns: cfg.logs_max_entry_future.as_nanos() as i64,
            metrics: ingest_metrics,
        }))
        .merge(hearth_query::routes(QueryState {
            engine: engine.clone(),
            logs: logs.clone(),
            traces: traces.clone(),
            query_memory_limit: cfg.query_memory_limit(),
            promql: cfg.promql.clone(),
        }))
        .merge(alerting.routes())
        .merge(status::routes(status::StatusState {
            engines: admin::Engines {
                metrics: engine.clone(),
                logs: logs.clone(),
                traces: traces.clone(),
            },
            config: Arc::new(cfg.clone()),
            started: std::time::SystemTime::now(),
            alerting: Arc::clone(&alerting),
        }))
        .merge(hearth_ui::routes(hearth_ui::UiOptions {
            dev_dir: std::env::var_os("HEARTH_UI_DIR").map(std::path::PathBuf::from),
        }))
        .route(
            "/metrics",
            get(metrics_handler).with_state(telemetry.clone()),
        )
        .layer(middleware::from_fn_with_state(telemetry, count_requests));

    let listener = TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.http_addr))?;
    let bound = listener.local_addr().unwrap_or(cfg.http_addr);
    tracing::info!(addr = %bound, data_dir = %cfg.data_dir.display(), "Hearth is listening");
    let grpc_listener = TcpListener::bind(cfg.otlp_grpc_addr)
        .await
        .with_context(|| format!("cannot listen on {} (OTLP gRPC)", cfg.otlp_grpc_addr))?;
    let otlp_http_listener = TcpListener::bind(cfg.otlp_http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (OTLP/HTTP)", cfg.otlp_http_addr))?;
    tracing::info!(
        grpc = %grpc_listener.local_addr().unwrap_or(cfg.otlp_grpc_addr),
        http = %otlp_http_listener.local_addr().unwrap_or(cfg.otlp_http_addr),
        "OTLP receivers are listening"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let otlp_servers = tokio::spawn(serve_otlp(
        otlp,
        grpc_listener,
        otlp_http_listener,
        stop_rx.clone(),
    ));
    let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::channel::<anyhow::Error>(1);
    let opener = tokio::spawn(open_storage(
        cfg.clone(),
        Cells {
            metrics: engine.clone(),
            logs: logs.clone(),
            traces: traces.clone(),
        },
        storage_metrics,
        stop_rx.clone(),
        fatal_tx,
        Arc::clone(&alerting),
    ));
    tokio::spawn(reload_on_hangup(Arc::clone(&alerting), stop_rx));

    let shutdown = async move {
        tokio::select! {
            () = shutdown_signal() => tracing::info!("shutting down: finishing in-flight requests"),
            Some(e) = fatal_rx.recv() => {
                tracing::error!(error = %format!("{e:#}"), "storage failed to open; shutting down");
            }
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed")?;
    let _ = stop_tx.send(true);
    opener.abort();
    match otlp_servers.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "an OTLP receiver failed"),
        Err(e) => tracing::error!(error = %e, "an OTLP receiver task failed"),
    }

    if let Some(traces) = traces.get() {
        traces
            .close()
            .context("could not sync the traces WAL on shutdown")?;
    }
    if let Some(logs) = logs.get() {
        logs.close()
            .context("could not sync the logs WAL on shutdown")?;
    }
    if let Some(engine) = engine.get() {
        engine
            .close()
            .context("could not sync the WAL on shutdown")?;
        tracing::info!("WAL synced; bye");
        Ok(())
    } else {
        anyhow::bail!("storage never became ready")
    }
}

/// Runs the OTLP gRPC and OTLP/HTTP receivers until `stop`; the main port
/// serves OTLP/HTTP too, from the main router.
async fn serve_otlp(
    otlp: OtlpIngest,
    grpc: TcpListener,
    http: TcpListener,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let http_app = hearth_ingest::otlp::routes(otlp.clone());
    let http_server = axum::serve(http, http_app).with_graceful_shutdown(stopped(stop.clone()));
    let grpc_server = hearth_ingest::otlp::grpc::serve(otlp, grpc, stopped(stop));
    let (h, g) = tokio::join!(http_server, grpc_server);
    h.context("OTLP/HTTP server failed")?;
    g.context("OTLP gRPC server failed")?;
    Ok(())
}

/// Where each engine is published once it has opened.
struct Cells {
    metrics: EngineCell,
    logs: LogsCell,
    traces: TracesCell,
}

async fn open_storage(
    cfg: Config,
    cells: Cells,
    metrics: StorageMetrics,
    stop: watch::Receiver<bool>,
    fatal: tokio::sync::mpsc::Sender<anyhow::Error>,
    alerting: Arc<Alerting>,
) {
    let opened = async {
        let store = DataStore::local(&cfg.data_dir.join("parts"))
            .context("cannot open the data directory")?;
        let started = std::time::Instant::now();
        let (engine, report) =
            MetricsEngine::open(cfg.engine_options(), store.clone(), metrics.clone())
                .await
                .context("cannot open metrics storage")?;
        tracing::info!(
            parts = report.parts,
            wal_records = report.wal_records,
            orphans_removed = report.orphans_removed,
            series = engine.index().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "metrics storage ready"
        );
        let started = std::time::Instant::now();
        let (logs, report) = LogsEngine::open(cfg.logs_options(), store.clone(), metrics.clone())
            .await
            .context("cannot open logs storage")?;
        tracing::info!(
            parts = report.parts,
            wal_records = report.wal_records,
            orphans_removed = report.orphans_removed,
            streams = logs.index().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "logs storage ready"
        );
        let started = std::time::Instant::now();
        let (traces, report) = TracesEngine::open(cfg.traces_options(), store, metrics)
            .await
            .context("cannot open traces storage")?;
        tracing::info!(
            parts = report.parts,
            wal_records = report.wal_records,
            orphans_removed = report.orphans_removed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "traces storage ready"
        );
        anyhow::Ok((engine, logs, traces))
    };
    let (engine, logs, traces) = match opened.await {
        Ok(e) => e,
        Err(e) => {
            let _ = fatal.send(e).await;
            return;
        }
    };
    // Metrics last: `/-/ready` follows the metrics cell, so once it says
    // ready every engine is.
    cells.traces.set(Arc::clone(&traces));
    cells.logs.set(Arc::clone(&logs));
    cells.metrics.set(Arc::clone(&engine));
    alerting.spawn(stop.clone());
    if let FsyncPolicy::Interval(every) = cfg.wal_fsync {
        let (m, l, t) = (Arc::clone(&engine), Arc::clone(&logs), Arc::clone(&traces));
        tokio::spawn(group_commit(
            move || {
                m.sync_wal()?;
                l.sync_wal()?;
                t.sync_wal()
            },
            every,
            stop.clone(),
        ));
    }
    let l = Arc::clone(&logs);
    tokio::spawn(upkeep(
        move || {
            let e = Arc::clone(&l);
            async move { e.maintain().await }
        },
        move || {
            let e = Arc::clone(&logs);
            async move { e.flush_wanted().await }
        },
        stop.clone(),
    ));
    let t = Arc::clone(&traces);
    tokio::spawn(upkeep(
        move || {
            let e = Arc::clone(&t);
            async move { e.maintain().await }
        },
        move || {
            let e = Arc::clone(&traces);
            async move { e.flush_wanted().await }
        },
        stop.clone(),
    ));
    let m = Arc::clone(&engine);
    upkeep(
        move || {
            let e = Arc::clone(&m);
            async move { e.maintain().await }
        },
        move || {
            let e = Arc::clone(&engine);
            async move { e.flush_wanted().await }
        },
        stop,
    )
    .await;
}

async fn group_commit(
    sync: impl Fn() -> hearth_storage::Result<()> + Send + Sync + Clone + 'static,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match tokio::task::spawn_blocking(sync.clone()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "WAL fsync failed"),
            Err(e) => tracing::error!(error = %e, "WAL fsync task failed"),
        }
    }
}

/// Runs an engine's flush, compaction and retention every tick, and at
/// once when the engine asks (a burst or backfill fills a head faster than
/// the tick), until `stop`.
async fn upkeep<M, W>(
    maintain: impl Fn() -> M,
    flush_wanted: impl Fn() -> W,
    mut stop: watch::Receiver<bool>,
) where
    M: std::future::Future<Output = ()>,
    W: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = flush_wanted() => {}
            _ = stop.changed() => return,
        }
        // Shutdown abandons a round mid-way, as a crash would (each flush,
        // merge and drop commits through the manifest, and the WAL is kept
        // until then), rather than holding the exit for a long merge or
        // letting the runtime cancel its file I/O under it.
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            () = maintain() => {}
        }
    }
}

/// SIGHUP reloads the configuration and rule files, as for Prometheus.
async fn reload_on_hangup(alerting: Arc<Alerting>, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = hangups.recv() => {
                    if let Err(e) = alerting.reload().await {
                        tracing::error!(error = %e, "reload failed; the previous rules keep running");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (alerting, stop.changed().await);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
