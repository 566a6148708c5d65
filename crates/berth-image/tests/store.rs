//! Store tests. The legacy fixture is `docker save tiny:two other/tiny:v2` from a real
//! dockerd (3 layers built from an imported base + 2 COPYs).

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_image::{DeleteItem, ImageStore, ImportPlatform, Loaded};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/legacy-two.tar");
const TWO_ID: &str = "sha256:9c2e04f7c99f00a51fdf6d8d9e178da42e43b85e7ce0dd823335efd87b73f7d7";

fn store() -> (tempfile::TempDir, ImageStore) {
    let d = tempfile::tempdir().unwrap();
    let s = ImageStore::open(d.path()).unwrap();
    (d, s)
}

fn fixture() -> Vec<u8> {
    std::fs::read(FIXTURE).unwrap()
}

/// A tar entry with a raw name (the tar crate's builder refuses `..`).
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    {
        let b = h.as_mut_bytes();
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn load_legacy_matches_docker() {
    let (_d, s) = store();
    let loaded = s.load(&fixture()[..]).unwrap();
    assert_eq!(
        loaded,
        vec![
            Loaded::Tagged("tiny:two".into()),
            Loaded::Tagged("other/tiny:v2".into())
        ]
    );
    assert_eq!(loaded[0].to_string(), "Loaded image: tiny:two");
    let img = s.get("tiny:two").unwrap();
    assert_eq!(img.id, TWO_ID);
    // Same order docker gives (sorted by full reference).
    assert_eq!(img.repo_tags, vec!["tiny:two", "other/tiny:v2"]);
    assert_eq!(img.size, 19, "docker reports 19B for this image");
    assert_eq!(img.config.cmd.as_deref().unwrap()[0], "/bin/true");
    assert_eq!(img.diff_ids.len(), 3);
    assert_eq!(s.get(&TWO_ID[7..19]).unwrap().id, TWO_ID);
    assert_eq!(s.get(&TWO_ID[7..]).unwrap().id, TWO_ID);
    assert_eq!(s.get("docker.io/other/tiny:v2").unwrap().id, TWO_ID);
    let e = s.get("foo").unwrap_err();
    assert_eq!(e.to_string(), "No such image: foo:latest");
    assert_eq!(e.status_code(), 404);
    // History as docker's API returns it for a loaded image (no parents: <missing>).
    let h = s.history("tiny:two").unwrap();
    assert_eq!(h.len(), 5);
    assert_eq!(h[0].id, TWO_ID);
    assert_eq!(h[0].created_by, "/bin/sh -c #(nop)  CMD [\"/bin/true\"]");
    assert_eq!(h[0].tags.as_deref().unwrap(), ["tiny:two", "other/tiny:v2"]);
    assert_eq!(h[1].id, "<missing>");
    assert_eq!(h[1].size, 2);
    assert_eq!(h[3].size, 6);
    assert_eq!(h[4].size, 11);
    assert_eq!(h[4].comment, "tiny base");
    assert!(h[1].tags.is_none());
    // Loading again is idempotent.
    s.load(&fixture()[..]).unwrap();
    assert_eq!(s.list().unwrap().len(), 1);
    // Layers unpacked with content.
    let dirs = s.layer_dirs(&img).unwrap();
    assert_eq!(
        std::fs::read_to_string(dirs[0].join("etc/hello")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_link(dirs[0].join("etc/link")).unwrap(),
        Path::new("hello")
    );
    assert_eq!(std::fs::read_to_string(dirs[2].join("d/x")).unwrap(), "x\n");
}

#[test]
fn load_compressed_and_save_roundtrip_oci() {
    let (_d, s) = store();
    assert_eq!(s.load(&gzip(&fixture())[..]).unwrap().len(), 2);
    let zst = zstd::encode_all(&fixture()[..], 1).unwrap();
    let (_d2, s2) = store();
    s2.load(&zst[..]).unwrap();
    assert_eq!(s2.get("tiny:two").unwrap().id, TWO_ID);

    let mut out = Vec::new();
    s.save(&["tiny".to_string()], &mut out).unwrap();
    // Layout check.
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(&out[..]);
    let mut manifest = String::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let n = e.path().unwrap().display().to_string();
        if n == "manifest.json" {
            e.read_to_string(&mut manifest).unwrap();
        }
        names.push(n);
    }
    for want in ["index.json", "manifest.json", "oci-layout", "repositories"] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing in {names:?}"
        );
    }
    assert!(
        manifest.contains("\"RepoTags\":[\"tiny:two\"]"),
        "{manifest}"
    );
    let (_d3, s3) = store();
    assert_eq!(
        s3.load(&out[..]).unwrap(),
        vec![Loaded::Tagged("tiny:two".into())]
    );
    assert_eq!(s3.get("tiny:two").unwrap().id, TWO_ID);

    // Pure OCI layout (no manifest.json): tags from the index annotations.
    let mut oci = tar::Builder::new(Vec::new());
    let mut ar = tar::Archive::new(&out[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().ends_with("manifest.json")
            || e.path().unwrap().ends_with("repositories")
        {
            continue;
        }
        let mut h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        oci.append_data(&mut h, e.path().unwrap(), &data[..])
            .unwrap();
    }
    let oci = oci.into_inner().unwrap();
    let (_d4, s4) = store();
    assert_eq!(
        s4.load(&oci[..]).unwrap(),
        vec![Loaded::Tagged("tiny:two".into())]
    );
    assert_eq!(s4.get("tiny:two").unwrap().id, TWO_ID);

    // By id: untagged.
    let mut out = Vec::new();
    s.save(&[TWO_ID.to_string()], &mut out).unwrap();
    let (_d5, s5) = store();
    assert_eq!(s5.load(&out[..]).unwrap(), vec![Loaded::Id(TWO_ID.into())]);
}

