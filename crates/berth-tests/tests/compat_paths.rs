//! Request paths that are not clean (prefix `compat_paths`): moby's router (gorilla/mux)
//! answers every one — any method, any route, the `/v1.NN` prefix included — with a bare
//! `301 Moved Permanently` to the cleaned path (Go's `path.Clean` of the decoded path, a
//! trailing slash kept, the query kept), before any route runs and without the API's
//! headers. Raw requests (`curl --path-as-is`) against the private dockerd and berth.

use berth_tests::differential::{Differ, Scenario};

const S: Scenario = Scenario::DEFAULT;

/// One request: its status line, its Location, whether the API's `Api-Version` header
/// came, and the body's length.
const REQ: &str = r#"
req() {
    local m=$1 p=$2
    curl -sS --path-as-is -o "$SCRATCH/b" -D "$SCRATCH/h" -X "$m" --unix-socket "$SOCK" "http://localhost$p"
    printf '%s %s -> %s | %s | api-version:%s | body:%s\n' "$m" "$p" \
        "$(head -1 "$SCRATCH/h" | tr -d '\r')" \
        "$(grep -i '^location:' "$SCRATCH/h" | sed 's/^[^:]*: *//' | tr -d '\r')" \
        "$(grep -ci '^api-version:' "$SCRATCH/h")" \
        "$(wc -c < "$SCRATCH/b")"
}
"#;

#[test]
fn compat_paths_unclean_paths_redirect() {
    let run = format!(
        "{REQ}\n\
         for p in '/distribution/a//b/json' '//_ping' '/v1.41//containers/json?all=1' \
                  '/containers/./json' '/containers/x/../json' '/v1.41/../_ping' \
                  '/images/a%2F%2Fb/json' '/containers/json//' '/a/..'; do\n\
           for m in GET POST PUT DELETE; do req $m \"$p\"; done\n\
         done\n\
         req GET /containers/json/ | cut -d'|' -f1\n\
         req GET /_ping"
    );
    let run: &'static str = Box::leak(run.into_boxed_str());
    Differ::start().check(&[Scenario {
        name: "unclean paths: 301 to the clean path, for every method",
        run,
        berth_cli: false,
        ..S
    }]);
}
