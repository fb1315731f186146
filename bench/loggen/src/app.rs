//! JSON application logs from a handful of microservices, in the shapes the
//! common structured loggers produce: Go zap and log/slog, Node pino (with
//! pino-http request lines) and Python structlog.
//!
//! Lines come in requests: every request has a trace and span id and a
//! user, logs a few debug/info/warn/error lines under them and ends with a
//! "request completed" line, so ids repeat the way they do in real logs
//! instead of being fresh noise on every line.

use std::io::{self, Write};

use crate::clock::Civil;
use crate::nginx::SEARCHES;
use crate::rng::{Rng, rand_hex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Zap,
    Slog,
    Pino,
    Structlog,
}

/// A service's fixed traits.
#[derive(Debug)]
pub struct ServiceDef {
    pub name: &'static str,
    style: Style,
    version: &'static str,
    /// (method, route, whether the route has an `{id}` segment).
    routes: &'static [(&'static str, &'static str, bool)],
    statements: &'static [&'static str],
    upstreams: &'static [&'static str],
}

/// The services, with their log volume weight.
pub static SERVICES: [(ServiceDef, u32); 9] = [
    (
        ServiceDef {
            name: "checkout",
            style: Style::Zap,
            version: "1.14.2",
            routes: &[
                ("POST", "/api/v1/orders", false),
                ("GET", "/api/v1/orders/{id}", true),
                ("POST", "/api/v1/checkout/session", false),
            ],
            statements: &[
                "INSERT INTO orders (id, user_id, total_cents, currency, status) VALUES ($1, $2, $3, $4, $5)",
                "SELECT id, status, total_cents FROM orders WHERE id = $1",
                "UPDATE orders SET status = $1, updated_at = now() WHERE id = $2",
            ],
            upstreams: &[
                "payments.prod.svc:8080",
                "inventory.prod.svc:8080",
                "cart.prod.svc:3000",
            ],
        },
        10,
    ),
    (
        ServiceDef {
            name: "payments",
            style: Style::Slog,
            version: "2.3.0",
            routes: &[
                ("POST", "/v1/payments", false),
                ("POST", "/v1/payments/{id}/capture", true),
                ("POST", "/v1/refunds", false),
            ],
            statements: &[
                "INSERT INTO payments (id, order_id, amount_cents, provider, status) VALUES ($1, $2, $3, $4, $5)",
                "SELECT id, status FROM payments WHERE order_id = $1 FOR UPDATE",
            ],
            upstreams: &["api.stripe.com:443", "fraud.prod.svc:8080"],
        },
        6,
    ),
    (
        ServiceDef {
            name: "inventory",
            style: Style::Zap,
            version: "0.31.0",
            routes: &[
                ("GET", "/stock/{id}", true),
                ("POST", "/stock/reservations", false),
                ("DELETE", "/stock/reservations/{id}", true),
            ],
            statements: &[
                "SELECT sku, warehouse, quantity FROM stock WHERE sku = ANY($1)",
                "UPDATE stock SET quantity = quantity - $1 WHERE sku = $2 AND warehouse = $3 AND quantity >= $1",
            ],
            upstreams: &[
                "postgres-inventory.prod.svc:5432",
                "warehouse-api.internal:443",
            ],
        },
        8,
    ),
    (
        ServiceDef {
            name: "auth",
            style: Style::Pino,
            version: "4.1.7",
            routes: &[
                ("POST", "/oauth/token", false),
                ("GET", "/userinfo", false),
                ("POST", "/login", false),
            ],
            statements: &[
                "SELECT id, password_hash, mfa_enabled FROM users WHERE email = $1",
                "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)",
            ],
            upstreams: &["redis-sessions.prod.svc:6379", "accounts.google.com:443"],
        },
        12,
    ),
    (
        ServiceDef {
            name: "search",
            style: Style::Structlog,
            version: "0.9.3",
            routes: &[("GET", "/search", false), ("GET", "/suggest", false)],
            statements: &["SELECT id, name, price_cents FROM products WHERE id = ANY(%s)"],
            upstreams: &["opensearch.prod.svc:9200", "catalog.prod.svc:8080"],
        },
        14,
    ),
    (
        ServiceDef {
            name: "notifications",
            style: Style::Pino,
            version: "1.8.0",
            routes: &[("POST", "/send", false), ("GET", "/templates/{id}", true)],
            statements: &[
                "INSERT INTO outbox (id, channel, template, recipient) VALUES ($1, $2, $3, $4)",
            ],
            upstreams: &[
                "email.eu-west-1.amazonaws.com:443",
                "fcm.googleapis.com:443",
            ],
        },
        4,
    ),
    (
        ServiceDef {
            name: "catalog",
            style: Style::Slog,
            version: "3.0.1",
            routes: &[
                ("GET", "/products/{id}", true),
                ("GET", "/products", false),
                ("GET", "/categories/{id}", true),
            ],
            statements: &[
                "SELECT id, name, description, price_cents, category FROM products WHERE id = $1",
                "SELECT id, name, price_cents FROM products WHERE category = $1 ORDER BY rank LIMIT 24 OFFSET $2",
            ],
            upstreams: &[
                "postgres-catalog.prod.svc:5432",
                "redis-cache.prod.svc:6379",
            ],
        },
        16,
    ),
    (
        ServiceDef {
            name: "cart",
            style: Style::Pino,
            version: "2.12.4",
            routes: &[
                ("GET", "/cart/{id}", true),
                ("POST", "/cart/{id}/items", true),
                ("DELETE", "/cart/{id}/items", true),
            ],
            statements: &["HGETALL cart:{id}", "HSET cart:{id} {sku} {qty}"],
            upstreams: &["redis-cart.prod.svc:6379", "catalog.prod.svc:8080"],
        },
        9,
    ),
    (
        ServiceDef {
            name: "shipping",
            style: Style::Structlog,
            version: "1.2.0",
            routes: &[
                ("POST", "/labels", false),
                ("GET", "/rates", false),
                ("GET", "/tracking/{id}", true),
            ],
            statements: &[
                "INSERT INTO shipments (id, order_id, carrier, tracking_number) VALUES (%s, %s, %s, %s)",
            ],
            upstreams: &["api-eu.dhl.com:443", "api.ups.com:443"],
        },
        3,
    ),
];

