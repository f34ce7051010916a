//! Tiling is pixel-exact against the numpy vis_square in data/vis_square/gen.py.

use ndarray::ArrayD;
use std::path::PathBuf;
use zfvis_core::vis::tile::{tile_filters, Norm, TileMode, TileOptions};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vis_square")
}

#[test]
fn matches_numpy_vis_square() {
    let cases: serde_json::Value = serde_json::from_slice(&std::fs::read(dir().join("cases.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let w: ArrayD<f32> = ndarray_npy::read_npy(dir().join(format!("case_{name}_weights.npy"))).unwrap();
        let want: ArrayD<u8> = ndarray_npy::read_npy(dir().join(format!("case_{name}_expected.npy"))).unwrap();
        let opts = TileOptions {
            norm: if c["norm"] == "tile" { Norm::Tile } else { Norm::Global },
            pad: c["pad"].as_u64().unwrap() as usize,
            pad_value: c["pad_value"].as_f64().unwrap() as f32,
            zoom: c["zoom"].as_u64().unwrap() as usize,
            start: c["start"].as_u64().unwrap() as usize,
            count: c["count"].as_u64().map(|v| v as usize),
            mode: match c["mode"].as_str().unwrap() {
                "rgb" => TileMode::Rgb,
                "grey" => TileMode::Grey,
                _ => TileMode::Auto,
            },
            channel_order: c["order"].as_str().unwrap().parse().unwrap(),
        };
        let g = tile_filters(&w, &opts).unwrap();
        assert_eq!([g.image.height, g.image.width, 4], want.shape(), "{name}: size");
        let diff = g.image.data.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
        assert_eq!(diff, 0, "{name}: {diff} bytes differ");
    }
}

#[test]
fn rejects_bad_requests() {
    let w = ArrayD::<f32>::zeros(ndarray::IxDyn(&[4, 2, 3, 3]));
    let rgb = TileOptions { mode: TileMode::Rgb, ..Default::default() };
    assert!(tile_filters(&w, &rgb).unwrap_err().message.contains("3 input channels"));
    let empty = TileOptions { start: 8, ..Default::default() };
    assert!(tile_filters(&w, &empty).unwrap_err().message.contains("empty"));
    let flat = ArrayD::<f32>::zeros(ndarray::IxDyn(&[4, 2]));
    assert!(tile_filters(&flat, &TileOptions::default()).is_err());
}

#[test]
fn constant_filters_do_not_divide_by_zero() {
    let w = ArrayD::<f32>::from_elem(ndarray::IxDyn(&[2, 3, 2, 2]), 0.5);
    let g = tile_filters(&w, &TileOptions::default()).unwrap();
    assert!(g.image.data.iter().all(|&b| b == 0 || b == 255));
}
