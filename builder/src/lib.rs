//! Berth's image builder and image store: the library behind `builder`, and
//! what the shim links to run containers from images.
//!
//! frontend (dockerfile, expand, dockerignore) -> graph -> solver -> snapshot
//! -> layer -> store. One module per concern.

pub mod archive;
pub mod bundle;
pub mod clock;
pub mod digest;
pub mod dockerfile;
pub mod dockerignore;
pub mod expand;
pub mod image;
pub mod layer;
pub mod reference;
pub mod seccomp;
pub mod snapshot;
pub mod solver;
pub mod store;
pub mod template;
pub mod unpack;
