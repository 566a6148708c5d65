//! Volume steps around a container's life that are not mount resolution: Docker's copy-up
//! at create (so a volume inspected before the first start already holds the image's
//! files) and, at daemon start, unmounting local-driver filesystems whose users all
//! ended while the daemon was down.

use super::Container;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::volumes::copyup;
use std::path::Path;
use std::sync::Arc;
use tracing::{debug, info};

impl Engine {
    /// Copies the image's files into the container's empty volumes, as moby's
    /// populateVolumes at create. Only containers with such volumes mount their rootfs
    /// here. Local-driver filesystems (`-o type=...`) are left to the first start, which
    /// mounts them anyway (their contents may live only while mounted).
    pub(crate) async fn populate_volumes(&self, c: &Arc<Container>) -> Result<()> {
        let todo: Vec<(usize, String, String)> = {
            let rec = c.record.lock().await;
            rec.mount_points
                .iter()
                .enumerate()
                // Subpath mounts copy into their subpath at start, once it is resolved.
                .filter(|(_, m)| m.typ == "volume" && m.copy_data && m.subpath.is_empty())
                .filter(|(_, m)| {
                    self.volumes
                        .get(&m.name)
                        .is_ok_and(|v| !v.options.contains_key("type"))
                })
                .map(|(i, m)| (i, m.name.clone(), m.destination.clone()))
                .collect()
        };
        if todo.is_empty() {
            return Ok(());
        }
        let lease = self.lease_rootfs(c).await?;
        let rootfs = lease.rootfs.clone();
        let jobs: Vec<(usize, String, std::path::PathBuf, String)> = todo
            .into_iter()
            .map(|(i, name, dest)| {
                let data = self.volumes.data_path(&name);
                (i, name, data, dest)
            })
            .collect();
        let r = tokio::task::spawn_blocking(move || -> Result<Vec<usize>> {
            let mut done = Vec::new();
            for (i, name, data, dest) in jobs {
                let src = berth_runtime::rootpath::resolve_in_root(&rootfs, Path::new(&dest))
                    .map_err(|e| EngineError::internal("resolve volume path", e))?;
                let copied = copyup::copy_up(&src, &data).map_err(|e| {
                    EngineError::internal(&format!("cannot copy image files into volume {name}"), e)
                })?;
                debug!(volume = %name, copied, "copy-up at create");
                done.push(i);
            }
            Ok(done)
        })
        .await
        .map_err(|e| EngineError::internal("copy-up task", e));
        lease.release().await;
        let done = r??;
        let mut rec = c.record.lock().await;
        for i in done {
            if let Some(m) = rec.mount_points.get_mut(i) {
                m.copy_data = false;
            }
        }
        Ok(())
    }

    /// At daemon start: a local-driver volume's filesystem still mounted although no
    /// running container uses it (its last user exited while the daemon was down) is
    /// unmounted, so no mount outlives its users.
    pub(crate) async fn restore_volumes(&self) {
        let mut used = std::collections::HashSet::new();
        for c in self.all() {
            let r = c.record.lock().await;
            if r.state.status.is_running() {
                used.extend(
                    r.mount_points
                        .iter()
                        .filter(|m| m.typ == "volume")
                        .map(|m| m.name.clone()),
                );
            }
        }
        for v in self.volumes.list() {
            if v.options.contains_key("type") && !used.contains(&v.name) {
                if self.volumes.is_mounted(&v.name) {
                    info!(volume = %v.name, "unmounting volume without running users");
                }
                self.volumes.unmount(&v.name);
            }
        }
    }
}
