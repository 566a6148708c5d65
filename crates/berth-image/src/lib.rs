//! berth-image: image references, the content/image/layer store (load, save, import, tag,
//! remove, prune, history), hardened layer unpacking, container rootfs snapshots, views of
//! an image's files for the builder (`ImageFiles`, `ImageView`), and the
//! `mounter::Mounter` seam through which the engine mounts rootfs and volumes.
//! Synchronous by design: the engine calls it from `spawn_blocking`.

mod archive;
mod changes;
pub mod diff;
pub mod error;
mod files;
pub mod mounter;
pub mod reference;
pub mod snapshot;
pub mod store;
mod unpack;
mod view;

pub use changes::{apply_changes, ContainerConfig};
pub use unpack::{unpack_into, unpack_with, EntryKind, EntryMeta, TreeWriter, UnpackOptions};

pub use error::ImageError;
pub use files::ImageFiles;
pub use reference::{parse_any, AnyReference, Reference};
pub use store::{
    CommitRequest, DeleteItem, HistoryEntry, HistoryItem, Image, ImageStore, ImportPlatform,
    IngestedLayer, Loaded, PushImage, PushLayer,
};
pub use store::{CompressedLayer, MT_OCI_LAYER_GZIP};
pub use view::ImageView;
