//! Hearth's alerting: rule files, the evaluation loop, alert state and
//! notifications (Alertmanager webhook, ntfy, forwarding). It arrives with
//! its own issue; this crate holds its place in the workspace layout.
#![deny(missing_docs)]
