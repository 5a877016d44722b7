//! The container's processes: the sync channel between the runtime and the
//! init it forks, the init itself, and the process attributes it applies.

pub mod channel;
pub mod clone;
pub mod cpus;
pub mod exec;
pub mod init;
pub mod mempolicy;
pub mod user;