const ERRORS: [&str; 10] = [
    "context deadline exceeded",
    "dial tcp 10.43.12.7:5432: connect: connection refused",
    "rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: dial tcp 10.43.0.19:8080: i/o timeout\\\"",
    "pq: duplicate key value violates unique constraint \\\"orders_pkey\\\"",
    "card_declined: insufficient_funds",
    "redis: connection pool timeout",
    "unexpected EOF",
    "upstream returned 503 Service Unavailable",
    "json: cannot unmarshal string into Go struct field Item.quantity of type int",
    "TLS handshake timeout",
];
const CALLERS: [&str; 6] = [
    "http/server.go:214",
    "store/postgres.go:88",
    "cache/redis.go:51",
    "service/handler.go:142",
    "client/retry.go:77",
    "http/middleware.go:63",
];
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "ShopApp/3.12.0 (iOS 17.4.1; iPhone15,3) CFNetwork/1494.0.7 Darwin/23.4.0",
    "Go-http-client/1.1",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// The request currently being logged by one pod.
#[derive(Clone, Debug, Default)]
struct Request {
    trace: [u8; 32],
    span: [u8; 16],
    user: Option<u64>,
    route: usize,
    id: u64,
    /// Lines still to log, the last being "request completed".
    left: u32,
}

/// One pod's stream.
#[derive(Clone, Debug)]
pub struct Service {
    def: &'static ServiceDef,
    pod: String,
    /// Where the kubelet's probes come from.
    node_ip: String,
    req: Request,
    pino_req_id: u64,
}

impl Service {
    pub fn new(def: &'static ServiceDef, pod: String, node_ip: String) -> Self {
        Self {
            def,
            pod,
            node_ip,
            req: Request::default(),
            pino_req_id: 0,
        }
    }

