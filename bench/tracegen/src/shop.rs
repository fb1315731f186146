//! What a visit to the shop does: the frontend's pages and the calls each
//! one makes, modelled on the OpenTelemetry demo's astronomy shop with a
//! login service and a database proxy added. Each trace is one browser
//! request to the frontend.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

use crate::rng::{Rng, finalise};
use crate::topology::{Lib, Svc};
use crate::trace::{Builder, Done, Fail};

const CATALOG: &str = "oteldemo.ProductCatalogService";
const CART: &str = "oteldemo.CartService";
const CURRENCY: &str = "oteldemo.CurrencyService";
const CHECKOUT: &str = "oteldemo.CheckoutService";
const PAYMENT: &str = "oteldemo.PaymentService";
const RECOMMEND: &str = "oteldemo.RecommendationService";

const SELECT_PRODUCTS: &str = "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM products ORDER BY id LIMIT $1";
const SELECT_PRODUCT: &str = "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM products WHERE id = $1";
const SEARCH_PRODUCTS: &str = "SELECT id, name, description, picture, price_currency_code, price_units, price_nanos, categories FROM products WHERE name ILIKE '%' || $1 || '%' OR description ILIKE '%' || $1 || '%' ORDER BY id LIMIT 20";
const SELECT_USER: &str =
    "SELECT id, password_hash, mfa_enabled, locked_until FROM users WHERE lower(email) = lower($1)";
const INSERT_ORDER: &str = "INSERT INTO orders (id, user_id, currency_code, total_units, total_nanos, shipping_tracking_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, now())";
const INSERT_ORDER_ITEMS: &str = "INSERT INTO order_items (order_id, product_id, quantity, price_units, price_nanos) SELECT $1, unnest($2::text[]), unnest($3::int[]), unnest($4::bigint[]), unnest($5::int[])";
const INSERT_LEDGER: &str = "INSERT INTO ledger_entries (order_id, account, amount_units, amount_nanos, currency_code, booked_at) VALUES ($1, $2, $3, $4, $5, now())";

const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "CHF", "JPY", "CAD"];
const SEARCHES: &[&str] = &[
    "telescope",
    "binoculars",
    "eyepiece",
    "tripod",
    "star+chart",
    "solar+filter",
    "red+flashlight",
    "mount",
    "eclipse+glasses",
    "lens+cleaning",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
];
const CARDS: &[&str] = &["visa", "mastercard", "amex"];

#[derive(Clone, Copy, Debug)]
enum Page {
    Home,
    Product,
    Cart,
    AddToCart,
    Search,
    Login,
    Checkout,
}

const PAGES: [Page; 7] = [
    Page::Home,
    Page::Product,
    Page::Cart,
    Page::AddToCart,
    Page::Search,
    Page::Login,
    Page::Checkout,
];
/// Browsing dominates; few visits end in a purchase.
const PAGE_WEIGHTS: [u32; 7] = [25, 30, 10, 12, 10, 5, 8];

/// Who is visiting.
struct Visit {
    user: String,
    currency: &'static str,
}

/// A product id as the demo spells them; popular products come up more.
fn product(rng: &mut Rng) -> String {
    let popular = rng.below(400) + 1;
    let i = rng.below(popular);
    let mut x = finalise(i + 1);
    (0..10)
        .map(|_| {
            let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(x % 36) as usize];
            x /= 36;
            char::from(c)
        })
        .collect()
}

fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        0x8000 | ((b >> 48) & 0x3FFF),
        b & 0xFFFF_FFFF_FFFF
    )
}

