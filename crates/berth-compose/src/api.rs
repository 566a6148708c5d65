//! The Engine API calls compose needs, over berth-cli's client: containers, networks,
//! volumes and images of a project, found by their `com.docker.compose.*` labels.

use berth_api::models::{NetworkConnectBody, NetworkDisconnectBody};
use berth_cli::client::{q, Body, Client, ClientError};
use std::collections::BTreeMap;

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_DEPENDS: &str = "com.docker.compose.depends_on";
pub const LABEL_IMAGE: &str = "com.docker.compose.image";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_WORKDIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_ENVFILE: &str = "com.docker.compose.project.environment_file";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";
pub const LABEL_REPLACE: &str = "com.docker.compose.replace";
/// The compose version berth writes in labels: the docker compose release whose behaviour
/// (labels, hash) it follows.
pub const COMPOSE_VERSION: &str = "2.40.3";

pub type Result<T> = std::result::Result<T, ClientError>;

/// One row of GET /containers/json: berth-api's model, read leniently (absent fields
/// empty). compose's own reading of it (project labels) is [`ProjectContainer`].
pub type Summary = berth_api::models::ContainerSummary;
pub use berth_api::models::{MountPoint, PortSummary};

/// What compose reads off a container list row: its name and its compose labels.
pub trait ProjectContainer {
    /// The first name without its leading slash.
    fn name(&self) -> String;
    /// The `com.docker.compose.service` label ("" without it).
    fn service(&self) -> &str;
    /// The `com.docker.compose.container-number` label (0 without it).
    fn number(&self) -> i64;
    /// A `compose run` container (`com.docker.compose.oneoff=True`).
    fn oneoff(&self) -> bool;
    /// Running, restarting or paused: what compose counts as up.
    fn running(&self) -> bool;
}

impl ProjectContainer for Summary {
    fn name(&self) -> String {
        self.names
            .first()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default()
    }
    fn service(&self) -> &str {
        self.labels
            .get(LABEL_SERVICE)
            .map(String::as_str)
            .unwrap_or("")
    }
    fn number(&self) -> i64 {
        self.labels
            .get(LABEL_NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
    fn oneoff(&self) -> bool {
        self.labels.get(LABEL_ONEOFF).is_some_and(|v| v == "True")
    }
    fn running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "restarting" | "paused")
    }
}

/// The part of GET /containers/{id}/json compose reads (lenient: any daemon answers it).
pub type Inspect = berth_api::models::ContainerInspectPart;

/// GET /networks/{id} and each entry of GET /networks.
pub type NetworkInfo = berth_api::models::NetworkInspect;
/// GET /volumes/{name} and each entry of GET /volumes.
pub type VolumeInfo = berth_api::models::Volume;
/// GET /images/{name}/json.
pub type ImageInfo = berth_api::models::ImageInspect;
/// GET /containers/{id}/top.
pub type Top = berth_api::models::TopResponse;

/// What `exec_wait` runs the command as.
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    pub user: String,
    pub privileged: bool,
    pub working_dir: String,
    pub env: Vec<String>,
}

/// The exec create body of [`Api::exec_wait`]: detached (no stream attached).
fn exec_create_body(cmd: &[String], o: &ExecOpts) -> berth_api::models::ExecCreateBody {
    berth_api::models::ExecCreateBody {
        user: o.user.clone(),
        privileged: o.privileged,
        env: o.env.clone(),
        working_dir: o.working_dir.clone(),
        cmd: cmd.to_vec(),
        ..Default::default()
    }
}

/// Typed Engine API calls on one client.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    /// `--dry-run`: what changes the engine (create, start, stop, remove, connect ...)
    /// answers success without a request; reads still go to the daemon.
    pub dry_run: bool,
}

/// Set by `berth compose --dry-run`: the Api built for the command does not change the
/// engine and the progress lines carry docker compose's `DRY-RUN MODE - ` prefix.
pub static DRY_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A made-up id for what a dry run "creates" (64 hex digits, like an engine id).
fn dry_run_id() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("d{n:063x}")
}

fn json<T: serde::Serialize>(t: &T) -> Result<Body<'static>> {
    serde_json::to_value(t)
        .map(Body::Json)
        .map_err(|e| ClientError::Protocol(e.to_string()))
}

