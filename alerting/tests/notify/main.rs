//! End-to-end tests of the notifier against real HTTP receivers on
//! 127.0.0.1, driven by a manual clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::clone_on_ref_ptr)]

mod common;

mod api;
mod delivery;
mod lifecycle;
mod suppress;
mod timing;
