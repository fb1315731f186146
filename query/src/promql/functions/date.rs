//! Calendar functions of a Unix time in seconds, in UTC.
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/#day_of_month>.

use chrono::{DateTime, Datelike, Timelike};

/// A calendar function by PromQL name.
pub fn date_fn(name: &str) -> Option<fn(f64) -> Option<f64>> {
    fn at(v: f64) -> Option<DateTime<chrono::Utc>> {
        if !v.is_finite() {
            return None;
        }
        DateTime::from_timestamp(v.floor() as i64, 0)
    }
    Some(match name {
        "day_of_month" => |v| at(v).map(|d| f64::from(d.day())),
        "day_of_week" => |v| at(v).map(|d| f64::from(d.weekday().num_days_from_sunday())),
        "day_of_year" => |v| at(v).map(|d| f64::from(d.ordinal())),
        "days_in_month" => |v| {
            at(v).map(|d| {
                let (y, m) = (d.year(), d.month());
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
                let next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1);
                match (first, next) {
                    (Some(a), Some(b)) => (b - a).num_days() as f64,
                    _ => f64::NAN,
                }
            })
        },
        "hour" => |v| at(v).map(|d| f64::from(d.hour())),
        "minute" => |v| at(v).map(|d| f64::from(d.minute())),
        "month" => |v| at(v).map(|d| f64::from(d.month())),
        "year" => |v| at(v).map(|d| f64::from(d.year())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_february_has_29_days() {
        let f = date_fn("days_in_month").unwrap();
        // 2024-02-10T00:00:00Z
        assert_eq!(f(1_707_523_200.0), Some(29.0));
        assert_eq!(date_fn("day_of_week").unwrap()(0.0), Some(4.0));
    }
}