impl Api {
    /// Containers with all of `labels` (`key=value`), stopped ones too when `all`.
    pub fn containers(&self, labels: &[String], all: bool) -> Result<Vec<Summary>> {
        let mut filters: BTreeMap<&str, BTreeMap<String, bool>> = BTreeMap::new();
        for l in labels {
            filters.entry("label").or_default().insert(l.clone(), true);
        }
        let f = serde_json::to_string(&filters).unwrap_or_default();
        let path = format!("/containers/json?all={}&filters={}", all, q(&f));
        self.client.get_typed(&path)
    }

    /// The project's containers (not one-off ones unless `oneoff`).
    pub fn project_containers(
        &self,
        project: &str,
        all: bool,
        oneoff: bool,
    ) -> Result<Vec<Summary>> {
        let mut v = self.containers(&[format!("{LABEL_PROJECT}={project}")], all)?;
        if !oneoff {
            v.retain(|c| !c.oneoff());
        }
        v.sort_by(|a, b| (a.service(), a.number()).cmp(&(b.service(), b.number())));
        Ok(v)
    }

    /// The ids of the project's containers in the daemon's list order, newest first: the
    /// order compose starts (and restarts) a service's containers in, as it walks the
    /// daemon's list as it comes.
    pub fn newest_first(&self, project: &str) -> Result<Vec<String>> {
        Ok(self
            .containers(&[format!("{LABEL_PROJECT}={project}")], true)?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }

    pub fn inspect(&self, id: &str) -> Result<Inspect> {
        self.client
            .get_typed(&format!("/containers/{}/json", q(id)))
    }

    pub fn create(
        &self,
        name: &str,
        body: &berth_api::models::ContainerCreateBody,
    ) -> Result<String> {
        if self.dry_run {
            return Ok(dry_run_id());
        }
        let r: berth_api::models::ContainerCreateResponse = self
            .client
            .post_typed(&format!("/containers/create?name={}", q(name)), json(body)?)?;
        Ok(r.id)
    }

    pub fn start(&self, id: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call("POST", &format!("/containers/{}/start", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn stop(&self, id: &str, timeout: Option<i64>) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let t = timeout.map(|t| format!("?t={t}")).unwrap_or_default();
        self.client
            .call(
                "POST",
                &format!("/containers/{}/stop{t}", q(id)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    pub fn restart(&self, id: &str, timeout: Option<i64>) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let t = timeout.map(|t| format!("?t={t}")).unwrap_or_default();
        self.client
            .call(
                "POST",
                &format!("/containers/{}/restart{t}", q(id)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    pub fn kill(&self, id: &str, signal: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call(
                "POST",
                &format!("/containers/{}/kill?signal={}", q(id), q(signal)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    pub fn pause(&self, id: &str, pause: bool) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let what = if pause { "pause" } else { "unpause" };
        self.client
            .call("POST", &format!("/containers/{}/{what}", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn remove(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call(
                "DELETE",
                &format!("/containers/{}?force={force}&v={volumes}", q(id)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    pub fn rename(&self, id: &str, name: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call(
                "POST",
                &format!("/containers/{}/rename?name={}", q(id), q(name)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    /// Waits for the container to stop; its exit code.
    pub fn wait(&self, id: &str) -> Result<i64> {
        let r: berth_api::models::WaitResponse = self
            .client
            .post_typed(&format!("/containers/{}/wait", q(id)), Body::None)?;
        Ok(r.status_code)
    }

    pub fn network(&self, name: &str) -> Result<Option<NetworkInfo>> {
        match self.client.get_typed(&format!("/networks/{}", q(name))) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn networks_labelled(&self, label: &str) -> Result<Vec<NetworkInfo>> {
        let f = format!("{{\"label\":{{\"{label}\":true}}}}");
        self.client
            .get_typed(&format!("/networks?filters={}", q(&f)))
    }

    pub fn create_network(&self, body: &berth_api::models::NetworkCreateBody) -> Result<String> {
        if self.dry_run {
            return Ok(dry_run_id());
        }
        let r: berth_api::models::NetworkCreateResponse = self
            .client
            .post_typed("/networks/create", Body::typed(body)?)?;
        Ok(r.id)
    }

    pub fn remove_network(&self, id: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call("DELETE", &format!("/networks/{}", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn connect(
        &self,
        network: &str,
        container: &str,
        endpoint: &berth_api::models::EndpointSettings,
    ) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let body = Body::typed(&NetworkConnectBody {
            container: container.to_string(),
            endpoint_config: Some(endpoint),
            extra: Default::default(),
        })?;
        self.client
            .call("POST", &format!("/networks/{}/connect", q(network)), body)?
            .bytes()?;
        Ok(())
    }

    /// `POST /networks/{network}/disconnect` of `container` (compose's disconnectNetwork:
    /// not forced).
    pub fn disconnect(&self, network: &str, container: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let body = Body::typed(&NetworkDisconnectBody {
            container: container.to_string(),
            force: false,
            extra: Default::default(),
        })?;
        self.client
            .call(
                "POST",
                &format!("/networks/{}/disconnect", q(network)),
                body,
            )?
            .bytes()?;
        Ok(())
    }

    pub fn volume(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self.client.get_typed(&format!("/volumes/{}", q(name))) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn volumes_labelled(&self, label: &str) -> Result<Vec<VolumeInfo>> {
        let f = format!("{{\"label\":{{\"{label}\":true}}}}");
        let l: berth_api::models::VolumeListResponse = self
            .client
            .get_typed(&format!("/volumes?filters={}", q(&f)))?;
        Ok(l.volumes)
    }

    pub fn create_volume(&self, body: &berth_api::models::VolumeCreateBody) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let _: VolumeInfo = self
            .client
            .post_typed("/volumes/create", Body::typed(body)?)?;
        Ok(())
    }

    pub fn remove_volume(&self, name: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call("DELETE", &format!("/volumes/{}", q(name)), Body::None)?
            .bytes()?;
        Ok(())
    }

    /// `DELETE /volumes/{name}?force=1`, as compose removes a volume it recreates.
    pub fn remove_volume_forced(&self, name: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call(
                "DELETE",
                &format!("/volumes/{}?force=1", q(name)),
                Body::None,
            )?
            .bytes()?;
        Ok(())
    }

    /// Extracts the tar `archive` at `path` in the container (PUT /containers/{id}/archive),
    /// with `copyUIDGID` as docker compose sets it for secrets with a uid or gid.
    pub fn put_archive(
        &self,
        id: &str,
        path: &str,
        copy_uid_gid: bool,
        archive: &[u8],
    ) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let mut url = format!("/containers/{}/archive?path={}", q(id), q(path));
        if copy_uid_gid {
            url.push_str("&copyUIDGID=true");
        }
        let mut r = archive;
        self.client
            .call("PUT", &url, Body::Stream(&mut r, "application/x-tar"))?
            .bytes()?;
        Ok(())
    }

    /// Runs `cmd` in the container and waits for it to end (its output is not kept);
    /// its exit code.
    pub fn exec_wait(&self, id: &str, cmd: &[String], o: &ExecOpts) -> Result<i64> {
        let created: berth_api::models::IdResponse = self.client.post_typed(
            &format!("/containers/{}/exec", q(id)),
            Body::typed(&exec_create_body(cmd, o))?,
        )?;
        let exec = created.id;
        self.client
            .call(
                "POST",
                &format!("/exec/{}/start", q(&exec)),
                Body::typed(&berth_api::models::ExecStartBody {
                    detach: true,
                    ..Default::default()
                })?,
            )?
            .bytes()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let v: berth_api::models::ExecInspect =
                self.client.get_typed(&format!("/exec/{}/json", q(&exec)))?;
            if !v.running {
                return Ok(v.exit_code.unwrap_or(0));
            }
            if std::time::Instant::now() > deadline {
                return Err(ClientError::Protocol(format!(
                    "exec {cmd:?} in {id} still running after 300s"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn image(&self, name: &str) -> Result<Option<ImageInfo>> {
        match self.client.get_typed(&format!("/images/{}/json", q(name))) {
            Ok(i) => Ok(Some(i)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn top(&self, id: &str) -> Result<Top> {
        self.client.get_typed(&format!("/containers/{}/top", q(id)))
    }

    pub fn remove_image(&self, name: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.client
            .call("DELETE", &format!("/images/{}", q(name)), Body::None)?
            .bytes()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What compose read with its own copies of the answer models (before they became
    /// berth-api's) it reads the same with berth-api's: a list row with an exposed-only
    /// port (no IP, no PublicPort), a volume and a bind mount and `null` collections as a
    /// Go daemon writes them; inspect's health, mounts and Tty; an image whose config has
    /// VOLUMEs and no Variant; an exec still without an exit code.
    #[test]
    fn berth_api_models_read_what_compose_read() {
        let row: Summary = serde_json::from_value(serde_json::json!({
            "Id": "abc", "Names": ["/p-web-1"], "Image": "busybox", "ImageID": "sha256:1",
            "Command": "sh", "Created": 7, "State": "running", "Status": "Up",
            "Ports": [{"PrivatePort": 80, "Type": "tcp"},
                      {"IP": "0.0.0.0", "PrivatePort": 81, "PublicPort": 8081, "Type": "tcp"}],
            "Labels": {"com.docker.compose.service": "web", "com.docker.compose.container-number": "1",
                       "com.docker.compose.oneoff": "False"},
            "Mounts": [{"Type": "volume", "Name": "v", "Source": "/s", "Destination": "/d",
                        "Driver": "local", "Mode": "z", "RW": true, "Propagation": ""},
                       {"Type": "bind", "Source": "/h", "Destination": "/b"}],
            "NetworkSettings": {"Networks": {"p_default": {}}},
            "HostConfig": null,
            "Future": 1
        }))
        .expect("a list row");
        assert_eq!(
            (
                row.name(),
                row.service(),
                row.number(),
                row.oneoff(),
                row.running()
            ),
            ("p-web-1".to_string(), "web", 1, false, true)
        );
        assert_eq!(
            (row.ports[0].ip.as_deref(), row.ports[0].public_port),
            (None, None)
        );
        assert_eq!(
            (row.ports[1].ip.as_deref(), row.ports[1].public_port),
            (Some("0.0.0.0"), Some(8081))
        );
        assert_eq!(row.image_id, "sha256:1");
        assert_eq!(
            (
                row.mounts[0].name.as_deref(),
                row.mounts[0].driver.as_deref()
            ),
            (Some("v"), Some("local"))
        );
        assert_eq!(
            (row.mounts[1].name.as_deref(), row.mounts[1].source.as_str()),
            (None, "/h")
        );
        assert!(row.network_settings.networks.contains_key("p_default"));
        let null_lists: Summary = serde_json::from_value(serde_json::json!({
            "Id": "x", "Names": null, "Ports": null, "Labels": null, "Mounts": null,
            "NetworkSettings": null
        }))
        .expect("nulls");
        assert_eq!(
            (null_lists.name(), null_lists.service(), null_lists.number()),
            (String::new(), "", 0)
        );

        let i: Inspect = serde_json::from_value(serde_json::json!({
            "Id": "abc", "Name": "/p-web-1", "Image": "sha256:1",
            "State": {"Status": "running", "Running": true, "ExitCode": 0,
                      "Health": {"Status": "healthy"}},
            "Mounts": [{"Type": "volume", "Name": "v", "Destination": "/d", "RW": true}],
            "Config": {"Tty": true, "Cmd": "sh"},
            "HostConfig": {"Whatever": [1]}
        }))
        .expect("an inspect");
        assert_eq!(i.state.health.map(|h| h.status).as_deref(), Some("healthy"));
        assert!(i.state.running && i.config.tty && i.mounts[0].rw);

        let img: ImageInfo = serde_json::from_value(serde_json::json!({
            "Id": "sha256:1", "RepoTags": ["busybox:latest"], "Size": 5,
            "Created": "2024-01-01T00:00:00Z", "Os": "linux", "Architecture": "amd64",
            "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
            "Config": {"Volumes": {"/data": {}}}
        }))
        .expect("an image");
        assert_eq!(img.variant, None);
        assert!(img.config.volumes.is_some_and(|v| v.contains_key("/data")));

        let exec: berth_api::models::ExecInspect =
            serde_json::from_value(serde_json::json!({"Running": false, "ExitCode": null}))
                .expect("an exec");
        assert_eq!((exec.running, exec.exit_code.unwrap_or(0)), (false, 0));
    }

    /// The exec body once written with json! (a subset of the fields, in another order):
    /// the daemon reads it as the same exec as the typed body.
    #[test]
    fn typed_exec_body_reads_as_before() {
        let o = ExecOpts {
            user: "1000".into(),
            privileged: true,
            working_dir: "/srv".into(),
            env: vec!["A=1".into()],
        };
        let cmd = vec!["sh".to_string(), "-c".into(), "true".into()];
        let before = serde_json::json!({
            "Cmd": cmd,
            "User": o.user,
            "Privileged": o.privileged,
            "WorkingDir": o.working_dir,
            "Env": o.env,
            "AttachStdout": false,
            "AttachStderr": false,
        });
        let read: berth_api::models::ExecCreateBody = serde_json::from_value(before).unwrap();
        let typed = exec_create_body(&cmd, &o);
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&read).unwrap()
        );
        assert!(!typed.attach_stdout && !typed.attach_stderr && !typed.tty);
    }
}
