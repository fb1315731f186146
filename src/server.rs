//! Wiring: build the routers, bind the listener, open storage in the
//! background (so `/-/ready` can say "not yet"), run upkeep, shut down
//! gracefully.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware;
use axum::routing::get;
use hearth_ingest::{IngestMetrics, LokiPushState, RemoteWriteState};
use hearth_query::QueryState;
use hearth_storage::logs::{LogsCell, LogsEngine};
use hearth_storage::metrics::StorageMetrics;
use hearth_storage::object_store::DataStore;
use hearth_storage::wal::FsyncPolicy;
use hearth_storage::{EngineCell, MetricsEngine};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin;
use crate::alerting::{Alerting, ConfigLoader};
use crate::config::Config;
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
    let alerting = Alerting::start(
        &cfg,
        engine.clone(),
        logs.clone(),
        load_config,
        &mut registry,
    )
    .await?;
    let telemetry = Telemetry::new(registry);

    let app = Router::new()
        .merge(admin::routes(admin::Engines {
            metrics: engine.clone(),
            logs: logs.clone(),
        }))
        .merge(hearth_ingest::routes(RemoteWriteState {
            engine: engine.clone(),
            limits: Arc::new(cfg.remote_write),
            metrics: ingest_metrics.clone(),
        }))
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
            query_memory_limit: cfg.query_memory_limit(),
            promql: cfg.promql.clone(),
        }))
        .merge(alerting.routes())
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
    tracing::info!(
        grpc = %cfg.otlp_grpc_addr,
        http = %cfg.otlp_http_addr,
        "OTLP listeners are configured but not served yet (they arrive with OTLP ingest)"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::channel::<anyhow::Error>(1);
    let opener = tokio::spawn(open_storage(
        cfg.clone(),
        engine.clone(),
        logs.clone(),
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

async fn open_storage(
    cfg: Config,
    cell: EngineCell,
    logs_cell: LogsCell,
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
        let (logs, report) = LogsEngine::open(cfg.logs_options(), store, metrics)
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
        anyhow::Ok((engine, logs))
    };
    let (engine, logs) = match opened.await {
        Ok(e) => e,
        Err(e) => {
            let _ = fatal.send(e).await;
            return;
        }
    };
    // Logs first: `/-/ready` follows the metrics cell, so once it says
    // ready both engines are.
    logs_cell.set(Arc::clone(&logs));
    cell.set(Arc::clone(&engine));
    alerting.spawn(stop.clone());
    if let FsyncPolicy::Interval(every) = cfg.wal_fsync {
        let (m, l) = (Arc::clone(&engine), Arc::clone(&logs));
        tokio::spawn(group_commit(
            move || {
                m.sync_wal()?;
                l.sync_wal()
            },
            every,
            stop.clone(),
        ));
    }
    tokio::spawn(logs_upkeep(logs, stop.clone()));
    upkeep(engine, stop).await;
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

async fn upkeep(engine: Arc<MetricsEngine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => engine.maintain().await,
            // A burst or backfill fills the head faster than the tick.
            _ = engine.flush_wanted() => engine.maintain().await,
            _ = stop.changed() => return,
        }
    }
}

async fn logs_upkeep(engine: Arc<LogsEngine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => engine.maintain().await,
            _ = engine.flush_wanted() => engine.maintain().await,
            _ = stop.changed() => return,
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
