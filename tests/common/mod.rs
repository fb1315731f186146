//! Starts the real `hearth` binary on a loopback port with a temp data dir
//! and talks to it over HTTP like a real client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub mod receiver;

use hearth_ingest::proto::{remote_v1, remote_v2};
use prost::Message;

/// How long a started server may take to listen and replay.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Hearth {
    child: Child,
    pub base: String,
    /// `host:port` of the OTLP gRPC receiver.
    pub otlp_grpc: String,
    /// `http://host:port` of the OTLP/HTTP receiver.
    pub otlp_http: String,
    pub data_dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
    client: reqwest::blocking::Client,
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

impl Hearth {
    /// Starts hearth on 127.0.0.1 with an OS-chosen port and waits for `/-/ready`.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--http-addr", "127.0.0.1:0"])
            .args([
                "--otlp-grpc-addr",
                "127.0.0.1:0",
                "--otlp-http-addr",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .env_remove("HEARTH_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hearth");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let (otlp_tx, otlp_rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        let field = |line: &str, key: &str| {
            line.split(key)
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .map(str::to_owned)
        };
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Hearth is listening")
                    && let Some(addr) = field(&line, "addr=")
                {
                    let _ = tx.send(addr);
                }
                if line.contains("OTLP receivers are listening")
                    && let (Some(grpc), Some(http)) = (field(&line, "grpc="), field(&line, "http="))
                {
                    let _ = otlp_tx.send((grpc, http));
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "hearth did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        let (otlp_grpc, otlp_http) = otlp_rx
            .recv_timeout(START_TIMEOUT)
            .expect("hearth logged its OTLP addresses");
        let h = Self {
            child,
            base: format!("http://{addr}"),
            otlp_grpc,
            otlp_http: format!("http://{otlp_http}"),
            data_dir: data_dir.to_path_buf(),
            log,
            client: client(),
        };
        h.wait_ready();
        h
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(r) = self.client.get(self.url("/-/ready")).send()
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "hearth never became ready; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for hearth")
    }

    /// SIGKILL and wait: a crash.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.client.get(self.url(path)).send().expect("GET")
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        let status = r.status();
        let body = r.text().expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::blocking::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .expect("POST")
    }

    pub fn post_form_json(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let r = self.post_form(path, form);
        let status = r.status();
        let body = r.text().expect("body");
        assert_eq!(status, 200, "POST {path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// Runs SQL and returns the rows.
    pub fn sql(&self, query: &str) -> Vec<serde_json::Value> {
        let v = self.post_form_json("/api/v1/sql", &[("query", query)]);
        v["data"]["rows"].as_array().cloned().unwrap_or_default()
    }

    pub fn push_raw(&self, content_type: &str, body: Vec<u8>) -> reqwest::blocking::Response {
        self.client
            .post(self.url("/api/v1/write"))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", content_type)
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .expect("remote write")
    }

    pub fn push_v1(&self, req: &remote_v1::WriteRequest) -> reqwest::blocking::Response {
        self.push_raw("application/x-protobuf", snappy(&req.encode_to_vec()))
    }

    pub fn push_v2(&self, req: &remote_v2::Request) -> reqwest::blocking::Response {
        self.push_raw(
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            snappy(&req.encode_to_vec()),
        )
    }
}

impl Drop for Hearth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Query-string encoding.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

impl Hearth {
    /// A PromQL instant query, now: the result vector.
    pub fn promql_vector(&self, query: &str) -> Vec<serde_json::Value> {
        let v = self.get_json(&format!("/api/v1/query?query={}", urlencode(query)));
        assert_eq!(v["status"], "success", "{v}");
        v["data"]["result"].as_array().unwrap().clone()
    }

    /// The entries a LogQL log query finds in the last hour, oldest first:
    /// (line, labels), the labels holding structured metadata too, as
    /// Loki's query API merges them.
    pub fn recent_logs(&self, query: &str) -> Vec<(String, serde_json::Value)> {
        let end = now_ns() + 60_000_000_000;
        let start = end - 3_600_000_000_000;
        let v = self.get_json(&format!(
            "/loki/api/v1/query_range?query={}&start={start}&end={end}&direction=forward&limit=100",
            urlencode(query)
        ));
        let mut out = Vec::new();
        for s in v["data"]["result"].as_array().unwrap() {
            for e in s["values"].as_array().unwrap() {
                out.push((e[1].as_str().unwrap().to_owned(), s["stream"].clone()));
            }
        }
        out
    }
}

pub fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).expect("snappy")
}

pub fn label(name: &str, value: &str) -> remote_v1::Label {
    remote_v1::Label {
        name: name.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

/// A v1 series with `labels` (in the given order) and `(ts, value)` samples.
pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> remote_v1::TimeSeries {
    remote_v1::TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| remote_v1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

/// Builds a v2 request, interning strings into the symbol table.
pub struct V2Builder {
    pub req: remote_v2::Request,
}

impl V2Builder {
    pub fn new() -> Self {
        Self {
            req: remote_v2::Request {
                symbols: vec![Vec::new()],
                timeseries: Vec::new(),
            },
        }
    }

    pub fn sym(&mut self, s: &str) -> u32 {
        if let Some(i) = self.req.symbols.iter().position(|x| x == s.as_bytes()) {
            return i as u32;
        }
        self.req.symbols.push(s.as_bytes().to_vec());
        (self.req.symbols.len() - 1) as u32
    }

    pub fn series(&mut self, labels: &[(&str, &str)], samples: &[(i64, f64)], help: Option<&str>) {
        let mut refs = Vec::new();
        for (n, v) in labels {
            refs.push(self.sym(n));
            refs.push(self.sym(v));
        }
        let metadata = help.map(|h| remote_v2::Metadata {
            r#type: 2,
            help_ref: self.sym(h),
            unit_ref: 0,
        });
        self.req.timeseries.push(remote_v2::TimeSeries {
            labels_refs: refs,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| remote_v2::Sample {
                    value,
                    timestamp,
                    start_timestamp: 0,
                })
                .collect(),
            metadata,
            ..Default::default()
        });
    }
}

// --- External programs (Prometheus, node-exporter) -----------------------

/// Upper bound for each wait below; the test itself is not timed.
pub const WAIT: Duration = Duration::from_secs(120);

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn external(bin: &str) -> Option<String> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string());
    if found.is_none() {
        assert!(
            std::env::var("HEARTH_REQUIRE_EXTERNAL").is_err(),
            "{bin} is required (HEARTH_REQUIRE_EXTERNAL is set) but not on PATH"
        );
        eprintln!("SKIPPED: {bin} not on PATH (install the Debian package to run this test)");
    }
    found
}

pub fn until<T>(what: &str, log: &std::path::Path, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}; Prometheus' log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Starts Prometheus on 127.0.0.1:`port` with `config`, its TSDB under
/// `dir/prom` and its log in `dir/prometheus.log` (returned).
pub fn start_prometheus(
    bin: &str,
    dir: &Path,
    config: &Path,
    port: u16,
    extra: &[&str],
) -> (Killed, PathBuf) {
    let log = dir.join("prometheus.log");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("prom").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (Killed(child), log)
}
