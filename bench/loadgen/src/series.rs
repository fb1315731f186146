//! Deterministic node-exporter-like series and their values.
//!
//! Every instance (one scrape target) carries [`SERIES_PER_INSTANCE`] series:
//! 55 counters, 17 gauges and two classic histograms (28 series). Values are
//! produced the way exporters produce them — integer tick counters divided by
//! a power of ten, memory in whole pages, temperatures in tenths — so that the
//! floats have the same shape as real scrapes (and compress like them).

use hearth_ingest::proto::remote_v1::{Label, TimeSeries};
use prost::Message;

/// Series emitted per instance; `--series` is split into instances of this
/// size (the last instance may be cut short).
pub const SERIES_PER_INSTANCE: usize = 100;

/// A small, fast, seedable PRNG (splitmix64-seeded xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// How one group of series evolves.
#[derive(Clone, Debug)]
enum Kind {
    /// A monotonic counter kept as integer ticks; value = ticks / `div`.
    /// Each interval adds `rate_ticks * (0.5..1.5)` ticks.
    Counter {
        ticks: u64,
        rate_ticks: f64,
        div: f64,
    },
    /// A mean-reverting random walk in integer units within `[min, max]`;
    /// value = units * `mul` / `div`.
    Walk {
        units: i64,
        min: i64,
        max: i64,
        center: i64,
        sd: f64,
        mul: f64,
        div: f64,
    },
    /// Never changes (e.g. boot time).
    Constant(f64),
    /// The scrape time in seconds plus a little latency (`node_time_seconds`).
    Clock,
    /// A classic histogram: cumulative `_bucket` counts per bound (+Inf last),
    /// then `_sum` and `_count`. `per_interval` observations on average,
    /// log-normal around `median` seconds.
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        sum: f64,
        count: u64,
        per_interval: f64,
        median: f64,
    },
}

impl Kind {
    /// Advances one interval and appends this group's values to `out`.
    fn step(&mut self, rng: &mut Rng, ts_ms: i64, out: &mut Vec<f64>) {
        match self {
            Kind::Counter {
                ticks,
                rate_ticks,
                div,
            } => {
                if *rate_ticks > 0.0 {
                    *ticks += (*rate_ticks * (0.5 + rng.uniform())).round() as u64;
                }
                out.push(*ticks as f64 / *div);
            }
            Kind::Walk {
                units,
                min,
                max,
                center,
                sd,
                mul,
                div,
            } => {
                let drift = (*center - *units) as f64 * 0.02;
                let delta = (rng.normal() * *sd + drift).round() as i64;
                *units = (*units + delta).clamp(*min, *max);
                out.push(*units as f64 * *mul / *div);
            }
            Kind::Constant(v) => out.push(*v),
            Kind::Clock => out.push(ts_ms as f64 / 1000.0 + rng.uniform() * 0.005),
            Kind::Histogram {
                bounds,
                counts,
                sum,
                count,
                per_interval,
                median,
            } => {
                let n = (*per_interval * (0.5 + rng.uniform())).round() as u64;
                for _ in 0..n {
                    let v = *median * (0.8 * rng.normal()).exp();
                    let idx = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
                    if let Some(c) = counts.get_mut(idx) {
                        *c += 1;
                    }
                    *sum += v;
                }
                *count += n;
                let mut cumulative = 0u64;
                for c in counts.iter() {
                    cumulative += c;
                    out.push(cumulative as f64);
                }
                out.push(*sum);
                out.push(*count as f64);
            }
        }
    }
}

/// A group of series that evolve together (one series, or all the series of a
/// histogram), with each series' labels pre-encoded.
#[derive(Clone, Debug)]
struct Group {
    kind: Kind,
    /// Per series: the encoded `TimeSeries.labels` fields (field 1 entries).
    labels: Vec<Vec<u8>>,
}

