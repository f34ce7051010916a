//! Shared helpers for tests that read `../shared` (fixtures and independent references).
#![allow(dead_code)]

use ndarray::ArrayD;
use std::path::PathBuf;

/// The shared folder beside the checkout, or None (the caller skips with a message).
pub fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("fixtures").is_dir() {
        Some(p.canonicalize().unwrap())
    } else {
        eprintln!("SKIPPED: ../shared (fixtures and references) is absent beside the checkout");
        None
    }
}

pub fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn npy(p: &std::path::Path) -> ArrayD<f32> {
    ndarray_npy::read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn manifest(shared: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&read(&shared.join("reference/manifest.json"))).unwrap()
}

/// max |a − b| / max(1, max |b|): the acceptance measure.
pub fn rel_err(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    a.iter().zip(b.iter()).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// numpy's .npz member `name`, walking the local headers.
pub fn npz_member(bytes: &[u8], name: &str) -> Vec<u8> {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let mut o = 0;
    while bytes[o..o + 4] == [0x50, 0x4b, 0x03, 0x04] {
        let (name_len, extra_len) = (u16_at(o + 26), u16_at(o + 28));
        let member = std::str::from_utf8(&bytes[o + 30..o + 30 + name_len]).unwrap();
        let start = o + 30 + name_len + extra_len;
        let mut d = flate2::bufread::DeflateDecoder::new(&bytes[start..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).unwrap();
        if member == name {
            return out;
        }
        o = start + d.total_in() as usize;
    }
    panic!("{name} not in the .npz");
}

/// A numpy '<U…' array (names in a .npz): fixed-width UTF-32 strings after the .npy header.
pub fn npy_names(bytes: &[u8]) -> Vec<String> {
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    let width: usize = header.split("'<U").nth(1).unwrap().split('\'').next().unwrap().parse().unwrap();
    bytes[10 + header_len..]
        .chunks(4 * width)
        .map(|s| {
            s.chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .take_while(|&u| u != 0)
                .map(|u| char::from_u32(u).unwrap())
                .collect()
        })
        .collect()
}
