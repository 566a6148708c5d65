//! Overlay rootfs tests: need root and overlayfs (skipped otherwise). Mounts are undone by
//! a guard even when an assertion fails.

use std::path::{Path, PathBuf};

use berth_image::snapshot::{is_mounted, mount_rootfs, rootfs_size, unmount_rootfs};
use berth_image::ImageStore;

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = unmount_rootfs(&self.0);
    }
}

fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && std::fs::read_to_string("/proc/filesystems").is_ok_and(|f| f.contains("overlay"))
}

fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        if name.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
        }
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Loads a multi-layer image built from `layers` through a legacy `docker save` archive.
fn load_layers(s: &ImageStore, layers: &[Vec<u8>]) -> berth_image::Image {
    use sha2::Digest;
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", hex::encode(sha2::Sha256::digest(l))))
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": diff_ids.iter().map(|_| serde_json::json!({"created_by": "test"})).collect::<Vec<_>>(),
    }))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    };
    let paths: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    for (p, l) in paths.iter().zip(layers) {
        add(p, l);
    }
    add("config.json", &config);
    let manifest =
        serde_json::json!([{"Config": "config.json", "RepoTags": ["t:1"], "Layers": paths}]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    let ar = b.into_inner().unwrap();
    s.load(&ar[..]).unwrap();
    s.get("t:1").unwrap()
}

#[test]
fn overlay_merges_layers_with_whiteouts() {
    if !can_mount() {
        eprintln!("skipping: needs root and overlayfs");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let s = ImageStore::open(d.path()).unwrap();
    let l1 = layer(&[("a", b"a"), ("b", b"b"), ("d/", b""), ("d/x", b"x")]);
    let l2 = layer(&[
        (".wh.a", b""),
        ("d/", b""),
        ("d/.wh..wh..opq", b""),
        ("d/y", b"y"),
    ]);
    let img = load_layers(&s, &[l1, l2]);
    let lowers = s.layer_dirs(&img).unwrap();
    let cdir = d.path().join("containers/c1");
    let _g = Unmount(cdir.clone());
    let rootfs = mount_rootfs(&lowers, &cdir).unwrap();
    assert_eq!(rootfs, cdir.join("bundle/rootfs"));
    assert!(is_mounted(&rootfs));
    assert!(!rootfs.join("a").exists(), "whiteout hides a");
    assert_eq!(std::fs::read_to_string(rootfs.join("b")).unwrap(), "b");
    assert!(!rootfs.join("d/x").exists(), "opaque dir hides d/x");
    assert!(rootfs.join("d/y").exists());
    // Idempotent.
    mount_rootfs(&lowers, &cdir).unwrap();
    std::fs::write(rootfs.join("new"), vec![1u8; 1000]).unwrap();
    assert_eq!(rootfs_size(&cdir), 1000);
    // Lower layers stay untouched.
    assert!(!lowers[1].join("new").exists());
    unmount_rootfs(&cdir).unwrap();
    assert!(!is_mounted(&rootfs));
    unmount_rootfs(&cdir).unwrap();
}

#[test]
fn overlay_scratch_and_many_layers() {
    if !can_mount() {
        eprintln!("skipping: needs root and overlayfs");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let cdir = d.path().join("containers/scratch");
    let _g = Unmount(cdir.clone());
    let rootfs = mount_rootfs(&[], &cdir).unwrap();
    assert!(is_mounted(&rootfs));
    assert_eq!(std::fs::read_dir(&rootfs).unwrap().count(), 0);
    unmount_rootfs(&cdir).unwrap();

    // Enough layers that absolute short links overflow a page: the relative-path mount runs.
    let s = ImageStore::open(d.path()).unwrap();
    let names: Vec<String> = (0..120).map(|i| format!("f{i}")).collect();
    let layers: Vec<Vec<u8>> = names
        .iter()
        .map(|n| layer(&[(n.as_str(), n.as_bytes())]))
        .collect();
    let img = load_layers(&s, &layers);
    let lowers = s.layer_dirs(&img).unwrap();
    assert_eq!(lowers.len(), 120);
    let cdir = d.path().join("containers/many");
    let _g2 = Unmount(cdir.clone());
    let rootfs = mount_rootfs(&lowers, &cdir).unwrap();
    assert!(
        is_mounted(&rootfs),
        "overlay (not the vfs fallback) expected"
    );
    assert_eq!(std::fs::read_to_string(rootfs.join("f0")).unwrap(), "f0");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("f119")).unwrap(),
        "f119"
    );
    unmount_rootfs(&cdir).unwrap();
    let _ = Path::new("");
}
