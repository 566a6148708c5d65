//! Registry operations (`pull`, `push`, `/auth`, `search`): berth-registry on the blocking pool,
//! its progress messages forwarded to the caller as they come, and image events.

use crate::error::{EngineError, Result};
use crate::Engine;
use berth_api::models::JsonMessage;
use berth_image::Reference;
use berth_registry::{AuthConfig, RegistryError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One item of a pull/push stream: a progress message, or the final error.
pub type PullMessage = std::result::Result<JsonMessage, EngineError>;

fn map_err(e: RegistryError) -> EngineError {
    let msg = e.to_string();
    match e {
        RegistryError::InvalidArgument(_) => EngineError::InvalidParameter(msg),
        RegistryError::NotFound(_) => EngineError::NotFound(msg),
        RegistryError::Unauthorized(_) => EngineError::Unauthorized(msg),
        RegistryError::Denied(_) => EngineError::Forbidden(msg),
        RegistryError::Image(ie) => crate::images::map_err(ie),
        _ => EngineError::Internal(msg),
    }
}

/// A pull's or push's progress, sent from blocking threads to the response stream; once
/// the stream's reader is gone (the client closed the connection) `cancel` is set, which
/// stops the pull or push as moby's request context does (a compose pull cancelled by
/// another's failure leaves nothing behind; a push stops uploading).
fn pull_progress_to(
    tx: mpsc::Sender<PullMessage>,
    cancel: Arc<AtomicBool>,
) -> berth_registry::Progress {
    Arc::new(move |v: JsonMessage| {
        if tx.blocking_send(Ok(v)).is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
    })
}

impl Engine {
    /// Pulls `image` (`tag` empty and no digest: every tag). Progress and a final error go to
    /// `tx`; the stream ends when the pull does.
    pub async fn pull(
        self: &Arc<Self>,
        image: &str,
        tag: &str,
        platform: Option<String>,
        auth: AuthConfig,
        tx: mpsc::Sender<PullMessage>,
    ) {
        let res = self
            .pull_inner(image, tag, platform, auth, tx.clone())
            .await;
        if let Err(e) = res {
            let _ = tx.send(Err(e)).await;
        }
    }

    async fn pull_inner(
        self: &Arc<Self>,
        image: &str,
        tag: &str,
        platform: Option<String>,
        auth: AuthConfig,
        tx: mpsc::Sender<PullMessage>,
    ) -> Result<()> {
        let mut r = Reference::parse_normalized(image).map_err(crate::images::map_err)?;
        if !tag.is_empty() {
            let joined = if tag.starts_with("sha256:") {
                format!("{}@{tag}", r.name())
            } else {
                format!("{}:{tag}", r.name())
            };
            r = Reference::parse_normalized(&joined).map_err(crate::images::map_err)?;
        }
        let store = self.images.store().clone();
        let cfg = self.live().registry;
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = pull_progress_to(tx, cancel.clone());
        let opts = berth_registry::PullOptions {
            reference: r,
            platform,
            auth,
            cancel,
        };
        let out = tokio::task::spawn_blocking(move || {
            berth_registry::pull(&store, &cfg, &opts, &progress)
        })
        .await
        .map_err(|e| EngineError::internal("pull task", e))?
        .map_err(map_err)?;
        for (r, id) in out.images {
            self.images.event("pull", &id, &r.familiar_string()).await;
        }
        Ok(())
    }

    /// `GET /distribution/{name}/json`: the manifest descriptor and platforms the registry
    /// serving `name` has (see `berth_registry::inspect`). A full image ID is moby's plain
    /// 500 "no manifest found for full image ID"; a bad reference its 400.
    pub async fn distribution_inspect(
        self: &Arc<Self>,
        name: &str,
        auth: AuthConfig,
    ) -> Result<berth_registry::DistributionInspect> {
        let r = match berth_image::reference::parse_any(name).map_err(crate::images::map_err)? {
            berth_image::reference::AnyReference::Id(_) => {
                return Err(EngineError::Internal(
                    "no manifest found for full image ID".into(),
                ))
            }
            berth_image::reference::AnyReference::Named(r) => r,
        };
        let cfg = self.live().registry;
        tokio::task::spawn_blocking(move || berth_registry::inspect(&cfg, &r, &auth))
            .await
            .map_err(|e| EngineError::internal("distribution task", e))?
            .map_err(map_err)
    }

    /// Pushes `image` (`tag` empty: every local tag of the repository).
    pub async fn push(
        self: &Arc<Self>,
        image: &str,
        tag: &str,
        auth: AuthConfig,
        tx: mpsc::Sender<PullMessage>,
    ) {
        let res = self.push_inner(image, tag, auth, tx.clone()).await;
        if let Err(e) = res {
            let _ = tx.send(Err(e)).await;
        }
    }

    async fn push_inner(
        self: &Arc<Self>,
        image: &str,
        tag: &str,
        auth: AuthConfig,
        tx: mpsc::Sender<PullMessage>,
    ) -> Result<()> {
        let mut r = Reference::parse_normalized(image).map_err(crate::images::map_err)?;
        if !tag.is_empty() {
            r = Reference::parse_normalized(&format!("{}:{tag}", r.name()))
                .map_err(crate::images::map_err)?;
        }
        let store = self.images.store().clone();
        let cfg = self.live().registry;
        // A client gone away cancels the push, as moby's request context does.
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = pull_progress_to(tx, cancel.clone());
        let rr = r.clone();
        let out = tokio::task::spawn_blocking(move || {
            berth_registry::push(&store, &cfg, &rr, &auth, &progress, &cancel)
        })
        .await
        .map_err(|e| EngineError::internal("push task", e))?
        .map_err(map_err)?;
        for (t, _, _) in out.pushed {
            let name = r.with_tag(&t).familiar_string();
            if let Ok(img) = self.images.get(&name).await {
                self.events
                    .image("push", &img.id, &name, img.config.labels());
            }
        }
        Ok(())
    }

    /// `GET /images/search`: asks the index `term` names (see `berth_registry::search`) and
    /// keeps what passes `filters`; `is-automated=true` answers nothing without asking, as
    /// moby 28 does.
    pub async fn search(
        self: &Arc<Self>,
        term: String,
        limit: i64,
        filters: berth_registry::SearchFilters,
        auth: AuthConfig,
    ) -> Result<Vec<berth_registry::SearchResult>> {
        if filters.automated {
            return Ok(Vec::new());
        }
        let cfg = self.live().registry;
        let found =
            tokio::task::spawn_blocking(move || berth_registry::search(&cfg, &term, limit, &auth))
                .await
                .map_err(|e| EngineError::internal("search task", e))?
                .map_err(map_err)?;
        Ok(filters.apply(found))
    }

    /// `POST /auth`: checks credentials against the registry.
    pub async fn login(self: &Arc<Self>, auth: AuthConfig) -> Result<String> {
        let cfg = self.live().registry;
        tokio::task::spawn_blocking(move || berth_registry::login(&cfg, &auth))
            .await
            .map_err(|e| EngineError::internal("login task", e))?
            .map_err(map_err)
    }
}
