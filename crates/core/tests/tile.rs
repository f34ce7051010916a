//! Tiling is pixel-exact against the numpy vis_square in data/vis_square/gen.py.

use ndarray::ArrayD;
use std::path::PathBuf;
use zfvis_core::vis::tile::{difference, relative_change, tile_filters, Norm, TileMode, TileOptions};

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

#[test]
fn symmetric_norm_puts_zero_at_mid_grey() {
    // Two 1×1×2×2 grey kernels: the largest magnitude (−4) maps to 0, +4 would map to 255, 0 to 128.
    let w =
        ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 1, 2, 2]), vec![0.0, 2.0, -4.0, 1.0, -2.0, 0.0, 4.0, -1.0]).unwrap();
    let opts = TileOptions { norm: Norm::Symmetric, pad: 1, ..Default::default() };
    let g = tile_filters(&w, &opts).unwrap();
    // Two tiles in a 2×2 grid of 3×3 cells (2×2 kernel + 1 pixel of white padding).
    assert_eq!((g.tiles, g.side, g.image.width, g.image.height), (2, 2, 6, 6));
    let px = |x: usize, y: usize| g.image.data[(y * 6 + x) * 4];
    let want = |v: f32| zfvis_core::vis::to_byte(0.5 + v / 8.0);
    assert_eq!([px(0, 0), px(1, 0), px(0, 1), px(1, 1)], [128, want(2.0), 0, want(1.0)]);
    assert_eq!([px(3, 0), px(4, 0), px(3, 1), px(4, 1)], [want(-2.0), 128, 255, want(-1.0)]);
    assert_eq!(px(2, 0), 255, "padding stays white");
    assert!(g.image.data.chunks(4).all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));
}

#[test]
fn difference_of_equal_snapshots_is_mid_grey_and_unchanged() {
    let w = ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 3, 3, 3]), |i| {
        (i[0] * 27 + i[1] * 9 + i[2] * 3 + i[3]) as f32 / 7.0 - 5.0
    });
    let d = difference(&w, &w).unwrap();
    assert!(d.iter().all(|&v| v == 0.0));
    let g = tile_filters(&d, &TileOptions { norm: Norm::Symmetric, pad: 0, ..Default::default() }).unwrap();
    assert!(g.image.data.chunks(4).all(|p| p[..3] == [128, 128, 128]), "RGB tiles of zeros are mid grey");
    let (change, norm, dist) = relative_change(std::slice::from_ref(&w), std::slice::from_ref(&w)).unwrap();
    assert_eq!((change, dist), (Some(0.0), 0.0));
    assert!(norm > 0.0);
}

#[test]
fn relative_change_over_all_blobs_in_f64() {
    // Weights 3·[1, 1, 1, 1] (norm 6) and bias [0, 8] (norm 8): ‖before‖ = 10. After: one weight +3, the bias
    // 8 → 4 (−4): ‖after − before‖ = 5, change 0.5.
    let wa = ArrayD::from_elem(ndarray::IxDyn(&[1, 1, 2, 2]), 3.0f32);
    let ba = ArrayD::from_shape_vec(ndarray::IxDyn(&[2]), vec![0.0f32, 8.0]).unwrap();
    let mut wb = wa.clone();
    wb[[0, 0, 1, 1].as_slice()] = 6.0;
    let bb = ArrayD::from_shape_vec(ndarray::IxDyn(&[2]), vec![0.0f32, 4.0]).unwrap();
    let (change, norm, dist) = relative_change(&[wa.clone(), ba.clone()], &[wb.clone(), bb]).unwrap();
    assert_eq!((change, norm, dist), (Some(0.5), 10.0, 5.0));
    let d = difference(&wa, &wb).unwrap();
    assert_eq!(d.iter().copied().collect::<Vec<_>>(), [0.0, 0.0, 0.0, 3.0]);
    // Zero weights: no relative change; mismatched shapes are refused.
    let zero = ArrayD::<f32>::zeros(ndarray::IxDyn(&[2]));
    assert_eq!(relative_change(std::slice::from_ref(&zero), std::slice::from_ref(&ba)).unwrap(), (None, 0.0, 8.0));
    assert!(difference(&wa, &ba).unwrap_err().message.contains("cannot subtract"));
    assert!(relative_change(std::slice::from_ref(&wa), &[ba]).is_err());
    assert!(relative_change(std::slice::from_ref(&wa), &[wa.clone(), wb]).is_err());
}
