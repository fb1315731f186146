//! Wiring of rule evaluation: the rule manager over the metrics store, its
//! routes, reload on `POST /-/reload` and SIGHUP, and the manual clock
//! tests drive through `POST /-/clock`.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hearth_alerting::backend::StoreBackend;
use hearth_alerting::clock::{Clock, ManualClock, SystemClock};
use hearth_alerting::group::EvalContext;
use hearth_alerting::manager::{ManagerOptions, RuleManager};
use hearth_alerting::notify::{Notifier, NotifierOptions};
use hearth_storage::EngineCell;
use hearth_storage::logs::LogsCell;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::config::Config;

/// Re-reads the configuration (file, flags and environment) on reload.
pub type ConfigLoader = Arc<dyn Fn() -> anyhow::Result<Config> + Send + Sync>;

/// Rule evaluation and everything around it.
pub struct Alerting {
    /// The rule manager.
    pub manager: Arc<RuleManager>,
    /// The built-in Alertmanager.
    pub notifier: Arc<Notifier>,
    manual_clock: Option<Arc<ManualClock>>,
    engine: EngineCell,
    load_config: ConfigLoader,
    last_reload: parking_lot::Mutex<ReloadOutcome>,
}

/// How the last configuration load went (start-up counts as one), for
/// `/api/v1/status/runtimeinfo`.
#[derive(Clone, Copy, Debug)]
pub struct ReloadOutcome {
    /// Whether the configuration in force is the one last asked for.
    pub success: bool,
    /// When the configuration in force was loaded.
    pub loaded_at: std::time::SystemTime,
}

impl Alerting {
    /// Builds the manager and loads the configured rule files; a bad rule
    /// file stops start-up, as it does Prometheus'. PromQL rules query
    /// `engine`, LogQL rules `logs`; both write to `engine`.
    pub async fn start(
        cfg: &Config,
        engine: EngineCell,
        logs: LogsCell,
        load_config: ConfigLoader,
        registry: &mut Registry,
    ) -> anyhow::Result<Arc<Self>> {
        let manual_clock = cfg.test_clock.map(|t| Arc::new(ManualClock::new(t)));
        let clock: Arc<dyn Clock> = match &manual_clock {
            Some(c) => Arc::clone(c) as Arc<dyn Clock>,
            None => Arc::new(SystemClock),
        };
        let backend = StoreBackend::new(
            engine.clone(),
            logs,
            cfg.promql.lookback,
            cfg.promql.timeout,
            cfg.promql.max_samples,
        );
        let ctx = EvalContext {
            backend: Arc::new(backend),
            external_labels: cfg.alerting.external_labels.clone(),
            external_url: cfg.alerting.external_url.clone(),
            resend_delay_ms: cfg.alerting.resend_delay.as_millis() as i64,
        };
        let opts = ManagerOptions {
            default_interval: cfg.alerting.evaluation_interval,
            state_file: cfg.data_dir.join("alerting").join("rules-state.json"),
            spread_evaluations: manual_clock.is_none(),
        };
        let notifier = Notifier::open(
            cfg.notifications.clone(),
            NotifierOptions {
                state_dir: cfg.data_dir.join("alerting"),
                external_url: cfg.alerting.external_url.clone(),
                clock: Arc::clone(&clock),
            },
            registry,
        )
        .context("cannot start the notifier")?;
        let manager = RuleManager::new(
            opts,
            ctx,
            clock,
            Arc::clone(&notifier) as Arc<dyn hearth_alerting::manager::AlertSink>,
            hearth_alerting::metrics::RuleMetrics::register(registry),
        )
        .context("cannot read the saved alert state")?;
        let groups = manager
            .load_globs(&cfg.rule_files)
            .await
            .map_err(|e| anyhow::anyhow!("cannot load rule files:\n{e}"))?;
        tracing::info!(groups, "rule groups loaded");
        Ok(Arc::new(Self {
            manager: Arc::new(manager),
            notifier,
            manual_clock,
            engine,
            load_config,
            last_reload: parking_lot::Mutex::new(ReloadOutcome {
                success: true,
                loaded_at: std::time::SystemTime::now(),
            }),
        }))
    }

    /// Re-reads the configuration and rule files. On any error the running
    /// rules stay and the error is returned.
    pub async fn reload(&self) -> Result<usize, String> {
        let outcome = self.try_reload().await;
        let mut last = self.last_reload.lock();
        last.success = outcome.is_ok();
        if outcome.is_ok() {
            last.loaded_at = std::time::SystemTime::now();
        }
        outcome
    }

    /// How the last configuration load went.
    pub fn last_reload(&self) -> ReloadOutcome {
        *self.last_reload.lock()
    }

    async fn try_reload(&self) -> Result<usize, String> {
        let cfg = (self.load_config)().map_err(|e| format!("{e:#}"))?;
        // The configuration was validated as a whole when loaded, so once
        // the rules are in, the notification tree goes in too.
        let groups = self
            .manager
            .load_globs(&cfg.rule_files)
            .await
            .map_err(|e| e.to_string())?;
        self.notifier
            .reload(cfg.notifications)
            .map_err(|e| e.to_string())?;
        tracing::info!(groups, "configuration reloaded");
        Ok(groups)
    }

    /// Starts evaluating on the wall clock (not with a manual clock: there
    /// `POST /-/clock` drives evaluation).
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) {
        if self.manual_clock.is_none() {
            tokio::spawn(Arc::clone(&self.manager).run(stop.clone()));
            tokio::spawn(Arc::clone(&self.notifier).run(stop));
        }
    }

    /// `/api/v1/rules`, `/api/v1/alerts` (and Loki's ruler read paths:
    /// `/prometheus/api/v1/{rules,alerts}`, `/loki/api/v1/rules`),
    /// `/-/reload` and, with a manual clock, `/-/clock`.
    pub fn routes(self: &Arc<Self>) -> Router {
        let mut router = Router::new()
            .route("/-/reload", post(reload).put(reload))
            .with_state(Arc::clone(self))
            .merge(hearth_alerting::api::routes(Arc::clone(&self.manager)))
            .merge(self.notifier.routes());
        if self.manual_clock.is_some() {
            router = router.route("/-/clock", post(set_clock).with_state(Arc::clone(self)));
        }
        router
    }
}

async fn reload(State(alerting): State<Arc<Alerting>>) -> Response {
    match alerting.reload().await {
        Ok(groups) => (StatusCode::OK, format!("reloaded: {groups} rule groups\n")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reload failed; the previous rules keep running");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to reload config: {e}\n"),
            )
                .into_response()
        }
    }
}

/// `POST /-/clock?time=<unix ms>`: moves the manual clock, then runs every
/// evaluation and notification that became due; answers once they are
/// done, so a test's receiver has seen every request by then.
async fn set_clock(State(alerting): State<Arc<Alerting>>, RawQuery(raw): RawQuery) -> Response {
    let Some(clock) = &alerting.manual_clock else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let time = url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "time")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let Some(time) = time else {
        return (
            StatusCode::BAD_REQUEST,
            "time=<unix milliseconds> is required\n",
        )
            .into_response();
    };
    if alerting.engine.get().is_none() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "storage is not ready yet\n",
        )
            .into_response();
    }
    let now = clock.set(time);
    let next_evaluation = alerting.manager.evaluate_due().await;
    let next_notification = alerting.notifier.flush().await;
    axum::Json(serde_json::json!({
        "now": now,
        "nextEvaluation": next_evaluation,
        "nextNotification": next_notification,
    }))
    .into_response()
}