    pub fn write_line(
        &mut self,
        out: &mut Vec<u8>,
        rng: &mut Rng,
        ts_ns: i64,
        needle: Option<&[u8]>,
    ) -> io::Result<()> {
        // Probes are logged outside any request.
        if needle.is_none() && rng.chance(60) {
            return self.write_probe(out, rng, ts_ns);
        }
        if self.req.left == 0 {
            self.start_request(rng);
        }
        self.req.left -= 1;
        if let Some(token) = needle {
            self.header(out, ts_ns, Level::Info, "coupon lookup", 3)?;
            self.trace_fields(out)?;
            out.extend_from_slice(b",\"coupon\":\"");
            out.extend_from_slice(token);
            out.extend_from_slice(b"\",\"found\":false}");
            return Ok(());
        }
        if self.req.left == 0 {
            return self.write_completed(out, rng, ts_ns);
        }
        match rng.weighted(&[34, 18, 30, 9, 4]) {
            0 => self.write_db(out, rng, ts_ns),
            1 => self.write_cache(out, rng, ts_ns),
            2 => self.write_event(out, rng, ts_ns),
            3 => self.write_warn(out, rng, ts_ns),
            _ => self.write_error(out, rng, ts_ns),
        }
    }

    fn start_request(&mut self, rng: &mut Rng) {
        let mut hex = Vec::with_capacity(48);
        rand_hex(&mut hex, rng, 48);
        self.req.trace.copy_from_slice(&hex[..32]);
        self.req.span.copy_from_slice(&hex[32..]);
        self.req.user = (!rng.chance(250)).then(|| rng.range(1, 250_000));
        self.req.route = rng.below(self.def.routes.len() as u64) as usize;
        self.req.id = 10_000 + rng.skewed(900_000, 1.5);
        self.req.left = 1 + rng.weighted(&[20, 25, 22, 15, 10, 8]) as u32;
    }

    /// Opens the object with the style's timestamp, level and message keys.
    fn header(
        &self,
        out: &mut Vec<u8>,
        ts_ns: i64,
        level: Level,
        msg: &str,
        caller: usize,
    ) -> io::Result<()> {
        let civil = Civil::from_ns(ts_ns);
        match self.def.style {
            Style::Zap => {
                let lvl = ["debug", "info", "warn", "error"][level as usize];
                write!(
                    out,
                    "{{\"level\":\"{lvl}\",\"ts\":{}.{:06},\"logger\":\"{}\",\"caller\":\"{}\",\"msg\":\"{msg}\",\"version\":\"{}\"",
                    ts_ns.div_euclid(1_000_000_000),
                    civil.nanos / 1_000,
                    self.def.name,
                    CALLERS[caller.min(CALLERS.len() - 1)],
                    self.def.version
                )
            }
            Style::Slog => {
                let lvl = ["DEBUG", "INFO", "WARN", "ERROR"][level as usize];
                out.extend_from_slice(b"{\"time\":\"");
                civil.write_rfc3339(out, 9)?;
                write!(
                    out,
                    "\",\"level\":\"{lvl}\",\"msg\":\"{msg}\",\"service\":\"{}\",\"version\":\"{}\"",
                    self.def.name, self.def.version
                )
            }
            Style::Pino => {
                let lvl = [20, 30, 40, 50][level as usize];
                write!(
                    out,
                    "{{\"level\":{lvl},\"time\":{},\"pid\":1,\"hostname\":\"{}\",\"name\":\"{}\",\"msg\":\"{msg}\"",
                    ts_ns.div_euclid(1_000_000),
                    self.pod,
                    self.def.name
                )
            }
            Style::Structlog => {
                let lvl = ["debug", "info", "warning", "error"][level as usize];
                out.extend_from_slice(b"{\"timestamp\":\"");
                civil.write_rfc3339(out, 6)?;
                write!(
                    out,
                    "\",\"level\":\"{lvl}\",\"logger\":\"{}.api\",\"event\":\"{msg}\"",
                    self.def.name
                )
            }
        }
    }

