//! Unit tests of the engine's lifecycle logic over its seams' fakes (`crate::fakes`): an
//! `Engine` on a temporary data root with a one-layer test image, no kernel effect, no
//! privilege. Each file covers one concept: `lifecycle` (create, start, exit, `--rm`,
//! stop/kill, rm, rename), `namespaces` (`--ipc`/`--pid` modes), `policy` (restart back-off), `network` (attach/detach with
//! rollback, published ports, connect/disconnect), `health`, `restore` (daemon restart).

mod config_networks;
mod health;
mod lifecycle;
mod namespaces;
mod network;
mod policy;
mod propagation;
mod restore;

use crate::config::EngineConfig;
use crate::fakes::{FakeMounter, FakePlane, FakeRuntime};
use crate::model::{ContainerRecord, Status};
use crate::network::config::BridgeConfig;
use crate::{Engine, Seams};
use berth_api::models::ContainerCreateBody;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// An engine over a temporary data root and recording fakes.
pub struct TestEngine {
    pub engine: Arc<Engine>,
    pub runtime: Arc<FakeRuntime>,
    pub plane: Arc<FakePlane>,
    pub mounter: Arc<FakeMounter>,
    pub root: Arc<tempfile::TempDir>,
}

/// The test image's layer: a shell, a passwd file and a directory with a file (for copy-up).
fn image_tar() -> Vec<u8> {
    let (uid, gid) = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8], dir: bool| {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).expect("path");
        h.set_mode(mode);
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        h.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_cksum();
        b.append(&h, data).expect("append");
    };
    add("bin/", 0o755, b"", true);
    add("bin/sh", 0o755, b"#!/bin/true\n", false);
    add("etc/", 0o755, b"", true);
    add(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n",
        false,
    );
    add("data/", 0o755, b"", true);
    add("data/seed", 0o644, b"from the image\n", false);
    b.into_inner().expect("tar")
}

/// A runtime of its own per simulated daemon (the restart tests run two in sequence).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn config(root: &std::path::Path) -> EngineConfig {
    let network = BridgeConfig::parse(Some("btunit0"), Some("10.250.0.1/24"), None, &[])
        .expect("bridge config");
    EngineConfig {
        data_root: root.to_path_buf(),
        exe: PathBuf::from("/nonexistent/berth"),
        log_driver: crate::DEFAULT_LOG_DRIVER.into(),
        log_opts: Default::default(),
        labels: Vec::new(),
        debug: false,
        shutdown_timeout: 15,
        cgroup: crate::config::CgroupConfig::default(),
        default_runtime: berth_runtime::shim::BUILTIN.into(),
        registry: Default::default(),
        network,
        security: Default::default(),
        id_map: None,
    }
}

impl TestEngine {
    pub async fn new() -> TestEngine {
        let root = Arc::new(tempfile::tempdir().expect("tempdir"));
        let t = TestEngine::open(root, Arc::default(), Arc::default(), Arc::default()).await;
        t.engine
            .images
            .import(
                std::io::Cursor::new(image_tar()),
                Some("testimg:latest".into()),
                vec!["CMD [\"sh\"]".into()],
                String::new(),
                None,
            )
            .await
            .expect("import the test image");
        t
    }

    /// An engine over `root` with these fakes (a daemon (re)start).
    pub async fn open(
        root: Arc<tempfile::TempDir>,
        runtime: Arc<FakeRuntime>,
        plane: Arc<FakePlane>,
        mounter: Arc<FakeMounter>,
    ) -> TestEngine {
        let seams = Seams {
            runtime: runtime.clone(),
            plane: plane.clone(),
            mounter: mounter.clone(),
        };
        let engine = Engine::open_with(config(root.path()), seams)
            .await
            .expect("open engine");
        TestEngine {
            engine,
            runtime,
            plane,
            mounter,
            root,
        }
    }

    /// Creates a container from a create body's JSON (`Image` defaults to the test image).
    pub async fn create(&self, name: Option<&str>, body: Value) -> crate::Result<String> {
        let mut body = body;
        if body.get("Image").is_none() {
            body["Image"] = json!("testimg");
        }
        let body: ContainerCreateBody = serde_json::from_value(body).expect("create body");
        Ok(self.engine.create(name, body).await?.id)
    }

    /// Creates and starts.
    pub async fn run(&self, name: Option<&str>, body: Value) -> String {
        let id = self.create(name, body).await.expect("create");
        self.engine.start(&id).await.expect("start");
        id
    }

    pub async fn record(&self, id: &str) -> ContainerRecord {
        self.engine.get(id).expect("container").snapshot().await
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.engine.container_dir(id)
    }

    /// Waits (up to 5 s of the test's clock) until the container's status is `status`.
    pub async fn until_status(&self, id: &str, status: Status) -> ContainerRecord {
        for _ in 0..500 {
            let r = self.record(id).await;
            if r.state.status == status {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{id} never became {status:?}");
    }

    /// The container actions published on the event bus so far.
    pub fn actions(&self, id: &str) -> Vec<String> {
        let (past, _) = self.engine.events.subscribe();
        past.into_iter()
            .filter(|e| e.actor.id == id)
            .map(|e| e.action)
            .collect()
    }

    /// Nothing of a run is left: no namespace file, no host links, no rootfs mount.
    pub fn nothing_left(&self, id: &str) {
        let dir = self.dir(id);
        assert!(!dir.join("netns").exists(), "namespace left");
        assert!(
            self.plane.namespaces.lock().unwrap().is_empty(),
            "namespaces left: {:?}",
            self.plane.namespaces.lock().unwrap()
        );
        assert!(
            self.plane.links.lock().unwrap().is_empty(),
            "links left: {:?}",
            self.plane.links.lock().unwrap()
        );
        assert!(
            !self.mounter.mounted.lock().unwrap().contains(&dir),
            "rootfs still mounted"
        );
        assert!(!self.engine.networks.serving_resolver(id), "resolver left");
    }
}
