//! The bodies of berth's fuzz targets. `fuzz/fuzz_targets/*.rs` (cargo-fuzz, nightly) call
//! these with libFuzzer's inputs; the tests here replay the committed corpus
//! (`fuzz/corpus/<target>/`) on the stable toolchain, so every input that once found a bug
//! stays a regression test. Each body must return for any input without panicking and,
//! for the tar extractor, without creating anything outside its extraction root.
//!
//! Targets: [`tar_extract`] (the hardened unpacker behind layers, `docker cp` and COPY),
//! [`dockerfile`] (parser and instruction/stage checks), [`dns_query`] (the embedded
//! resolver's packet parser and answers), [`dockerignore`] (the matcher), [`reference`]
//! (image references), [`api_bodies`] (Engine API request bodies and query values).

use std::io::Cursor;
use std::path::{Path, PathBuf};

/// The absolute path symlinks in the seed archives point at: an extraction that followed
/// one would create something here, which [`tar_extract`] checks.
pub const CANARY: &str = "/tmp/berth-fuzz-canary";

/// Every target, by its cargo-fuzz name.
/// A fuzz target's body.
pub type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("tar_extract", tar_extract),
    ("dockerfile", dockerfile),
    ("dns_query", dns_query),
    ("dockerignore", dockerignore),
    ("reference", reference),
    ("api_bodies", api_bodies),
];

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Unpacks `data` as a layer (whiteouts converted) and as a `docker cp` archive into a
/// fresh `root/` whose siblings are watched: after either, the parent holds exactly
/// `root` and an empty `outside`, and [`CANARY`] holds nothing new.
pub fn tar_extract(data: &[u8]) {
    let Ok(base) = tempfile::tempdir() else {
        return;
    };
    let canary = PathBuf::from(CANARY);
    let _ = std::fs::create_dir_all(&canary);
    let canary_before = entries(&canary);
    for opts in [
        berth_image::UnpackOptions {
            whiteouts: true,
            ..Default::default()
        },
        berth_image::UnpackOptions {
            whiteouts: false,
            no_overwrite_dir_non_dir: true,
            chown: Some((0, 0)),
            id_map: None,
        },
    ] {
        let root = base.path().join("root");
        let outside = base.path().join("outside");
        let _ = std::fs::remove_dir_all(&root);
        let _ = std::fs::create_dir_all(&root);
        let _ = std::fs::create_dir_all(&outside);
        let _ = berth_image::unpack_with(Cursor::new(data), &root, &opts);
        assert_eq!(
            entries(base.path()),
            vec!["outside".to_string(), "root".to_string()],
            "the extraction created something beside its root"
        );
        assert!(
            entries(&outside).is_empty(),
            "the extraction wrote outside its root"
        );
        assert_eq!(
            entries(&canary),
            canary_before,
            "the extraction followed an absolute symlink"
        );
    }
}

/// Parses `data` as a Dockerfile and, when it parses, checks its instructions and stages.
pub fn dockerfile(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    if let Ok(df) = berth_build::parser::parse(&src) {
        let _ = berth_build::instructions::stages(&df);
    }
}

/// Parses `data` as a query to the embedded resolver and builds every kind of answer.
pub fn dns_query(data: &[u8]) {
    if let Some(q) = berth_net::dns::parse_query(data) {
        assert!(q.question_end <= data.len());
        let _ = berth_net::dns::answer_a(data, &q, &[std::net::Ipv4Addr::LOCALHOST], 600);
        let _ = berth_net::dns::answer_ptr(data, &q, std::slice::from_ref(&q.name), 600);
        let _ = berth_net::dns::answer_error(data, &q, berth_net::dns::RCODE_NXDOMAIN);
        let _ = berth_net::dns6::answer_aaaa(data, &q, &[std::net::Ipv6Addr::LOCALHOST], 600);
        let _ = berth_net::dns::reverse_v4(&q.name);
        let _ = berth_net::dns6::reverse_v6(&q.name);
    }
}

/// `data`'s first line is a path, the rest a .dockerignore: matches the path, its parents
/// and its cleaned form.
pub fn dockerignore(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (path, patterns) = text.split_once('\n').unwrap_or((&text, ""));
    let m = berth_build::ignore::Matcher::parse(patterns);
    let clean = berth_build::ignore::clean(path);
    for p in [path, clean.as_str()] {
        let _ = m.excluded(p);
        let _ = m.may_include_under(p);
    }
}

/// Parses `data` as an image reference in every way the API accepts one.
pub fn reference(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(r) = berth_image::Reference::parse_normalized(&s) {
        let _ = (
            r.name(),
            r.familiar_string(),
            r.with_default_tag().familiar_name(),
        );
    }
    let _ = berth_image::Reference::parse_tagged(&s);
    let _ = berth_image::parse_any(&s);
    let _ = berth_image::reference::is_full_hex_id(&s);
}

/// Reads `data` as each Engine API request body (and as the query values the daemon
/// parses: filters, detach keys), then writes what it read back out.
pub fn api_bodies(data: &[u8]) {
    use berth_api::models::{ContainerCreateBody, ExecCreateBody, ExecStartBody};
    if let Ok(b) = serde_json::from_slice::<ContainerCreateBody>(data) {
        let _ = serde_json::to_vec(&b);
    }
    if let Ok(b) = serde_json::from_slice::<ExecCreateBody>(data) {
        let _ = serde_json::to_vec(&b);
    }
    if let Ok(b) = serde_json::from_slice::<ExecStartBody>(data) {
        let _ = serde_json::to_vec(&b);
    }
    let s = String::from_utf8_lossy(data);
    let _ = berth_api::filters::parse(&s);
    if let Ok(keys) = berth_api::detach::parse(&s) {
        if !keys.is_empty() {
            let mut e = berth_api::detach::Escape::new(keys);
            let _ = e.scan(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed corpus (`fuzz/corpus/<target>/`), every input through its target.
    #[test]
    fn corpus_replays_without_a_failure() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let mut total = 0;
        for (name, f) in TARGETS {
            let dir = corpus.join(name);
            let files = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("corpus of {name} ({}): {e}", dir.display()));
            let mut n = 0;
            for e in files.flatten() {
                let data = std::fs::read(e.path()).expect("read corpus input");
                f(&data);
                n += 1;
            }
            assert!(n > 0, "no corpus for {name}");
            total += n;
        }
        assert!(total >= TARGETS.len());
    }
}