/// One browser request to the frontend, with everything it causes.
pub fn request(b: &mut Builder) {
    let page = PAGES
        .get(b.rng.weighted(&PAGE_WEIGHTS))
        .copied()
        .unwrap_or(Page::Home);
    // Returning visitors are skewed towards a core of regulars.
    let regulars = b.rng.below(200_000) + 1;
    let visit = Visit {
        user: format!("u_{:07}", b.rng.below(regulars)),
        currency: b.rng.pick(CURRENCIES).copied().unwrap_or("EUR"),
    };
    let (method, route, target, ok) = match page {
        Page::Home => ("GET", "/", "/".to_owned(), 200),
        Page::Product => {
            let id = product(b.rng);
            ("GET", "/product/{id}", format!("/product/{id}"), 200)
        }
        Page::Cart => ("GET", "/cart", "/cart".to_owned(), 200),
        Page::AddToCart => (
            "POST",
            "/api/cart",
            format!("/api/cart?currencyCode={}", visit.currency),
            200,
        ),
        Page::Search => {
            let q = b.rng.pick(SEARCHES).copied().unwrap_or("telescope");
            let page_no = b.rng.between(1, 3);
            (
                "GET",
                "/api/products",
                format!(
                    "/api/products?q={q}&page={page_no}&currencyCode={}",
                    visit.currency
                ),
                200,
            )
        }
        Page::Login => ("POST", "/api/login", "/api/login".to_owned(), 200),
        Page::Checkout => (
            "POST",
            "/api/checkout",
            format!("/api/checkout?currencyCode={}", visit.currency),
            200,
        ),
    };
    let root = b.open(
        None,
        Svc::Frontend,
        Lib::HttpServer,
        SpanKind::Server,
        format!("{method} {route}"),
        0,
    );
    b.set_str(root, "http.method", method);
    b.set_str(root, "http.route", route);
    b.set_str(root, "http.target", target.as_str());
    b.set_str(root, "http.scheme", "https");
    b.set_str(root, "http.flavor", "1.1");
    b.set_str(root, "net.host.name", "shop.example.com");
    let agent = b.rng.pick(USER_AGENTS).copied().unwrap_or_default();
    b.set_str(root, "http.user_agent", agent);
    let ip = b.rng.next_u64();
    b.set_str(
        root,
        "http.client_ip",
        format!(
            "{}.{}.{}.{}",
            1 + (ip & 0xDF) % 223,
            (ip >> 8) & 0xFF,
            (ip >> 16) & 0xFF,
            1 + (ip >> 24) % 254
        ),
    );
    if b.rng.chance(6000) {
        b.set_str(root, "enduser.id", visit.user.as_str());
    }
    let t = b.rng.latency_ns(0.8, 0.6);
    let mut done = match page {
        Page::Home => home(b, root, &visit, t),
        Page::Product => product_page(b, root, &visit, &target, t),
        Page::Cart => cart_page(b, root, &visit, t),
        Page::AddToCart => add_to_cart(b, root, &visit, t),
        Page::Search => search(b, root, &visit, t),
        Page::Login => login(b, root, t),
        Page::Checkout => checkout(b, root, &visit, t),
    };
    // Server-side rendering; now and then the event loop stalls (a major
    // GC, a slow template), which is most of the frontend's slow tail.
    let mut render = b.rng.latency_ns(3.0, 0.7);
    if b.rng.chance(60) {
        render += b.rng.latency_ns(650.0, 0.35);
    }
    if matches!(page, Page::Product) && done.fail.is_none() && b.rng.chance(40) {
        let fail = Fail {
            http: 500,
            grpc: 2,
            exception: "TypeError",
            message: "Cannot read properties of undefined (reading 'priceUsd')",
        };
        b.raise(root, done.end + render / 2, fail);
        done.fail = Some(fail);
    }
    let status = done.fail.map_or(ok, |f| f.http);
    b.set_int(root, "http.status_code", i64::from(status));
    if let Some(f) = done.fail.filter(|_| status >= 500) {
        b.error(root, f.message);
    }
    b.close(root, done.end + render);
}

fn home(b: &mut Builder, root: usize, v: &Visit, t: u64) -> Done {
    // The page's data is fetched in parallel, then prices are converted.
    let products = list_products(b, root, t);
    let cart = get_cart(b, root, &v.user, t + 20_000);
    let currencies = b.grpc(
        root,
        Svc::Currency,
        CURRENCY,
        "GetSupportedCurrencies",
        t + 40_000,
        |b, _, t| Done::ok(t + b.rng.latency_ns(0.06, 0.5)),
    );
    let mut d = products.join(cart).join(currencies);
    if d.fail.is_some() {
        return d;
    }
    let start = d.end;
    for i in 0..b.rng.between(4, 9) {
        d = d.join(convert(b, root, v.currency, start + i * 15_000));
    }
    let recs = recommend(b, root, start);
    d.wait_for(recs)
}