    fn trace_fields(&self, out: &mut Vec<u8>) -> io::Result<()> {
        out.extend_from_slice(b",\"trace_id\":\"");
        out.extend_from_slice(&self.req.trace);
        out.extend_from_slice(b"\",\"span_id\":\"");
        out.extend_from_slice(&self.req.span);
        out.push(b'"');
        if let Some(user) = self.req.user {
            write!(out, ",\"user_id\":{user}")?;
        }
        Ok(())
    }

    fn write_path(&self, out: &mut Vec<u8>, route: &str, has_id: bool) -> io::Result<()> {
        if has_id {
            let (a, b) = route.split_once("{id}").unwrap_or((route, ""));
            write!(out, "{a}{}{b}", self.req.id)
        } else {
            out.extend_from_slice(route.as_bytes());
            Ok(())
        }
    }

    fn write_probe(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let ms = rng.log_normal(0.4, 0.5);
        let node = self.node_ip.clone();
        self.request_line(
            out,
            ts_ns,
            "GET",
            "/healthz",
            200,
            ms,
            2,
            &node,
            "kube-probe/1.29",
        )
    }

    fn write_completed(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let &(method, route, has_id) = rng_route(self.def, self.req.route);
        let status = match rng.below(1000) {
            0..=929 => match method {
                "POST" if !has_id => 201,
                "DELETE" => 204,
                _ => 200,
            },
            930..=959 => 400,
            960..=974 => 401,
            975..=989 => 404,
            990..=994 => 409,
            _ => 500,
        };
        let ms = rng.log_normal(18.0, 0.9).min(30_000.0);
        let bytes = if status == 204 {
            0
        } else {
            rng.log_normal(900.0, 1.0).min(200_000.0) as u64
        };
        let mut path = Vec::with_capacity(48);
        self.write_path(&mut path, route, has_id)?;
        let path = String::from_utf8_lossy(&path).into_owned();
        let client = format!("10.42.{}.{}", rng.below(4), rng.range(2, 250));
        let agent = *rng.pick(&USER_AGENTS);
        self.request_line(out, ts_ns, method, &path, status, ms, bytes, &client, agent)
    }

    /// The per-request access line each logger writes in its own shape.
    #[allow(clippy::too_many_arguments)]
    fn request_line(
        &mut self,
        out: &mut Vec<u8>,
        ts_ns: i64,
        method: &str,
        path: &str,
        status: u16,
        ms: f64,
        bytes: u64,
        client: &str,
        agent: &str,
    ) -> io::Result<()> {
        let level = if status >= 500 {
            Level::Error
        } else {
            Level::Info
        };
        let probe = path == "/healthz";
        self.header(out, ts_ns, level, "request completed", 5)?;
        match self.def.style {
            Style::Pino => {
                self.pino_req_id += 1;
                write!(
                    out,
                    ",\"req\":{{\"id\":{},\"method\":\"{method}\",\"url\":\"{path}\",\"remoteAddress\":\"::ffff:{client}\",\"userAgent\":\"{agent}\"}},\"res\":{{\"statusCode\":{status}}},\"responseTime\":{}",
                    self.pino_req_id,
                    ms.round() as u64
                )?;
            }
            Style::Structlog => write!(
                out,
                ",\"method\":\"{method}\",\"path\":\"{path}\",\"status_code\":{status},\"duration\":{:.4},\"client\":\"{client}\"",
                ms / 1000.0
            )?,
            Style::Zap | Style::Slog => write!(
                out,
                ",\"http\":{{\"method\":\"{method}\",\"path\":\"{path}\",\"status\":{status},\"duration_ms\":{ms:.3},\"bytes\":{bytes},\"client_ip\":\"{client}\",\"user_agent\":\"{agent}\"}}"
            )?,
        }
        if !probe {
            self.trace_fields(out)?;
        }
        out.push(b'}');
        Ok(())
    }

