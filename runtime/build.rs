//! The shipped runtime is linked by runtime/link/cc, which lays out .text
//! from runtime/link/hot.txt: relink when either changes.
//!
//! It also builds the exec trampoline (trampoline/main.rs, no std) with
//! rustc alone into OUT_DIR, for `src/trampoline.rs` to embed; the cfg
//! `berth_trampoline` says it is there. Where it can't be built (another
//! architecture, a toolchain without a static linker), the runtime
//! re-executes itself as before (exeseal.rs).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/hot.txt");
    println!("cargo:rerun-if-changed=link/cc");
    println!("cargo:rerun-if-changed=trampoline/main.rs");
    println!("cargo::rustc-check-cfg=cfg(berth_trampoline)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !(target.starts_with("x86_64-") && target.contains("-linux-")) {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("trampoline");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let flags = [
        "panic=abort",
        "opt-level=s",
        "lto",
        "codegen-units=1",
        "relocation-model=static",
        "target-feature=+crt-static",
        "strip=symbols",
        "link-arg=-nostartfiles",
        "link-arg=-nostdlib",
        "link-arg=-static",
        "link-arg=-Wl,--build-id=none",
    ];
    let mut cmd = Command::new(rustc);
    cmd.args([
        "--edition",
        "2021",
        "--crate-type",
        "bin",
        "--target",
        &target,
    ])
    .arg("-o")
    .arg(&out)
    .arg("trampoline/main.rs")
    // The workspace's RUSTFLAGS (the static build's linker) are not for it.
    .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for f in flags {
        cmd.args(["-C", f]);
    }
    match cmd.output() {
        Ok(o) if o.status.success() => println!("cargo:rustc-cfg=berth_trampoline"),
        Ok(o) => println!(
            "cargo:warning=exec trampoline not built (the runtime will re-execute itself): {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ),
        Err(e) => println!("cargo:warning=exec trampoline not built: {e}"),
    }
}
