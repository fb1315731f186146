//! Hearth's embedded web UI: static assets compiled into the binary and the
//! routes that serve them. It arrives with its own issue; this crate holds
//! its place in the workspace layout.
#![deny(missing_docs)]
