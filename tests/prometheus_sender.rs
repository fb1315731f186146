//! A real sender: Prometheus 2.42 scrapes itself and node-exporter and
//! remote-writes to Hearth. Once scraping stops and the queue drains, Hearth
//! must hold exactly the series (names and label sets) of Prometheus' own TSDB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn series_set(v: &Value) -> BTreeSet<String> {
    v["data"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn prometheus_remote_write_matches_its_own_tsdb() {
    let (Some(prometheus), Some(node_exporter)) =
        (external("prometheus"), external("prometheus-node-exporter"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::start(&dir.path().join("hearth"), &[]);

    let node_port = free_port();
    let _node = Killed(
        Command::new(node_exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{node_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom_port = free_port();
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let config = dir.path().join("prometheus.yml");
    let remote_write = format!(
        "remote_write:\n\
         - url: {}/api/v1/write\n\
         \x20 queue_config: {{batch_send_deadline: 1s}}\n\
         \x20 metadata_config: {{send_interval: 1s}}\n",
        hearth.base
    );
    let global = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n";
    let scraping = format!(
        "{global}scrape_configs:\n\
         - job_name: prometheus\n\
         \x20 static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]\n\
         - job_name: node\n\
         \x20 static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n\
         {remote_write}"
    );
    std::fs::write(&config, &scraping).unwrap();
    let (_prom, prom_log) = start_prometheus(
        &prometheus,
        dir.path(),
        &config,
        prom_port,
        &["--web.enable-lifecycle"],
    );
    let c = client();
    let get = |url: String| -> Option<Value> {
        let r = c.get(url).send().ok()?;
        if r.status() != 200 {
            return None;
        }
        r.json().ok()
    };

    // Both targets scraped a few times and written to Hearth.
    until(
        "several scrapes of both targets in Hearth",
        &prom_log,
        || {
            let v = get(format!(
                "{prom_url}/api/v1/query?query=count(count_over_time(up%5B1m%5D)%20%3E%3D%205)"
            ))?;
            (v["data"]["result"][0]["value"][1] == "2").then_some(())
        },
    );
    until("node metrics in Hearth", &prom_log, || {
        let v = hearth.get_json("/api/v1/label/job/values");
        (v["data"] == serde_json::json!(["node", "prometheus"])).then_some(())
    });

    // Stop scraping (targets go stale, which is also written), then wait for
    // the remote-write queue to drain into Hearth.
    let idle = format!("{global}{remote_write}");
    std::fs::write(&config, idle).unwrap();
    let reload = c.post(format!("{prom_url}/-/reload")).send().unwrap();
    assert_eq!(reload.status(), 200);

    let all = "match[]=%7B__name__%3D~%22.%2B%22%7D";
    let (prom, ours) = until("Hearth to hold Prometheus' series", &prom_log, || {
        let prom = series_set(&get(format!("{prom_url}/api/v1/series?{all}"))?);
        let ours = series_set(&hearth.get_json(&format!("/api/v1/series?{all}")));
        (!prom.is_empty() && prom == ours).then_some((prom, ours))
    });
    assert_eq!(prom, ours);
    assert!(prom.len() > 100, "suspiciously few series: {}", prom.len());

    // Metadata travels too.
    until("metadata from Prometheus", &prom_log, || {
        let v = hearth.get_json("/api/v1/metadata?metric=prometheus_http_requests_total");
        (v["data"]["prometheus_http_requests_total"][0]["type"] == "counter").then_some(())
    });

    // And it all survives a restart.
    let restarted_dir = hearth.data_dir.clone();
    assert!(hearth.stop().success());
    let hearth = Hearth::start(&restarted_dir, &[]);
    assert_eq!(
        series_set(&hearth.get_json(&format!("/api/v1/series?{all}"))),
        prom
    );
}
