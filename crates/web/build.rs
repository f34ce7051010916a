// Lets the browser tests embed ../shared fixtures when the folder is there; they skip otherwise.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_fixtures)");
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    println!("cargo::rerun-if-changed={}", shared.display());
    if shared.join("fixtures").is_dir() {
        println!("cargo::rustc-cfg=shared_fixtures");
        println!("cargo::rustc-env=ZFVIS_SHARED={}", shared.canonicalize().unwrap().display());
    }
}
