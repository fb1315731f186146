//! Element-wise functions of one value, with Go's `math` edge cases where
//! they differ from Rust's (`max`/`min` propagate NaN).
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/>.

/// Go's `math.Max`: +Inf wins, then NaN propagates.
pub fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: -Inf wins, then NaN propagates.
pub fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else {
        b
    }
}

/// A function of one value, by PromQL name.
pub fn unary(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |v: f64| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

/// `round(v, to_nearest)`: halves round up, as Prometheus does.
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_min_max_propagate_nan_but_inf_wins() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::INFINITY, f64::NAN), f64::INFINITY);
        assert_eq!(go_min(f64::NEG_INFINITY, f64::NAN), f64::NEG_INFINITY);
    }

    #[test]
    fn round_half_up() {
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(1.234, 0.1), 1.2);
    }
}
