//! Berth's OCI runtime: the library behind the `runtime` binary.
//!
//! The binary is a thin front end (runc's command line); everything that
//! touches the kernel lives here, one module per concern.

pub mod capabilities;
pub mod cgroups;
pub mod console;
pub mod container;
pub mod error;
pub mod exeseal;
pub mod features;
pub mod hooks;
pub mod logging;
pub mod mountinfo;
pub mod namespaces;
pub mod netdev;
pub mod netlink;
pub mod process;
pub mod resident;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
pub mod syscall;
pub mod time;
pub mod trampoline;

pub use error::{Error, Result};
