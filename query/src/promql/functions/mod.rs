//! PromQL functions, one file per family; `eval/call.rs` dispatches to them.
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/>.

pub mod date;
pub mod histogram;
pub mod math;
pub mod over_time;
pub mod rate;
pub mod stats;

use super::ast::ValueKind;

/// The kind of value a function returns.
pub fn return_kind(name: &str) -> ValueKind {
    match name {
        "time" | "pi" | "scalar" | "step" | "range" | "start" | "end" | "min_of" | "max_of" => {
            ValueKind::Scalar
        }
        _ => ValueKind::Vector,
    }
}

/// Functions whose result depends on the evaluation time itself, so a query
/// using them cannot be pinned with `@` and moved in time unchanged
/// (Prometheus' `AtModifierUnsafeFunctions`).
pub fn depends_on_eval_time(name: &str) -> bool {
    matches!(
        name,
        "time"
            | "timestamp"
            | "day_of_month"
            | "day_of_week"
            | "day_of_year"
            | "days_in_month"
            | "hour"
            | "minute"
            | "month"
            | "year"
            | "predict_linear"
    )
}
