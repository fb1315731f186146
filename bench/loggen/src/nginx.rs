//! nginx access logs in the `combined` format, optionally followed by
//! `$request_time $upstream_response_time` as many API gateways log them.
//!
//! Traffic is shaped like a small shop: a few thousand returning clients
//! (each with one address, user agent and HTTP version) account for most
//! requests, pages pull static assets whose hashed names change at each
//! deploy, and health probes, Prometheus scrapes, crawlers and vulnerability
//! scanners fill in the rest.

use std::io::{self, Write};

use crate::clock::Civil;
use crate::rng::{Rng, mix, put_hex};

const BROWSERS: [&str; 12] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "ShopApp/3.12.0 (iOS 17.4.1; iPhone15,3) CFNetwork/1494.0.7 Darwin/23.4.0",
    "okhttp/4.12.0",
];
/// Weights of [`BROWSERS`] when a client is created.
const BROWSER_WEIGHTS: [u32; 12] = [30, 12, 18, 9, 4, 3, 6, 5, 5, 2, 4, 2];
const CRAWLERS: [&str; 4] = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];
const SCANNER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "-",
];
const SCAN_PATHS: [&str; 12] = [
    "/wp-login.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/admin/config.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/luci/;stok=/locale",
    "/boaform/admin/formLogin",
    "/actuator/env",
    "/server-status",
    "/wp-content/plugins/wp-file-manager/readme.txt",
    "/owa/auth/logon.aspx",
];
const CATEGORIES: [&str; 10] = [
    "electronics",
    "home-garden",
    "books",
    "toys",
    "sports",
    "fashion",
    "beauty",
    "automotive",
    "grocery",
    "office",
];
const ADJECTIVES: [&str; 16] = [
    "wireless",
    "organic",
    "compact",
    "vintage",
    "ergonomic",
    "waterproof",
    "portable",
    "classic",
    "smart",
    "stainless",
    "foldable",
    "bamboo",
    "premium",
    "kids",
    "outdoor",
    "ceramic",
];
const NOUNS: [&str; 16] = [
    "headphones",
    "backpack",
    "desk-lamp",
    "coffee-grinder",
    "yoga-mat",
    "water-bottle",
    "keyboard",
    "monitor-stand",
    "sneakers",
    "jacket",
    "blender",
    "phone-case",
    "charger",
    "tent",
    "mug",
    "office-chair",
];
pub const SEARCHES: [&str; 16] = [
    "usb+c+cable",
    "running+shoes",
    "coffee+grinder",
    "lego",
    "desk+lamp",
    "phone+case",
    "hdmi",
    "air+fryer",
    "yoga+mat",
    "backpack",
    "monitor+27+inch",
    "mechanical+keyboard",
    "gift+card",
    "water+bottle",
    "led+strip",
    "winter+jacket",
];
/// Hashed bundle names, their extension and typical size in bytes.
const ASSETS: [(&str, &str, u64); 6] = [
    ("js/app", "js", 184_000),
    ("js/vendor", "js", 412_000),
    ("js/runtime", "js", 3_900),
    ("css/main", "css", 61_000),
    ("fonts/inter-var", "woff2", 98_000),
    ("img/sprite", "svg", 14_500),
];
/// A deploy every three hours renames the bundles.
const DEPLOY_NS: i64 = 3 * 3_600 * 1_000_000_000;

/// One returning client.
#[derive(Clone, Debug)]
struct Client {
    ip: String,
    agent: usize,
    h2: bool,
}

/// The client population shared by every nginx stream (the same visitors
/// hit all frontends behind a load balancer).
#[derive(Clone, Debug)]
pub struct Clients {
    list: Vec<Client>,
}

const CLIENTS: usize = 4000;
/// First octets of busy consumer ISP ranges, so addresses look plausible.
const FIRST_OCTETS: [u8; 24] = [
    24, 31, 37, 46, 62, 73, 77, 81, 82, 84, 86, 88, 89, 91, 93, 95, 98, 109, 151, 176, 178, 185,
    212, 217,
];

