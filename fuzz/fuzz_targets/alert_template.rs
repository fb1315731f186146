//! Parses and executes arbitrary alert templates against fixed alert data
//! and a host whose `query` answers two samples. Any template must render
//! or give an error, never panic or run away.
#![no_main]

use std::collections::BTreeMap;

use hearth_alerting::template::{Host, Value, alert_data, parse_alert_template};
use libfuzzer_sys::fuzz_target;

struct FixedHost;

impl Host for FixedHost {
    fn query(&self, query: &str) -> Result<Vec<Value>, String> {
        if query.is_empty() {
            return Err("empty query".into());
        }
        let sample = |instance: &str, v: f64| {
            let labels = BTreeMap::from([
                ("instance".to_string(), Value::String(instance.into())),
                ("job".to_string(), Value::String("node".into())),
            ]);
            Value::Map(BTreeMap::from([
                ("Labels".to_string(), Value::Map(labels)),
                ("Value".to_string(), Value::Float(v)),
            ]))
        };
        Ok(vec![sample("a:9100", 0.25), sample("b:9100", 1.5e9)])
    }

    fn external_url(&self) -> &str {
        "http://hearth.fuzz:9700"
    }

    fn now_ms(&self) -> i64 {
        1_700_000_000_000
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let labels = BTreeMap::from([
        ("alertname".to_string(), "Down".to_string()),
        ("instance".to_string(), "a:9100".to_string()),
    ]);
    let data = alert_data(&labels, &BTreeMap::new(), "http://hearth.fuzz:9700", 0.91);
    if let Ok(template) = parse_alert_template("__alert_Down", text) {
        let _ = template.execute(&data, &FixedHost);
    }
});
