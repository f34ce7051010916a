//! An image file, through the CLI's own decoder (mozjpeg for JPEG, the image crate otherwise).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/cli/src/decode.rs"]
mod decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode::decode_bytes(data);
});