fn product_page(b: &mut Builder, root: usize, v: &Visit, target: &str, t: u64) -> Done {
    let id = target.rsplit('/').next().unwrap_or_default().to_owned();
    let d = get_product(b, root, &id, t);
    if d.fail.is_some() {
        return d;
    }
    let price = convert(b, root, v.currency, d.end);
    let cart = get_cart(b, root, &v.user, d.end + 10_000);
    let recs = recommend(b, root, d.end + 20_000);
    price.join(cart).wait_for(recs)
}

fn cart_page(b: &mut Builder, root: usize, v: &Visit, t: u64) -> Done {
    let mut d = get_cart(b, root, &v.user, t);
    if d.fail.is_some() {
        return d;
    }
    let start = d.end;
    for i in 0..b.rng.below(7) {
        let id = product(b.rng);
        let p = get_product(b, root, &id, start + i * 12_000);
        d = d.join(p);
        if p.fail.is_none() {
            d = d.join(convert(b, root, v.currency, p.end));
        }
    }
    if d.fail.is_some() {
        return d;
    }
    let quote = shipping_quote(b, root, d.end);
    d.join(quote)
}

fn add_to_cart(b: &mut Builder, root: usize, v: &Visit, t: u64) -> Done {
    let id = product(b.rng);
    let d = get_product(b, root, &id, t);
    if d.fail.is_some() {
        return d;
    }
    let user = v.user.as_str();
    b.grpc(root, Svc::Cart, CART, "AddItem", d.end, |b, s, t| {
        b.set_str(s, "app.user.id", user);
        b.set_str(s, "app.product.id", id.as_str());
        let quantity = b.rng.between(1, 3) as i64;
        b.set_int(s, "app.product.quantity", quantity);
        let d = b.redis(s, "HGET", format!("HGET cart:{user} {id}"), t);
        if d.fail.is_some() {
            return d;
        }
        let d = b.redis(s, "HSET", format!("HSET cart:{user} {id} ?"), d.end);
        if d.fail.is_some() {
            return d;
        }
        b.redis(s, "EXPIRE", format!("EXPIRE cart:{user} 3600"), d.end)
    })
}

fn search(b: &mut Builder, root: usize, v: &Visit, t: u64) -> Done {
    let results = b.rng.below(9);
    let d = b.grpc(
        root,
        Svc::Catalog,
        CATALOG,
        "SearchProducts",
        t,
        |b, s, t| {
            b.set_int(s, "app.products_search.count", results as i64);
            b.sql(s, "SELECT", "products", SEARCH_PRODUCTS, t)
        },
    );
    if d.fail.is_some() {
        return d;
    }
    let mut out = d;
    for i in 0..results {
        out = out.join(convert(b, root, v.currency, d.end + i * 15_000));
    }
    out
}

fn login(b: &mut Builder, root: usize, t: u64) -> Done {
    b.http(
        root,
        Svc::Auth,
        "POST",
        "/v1/login",
        "/v1/login",
        200,
        t,
        |b, s, t| {
            let d = b.sql(s, "SELECT", "users", SELECT_USER, t);
            if d.fail.is_some() {
                return d;
            }
            // bcrypt is meant to be slow; it dominates a login.
            let d = b.internal(s, "bcrypt.checkpw", d.end, 55.0);
            if b.rng.chance(800) {
                return Done {
                    end: d.end,
                    fail: Some(Fail {
                        http: 401,
                        grpc: 16,
                        exception: "InvalidCredentials",
                        message: "invalid email or password",
                    }),
                };
            }
            let session = b.rng.word(crate::rng::HEX, 32);
            b.redis(s, "SET", format!("SET session:{session} ? EX 86400"), d.end)
        },
    )
}

