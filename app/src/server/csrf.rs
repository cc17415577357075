//! Cross-site request refusal for state-changing requests: the browser's `Origin` (or, failing
//! that, `Referer`) must name the host the request was sent to. Together with `SameSite=Lax`
//! session cookies this stops another site from driving a signed-in admin's browser.

use http::{HeaderMap, Method, header};

/// Whether a request may proceed. Safe methods always may; others need a same-origin browser
/// or no browser at all (no `Origin`, `Referer` or `Sec-Fetch-Site`: a script with a bearer key).
pub fn allows(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let get = |name: &header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if get(&header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return false;
    }
    let Some(host) = get(&header::HOST) else {
        return false;
    };
    let source = get(&header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| get(&header::REFERER));
    match source {
        Some(url) => authority_of(url).is_some_and(|a| a.eq_ignore_ascii_case(host)),
        // An opaque origin ("null") with no referer is a sandboxed frame or a redirect chain.
        None => get(&header::ORIGIN).is_none(),
    }
}

/// `https://portal.example:8443/x` -> `portal.example:8443`
fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty()).then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_posts_pass() {
        let h = headers(&[
            ("host", "127.0.0.1:4000"),
            ("origin", "http://127.0.0.1:4000"),
        ]);
        assert!(allows(&Method::POST, &h));
        let h = headers(&[
            ("host", "portal.x"),
            ("referer", "https://portal.x/keys?a=1"),
        ]);
        assert!(allows(&Method::POST, &h));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let cases = [
            headers(&[("host", "portal.x"), ("origin", "https://evil.example")]),
            headers(&[
                ("host", "portal.x"),
                ("origin", "https://portal.x.evil.example"),
            ]),
            headers(&[
                ("host", "portal.x"),
                ("referer", "https://evil.example/portal.x"),
            ]),
            headers(&[("host", "portal.x"), ("origin", "null")]),
            headers(&[("host", "portal.x"), ("sec-fetch-site", "cross-site")]),
            headers(&[("origin", "https://portal.x")]),
        ];
        for h in cases {
            assert!(!allows(&Method::POST, &h), "{h:?}");
        }
    }

    #[test]
    fn reads_and_non_browser_clients_pass() {
        let h = headers(&[("host", "portal.x"), ("origin", "https://evil.example")]);
        assert!(allows(&Method::GET, &h));
        assert!(allows(&Method::POST, &headers(&[("host", "portal.x")])));
    }
}
