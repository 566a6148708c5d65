//! The Engine API calls compose needs, over berth-cli's client: containers, networks,
//! volumes and images of a project, found by their `com.docker.compose.*` labels.

use berth_cli::client::{q, Body, Client, ClientError};
use serde::Deserialize;
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

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PortSummary {
    #[serde(rename = "IP", default)]
    pub ip: String,
    #[serde(default)]
    pub private_port: u32,
    #[serde(default)]
    pub public_port: u32,
    #[serde(rename = "Type", default)]
    pub kind: String,
}

/// One row of GET /containers/json.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub image_i_d: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub ports: Vec<PortSummary>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Summary {
    pub fn name(&self) -> String {
        self.names
            .first()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default()
    }
    pub fn service(&self) -> &str {
        self.labels
            .get(LABEL_SERVICE)
            .map(String::as_str)
            .unwrap_or("")
    }
    pub fn number(&self) -> i64 {
        self.labels
            .get(LABEL_NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
    pub fn oneoff(&self) -> bool {
        self.labels.get(LABEL_ONEOFF).is_some_and(|v| v == "True")
    }
    pub fn running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "restarting" | "paused")
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub running: bool,
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub health: Option<Health>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Inspect {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: State,
    #[serde(default)]
    pub image: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VolumeList {
    #[serde(default)]
    volumes: Option<Vec<VolumeInfo>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInfo {
    pub id: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub created: String,
}

/// Typed Engine API calls on one client.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| ClientError::Protocol(format!("unexpected answer: {e}")))
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
        decode(self.client.get_json(&path)?)
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

    pub fn inspect(&self, id: &str) -> Result<Inspect> {
        decode(
            self.client
                .get_json(&format!("/containers/{}/json", q(id)))?,
        )
    }

    pub fn create(
        &self,
        name: &str,
        body: &berth_api::models::ContainerCreateBody,
    ) -> Result<String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Created {
            id: String,
        }
        let r: Created = decode(
            self.client
                .post_json(&format!("/containers/create?name={}", q(name)), json(body)?)?,
        )?;
        Ok(r.id)
    }

    pub fn start(&self, id: &str) -> Result<()> {
        self.client
            .call("POST", &format!("/containers/{}/start", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn stop(&self, id: &str, timeout: Option<i64>) -> Result<()> {
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
        let what = if pause { "pause" } else { "unpause" };
        self.client
            .call("POST", &format!("/containers/{}/{what}", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn remove(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
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
        let v = self
            .client
            .post_json(&format!("/containers/{}/wait", q(id)), Body::None)?;
        Ok(v.get("StatusCode").and_then(|s| s.as_i64()).unwrap_or(0))
    }

    pub fn network(&self, name: &str) -> Result<Option<NetworkInfo>> {
        match self.client.get_json(&format!("/networks/{}", q(name))) {
            Ok(v) => Ok(Some(decode(v)?)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn networks_labelled(&self, label: &str) -> Result<Vec<NetworkInfo>> {
        let f = format!("{{\"label\":{{\"{label}\":true}}}}");
        decode(
            self.client
                .get_json(&format!("/networks?filters={}", q(&f)))?,
        )
    }

    pub fn create_network(&self, body: &serde_json::Value) -> Result<String> {
        let v = self
            .client
            .post_json("/networks/create", Body::Json(body.clone()))?;
        Ok(v.get("Id")
            .and_then(|i| i.as_str())
            .unwrap_or_default()
            .to_string())
    }

    pub fn remove_network(&self, id: &str) -> Result<()> {
        self.client
            .call("DELETE", &format!("/networks/{}", q(id)), Body::None)?
            .bytes()?;
        Ok(())
    }

    pub fn connect(
        &self,
        network: &str,
        container: &str,
        endpoint: &serde_json::Value,
    ) -> Result<()> {
        let body = serde_json::json!({"Container": container, "EndpointConfig": endpoint});
        self.client
            .call(
                "POST",
                &format!("/networks/{}/connect", q(network)),
                Body::Json(body),
            )?
            .bytes()?;
        Ok(())
    }

    pub fn volume(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self.client.get_json(&format!("/volumes/{}", q(name))) {
            Ok(v) => Ok(Some(decode(v)?)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn volumes_labelled(&self, label: &str) -> Result<Vec<VolumeInfo>> {
        let f = format!("{{\"label\":{{\"{label}\":true}}}}");
        let l: VolumeList = decode(
            self.client
                .get_json(&format!("/volumes?filters={}", q(&f)))?,
        )?;
        Ok(l.volumes.unwrap_or_default())
    }

    pub fn create_volume(&self, body: &serde_json::Value) -> Result<()> {
        self.client
            .post_json("/volumes/create", Body::Json(body.clone()))?;
        Ok(())
    }

    pub fn remove_volume(&self, name: &str) -> Result<()> {
        self.client
            .call("DELETE", &format!("/volumes/{}", q(name)), Body::None)?
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

    pub fn image(&self, name: &str) -> Result<Option<ImageInfo>> {
        match self.client.get_json(&format!("/images/{}/json", q(name))) {
            Ok(v) => Ok(Some(decode(v)?)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn remove_image(&self, name: &str) -> Result<()> {
        self.client
            .call("DELETE", &format!("/images/{}", q(name)), Body::None)?
            .bytes()?;
        Ok(())
    }
}