    fn write_db(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let statement = rng.pick(self.def.statements);
        let ms = rng.log_normal(0.9, 0.8);
        self.header(out, ts_ns, Level::Debug, "query executed", 1)?;
        let system = if statement.starts_with('H') {
            "redis"
        } else {
            "postgresql"
        };
        write!(
            out,
            ",\"db\":{{\"system\":\"{system}\",\"statement\":\"{statement}\",\"rows\":{},\"duration_ms\":{ms:.3}}}",
            rng.skewed(40, 3.0)
        )?;
        self.trace_fields(out)?;
        out.push(b'}');
        Ok(())
    }

    fn write_cache(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let hit = rng.chance(820);
        let msg = if hit { "cache hit" } else { "cache miss" };
        self.header(out, ts_ns, Level::Debug, msg, 2)?;
        write!(
            out,
            ",\"cache\":{{\"key\":\"{}:{}\",\"ttl_s\":{}}}",
            self.def.name,
            self.req.id,
            [60, 300, 3600][self.req.route % 3]
        )?;
        self.trace_fields(out)?;
        out.push(b'}');
        Ok(())
    }

    fn write_event(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let msg = match self.def.name {
            "checkout" => "order created",
            "payments" => "payment authorized",
            "inventory" => "stock reserved",
            "auth" => "user logged in",
            "search" => "search executed",
            "notifications" => "email sent",
            "catalog" => "product viewed",
            "cart" => "item added to cart",
            _ => "label created",
        };
        self.header(out, ts_ns, Level::Info, msg, 3)?;
        self.trace_fields(out)?;
        let id = self.req.id;
        match self.def.name {
            "checkout" => {
                out.extend_from_slice(b",\"order\":{\"id\":\"ord_");
                rand_hex(out, rng, 12);
                write!(
                    out,
                    "\",\"items\":{},\"total_cents\":{},\"currency\":\"EUR\",\"shipping\":\"{}\"}}",
                    1 + rng.skewed(8, 2.0),
                    rng.range(499, 45_000),
                    rng.pick(&["standard", "express", "pickup"])
                )?;
            }
            "payments" => {
                out.extend_from_slice(b",\"payment\":{\"id\":\"pi_");
                rand_hex(out, rng, 24);
                write!(
                    out,
                    "\",\"provider\":\"stripe\",\"amount_cents\":{},\"currency\":\"EUR\",\"method\":\"card\",\"card_brand\":\"{}\",\"three_ds\":{}}}",
                    rng.range(499, 45_000),
                    rng.pick(&["visa", "mastercard", "amex"]),
                    rng.chance(300)
                )?;
            }
            "inventory" => write!(
                out,
                ",\"sku\":\"SKU-{id}-{}\",\"quantity\":{},\"warehouse\":\"{}\",\"remaining\":{}",
                rng.pick(&["S", "M", "L", "XL", "STD"]),
                1 + rng.skewed(4, 3.0),
                rng.pick(&["fra-1", "ams-2", "waw-1"]),
                rng.below(400)
            )?,
            "auth" => write!(
                out,
                ",\"method\":\"{}\",\"mfa\":{},\"session_ttl_s\":86400",
                rng.pick(&["password", "google", "apple", "refresh_token"]),
                rng.chance(350)
            )?,
            "search" => write!(
                out,
                ",\"query\":\"{}\",\"hits\":{},\"took_ms\":{},\"page\":{}",
                rng.pick(&SEARCHES).replace('+', " "),
                rng.below(2_000),
                rng.range(3, 90),
                1 + rng.skewed(5, 3.0)
            )?,
            "notifications" => {
                write!(
                    out,
                    ",\"channel\":\"email\",\"template\":\"{}\",\"provider\":\"ses\",\"message_id\":\"0102018f",
                    rng.pick(&[
                        "order_confirmation",
                        "shipping_update",
                        "password_reset",
                        "welcome"
                    ])
                )?;
                rand_hex(out, rng, 24);
                out.extend_from_slice(b"-000000\"");
            }
            "catalog" => write!(
                out,
                ",\"product_id\":{id},\"category\":\"{}\",\"price_cents\":{},\"in_stock\":{}",
                rng.pick(&["electronics", "books", "toys", "fashion", "home-garden"]),
                rng.range(199, 29_999),
                !rng.chance(80)
            )?,
            "cart" => {
                out.extend_from_slice(b",\"cart_id\":\"c_");
                rand_hex(out, rng, 12);
                write!(
                    out,
                    "\",\"product_id\":{id},\"quantity\":{},\"cart_items\":{}",
                    1 + rng.skewed(3, 3.0),
                    1 + rng.below(9)
                )?;
            }
            _ => write!(
                out,
                ",\"carrier\":\"{}\",\"tracking_number\":\"JJD0003900{:010}\",\"weight_g\":{},\"service_level\":\"{}\"",
                rng.pick(&["dhl", "ups", "dpd"]),
                rng.below(10_000_000_000),
                rng.range(120, 18_000),
                rng.pick(&["standard", "express"])
            )?,
        }
        out.push(b'}');
        Ok(())
    }