fn checkout(b: &mut Builder, root: usize, v: &Visit, t: u64) -> Done {
    // Three items at most keeps the largest trace within 60 spans.
    let items = b.rng.between(1, 3);
    b.grpc(root, Svc::Checkout, CHECKOUT, "PlaceOrder", t, |b, s, t| {
        place_order(b, s, v, items, t)
    })
}

fn place_order(b: &mut Builder, s: usize, v: &Visit, items: u64, t: u64) -> Done {
    b.set_str(s, "app.user.id", v.user.as_str());
    b.set_str(s, "app.user.currency", v.currency);
    b.set_int(s, "app.order.items.count", items as i64);
    let mut d = get_cart(b, s, &v.user, t);
    for _ in 0..items {
        if d.fail.is_some() {
            return d;
        }
        let id = product(b.rng);
        d = get_product(b, s, &id, d.end);
        if d.fail.is_some() {
            return d;
        }
        d = convert(b, s, v.currency, d.end);
    }
    if d.fail.is_some() {
        return d;
    }
    d = shipping_quote(b, s, d.end);
    if d.fail.is_some() {
        return d;
    }
    d = b.grpc(s, Svc::Payment, PAYMENT, "Charge", d.end, charge);
    if d.fail.is_some() {
        return d;
    }
    d = b.http(
        s,
        Svc::Shipping,
        "POST",
        "/ship-order",
        "/ship-order",
        200,
        d.end,
        |b, srv, t| {
            if b.rng.chance(100) {
                let fail = Fail {
                    http: 503,
                    grpc: 14,
                    exception: "reqwest::Error",
                    message: "carrier API unavailable: connection reset by peer",
                };
                let end = t + b.rng.latency_ns(30.0, 0.4);
                b.raise(srv, end, fail);
                return Done {
                    end,
                    fail: Some(fail),
                };
            }
            b.internal(srv, "create_tracking_id", t, 0.05)
        },
    );
    if d.fail.is_some() {
        return d;
    }
    let order = uuid(b.rng);
    b.set_str(s, "app.order.id", order.as_str());
    d = b.sql(s, "INSERT", "orders", INSERT_ORDER, d.end);
    if d.fail.is_some() {
        return d;
    }
    d = b.sql(s, "INSERT", "order_items", INSERT_ORDER_ITEMS, d.end);
    if d.fail.is_some() {
        return d;
    }
    d = b.grpc(s, Svc::Cart, CART, "EmptyCart", d.end, |b, c, t| {
        b.redis(c, "DEL", "DEL cart:?".to_owned(), t)
    });
    if d.fail.is_some() {
        return d;
    }
    // A failed confirmation mail does not fail the order.
    let mail = b.http(
        s,
        Svc::Email,
        "POST",
        "/send_order_confirmation",
        "/send_order_confirmation",
        200,
        d.end,
        |b, srv, t| {
            let r = b.internal(srv, "render order_confirmation.erb", t, 1.5);
            if b.rng.chance(100) {
                let fail = Fail {
                    http: 500,
                    grpc: 13,
                    exception: "Net::ReadTimeout",
                    message: "Net::ReadTimeout with #<TCPSocket:(closed)>",
                };
                let end = r.end + 5_000_000_000;
                b.raise(srv, end, fail);
                return Done {
                    end,
                    fail: Some(fail),
                };
            }
            let sent = r.end + b.rng.latency_ns(25.0, 0.5);
            Done::ok(sent)
        },
    );
    let published = b.publish(s, Svc::Accounting, "orders", order, mail.end, |b, c, t| {
        b.sql(c, "INSERT", "ledger_entries", INSERT_LEDGER, t)
    });
    Done::ok(published.end)
}

