//! The one ordered sequence of log lines both modes emit: which stream each
//! line belongs to, its timestamp and its bytes.
//!
//! Timestamps follow the bytes, not the line count: line `i` is stamped
//! `start + span * bytes_before_i / total_bytes`, so the data is spread
//! evenly over the window whatever the size target, the sequence can be
//! produced without knowing how many lines there will be, and every stream
//! (a subsequence) is in time order.

use std::io;

use crate::app::{SERVICES, Service};
use crate::nginx::{Clients, Site};
use crate::rng::{Rng, mix};
use crate::syslog::{Host, Role};

/// The three log families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Nginx,
    App,
    Syslog,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Nginx, Family::App, Family::Syslog];

    pub fn name(self) -> &'static str {
        match self {
            Family::Nginx => "nginx",
            Family::App => "app",
            Family::Syslog => "syslog",
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Stop once the lines' lengths (without separators) reach this.
    pub bytes: u64,
    /// The window the timestamps are spread over (ns since the epoch).
    pub start_ns: i64,
    pub end_ns: i64,
    /// A token (`[A-Za-z0-9_]+`) placed in one line out of `needle_every`.
    pub needle: Vec<u8>,
    pub needle_every: u64,
}

/// The line just generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMeta {
    pub stream: usize,
    pub ts_ns: i64,
    pub needle: bool,
}

#[derive(Clone, Debug)]
enum Source {
    Nginx(Site),
    App(Service),
    Syslog(Host),
}

/// One stream: its labels and the state its lines are drawn from.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Prometheus label-set text, as Loki push carries it.
    pub labels: String,
    pub family: Family,
    source: Source,
}

/// Share of lines per family (per mille): access logs dominate, as on most
/// web-facing hosts.
const SHARES: [(Family, u64); 3] = [
    (Family::Nginx, 450),
    (Family::App, 370),
    (Family::Syslog, 180),
];

/// Builds the 40 streams with their relative line weights.
fn streams(first_ns: i64) -> Vec<(Stream, u64)> {
    let mut out: Vec<(Stream, u64)> = Vec::new();
    // nginx: six production frontends/gateways and two staging ones.
    let sites: [(&str, &str, &str, bool, u64); 8] = [
        ("web-01", "prod", "shop-frontend", false, 30),
        ("web-02", "prod", "shop-frontend", false, 24),
        ("web-03", "prod", "shop-frontend", false, 20),
        ("web-04", "prod", "api-gateway", true, 16),
        ("web-05", "prod", "api-gateway", true, 12),
        ("web-06", "prod", "api-gateway", true, 10),
        ("web-07", "staging", "shop-frontend", false, 2),
        ("web-08", "staging", "api-gateway", true, 1),
    ];
    for (i, (host, env, app, gateway, w)) in sites.into_iter().enumerate() {
        let vhost = match (env, gateway) {
            ("prod", false) => "shop.example.com",
            ("prod", true) => "api.shop.example.com",
            (_, false) => "staging.shop.example.com",
            (_, true) => "api.staging.shop.example.com",
        };
        out.push((
            Stream {
                labels: format!(
                    r#"{{job="nginx", app="{app}", host="{host}", env="{env}", container="nginx"}}"#
                ),
                family: Family::Nginx,
                source: Source::Nginx(Site::new(vhost, gateway, i as u64)),
            },
            w,
        ));
    }
    // JSON apps: two pods of each service spread over four nodes.
    let mut n = 0u64;
    for (def, w) in &SERVICES {
        for _ in 0..2 {
            let node = n % 4 + 1;
            let h = mix(n ^ 0x706f_6473);
            let mut pod = format!("{}-{:09x}-", def.name, h & 0xF_FFFF_FFFF);
            const POD_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            for k in 0..5 {
                pod.push(char::from(
                    POD_CHARS[((h >> (40 + k * 4)) % POD_CHARS.len() as u64) as usize],
                ));
            }
            out.push((
                Stream {
                    labels: format!(
                        r#"{{job="app", app="{}", host="k8s-node-{node:02}", env="prod", container="{}", pod="{pod}"}}"#,
                        def.name, def.name
                    ),
                    family: Family::App,
                    source: Source::App(Service::new(def, pod, format!("10.0.1.{}", 20 + node))),
                },
                u64::from(*w),
            ));
            n += 1;
        }
    }
    // syslog: every machine.
    let hosts: [(&str, Role, u64); 14] = [
        ("web-01", Role::Web, 3),
        ("web-02", Role::Web, 3),
        ("web-03", Role::Web, 3),
        ("web-04", Role::Web, 3),
        ("web-05", Role::Web, 3),
        ("web-06", Role::Web, 3),
        ("db-01", Role::Db, 4),
        ("db-02", Role::Db, 3),
        ("cache-01", Role::Cache, 2),
        ("k8s-node-01", Role::K8s, 5),
        ("k8s-node-02", Role::K8s, 5),
        ("k8s-node-03", Role::K8s, 5),
        ("k8s-node-04", Role::K8s, 5),
        ("bastion-01", Role::Bastion, 8),
    ];
    for (i, (host, role, w)) in hosts.into_iter().enumerate() {
        out.push((
            Stream {
                labels: format!(
                    r#"{{job="syslog", app="syslog", host="{host}", env="prod", filename="/var/log/syslog"}}"#
                ),
                family: Family::Syslog,
                source: Source::Syslog(Host::new(host.to_owned(), role, i as u64, first_ns)),
            },
            w,
        ));
    }
    out
}

