//! The `Notifier`: the public face tying configuration, the core state,
//! deliveries, persistence and the wall-clock driver together.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::registry::Registry;
use tokio::sync::{Notify, watch};

use super::alert::{Alert, StoredAlert, validate_alert};
use super::config::{Compiled, NotificationsConfig};
use super::dispatch::{Core, Job};
use super::error::NotifyError;
use super::metrics::Metrics;
use super::nflog::NfLog;
use super::receiver::{Kind, Outcome, SendError};
use super::silence::{SilenceError, SilenceRequest, Silences};
use super::state::{self, Persisted, STATE_FILE};
use crate::clock::Clock;

/// How long one delivery request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest the driver sleeps, so gauges stay fresh even when idle.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// Where the notifier keeps its state and how it tells time.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// Directory for `notifications.json`; created if missing.
    pub state_dir: PathBuf,
    /// This server's URL as users reach it, put into payloads.
    pub external_url: String,
    /// Source of "now" for every timing decision.
    pub clock: Arc<dyn Clock>,
}

/// The built-in Alertmanager.
#[derive(Debug)]
pub struct Notifier {
    pub(super) core: Mutex<Core>,
    /// Serialises flushes so a round's results are applied before the next
    /// round is planned.
    flush_lock: tokio::sync::Mutex<()>,
    wake: Notify,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) external_url: String,
    state_path: PathBuf,
    /// The sequence number of the last snapshot written.
    written: Mutex<u64>,
    client: reqwest::Client,
    pub(super) metrics: Metrics,
    pub(super) started_at: i64,
}

