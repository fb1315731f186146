//! Hearth's alerting: rule files, the evaluation loop, alert state and
//! notifications (Alertmanager webhook, ntfy, forwarding).
#![deny(missing_docs)]

pub mod alert;
pub mod api;
pub mod backend;
pub mod check;
pub mod clock;
pub mod duration;
pub mod group;
pub mod manager;
pub mod metrics;
pub mod notify;
pub mod persist;
pub mod recording;
pub mod rulefmt;
pub mod template;
