//! Cache keys: sha256 over the parent's key and what decides a step's result
//! (the expanded instruction, the build args it sees, the content it reads).

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

pub struct KeyHasher(Sha256);

impl KeyHasher {
    /// Starts a key from its parent's (the stage's state before the step).
    pub fn new(parent: &Digest, kind: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"berth-step-v1\0");
        h.update(parent.hex().as_bytes());
        h.update([0]);
        h.update(kind.as_bytes());
        h.update([0]);
        KeyHasher(h)
    }

    /// Adds a field; fields are length-prefixed so no two lists collide.
    pub fn field(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let b = bytes.as_ref();
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
        self
    }

    pub fn finish(self) -> Digest {
        Digest::from_bytes(self.0.finalize().into())
    }
}

/// The key of a stage's first state: what it is FROM.
pub fn base_key(base: &str, id: Option<&Digest>) -> Digest {
    let mut h = KeyHasher::new(&Digest::of(b""), "FROM");
    h.field(base);
    if let Some(d) = id {
        h.field(d.hex());
    }
    h.finish()
}
