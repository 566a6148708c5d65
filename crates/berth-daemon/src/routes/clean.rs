//! Non-clean request paths, answered as moby's router does. moby routes with gorilla/mux,
//! whose `Router.ServeHTTP` (SkipClean unset, as moby leaves it) first cleans the request's
//! decoded path (`req.URL.Path`) with `cleanPath` — Go's `path.Clean`, with a trailing
//! slash put back — and, when that differs from the path, answers `301 Moved Permanently`
//! with `Location:` the cleaned path (its query kept, escaped as `url.URL.String` does)
//! and no body, before any route or middleware: for every method and every path, the
//! `/v1.NN` prefix included, and with none of the API's headers (moby's version middleware
//! wraps the routes' handlers, which never run). `//`, `/./` and `/../` all redirect;
//! `/containers/json/` (only a trailing slash) does not.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The 301 gorilla/mux gives for `uri` when its path is not clean; `None` when it is (or
/// when its escapes do not decode: Go's server refuses such a request line before mux).
pub fn redirect(uri: &Uri) -> Option<Response> {
    let decoded = percent_decode(uri.path())?;
    let clean = clean_path(&decoded);
    if clean == decoded {
        return None;
    }
    let mut location = escape_path(&clean);
    if let Some(q) = uri.query() {
        location.push('?');
        location.push_str(q);
    }
    let value = HeaderValue::from_str(&location).ok()?;
    Some((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response())
}

/// gorilla/mux's `cleanPath`: `path.Clean` of the path made rooted, its trailing slash kept.
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut np = go_path_clean(p);
    if p.ends_with('/') && np != "/" {
        np.push('/');
    }
    np
}

/// Go's `path.Clean` for a rooted path (mux makes it rooted first): one slash between
/// elements, no `.` elements, a `..` removes the element before it (and is dropped at the
/// root), no trailing slash but the root's.
fn go_path_clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for el in p.split('/') {
        match el {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            e => parts.push(e),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `%XX` decoded as Go's `url.PathUnescape` does for `URL.Path`; `None` for a bad escape
/// or a result that is not UTF-8 (kept as a route miss, not redirected).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let hi = b.get(i + 1).copied().and_then(hex)?;
            let lo = b.get(i + 2).copied().and_then(hex)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The path as Go's `url.URL.EscapedPath` writes a path it must escape (`escape(path,
/// encodePath)`): unreserved characters and `$&+,/:;=@` as they are, every other byte
/// `%XX` (upper-case hex).
fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for &c in p.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(uri: &str) -> Option<String> {
        let uri: Uri = uri.parse().expect("uri");
        redirect(&uri).map(|r| {
            assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
            r.headers()[header::LOCATION]
                .to_str()
                .expect("ascii")
                .to_string()
        })
    }

    #[test]
    fn clean_paths_pass() {
        for p in [
            "/",
            "/_ping",
            "/v1.41/containers/json",
            "/containers/json/",
            "/images/a/b/json?x=1",
            "/images/a%2Fb/json",
        ] {
            assert_eq!(location(p), None, "{p}");
        }
    }

    #[test]
    fn unclean_paths_redirect_as_mux() {
        let cases = [
            ("/distribution/a//b/json", "/distribution/a/b/json"),
            ("//_ping", "/_ping"),
            (
                "/v1.41//containers/json?all=1",
                "/v1.41/containers/json?all=1",
            ),
            ("/containers/./json", "/containers/json"),
            ("/containers/x/../json", "/containers/json"),
            ("/../..//info", "/info"),
            ("/containers/json//", "/containers/json/"),
            ("/a/.", "/a"),
            ("/a/..", "/"),
            // Decoded first (req.URL.Path), escaped again from the cleaned path.
            ("/images/a%2F%2Fb/json", "/images/a/b/json"),
            ("/images/a%20b//json", "/images/a%20b/json"),
        ];
        for (from, to) in cases {
            assert_eq!(location(from).as_deref(), Some(to), "{from}");
        }
    }

    #[test]
    fn path_clean_is_gos() {
        for (p, want) in [
            ("/", "/"),
            ("//", "/"),
            ("/a/b/../../..", "/"),
            ("/a/./b/.", "/a/b"),
            ("/a/b/", "/a/b"),
            ("/.../a", "/.../a"),
        ] {
            assert_eq!(go_path_clean(p), want, "{p}");
        }
    }
}