fn charge(b: &mut Builder, s: usize, t: u64) -> Done {
    let card = b.rng.pick(CARDS).copied().unwrap_or("visa");
    b.set_str(s, "app.payment.card_type", card);
    let v = b.internal(s, "validate card", t, 0.4);
    let (ext, end) = b.external(
        s,
        "POST",
        "https://api.stripe.com/v1/payment_intents",
        "api.stripe.com",
        v.end,
    );
    // Declines are the customer's problem: a 402 from the provider and
    // FAILED_PRECONDITION, an error on the client spans only.
    if b.rng.chance(400) {
        let fail = Fail {
            http: 402,
            grpc: 9,
            exception: "CardDeclinedError",
            message: "Your card was declined.",
        };
        b.set_int(ext, "http.status_code", 402);
        b.error(ext, fail.message);
        return Done {
            end,
            fail: Some(fail),
        };
    }
    if b.rng.chance(50) {
        let fail = Fail {
            http: 502,
            grpc: 14,
            exception: "StripeAPIError",
            message: "An error occurred with our connection to Stripe.",
        };
        b.set_int(ext, "http.status_code", 502);
        b.error(ext, fail.message);
        b.raise(s, end, fail);
        return Done {
            end,
            fail: Some(fail),
        };
    }
    b.set_int(ext, "http.status_code", 200);
    let id = uuid(b.rng);
    b.set_str(s, "app.payment.transaction.id", id);
    Done::ok(end)
}

fn shipping_quote(b: &mut Builder, parent: usize, t: u64) -> Done {
    b.http(
        parent,
        Svc::Shipping,
        "POST",
        "/get-quote",
        "/get-quote",
        200,
        t,
        |b, srv, t| b.internal(srv, "calculate_quote", t, 0.3),
    )
}

fn list_products(b: &mut Builder, parent: usize, t: u64) -> Done {
    b.grpc(
        parent,
        Svc::Catalog,
        CATALOG,
        "ListProducts",
        t,
        |b, s, t| {
            let count = b.rng.between(10, 32) as i64;
            b.set_int(s, "app.products.count", count);
            b.sql(s, "SELECT", "products", SELECT_PRODUCTS, t)
        },
    )
}

fn get_product(b: &mut Builder, parent: usize, id: &str, t: u64) -> Done {
    b.grpc(parent, Svc::Catalog, CATALOG, "GetProduct", t, |b, s, t| {
        b.set_str(s, "app.product.id", id);
        b.sql(s, "SELECT", "products", SELECT_PRODUCT, t)
    })
}

fn get_cart(b: &mut Builder, parent: usize, user: &str, t: u64) -> Done {
    b.grpc(parent, Svc::Cart, CART, "GetCart", t, |b, s, t| {
        b.set_str(s, "app.user.id", user);
        b.redis(s, "HGETALL", format!("HGETALL cart:{user}"), t)
    })
}

fn convert(b: &mut Builder, parent: usize, to: &str, t: u64) -> Done {
    b.grpc(parent, Svc::Currency, CURRENCY, "Convert", t, |b, s, t| {
        b.set_str(s, "app.currency.conversion.to", to);
        let end = t + b.rng.latency_ns(0.05, 0.5);
        if b.rng.chance(8) {
            let fail = Fail {
                http: 500,
                grpc: 13,
                exception: "std::out_of_range",
                message: "map::at: unknown currency rate",
            };
            b.raise(s, end, fail);
            return Done {
                end,
                fail: Some(fail),
            };
        }
        Done::ok(end)
    })
}

fn recommend(b: &mut Builder, parent: usize, t: u64) -> Done {
    b.grpc(
        parent,
        Svc::Recommendation,
        RECOMMEND,
        "ListRecommendations",
        t,
        |b, s, t| {
            if b.rng.chance(200) {
                // The frontend's 250 ms deadline ran out; the page renders
                // without recommendations.
                let fail = Fail {
                    http: 200,
                    grpc: 4,
                    exception: "grpc.RpcError",
                    message: "Deadline Exceeded",
                };
                let end = t + 250_000_000;
                b.raise(s, end, fail);
                return Done {
                    end,
                    fail: Some(fail),
                };
            }
            let d = list_products(b, s, t);
            let picked = b.internal(s, "get_product_list", d.end, 0.2);
            Done {
                end: picked.end,
                fail: d.fail,
            }
        },
    )
}