#[test]
fn load_rejects_diff_id_mismatch_and_truncation() {
    let (_d, s) = store();
    // Swap one layer's content: the archive is otherwise valid.
    let mut b = tar::Builder::new(Vec::new());
    let fx = fixture();
    let mut ar = tar::Archive::new(&fx[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let p = e.path().unwrap().into_owned();
        if p.to_string_lossy().starts_with("6bd532e4") && p.ends_with("layer.tar") {
            let mut l = Vec::new();
            raw_entry(&mut l, "evil", tar::EntryType::Regular, "", b"x");
            data = finish(l);
            h.set_size(data.len() as u64);
            h.set_cksum();
        }
        b.append_data(&mut h, &p, &data[..]).unwrap();
    }
    let bad = b.into_inner().unwrap();
    let e = s.load(&bad[..]).unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    assert!(s.list().unwrap().is_empty());

    s.load(&fixture()[..]).unwrap();
    let f = fixture();
    let e = s.load(&f[..f.len() / 2]).unwrap_err();
    assert!(
        e.to_string().contains("truncated") || e.to_string().contains("tar"),
        "{e}"
    );
    // The store is intact and no half layer is left.
    assert_eq!(s.get("tiny:two").unwrap().id, TWO_ID);
    let leftovers: Vec<_> = std::fs::read_dir(s.data_root().join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn import_with_changes() {
    let (_d, s) = store();
    let mut t = Vec::new();
    raw_entry(&mut t, "bin/", tar::EntryType::Directory, "", b"");
    raw_entry(&mut t, "bin/hello", tar::EntryType::Regular, "", b"hi\n");
    let t = finish(t);
    let changes: Vec<String> = [
        "CMD echo hi",
        "ENV A=b C=d",
        "EXPOSE 80/tcp 53/udp",
        "LABEL x=y",
        "WORKDIR /w",
        "USER nobody",
        "VOLUME /data",
        "STOPSIGNAL SIGTERM",
        "ENTRYPOINT [\"/bin/sh\"]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let id = s
        .import(
            &gzip(&t)[..],
            Some("imp:1"),
            &changes,
            "my msg",
            ImportPlatform::host(),
        )
        .unwrap();
    let img = s.get("imp:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.comment, "my msg");
    assert_eq!(img.size, 3);
    assert_eq!(
        img.config.cmd.as_deref().unwrap(),
        ["/bin/sh", "-c", "echo hi"]
    );
    assert_eq!(img.config.env(), ["A=b", "C=d"]);
    let ports: Vec<&String> = img.config.exposed_ports.as_ref().unwrap().keys().collect();
    assert_eq!(ports, ["53/udp", "80/tcp"]);
    assert_eq!(img.config.working_dir, "/w");
    assert_eq!(img.config.stop_signal.as_deref(), Some("SIGTERM"));
    let raw = String::from_utf8(img.raw_config.clone()).unwrap();
    assert!(raw.starts_with("{\"architecture\":"), "{raw}");
    assert!(
        raw.contains("\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"nobody\""),
        "{raw}"
    );
    // Docker's nested order: history {created, comment}, rootfs {type, diff_ids}.
    assert!(raw.contains("\"history\":[{\"created\":"), "{raw}");
    assert!(
        raw.contains("\",\"comment\":\"my msg\"}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"),
        "{raw}"
    );
    // Same rootfs, default message, no tag.
    let id2 = s
        .import(&t[..], None, &[], "", ImportPlatform::host())
        .unwrap();
    let img2 = s.get(&id2).unwrap();
    assert_eq!(img2.comment, "Imported from -");
    assert!(img2.repo_tags.is_empty());
    assert_eq!(
        img2.diff_ids, img.diff_ids,
        "diff id is of the uncompressed tar"
    );
    let e = s
        .import(
            &t[..],
            None,
            &["RUN x".to_string()],
            "",
            ImportPlatform::host(),
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "run is not a valid change command");
}

fn import_err(s: &ImageStore, t: Vec<u8>) -> String {
    s.import(&finish(t)[..], None, &[], "", ImportPlatform::host())
        .unwrap_err()
        .to_string()
}

#[test]
fn extraction_is_hardened() {
    let outside = tempfile::tempdir().unwrap();
    let (_d, s) = store();
    let mut t = Vec::new();
    raw_entry(&mut t, "../x", tar::EntryType::Regular, "", b"x");
    assert!(import_err(&s, t).contains("outside"));

    let mut t = Vec::new();
    raw_entry(&mut t, "a/../../x", tar::EntryType::Regular, "", b"x");
    assert!(import_err(&s, t).contains("outside"));

    // symlink to a host dir, then a write through it.
    let mut t = Vec::new();
    let target = outside.path().display().to_string();
    raw_entry(&mut t, "esc", tar::EntryType::Symlink, &target, b"");
    raw_entry(&mut t, "esc/pwned", tar::EntryType::Regular, "", b"x");
    let e = import_err(&s, t);
    assert!(e.contains("symlink"), "{e}");
    assert!(!outside.path().join("pwned").exists());

    // symlink replaced by a file write: the file replaces the link, never writes through.
    let mut t = Vec::new();
    raw_entry(
        &mut t,
        "f",
        tar::EntryType::Symlink,
        &outside.path().join("g").display().to_string(),
        b"",
    );
    raw_entry(&mut t, "f", tar::EntryType::Regular, "", b"x");
    s.import(&finish(t)[..], None, &[], "", ImportPlatform::host())
        .unwrap();
    assert!(!outside.path().join("g").exists());

    // hard links must point inside the layer.
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    let mut t = Vec::new();
    raw_entry(
        &mut t,
        "h",
        tar::EntryType::Link,
        "../../../../../../../../etc/passwd",
        b"",
    );
    assert!(import_err(&s, t).contains("outside"));
    let mut t = Vec::new();
    raw_entry(&mut t, "l", tar::EntryType::Symlink, "/etc", b"");
    raw_entry(&mut t, "h", tar::EntryType::Link, "l/passwd", b"");
    assert!(import_err(&s, t).contains("symlink"));

    // Absolute names stay inside the root (docker cleans them the same way).
    let mut t = Vec::new();
    raw_entry(&mut t, "/etc/abs", tar::EntryType::Regular, "", b"abs");
    raw_entry(&mut t, "hl", tar::EntryType::Link, "/etc/abs", b"");
    let id = s
        .import(&finish(t)[..], None, &[], "", ImportPlatform::host())
        .unwrap();
    let img = s.get(&id).unwrap();
    let dir = &s.layer_dirs(&img).unwrap()[0];
    assert_eq!(std::fs::read_to_string(dir.join("etc/abs")).unwrap(), "abs");
    assert_eq!(
        std::fs::metadata(dir.join("hl")).unwrap().ino(),
        std::fs::metadata(dir.join("etc/abs")).unwrap().ino()
    );
    assert_eq!(img.size, 3, "hard links counted once");

    // Truncated data: error, nothing half-installed.
    let before = s.list().unwrap().len();
    let mut t = Vec::new();
    raw_entry(&mut t, "big", tar::EntryType::Regular, "", &[7u8; 5000]);
    t.truncate(3000);
    let e = s
        .import(&t[..], None, &[], "", ImportPlatform::host())
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated") || e.contains("EOF"), "{e}");
    assert_eq!(s.list().unwrap().len(), before);
}

#[test]
fn whiteouts_for_overlay() {
    let (_d, s) = store();
    let mut t = Vec::new();
    raw_entry(&mut t, "d/", tar::EntryType::Directory, "", b"");
    raw_entry(&mut t, "d/.wh..wh..opq", tar::EntryType::Regular, "", b"");
    raw_entry(&mut t, "d/keep", tar::EntryType::Regular, "", b"k");
    raw_entry(&mut t, ".wh.gone", tar::EntryType::Regular, "", b"");
    let id = s
        .import(&finish(t)[..], None, &[], "", ImportPlatform::host())
        .unwrap();
    let dir = s.layer_dirs(&s.get(&id).unwrap()).unwrap().remove(0);
    let md = std::fs::symlink_metadata(dir.join("gone")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(md.rdev(), 0);
    assert!(!dir.join(".wh.gone").exists());
    assert!(!dir.join("d/.wh..wh..opq").exists());
    let c = std::ffi::CString::new(dir.join("d").display().to_string()).unwrap();
    let mut buf = [0u8; 4];
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            4,
        )
    };
    assert_eq!((n, buf[0]), (1, b'y'));
}

#[test]
fn tag_untag_remove_semantics() {
    let (_d, s) = store();
    s.load(&fixture()[..]).unwrap();
    s.tag("tiny:two", "busybox").unwrap();
    assert_eq!(s.get("busybox:latest").unwrap().id, TWO_ID);
    let none = |_: &str| Vec::new();
    // Removing one of several tags only untags.
    assert_eq!(
        s.remove("other/tiny:v2", false, true, &none).unwrap(),
        vec![DeleteItem::Untagged("other/tiny:v2".into())]
    );
    // ID with several tags needs -f.
    let e = s.remove(&TWO_ID[7..19], false, true, &none).unwrap_err();
    assert_eq!(e.to_string(), "conflict: unable to delete 9c2e04f7c99f (must be forced) - image is referenced in multiple repositories");
    assert_eq!(e.status_code(), 409);
    // Single tag with a stopped container.
    s.remove("busybox", false, true, &none).unwrap();
    let stopped = |_: &str| vec![("c0ffee0123456789abcdef".to_string(), false)];
    let e = s.remove("tiny:two", false, true, &stopped).unwrap_err();
    assert_eq!(e.to_string(), "conflict: unable to remove repository reference \"tiny:two\" (must force) - container c0ffee012345 is using its referenced image 9c2e04f7c99f");
    let running = |_: &str| vec![("c0ffee0123456789abcdef".to_string(), true)];
    let e = s.remove(TWO_ID, true, true, &running).unwrap_err();
    assert_eq!(e.to_string(), "conflict: unable to delete 9c2e04f7c99f (cannot be forced) - image is being used by running container c0ffee012345");
    // -f by name with a running container: untag only.
    assert_eq!(
        s.remove("tiny:two", true, true, &running).unwrap(),
        vec![DeleteItem::Untagged("tiny:two".into())]
    );
    // Now dangling: prune removes it and its layers.
    let (items, space) = s.prune(false, &|_| false).unwrap();
    assert_eq!(items[0], DeleteItem::Deleted(TWO_ID.into()));
    assert_eq!(items.len(), 4);
    assert_eq!(space, 19);
    assert!(s.list().unwrap().is_empty());
    assert!(std::fs::read_dir(s.data_root().join("layers"))
        .unwrap()
        .next()
        .is_none());
    // Full removal by tag.
    s.load(&fixture()[..]).unwrap();
    s.remove("other/tiny:v2", false, true, &none).unwrap();
    let items = s.remove("tiny:two", false, true, &none).unwrap();
    assert_eq!(items[0], DeleteItem::Untagged("tiny:two".into()));
    assert_eq!(items[1], DeleteItem::Deleted(TWO_ID.into()));
    let e = s.remove("tiny:two", false, true, &none).unwrap_err();
    assert_eq!(e.to_string(), "No such image: tiny:two");
    // Reopen sees the same (empty) state; prune -a removes tagged images.
    s.load(&fixture()[..]).unwrap();
    let s2 = ImageStore::open(s.data_root()).unwrap();
    assert_eq!(s2.get("other/tiny:v2").unwrap().id, TWO_ID);
    let (items, _) = s2.prune(true, &|_| false).unwrap();
    assert!(items.contains(&DeleteItem::Deleted(TWO_ID.into())));
}

#[test]
fn concurrent_loads() {
    let (_d, s) = store();
    let s = std::sync::Arc::new(s);
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.load(&fixture()[..]).map(|_| ()))
        })
        .collect();
    for h in hs {
        h.join().unwrap().unwrap();
    }
    assert_eq!(s.get("tiny:two").unwrap().id, TWO_ID);
}