impl Clients {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x6E67_696E_7863_6C69);
        let list = (0..CLIENTS)
            .map(|_| {
                let ip = if rng.chance(120) {
                    // Residential IPv6 (a /48 per household, random host part).
                    format!(
                        "2a02:{:x}:{:x}:{:x}::{:x}",
                        rng.range(0x8000, 0x8200),
                        rng.below(0x10000),
                        rng.below(0x10000),
                        rng.range(1, 0x10000)
                    )
                } else {
                    format!(
                        "{}.{}.{}.{}",
                        rng.pick(&FIRST_OCTETS),
                        rng.below(256),
                        rng.below(256),
                        rng.range(1, 255)
                    )
                };
                let agent = rng.weighted(&BROWSER_WEIGHTS);
                Client {
                    ip,
                    agent,
                    h2: agent < 10 && rng.chance(550),
                }
            })
            .collect();
        Self { list }
    }
}

/// One nginx instance's stream.
#[derive(Clone, Debug)]
pub struct Site {
    vhost: &'static str,
    /// An API gateway: no pages or assets, and timings are logged.
    gateway: bool,
    /// The address health checks and Prometheus come from on this host's
    /// network.
    probe_ip: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Page,
    Asset(usize),
    Image,
    ApiRead,
    ApiWrite,
    Health,
    Metrics,
    Robots,
    Scan,
}

impl Site {
    pub fn new(vhost: &'static str, gateway: bool, host_index: u64) -> Self {
        Self {
            vhost,
            gateway,
            probe_ip: format!("10.0.{}.{}", host_index % 4, 2 + host_index % 3),
        }
    }

    pub fn write_line(
        &mut self,
        out: &mut Vec<u8>,
        rng: &mut Rng,
        clients: &Clients,
        seed: u64,
        ts_ns: i64,
        needle: Option<&[u8]>,
    ) -> io::Result<()> {
        let who = if needle.is_some() {
            1000
        } else {
            rng.below(1000)
        };
        let client = &clients.list[rng.skewed(CLIENTS as u64, 2.6) as usize];
        let (ip, agent, kind, h2): (&str, &str, Kind, bool) = match who {
            0..=59 => (
                self.probe_ip.as_str(),
                "kube-probe/1.29",
                Kind::Health,
                false,
            ),
            60..=69 => (
                self.probe_ip.as_str(),
                "Prometheus/2.51.2",
                Kind::Metrics,
                false,
            ),
            70..=109 => {
                let bot = rng.below(CRAWLERS.len() as u64) as usize;
                let kind = if rng.chance(80) {
                    Kind::Robots
                } else {
                    Kind::Page
                };
                (
                    ["66.249.66.1", "40.77.167.8", "54.36.148.2", "66.249.79.34"][bot],
                    CRAWLERS[bot],
                    kind,
                    false,
                )
            }
            110..=129 => (
                [
                    "45.148.10.92",
                    "185.224.128.17",
                    "167.94.138.44",
                    "193.35.18.33",
                ][rng.below(4) as usize],
                *rng.pick(&SCANNER_AGENTS),
                Kind::Scan,
                false,
            ),
            _ => {
                let kind = if needle.is_some() {
                    Kind::ApiRead
                } else if self.gateway {
                    if rng.chance(780) {
                        Kind::ApiRead
                    } else {
                        Kind::ApiWrite
                    }
                } else {
                    match rng.below(100) {
                        0..=19 => Kind::Page,
                        20..=54 => Kind::Asset(rng.weighted(&[30, 30, 20, 25, 8, 10])),
                        55..=69 => Kind::Image,
                        70..=92 => Kind::ApiRead,
                        _ => Kind::ApiWrite,
                    }
                };
                (client.ip.as_str(), BROWSERS[client.agent], kind, client.h2)
            }
        };
        let app_client = agent.starts_with("ShopApp") || agent.starts_with("okhttp");

        out.extend_from_slice(ip.as_bytes());
        out.extend_from_slice(b" - - [");
        Civil::from_ns(ts_ns).write_nginx(out)?;
        out.extend_from_slice(b"] \"");
        let method = self.write_request(out, rng, seed, ts_ns, kind, needle)?;
        out.extend_from_slice(if h2 { b" HTTP/2.0\" " } else { b" HTTP/1.1\" " });

        let (status, bytes) = Self::status_and_size(rng, seed, ts_ns, kind, method);
        write!(out, "{status} {bytes} \"")?;
        match kind {
            Kind::Health | Kind::Metrics | Kind::Robots | Kind::Scan => out.push(b'-'),
            _ if app_client => out.push(b'-'),
            Kind::Page if rng.chance(450) => out.push(b'-'),
            Kind::Page if rng.chance(500) => out.extend_from_slice(b"https://www.google.com/"),
            _ => {
                write!(out, "https://{}", self.vhost)?;
                if rng.chance(600) {
                    write_product_path(out, rng)?;
                } else {
                    out.push(b'/');
                }
            }
        }
        out.extend_from_slice(b"\" \"");
        out.extend_from_slice(agent.as_bytes());
        out.push(b'"');

        if self.gateway {
            let median = match kind {
                Kind::ApiWrite => 0.085,
                Kind::ApiRead => 0.024,
                Kind::Scan => 0.0,
                _ => 0.002,
            };
            let rt = rng.log_normal(median, 0.9).min(30.0);
            match kind {
                Kind::Scan | Kind::Health | Kind::Robots => write!(out, " {rt:.3} -")?,
                _ => write!(out, " {rt:.3} {:.3}", rt * 0.93)?,
            }
        }
        Ok(())
    }

