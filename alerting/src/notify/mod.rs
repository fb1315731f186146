//! Hearth's built-in mini Alertmanager: routes alerts into aggregation
//! groups, deduplicates against a notification log, honours silences and
//! inhibition rules, and delivers to webhook, ntfy and external
//! Alertmanager receivers. It speaks enough of Alertmanager's v2 HTTP API
//! that Prometheus and `amtool`-style clients can talk to it.

mod alert;
mod api;
mod config;
mod dispatch;
mod error;
mod forward;
mod inhibit;
mod matcher;
mod metrics;
mod nflog;
mod notifier;
mod receiver;
mod route;
mod silence;
mod state;

pub use alert::{Alert, fingerprint};
pub use config::{
    AlertmanagerConfig, Authorization, BasicAuth, HttpConfig, InhibitRuleConfig,
    NotificationsConfig, NtfyConfig, ReceiverConfig, RouteConfig, Secret, WebhookConfig,
};
pub use error::NotifyError;
pub use matcher::{MatchType, Matcher, MatcherError, parse_matchers};
pub use notifier::{Notifier, NotifierOptions};
