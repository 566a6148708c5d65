//! Links `berth` as a fixed-address (non-PIE) executable. A PIE binary's relocated
//! read-only data (vtables, string tables) becomes private dirty memory in every process
//! that runs it; with one `berthd shim` per container that was ~760 KiB each. Non-PIE
//! resolves those relocations at link time, so the pages stay shared with the file.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
