//! URL and address helpers with Go's semantics: the path of the external
//! URL, expression-browser links, and the host:port handling behind
//! `stripPort`/`stripDomain` (Go's `net.SplitHostPort`). Query escaping
//! itself lives in the template engine, which `urlquery` needs too.

use std::net::IpAddr;

use hearth_template::url::query_escape;

/// Prometheus' `graphLink`/`tableLink`: a path relative to the external URL.
pub(super) fn graph_link(expr: &str, tab: u8) -> String {
    format!("/graph?g0.expr={}&g0.tab={tab}", query_escape(expr))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The decoded path of a URL, as Go's `url.Parse(u).Path` gives it.
pub(super) fn url_path(raw: &str) -> String {
    let raw = raw.split('#').next().unwrap_or("");
    let mut rest = raw;
    if let Some(colon) = rest.find(':') {
        let scheme = &rest[..colon];
        let valid = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            rest = &rest[colon + 1..];
            // An opaque URL such as `mailto:x` has no path.
            if !rest.starts_with('/') {
                return String::new();
            }
        }
    }
    let rest = rest.split('?').next().unwrap_or("");
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => match authority_and_path.find('/') {
            Some(i) => &authority_and_path[i..],
            None => "",
        },
        None => rest,
    };
    percent_decode(path).unwrap_or_else(|| path.to_string())
}

/// Go's `net.SplitHostPort`, reduced to success or failure.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let last_colon = hostport.rfind(':')?;
    let (host, start, end_of_host) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        if close + 1 != last_colon {
            return None;
        }
        (&hostport[1..close], 1, close + 1)
    } else {
        let host = &hostport[..last_colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[start..].contains('[') || hostport[end_of_host..].contains(']') {
        return None;
    }
    Some((host, &hostport[last_colon + 1..]))
}

/// Prometheus' `stripPort`: the host part of `host:port`, or the input unchanged.
pub(super) fn strip_port(hostport: &str) -> String {
    match split_host_port(hostport) {
        Some((host, _)) => host.to_string(),
        None => hostport.to_string(),
    }
}

/// Prometheus' `stripDomain`: keeps the first label of a host name and any
/// port; IP addresses are returned unchanged.
pub(super) fn strip_domain(hostport: &str) -> String {
    let (host, port) = split_host_port(hostport).unwrap_or((hostport, ""));
    if host.parse::<IpAddr>().is_ok() {
        return hostport.to_string();
    }
    let short = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        return short.to_string();
    }
    if short.contains(':') {
        format!("[{short}]:{port}")
    } else {
        format!("{short}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_links_escape_the_expression() {
        assert_eq!(
            graph_link("up == 0", 0),
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"
        );
        assert_eq!(graph_link("up", 1), "/graph?g0.expr=up&g0.tab=1");
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("http://example.com:9090/prom/"), "/prom/");
        assert_eq!(url_path("http://example.com"), "");
        assert_eq!(url_path("https://h/a%20b?x=1#f"), "/a b");
        assert_eq!(url_path("/relative/path"), "/relative/path");
        assert_eq!(url_path("mailto:x@y"), "");
    }

    #[test]
    fn host_port_handling() {
        assert_eq!(strip_port("h1:9100"), "h1");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("h1"), "h1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("a:b:c"), "a:b:c");
        assert_eq!(strip_domain("node1.example.com:9100"), "node1:9100");
        assert_eq!(strip_domain("node1.example.com"), "node1");
        assert_eq!(strip_domain("10.0.0.1:9100"), "10.0.0.1:9100");
        assert_eq!(strip_domain("[::1]:80"), "[::1]:80");
        assert_eq!(strip_domain("::1"), "::1");
    }
}
