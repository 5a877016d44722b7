//! Content-addressed blobs: written to a temp file, hashed on the way,
//! renamed into blobs/sha256/<hex>; read back with their digest checked.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{atomic, io_at, Result, Store, StoreError};
use crate::digest::{Digest, HashReader};

impl Store {
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blob_dir().join(d.hex())
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).exists()
    }

    /// Stores `bytes`; returns their digest and size.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<(Digest, u64)> {
        let d = Digest::of(bytes);
        let path = self.blob_path(&d);
        if !path.exists() {
            atomic::write(&path, bytes).map_err(io_at(&path))?;
        }
        Ok((d, bytes.len() as u64))
    }

    /// Moves a finished, fsynced temp file whose content is `d` into place.
    /// The caller computed `d` while writing it.
    pub fn ingest_file(&self, tmp: &Path, d: &Digest) -> Result<()> {
        let path = self.blob_path(d);
        if path.exists() {
            let _ = fs::remove_file(tmp);
            return Ok(());
        }
        atomic::publish(tmp, &path).map_err(io_at(&path))
    }

    /// Copies a stream into the store, checking it hashes to `want` when given.
    pub fn put_stream(&self, input: &mut dyn Read, want: Option<&Digest>) -> Result<(Digest, u64)> {
        let tmp = atomic::temp_beside(&self.blob_dir().join("ingest"));
        let result = (|| {
            let mut f = File::create(&tmp).map_err(io_at(&tmp))?;
            let mut r = HashReader::new(input);
            io::copy(&mut r, &mut f).map_err(io_at(&tmp))?;
            f.sync_all().map_err(io_at(&tmp))?;
            let (d, n) = r.finish();
            if let Some(w) = want {
                if *w != d {
                    return Err(StoreError::Corrupt {
                        digest: *w,
                        actual: d,
                        path: tmp.clone(),
                    });
                }
            }
            self.ingest_file(&tmp, &d)?;
            Ok((d, n))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// A blob's bytes, verified against its digest.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(d);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::MissingBlob(*d))
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        let actual = Digest::of(&bytes);
        if actual != *d {
            return Err(StoreError::Corrupt {
                digest: *d,
                actual,
                path,
            });
        }
        Ok(bytes)
    }

    /// A blob as a stream; the caller hashes what it reads (layers are big).
    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        let path = self.blob_path(d);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::MissingBlob(*d),
            _ => io_at(&path)(e),
        })
    }

    /// A verified blob parsed as JSON.
    pub fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        d: &Digest,
        what: &'static str,
    ) -> Result<T> {
        let bytes = self.read_blob(d)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Json {
            path: self.blob_path(d),
            what,
            why: e.to_string(),
        })
    }

    /// Writes a value as a JSON blob.
    pub fn put_json<T: serde::Serialize>(&self, v: &T) -> Result<(Digest, u64)> {
        let bytes = serde_json::to_vec(v).expect("image types always serialise");
        self.put_blob(&bytes)
    }
}
