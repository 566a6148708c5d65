//! Teardown: what a run of a container holds — its network (namespace, endpoints'
//! addresses and links, published ports, resolver), its shareable /dev/shm and its rootfs mount — released in one
//! place, after it exited (`monitor`), failed to start (`start`, a policy restart) or was
//! found dead at daemon start (`restore`). The caller records the state.

use crate::engine::Engine;
use crate::model::ContainerRecord;
use std::path::Path;
use tracing::warn;

impl Engine {
    pub(super) async fn teardown(&self, rec: &mut ContainerRecord, dir: &Path) {
        self.endpoint_events("disconnect", rec);
        self.networks.detach(&rec.id, dir, &mut rec.endpoints).await;
        self.release_shm(rec, dir);
        let (mounter, d) = (self.mounter.clone(), dir.to_path_buf());
        match tokio::task::spawn_blocking(move || mounter.unmount_rootfs(&d)).await {
            Ok(Err(e)) => warn!(id = %rec.id, error = %e, "cannot unmount the rootfs"),
            Err(e) => warn!(id = %rec.id, error = %e, "unmount task"),
            Ok(Ok(())) => {}
        }
    }
}
