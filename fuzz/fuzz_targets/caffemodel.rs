//! The `caffemodel` target: see `run` in fuzz/harness.rs.
#![no_main]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::run("caffemodel", data);
});
