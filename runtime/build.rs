//! The shipped runtime is linked by runtime/link/cc, which lays out .text
//! from runtime/link/hot.txt: relink when either changes.
fn main() {
    println!("cargo:rerun-if-changed=link/hot.txt");
    println!("cargo:rerun-if-changed=link/cc");
}
