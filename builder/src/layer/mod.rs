//! Layers: an overlay upper dir to a compressed tar blob in one streaming
//! pass (write), and the hardened applier of layer tars (apply).
//!
//! - write: walk -> tar (tarwrite) -> diff_id -> compress (compress) -> digest.
//! - apply: decompress -> tar (tarread, our own strict reader) -> pathrs Root.

mod apply;
mod apply_whiteout;
mod compress;
mod error;
mod fsops;
mod path;
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
