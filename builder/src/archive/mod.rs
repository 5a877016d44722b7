//! Image archives: `save` as an OCI archive (an image layout in a tar, what
//! `podman load`, skopeo's `oci-archive:` and `docker load` of docker 25+
//! read) or a docker archive (manifest.json + uncompressed layer tars, what
//! every `docker load` reads); `load` of either (plain or compressed, from
//! podman, buildah, skopeo or docker), and `import` of a flat rootfs tar.

mod import;
mod load;
mod save;

pub use import::import;
pub use load::load;
pub use save::{save, save_to, Format};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The io error is part of the message, not a `source`: printed with
    /// its chain (`{:#}`) it would show twice.
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{0}")]
    Bad(String),
}

pub type Result<T> = std::result::Result<T, ArchiveError>;

pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |err| ArchiveError::Io {
        path: path.display().to_string(),
        err,
    }
}