    /// Writes `METHOD path` and returns the method.
    fn write_request(
        &self,
        out: &mut Vec<u8>,
        rng: &mut Rng,
        seed: u64,
        ts_ns: i64,
        kind: Kind,
        needle: Option<&[u8]>,
    ) -> io::Result<&'static str> {
        let method = match kind {
            Kind::ApiWrite => *rng.pick(&["POST", "POST", "POST", "PUT", "DELETE"]),
            Kind::Scan if rng.chance(200) => "POST",
            _ => "GET",
        };
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        let prefix: &[u8] = if self.gateway { b"/v1" } else { b"/api/v1" };
        match kind {
            Kind::Page => match rng.below(10) {
                0..=1 => out.push(b'/'),
                2..=5 => write_product_path(out, rng)?,
                6..=7 => write!(
                    out,
                    "/c/{}?page={}",
                    rng.pick(&CATEGORIES),
                    1 + rng.skewed(20, 3.0)
                )?,
                8 => out.extend_from_slice(b"/cart"),
                _ => out.extend_from_slice(b"/account/orders"),
            },
            Kind::Asset(i) => {
                let (name, ext, _) = ASSETS[i.min(ASSETS.len() - 1)];
                write!(out, "/static/{name}.")?;
                put_hex(out, asset_hash(seed, i, ts_ns), 8);
                write!(out, ".{ext}")?;
            }
            Kind::Image => {
                let id = product_id(rng);
                let size = rng.pick(&["320", "640", "1280"]);
                write!(out, "/images/products/{id}-{size}w.webp")?;
            }
            Kind::ApiRead => {
                out.extend_from_slice(prefix);
                if let Some(token) = needle {
                    out.extend_from_slice(b"/search?q=");
                    out.extend_from_slice(token);
                    out.extend_from_slice(b"&limit=24");
                } else {
                    match rng.below(10) {
                        0..=3 => write!(out, "/products/{}", product_id(rng))?,
                        4..=5 => write!(
                            out,
                            "/products?category={}&page={}&limit=24",
                            rng.pick(&CATEGORIES),
                            1 + rng.skewed(30, 3.0)
                        )?,
                        6 => write!(out, "/search?q={}&limit=24", rng.pick(&SEARCHES))?,
                        7 => out.extend_from_slice(b"/cart"),
                        8 => write!(out, "/recommendations?product={}", product_id(rng))?,
                        _ => write!(out, "/users/{}/orders", rng.range(1, 250_000))?,
                    }
                }
            }
            Kind::ApiWrite => {
                out.extend_from_slice(prefix);
                match method {
                    "PUT" => write!(out, "/cart/items/{}", product_id(rng))?,
                    "DELETE" => write!(out, "/cart/items/{}", product_id(rng))?,
                    _ => out.extend_from_slice(
                        rng.pick(&[
                            "/cart/items",
                            "/orders",
                            "/auth/login",
                            "/events",
                            "/events",
                            "/auth/refresh",
                        ])
                        .as_bytes(),
                    ),
                }
            }
            Kind::Health => out.extend_from_slice(b"/healthz"),
            Kind::Metrics => out.extend_from_slice(b"/metrics"),
            Kind::Robots => out.extend_from_slice(b"/robots.txt"),
            Kind::Scan => out.extend_from_slice(rng.pick(&SCAN_PATHS).as_bytes()),
        }
        Ok(method)
    }

    fn status_and_size(
        rng: &mut Rng,
        seed: u64,
        ts_ns: i64,
        kind: Kind,
        method: &str,
    ) -> (u16, u64) {
        match kind {
            Kind::Health => (200, 2),
            Kind::Metrics => (200, rng.range(14_000, 14_600)),
            Kind::Robots => (200, 67),
            Kind::Scan => {
                if rng.chance(900) {
                    (404, 153)
                } else {
                    (400, 157)
                }
            }
            Kind::Asset(i) => match rng.below(100) {
                0..=57 => {
                    let (_, _, base) = ASSETS[i.min(ASSETS.len() - 1)];
                    (200, base + mix(asset_hash(seed, i, ts_ns)) % (base / 8 + 1))
                }
                58..=98 => (304, 0),
                _ => (404, 153),
            },
            Kind::Image => match rng.below(100) {
                0..=69 => (200, rng.range(9_000, 240_000)),
                70..=97 => (304, 0),
                _ => (404, 153),
            },
            Kind::Page => match rng.below(1000) {
                0..=959 => (200, rng.range(18_000, 64_000)),
                960..=984 => (404, 5_120),
                985..=994 => (301, 169),
                _ => (502, 157),
            },
            Kind::ApiRead | Kind::ApiWrite => {
                let ok = match (kind, method) {
                    (Kind::ApiWrite, "POST") => 201,
                    (Kind::ApiWrite, "DELETE") => 204,
                    _ => 200,
                };
                match rng.below(1000) {
                    0..=939 => {
                        let size = match ok {
                            204 => 0,
                            201 => rng.range(120, 900),
                            _ => rng.log_normal(2_400.0, 1.0).min(400_000.0) as u64,
                        };
                        (ok, size)
                    }
                    940..=959 => (400, rng.range(60, 140)),
                    960..=974 => (401, 54),
                    975..=984 => (404, 48),
                    985..=988 => (429, 71),
                    989..=990 => (499, 0),
                    991..=995 => (500, 62),
                    996..=998 => (502, 157),
                    _ => (504, 167),
                }
            }
        }
    }
}

fn product_id(rng: &mut Rng) -> u64 {
    10_000 + rng.skewed(45_000, 2.2)
}

/// `/p/<adjective>-<noun>-<id>`: the slug is a function of the id, as in a
/// real catalogue.
fn write_product_path(out: &mut Vec<u8>, rng: &mut Rng) -> io::Result<()> {
    let id = product_id(rng);
    let h = mix(id);
    write!(
        out,
        "/p/{}-{}-{id}",
        ADJECTIVES[(h % ADJECTIVES.len() as u64) as usize],
        NOUNS[((h >> 16) % NOUNS.len() as u64) as usize]
    )
}

fn asset_hash(seed: u64, asset: usize, ts_ns: i64) -> u64 {
    mix(seed ^ ((asset as u64) << 56) ^ ts_ns.div_euclid(DEPLOY_NS) as u64)
}