    fn write_warn(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        if rng.chance(500) {
            self.header(out, ts_ns, Level::Warn, "slow query", 1)?;
            write!(
                out,
                ",\"duration_ms\":{:.1},\"threshold_ms\":250,\"statement\":\"{}\"",
                250.0 + rng.log_normal(200.0, 0.8),
                rng.pick(self.def.statements)
            )?;
        } else {
            self.header(out, ts_ns, Level::Warn, "retrying upstream call", 4)?;
            write!(
                out,
                ",\"upstream\":\"{}\",\"attempt\":{},\"backoff_ms\":{},\"error\":\"{}\"",
                rng.pick(self.def.upstreams),
                1 + rng.skewed(3, 2.0),
                [100, 200, 400][rng.below(3) as usize],
                ERRORS[rng.skewed(ERRORS.len() as u64, 1.5) as usize]
            )?;
        }
        self.trace_fields(out)?;
        out.push(b'}');
        Ok(())
    }

    fn write_error(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let error = ERRORS[rng.skewed(ERRORS.len() as u64, 1.5) as usize];
        self.header(out, ts_ns, Level::Error, "upstream call failed", 4)?;
        write!(
            out,
            ",\"upstream\":\"{}\",\"error\":\"{error}\"",
            rng.pick(self.def.upstreams)
        )?;
        self.trace_fields(out)?;
        // Some errors carry a stack, escaped into the one JSON line.
        if rng.chance(350) {
            match self.def.style {
                Style::Zap | Style::Slog => write!(
                    out,
                    ",\"stacktrace\":\"goroutine {} [running]:\\nmain.(*Handler).ServeHTTP(0xc000{:06x})\\n\\t/src/{}/handler.go:142 +0x1f4\\nnet/http.serverHandler.ServeHTTP(...)\\n\\t/usr/local/go/src/net/http/server.go:3137 +0x8e\"",
                    rng.range(30, 9000),
                    rng.below(0x100_0000),
                    self.def.name
                )?,
                Style::Pino => write!(
                    out,
                    ",\"err\":{{\"type\":\"Error\",\"message\":\"{error}\",\"stack\":\"Error: {error}\\n    at Client.request (/app/src/client.js:88:13)\\n    at async Router.handle (/app/src/routes/{}.js:{}:5)\"}}",
                    self.def.name,
                    rng.range(20, 200)
                )?,
                Style::Structlog => write!(
                    out,
                    ",\"exception\":\"Traceback (most recent call last):\\n  File \\\"/app/{}/api.py\\\", line {}, in handle\\n    resp = await client.get(url, timeout=2.0)\\nhttpx.ReadTimeout: {error}\"",
                    self.def.name,
                    rng.range(40, 400)
                )?,
            }
        }
        out.push(b'}');
        Ok(())
    }
}

fn rng_route(def: &ServiceDef, route: usize) -> &(&'static str, &'static str, bool) {
    &def.routes[route.min(def.routes.len() - 1)]
}
