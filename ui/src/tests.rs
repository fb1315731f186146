use axum::body::to_bytes;
use axum::http::Request;
use tower::ServiceExt;

use super::*;

async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    routes(UiOptions::default())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(res: Response) -> Vec<u8> {
    to_bytes(res.into_body(), 10 << 20).await.unwrap().to_vec()
}

#[tokio::test]
async fn the_page_and_every_file_it_names_are_served() {
    let res = get("/", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = String::from_utf8(body(res).await).unwrap();
    let mut named = 0;
    for part in html.split("\"/ui/").skip(1) {
        let path = &part[..part.find('"').unwrap()];
        let res = get(&format!("/ui/{path}"), &[]).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        named += 1;
    }
    assert!(named >= 4, "{html}");
}

#[tokio::test]
async fn every_module_import_resolves_to_a_compiled_file() {
    let assets = Assets::compiled();
    for path in assets
        .paths()
        .filter(|p| p.ends_with(".js") && !p.starts_with("vendor/"))
    {
        let text = std::str::from_utf8(assets.get(path).unwrap().bytes()).unwrap();
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for spec in text
            .split(['\'', '"'])
            .filter(|s| s.starts_with("./") || s.starts_with("../"))
            .filter(|s| s.ends_with(".js"))
        {
            let mut parts: Vec<&str> = if dir.is_empty() {
                vec![]
            } else {
                dir.split('/').collect()
            };
            for seg in spec.split('/') {
                match seg {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            let target = parts.join("/");
            assert!(
                assets.get(&target).is_some(),
                "{path} imports {spec}: no {target}"
            );
        }
    }
}

#[tokio::test]
async fn text_is_gzipped_when_asked_and_revalidated_by_etag() {
    let plain = get("/ui/app.js", &[]).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let etag = plain.headers()[header::ETAG].to_str().unwrap().to_owned();
    let plain = body(plain).await;

    let gz = get("/ui/app.js", &[("accept-encoding", "br, gzip;q=0.8")]).await;
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    let gz = body(gz).await;
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut inflated).unwrap();
    assert_eq!(inflated, plain);

    for refusal in ["gzip;q=0", "gzip;q=0, *", "br"] {
        let refused = get("/ui/app.js", &[("accept-encoding", refusal)]).await;
        assert!(
            refused.headers().get(header::CONTENT_ENCODING).is_none(),
            "{refusal}"
        );
    }
    assert!(accepts_gzip("br, *"));

    let again = get("/ui/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(body(again).await.is_empty());
    let weak = format!("W/{etag}");
    let again = get("/ui/app.js", &[("if-none-match", &weak)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // The gzip copy has its own validator: the plain one does not match it.
    let gz = get(
        "/ui/app.js",
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(gz.status(), StatusCode::OK);
    assert_ne!(gz.headers()[header::ETAG], etag.as_str());
}

#[tokio::test]
async fn unknown_and_unsafe_paths_are_not_found() {
    for path in [
        "/ui/nope.js",
        "/ui/../Cargo.toml",
        "/ui/.hidden",
        "/ui/lib//dom.js",
    ] {
        assert_eq!(
            get(path, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert!(!assets::is_safe_path("a/../b"));
    assert!(assets::is_safe_path("pages/metrics.js"));
}

/// The issue's budget: the first load under 200 KB compressed. Every file
/// is counted, not only those the first page needs.
#[test]
fn all_assets_together_are_under_200_kb_compressed() {
    let assets = Assets::compiled();
    let total: usize = assets
        .paths()
        .filter(|p| !p.ends_with(".txt"))
        .map(|p| {
            let a = assets.get(p).unwrap();
            a.gzipped().map_or(a.bytes().len(), |g| g.len())
        })
        .sum();
    assert!(total < 200_000, "{total} bytes compressed");
}

#[tokio::test]
async fn prometheus_graph_links_open_the_metrics_page() {
    let res = get("/graph?g0.expr=sum%28up%29+%3E+0&g0.tab=1", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        "/#/metrics?expr=sum%28up%29+%3E+0&tab=table"
    );
}