impl Notifier {
    /// Validates the configuration, loads persisted silences and the
    /// notification log, and registers metrics.
    pub fn open(
        cfg: NotificationsConfig,
        opts: NotifierOptions,
        registry: &mut Registry,
    ) -> Result<Arc<Self>, NotifyError> {
        let compiled = Compiled::build(&cfg)?;
        std::fs::create_dir_all(&opts.state_dir).map_err(|source| NotifyError::StateIo {
            path: opts.state_dir.clone(),
            source,
        })?;
        let state_path = opts.state_dir.join(STATE_FILE);
        let persisted = state::load(&state_path)?;
        let silences = Silences::from_persisted(persisted.silences).map_err(|reason| {
            NotifyError::StateCorrupt {
                path: state_path.clone(),
                reason,
            }
        })?;
        let nflog = NfLog::from_entries(persisted.nflog);
        let client = reqwest::Client::builder()
            .user_agent(format!("Hearth/{}", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| NotifyError::HttpClient(e.to_string()))?;
        let metrics = Metrics::register(registry);
        let now = opts.clock.now_ms();
        let n = Arc::new(Self {
            core: Mutex::new(Core::new(compiled, silences, nflog)),
            flush_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            clock: opts.clock,
            external_url: opts.external_url,
            state_path,
            written: Mutex::new(0),
            client,
            metrics,
            started_at: now,
        });
        n.refresh_gauges();
        Ok(n)
    }

    /// Applies a new configuration, keeping alerts, silences and the
    /// notification log. On error the old configuration stays in force.
    pub fn reload(&self, cfg: NotificationsConfig) -> Result<(), NotifyError> {
        let compiled = Compiled::build(&cfg)?;
        let now = self.clock.now_ms();
        self.core.lock().reload(compiled, now);
        self.refresh_gauges();
        self.wake.notify_one();
        Ok(())
    }

    /// Accepts alerts as `POST /api/v2/alerts` does; invalid ones are
    /// logged and dropped.
    pub fn receive(&self, alerts: Vec<Alert>) {
        for e in self.ingest(alerts) {
            tracing::warn!(error = %e, "dropping invalid alert");
        }
    }

    /// Stores the valid alerts and returns a message per invalid one.
    pub(super) fn ingest(&self, alerts: Vec<Alert>) -> Vec<String> {
        let now = self.clock.now_ms();
        let mut errors = Vec::new();
        {
            let mut core = self.core.lock();
            for a in alerts {
                match validate_alert(&a) {
                    Ok(()) => core.insert(StoredAlert::from_alert(a, now), now),
                    Err(e) => errors.push(format!(
                        "{}: {e}",
                        super::matcher::render_label_set(&a.labels)
                    )),
                }
            }
        }
        self.refresh_gauges();
        self.wake.notify_one();
        errors
    }

    /// Does everything due at the clock's current time and waits for all
    /// deliveries; returns when something is next due.
    pub async fn flush(&self) -> Option<i64> {
        let _serial = self.flush_lock.lock().await;
        let now = self.clock.now_ms();
        let jobs = {
            let mut core = self.core.lock();
            core.gc(now);
            core.plan(now, &self.external_url, &self.metrics)
        };
        let results = futures::future::join_all(jobs.into_iter().map(|j| self.execute(j))).await;
        {
            let mut core = self.core.lock();
            for (job, result, started, finished) in results {
                match job {
                    Job::Group(g) => core.apply_group(g, &result, started, finished, &self.metrics),
                    Job::Forward(f) => {
                        let name = f.integration.name();
                        self.metrics.notification(name);
                        self.metrics.request(name, result.is_err());
                        if let Err(e) = &result {
                            self.metrics.notification_failed(name, e.reason);
                            tracing::warn!(receiver = %f.integration.receiver, error = %e.message, "forwarding alerts failed");
                        }
                        core.record_attempt(
                            f.integration.key(),
                            result.as_ref().err(),
                            started,
                            finished,
                        );
                        core.forwarder.apply(&f, result.is_ok(), finished);
                    }
                }
            }
        }
        self.persist();
        self.refresh_gauges();
        let now = self.clock.now_ms();
        self.core.lock().next_due(now)
    }

    async fn execute(&self, job: Job) -> (Job, Result<Outcome, SendError>, i64, i64) {
        let started = self.clock.now_ms();
        let result = match &job {
            Job::Group(g) => {
                g.integration
                    .notify(&self.client, &g.payload.notification)
                    .await
            }
            Job::Forward(f) => match &f.integration.kind {
                Kind::Alertmanager(t) => {
                    t.send(&self.client, &f.body).await.map(|()| Outcome::Sent)
                }
                _ => Ok(Outcome::Skipped),
            },
        };
        (job, result, started, self.clock.now_ms())
    }

    /// Drives the notifier on the wall clock until `stop` turns true (or its
    /// sender goes away).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let next = self.flush().await;
            let now = self.clock.now_ms();
            let wait = next.map_or(MAX_IDLE, |t| {
                Duration::from_millis(u64::try_from(t.saturating_sub(now)).unwrap_or(0))
                    .min(MAX_IDLE)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Creates or updates a silence and saves the state.
    pub(super) fn upsert_silence(&self, req: SilenceRequest) -> Result<String, SilenceError> {
        let now = self.clock.now_ms();
        let id = {
            let mut core = self.core.lock();
            let id = core.silences.upsert(req, now)?;
            core.dirty = true;
            id
        };
        self.after_silence_change();
        Ok(id)
    }

    /// Expires a silence and saves the state.
    pub(super) fn expire_silence(&self, id: &str) -> Result<(), SilenceError> {
        let now = self.clock.now_ms();
        let changed = {
            let mut core = self.core.lock();
            let changed = core.silences.expire(id, now)?;
            core.dirty |= changed;
            changed
        };
        if changed {
            self.after_silence_change();
        }
        Ok(())
    }

    fn after_silence_change(&self) {
        self.persist();
        self.refresh_gauges();
        self.wake.notify_one();
    }

    /// Saves silences and the log if they changed. Snapshots are numbered
    /// so a slow writer never overwrites a newer snapshot with an older one.
    fn persist(&self) {
        let (seq, bytes) = {
            let mut core = self.core.lock();
            if !core.dirty {
                return;
            }
            core.dirty = false;
            core.persist_seq += 1;
            let p = Persisted::new(core.silences.to_persisted(), core.nflog.entries());
            (core.persist_seq, serde_json::to_vec(&p))
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode notification state");
                return;
            }
        };
        let mut written = self.written.lock();
        if seq <= *written {
            return;
        }
        match state::save(&self.state_path, &bytes) {
            Ok(()) => *written = seq,
            Err(e) => {
                tracing::error!(error = %e, "cannot save notification state");
                // Try again with the next change or flush.
                self.core.lock().dirty = true;
            }
        }
    }

    fn refresh_gauges(&self) {
        let now = self.clock.now_ms();
        let core = self.core.lock();
        let status = core.mute_status(now);
        let suppressed = status
            .values()
            .filter(|(s, i)| !s.is_empty() || !i.is_empty())
            .count();
        let total = status.len();
        self.metrics.set_alerts(
            i64::try_from(total - suppressed).unwrap_or(i64::MAX),
            i64::try_from(suppressed).unwrap_or(i64::MAX),
        );
        self.metrics.set_silences(core.silences.counts(now));
    }

    /// The HTTP API (Alertmanager v2 subset) as a router with no state left
    /// to supply.
    pub fn routes(self: &Arc<Self>) -> axum::Router {
        super::api::router(Arc::clone(self))
    }
}