/// Encodes a label set (sorted by name, as remote write expects) as the
/// label fields of a `TimeSeries` message.
fn encode_labels(mut pairs: Vec<(&str, String)>) -> Vec<u8> {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    TimeSeries {
        labels: pairs.iter().map(|(n, v)| Label::new(n, v)).collect(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// One scrape target: its series and their state.
#[derive(Clone, Debug)]
pub struct Instance {
    rng: Rng,
    groups: Vec<Group>,
    /// Series actually emitted (the last instance may be cut short).
    limit: usize,
    /// This target's scrape offset within the interval (milliseconds).
    pub offset_ms: i64,
    values: Vec<f64>,
}

const CPU_MODES: [(&str, f64); 8] = [
    ("idle", 0.70),
    ("iowait", 0.02),
    ("irq", 0.002),
    ("nice", 0.005),
    ("softirq", 0.01),
    ("steal", 0.0),
    ("system", 0.08),
    ("user", 0.15),
];

const HANDLERS: [&str; 3] = ["/api/v1/query", "/api/v1/write", "/metrics"];

const BOUNDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn le_label(bound: Option<f64>) -> String {
    match bound {
        Some(b) => format!("{b}"),
        None => "+Inf".to_owned(),
    }
}

impl Instance {
    /// Instance number `index` of a run seeded with `seed`, emitting at most
    /// `limit` series; `interval_secs` scales the per-interval increments.
    pub fn new(seed: u64, index: usize, limit: usize, interval_secs: f64) -> Self {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let host = format!("host-{index:04}:9100");
        let app = format!("host-{index:04}:8080");
        let scale = 0.5 + 1.5 * rng.uniform(); // how busy this host is
        let offset_ms = (rng.uniform() * interval_secs * 1000.0) as i64;
        let mut groups = Vec::with_capacity(SERIES_PER_INSTANCE);
        let node = |name: &str, extra: &[(&'static str, String)]| {
            let mut pairs = vec![
                ("__name__", name.to_owned()),
                ("instance", host.clone()),
                ("job", "node".to_owned()),
            ];
            pairs.extend(extra.iter().cloned());
            vec![encode_labels(pairs)]
        };
        let counter = |rng: &mut Rng, per_sec: f64, div: f64| Kind::Counter {
            // Start somewhere a long-running host would be.
            ticks: (per_sec * div * 86_400.0 * (1.0 + 30.0 * rng.uniform())) as u64,
            rate_ticks: per_sec * div * interval_secs,
            div,
        };

        // 32 counters: node_cpu_seconds_total (centiseconds, like /proc/stat).
        for cpu in 0..4 {
            for (mode, share) in CPU_MODES {
                let jitter = 0.7 + 0.6 * rng.uniform();
                let kind = counter(&mut rng, share * jitter, 100.0);
                let labels = node(
                    "node_cpu_seconds_total",
                    &[("cpu", cpu.to_string()), ("mode", mode.to_owned())],
                );
                groups.push(Group { kind, labels });
            }
        }
        // 8 counters: network bytes and packets.
        for (device, bytes_per_sec) in [("eth0", 60_000.0), ("lo", 4_000.0)] {
            for dir in ["receive", "transmit"] {
                let bps = bytes_per_sec * scale * (0.5 + rng.uniform());
                for (unit, per_sec) in [("bytes", bps), ("packets", bps / 700.0)] {
                    let kind = counter(&mut rng, per_sec, 1.0);
                    let name = format!("node_network_{dir}_{unit}_total");
                    let labels = node(&name, &[("device", device.to_owned())]);
                    groups.push(Group { kind, labels });
                }
            }
        }
        // 6 counters: disk bytes and io time (milliseconds).
        for device in ["nvme0n1", "sda"] {
            for (name, per_sec, div) in [
                ("node_disk_read_bytes_total", 200_000.0 * scale, 1.0),
                ("node_disk_written_bytes_total", 500_000.0 * scale, 1.0),
                ("node_disk_io_time_seconds_total", 0.03 * scale, 1000.0),
            ] {
                let jitter = 0.3 + rng.uniform();
                let kind = counter(&mut rng, per_sec * jitter, div);
                let labels = node(name, &[("device", device.to_owned())]);
                groups.push(Group { kind, labels });
            }
        }
        // 3 counters: kernel activity.
        for (name, per_sec) in [
            ("node_context_switches_total", 3_000.0),
            ("node_intr_total", 2_000.0),
            ("node_forks_total", 4.0),
        ] {
            let kind = counter(&mut rng, per_sec * scale, 1.0);
            groups.push(Group {
                kind,
                labels: node(name, &[]),
            });
        }
        // 6 counters: an application's requests (job "app").
        let app_labels = |name: &str, extra: &[(&'static str, String)]| {
            let mut pairs = vec![
                ("__name__", name.to_owned()),
                ("instance", app.clone()),
                ("job", "app".to_owned()),
            ];
            pairs.extend(extra.iter().cloned());
            encode_labels(pairs)
        };
        for handler in HANDLERS {
            for (code, share) in [("200", 1.0), ("500", 0.002)] {
                let kind = counter(&mut rng, 2.0 * scale * share, 1.0);
                let labels = vec![app_labels(
                    "http_requests_total",
                    &[("code", code.to_owned()), ("handler", handler.to_owned())],
                )];
                groups.push(Group { kind, labels });
            }
        }
        // 17 gauges.
        let walk = |units: i64, min: i64, max: i64, sd: f64, mul: f64, div: f64| Kind::Walk {
            units,
            min,
            max,
            center: units,
            sd,
            mul,
            div,
        };
        let pages = (4_194_304.0 * (1.0 + 3.0 * rng.uniform())) as i64; // 16–64 GiB
        for (name, share, sd) in [
            ("node_memory_MemAvailable_bytes", 0.55, 2_000.0),
            ("node_memory_MemFree_bytes", 0.20, 3_000.0),
            ("node_memory_Cached_bytes", 0.30, 1_000.0),
            ("node_memory_Buffers_bytes", 0.02, 50.0),
        ] {
            let units = (pages as f64 * share) as i64;
            groups.push(Group {
                kind: walk(units, 0, pages, sd, 4096.0, 1.0),
                labels: node(name, &[]),
            });
        }
        for sensor in 1..=4 {
            let tenths = 380 + (rng.uniform() * 150.0) as i64;
            groups.push(Group {
                kind: walk(tenths, 250, 950, 3.0, 1.0, 10.0),
                labels: node(
                    "node_hwmon_temp_celsius",
                    &[
                        ("chip", "platform_coretemp_0".to_owned()),
                        ("sensor", format!("temp{sensor}")),
                    ],
                ),
            });
        }
        for (name, sd) in [
            ("node_load1", 12.0),
            ("node_load5", 5.0),
            ("node_load15", 2.0),
        ] {
            let hundredths = (60.0 * scale) as i64;
            groups.push(Group {
                kind: walk(hundredths, 0, 1600, sd, 1.0, 100.0),
                labels: node(name, &[]),
            });
        }
        for (device, mountpoint, blocks) in [
            ("/dev/nvme0n1p2", "/", 60_000_000i64),
            ("/dev/sda1", "/data", 900_000_000),
        ] {
            let units = (blocks as f64 * (0.2 + 0.6 * rng.uniform())) as i64;
            groups.push(Group {
                kind: walk(units, 0, blocks, 400.0, 4096.0, 1.0),
                labels: node(
                    "node_filesystem_avail_bytes",
                    &[
                        ("device", device.to_owned()),
                        ("fstype", "ext4".to_owned()),
                        ("mountpoint", mountpoint.to_owned()),
                    ],
                ),
            });
        }
        groups.push(Group {
            kind: walk(2, 1, 40, 1.0, 1.0, 1.0),
            labels: node("node_procs_running", &[]),
        });
        groups.push(Group {
            kind: walk(256, 200, 256, 4.0, 1.0, 1.0),
            labels: node("node_entropy_available_bits", &[]),
        });
        let boot = 1_700_000_000.0 + (rng.uniform() * 1e7).floor();
        groups.push(Group {
            kind: Kind::Constant(boot),
            labels: node("node_boot_time_seconds", &[]),
        });
        groups.push(Group {
            kind: Kind::Clock,
            labels: node("node_time_seconds", &[]),
        });
        // 28 series: two classic histograms (12 buckets + _sum + _count).
        for (handler, median) in [("/api/v1/query", 0.04), ("/api/v1/write", 0.008)] {
            let mut labels = Vec::with_capacity(BOUNDS.len() + 3);
            let bounds = BOUNDS.iter().copied().map(Some).chain([None]);
            for bound in bounds {
                labels.push(app_labels(
                    "http_request_duration_seconds_bucket",
                    &[("handler", handler.to_owned()), ("le", le_label(bound))],
                ));
            }
            for suffix in ["sum", "count"] {
                labels.push(app_labels(
                    &format!("http_request_duration_seconds_{suffix}"),
                    &[("handler", handler.to_owned())],
                ));
            }
            groups.push(Group {
                kind: Kind::Histogram {
                    bounds: BOUNDS.to_vec(),
                    counts: vec![0; BOUNDS.len() + 1],
                    sum: 0.0,
                    count: 0,
                    per_interval: 1.5 * scale * interval_secs,
                    median: median * (0.7 + 0.6 * rng.uniform()),
                },
                labels,
            });
        }
        debug_assert_eq!(
            groups.iter().map(|g| g.labels.len()).sum::<usize>(),
            SERIES_PER_INSTANCE
        );
        Self {
            rng,
            groups,
            limit: limit.min(SERIES_PER_INSTANCE),
            offset_ms,
            values: Vec::with_capacity(16),
        }
    }

    /// Advances every series one scrape at `ts_ms` and calls `emit` with each
    /// emitted series' encoded labels and value, in a fixed order.
    pub fn scrape(&mut self, ts_ms: i64, mut emit: impl FnMut(&[u8], f64)) {
        let mut left = self.limit;
        for group in &mut self.groups {
            if left == 0 {
                break;
            }
            self.values.clear();
            group.kind.step(&mut self.rng, ts_ms, &mut self.values);
            for (labels, value) in group.labels.iter().zip(&self.values) {
                if left == 0 {
                    break;
                }
                emit(labels, *value);
                left -= 1;
            }
        }
    }
}
