//! The pages in `static/` are compiled into the binary: rebuild it when one of them changes.

fn main() {
    println!("cargo:rerun-if-changed=static");
}
