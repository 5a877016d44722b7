//! Layers: an overlay upper dir to a compressed tar blob in one streaming
//! pass (write), and the hardened applier of layer tars (apply).
//!
//! - write: walk (write.rs) -> tar (tarwrite.rs) -> sha256 = diff_id ->
//!   gzip level 3 / zstd level 3 on a second thread (compress.rs) ->
//!   sha256 = digest -> out.
//! - apply: sniff + decompress (gzip, zstd, bzip2, xz, plain) -> our own
//!   strict tar reader (tarread.rs) -> every path cleaned (path.rs) and
//!   resolved in a pathrs Root on the target (apply.rs, fsops.rs) ->
//!   whiteouts per ApplyMode (apply_whiteout.rs).
//!
//! apply_layer never writes outside its target, but on error leaves the
//! target half-applied: the caller deletes it.
//!
//! Not handled: overlayfs upper dirs made with redirect_dir, metacopy or
//! the 6.7+ "xwhiteout" format (the snapshotter must not enable them); GNU
//! sparse entries (refused); sockets (skipped, as Docker does); uname/gname
//! (numeric ids only); LIBARCHIVE.xattr.* records (only SCHILY.xattr.*).

mod apply;
mod apply_whiteout;
mod compress;
mod error;
mod fsops;
mod path;
mod pgzip;
mod tarread;
mod tarwrite;
mod whiteout;
mod write;
mod xattr;

#[cfg(test)]
mod tests;

pub use apply::{apply_layer, Applied, ApplyMode, Limits};
pub use compress::{decompress, Compression, GZIP_LEVEL, ZSTD_LEVEL};
pub use error::LayerError;
pub use write::{upper_is_empty, write_layer, WriteOptions, Written};
