//! Layers: an overlay upper dir to a compressed tar blob in one streaming pass
//! (write), and the hardened applier of layer tars (apply) (OWNER: layer helper).
// Interface stubs until the layer helper's module lands (its file replaces this one).
use std::io::{Read, Write};
use std::path::Path;

use crate::digest::Digest;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compression {
    Gzip,
    Zstd,
    Uncompressed,
}
pub struct WriteOptions {
    pub compression: Compression,
    pub epoch: Option<i64>,
}
pub struct Written {
    pub diff_id: Digest,
    pub digest: Digest,
    pub size: u64,
    pub media_type: &'static str,
    pub entries: u64,
}
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ApplyMode {
    Overlay,
    Flat,
}
pub struct Limits {
    pub max_entries: u64,
    pub max_bytes: u64,
    pub max_path_len: usize,
}
impl Default for Limits {
    fn default() -> Self {
        Limits { max_entries: 10_000_000, max_bytes: 1 << 40, max_path_len: 4096 }
    }
}
pub struct Applied {
    pub diff_id: Digest,
    pub entries: u64,
    pub bytes: u64,
}
#[derive(Debug, thiserror::Error)]
#[error("layer: not written yet")]
pub struct LayerError;
pub fn write_layer(_upper: &Path, _out: &mut dyn Write, _o: &WriteOptions) -> Result<Written, LayerError> {
    Err(LayerError)
}
pub fn upper_is_empty(upper: &Path) -> std::io::Result<bool> {
    Ok(std::fs::read_dir(upper)?.next().is_none())
}
pub fn apply_layer(_i: &mut dyn Read, _t: &Path, _m: ApplyMode, _l: &Limits) -> Result<Applied, LayerError> {
    Err(LayerError)
}
pub fn decompress<'a>(input: Box<dyn Read + 'a>) -> std::io::Result<Box<dyn Read + 'a>> {
    Ok(input)
}
