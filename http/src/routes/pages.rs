//! The browser pages: the customer chat at `GET /` and the ops page at
//! `GET /ops`. Each is one self-contained HTML file (inline CSS and script, no
//! build step) compiled into the binary; the page itself needs no token, the
//! data it fetches does.

use crate::AppState;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use warp::reply::Response;
use warp::Filter;

/// The chat page.
const CHAT_HTML: &str = include_str!("../../static/chat.html");

/// The ops page: live actor tree, members, models, invariants (admin token).
const OPS_HTML: &str = include_str!("../../static/ops.html");

/// Only what the page itself needs: its inline script and style, and fetches
/// to this origin. No frames, plugins, forms posting elsewhere or base tags.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Page routes.
pub fn pages(_state: AppState) -> BoxedFilter<(Response,)> {
    let chat = warp::path::end().and(warp::get()).map(|| html(CHAT_HTML));
    let ops = warp::path!("ops").and(warp::get()).map(|| html(OPS_HTML));
    chat.or(ops).unify().boxed()
}

/// `body` as an HTML page with the page security headers.
fn html(body: &'static str) -> Response {
    let mut resp = Response::new(body.into());
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_page_has_the_elements_tests_and_users_rely_on() {
        for needle in ["id=\"chat-input\"", "id=\"chat-send\"", "btn-pay", "btn-cancel", "quick-reply", "/v1/chat"] {
            assert!(CHAT_HTML.contains(needle), "chat.html lacks {needle}");
        }
        // Data goes in through textContent only.
        assert!(!CHAT_HTML.contains("innerHTML"), "chat.html must not use innerHTML");
    }

    #[test]
    fn ops_page_has_the_elements_tests_and_users_rely_on() {
        for needle in [
            "id=\"actor-tree\"",
            "id=\"filter-kind\"",
            "id=\"filter-state\"",
            "id=\"filter-node\"",
            "id=\"filter-text\"",
            "id=\"models\"",
            "id=\"members\"",
            "id=\"invariants\"",
            "id=\"last-updated\"",
            "/ops/actors",
            "/ops/models",
            "/ops/invariants",
        ] {
            assert!(OPS_HTML.contains(needle), "ops.html lacks {needle}");
        }
        assert!(!OPS_HTML.contains("innerHTML"), "ops.html must not use innerHTML");
        // Its own storage key: an admin token never lands where the chat page looks.
        assert!(OPS_HTML.contains("'autoglm.ops.token'"));
    }

    #[test]
    fn page_headers() {
        let resp = html(CHAT_HTML);
        assert_eq!(resp.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(resp.headers()[CACHE_CONTROL], "no-cache");
        let csp = resp.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap_or_default();
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    }
}