/// Produces the line sequence for a [`Config`].
pub struct Generator {
    cfg: Config,
    rng: Rng,
    streams: Vec<Stream>,
    /// Running sums of the streams' weights, for a binary-search draw.
    cumulative: Vec<u64>,
    clients: Clients,
    emitted: u64,
    lines: u64,
    needles: u64,
    last_ts: i64,
}

impl Generator {
    pub fn new(cfg: Config) -> Self {
        let built = streams(cfg.start_ns);
        let mut family_total = [0u64; 3];
        for (s, w) in &built {
            family_total[s.family as usize] += w;
        }
        let mut cumulative = Vec::with_capacity(built.len());
        let mut sum = 0u64;
        let mut list = Vec::with_capacity(built.len());
        for (s, w) in built {
            let share = SHARES
                .iter()
                .find(|(f, _)| *f == s.family)
                .map_or(0, |(_, share)| *share);
            // Scale so each family gets its share whatever its stream count.
            sum += share * w * 1_000_000 / family_total[s.family as usize].max(1);
            cumulative.push(sum);
            list.push(s);
        }
        Self {
            rng: Rng::new(cfg.seed),
            clients: Clients::new(cfg.seed),
            cfg,
            streams: list,
            cumulative,
            emitted: 0,
            lines: 0,
            needles: 0,
            last_ts: i64::MIN,
        }
    }

    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    /// Lines generated so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes of lines generated so far (no separators).
    pub fn bytes(&self) -> u64 {
        self.emitted
    }

    /// Needle lines generated so far.
    pub fn needles(&self) -> u64 {
        self.needles
    }

    /// Replaces `out` with the next line; `None` once the size target is
    /// reached.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<LineMeta>> {
        if self.emitted >= self.cfg.bytes {
            return Ok(None);
        }
        out.clear();
        let span = i128::from(self.cfg.end_ns.saturating_sub(self.cfg.start_ns).max(0));
        let offset = span * i128::from(self.emitted) / i128::from(self.cfg.bytes.max(1));
        let ts_ns = (i128::from(self.cfg.start_ns) + offset) as i64;
        // Strictly increasing, so no two lines of a stream share a timestamp
        // (which a receiver could take for a duplicate).
        let ts_ns = ts_ns.max(self.last_ts.saturating_add(1));
        self.last_ts = ts_ns;

        let every = self.cfg.needle_every;
        let needle = every > 0 && self.lines % every == every / 2;
        let total = self.cumulative.last().copied().unwrap_or(0);
        let draw = self.rng.below(total);
        let stream = self
            .cumulative
            .partition_point(|&c| c <= draw)
            .min(self.streams.len().saturating_sub(1));
        let token = needle.then_some(self.cfg.needle.as_slice());
        let seed = self.cfg.seed;
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(None);
        };
        match &mut s.source {
            Source::Nginx(site) => {
                site.write_line(out, &mut self.rng, &self.clients, seed, ts_ns, token)?
            }
            Source::App(service) => service.write_line(out, &mut self.rng, ts_ns, token)?,
            Source::Syslog(host) => host.write_line(out, &mut self.rng, ts_ns, token)?,
        }
        self.lines += 1;
        self.needles += u64::from(needle);
        self.emitted += out.len() as u64;
        Ok(Some(LineMeta {
            stream,
            ts_ns,
            needle,
        }))
    }
}
