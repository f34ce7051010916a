//! Top-k per feature map: unit cases, and the acceptance test — the top-9 of every relu1/relu2/relu3 map of
//! cifar10_quick over the 10,000 CIFAR-10 test images, batched and sharded, equals a brute force.

mod common;
use common::*;
use ndarray::{s, Array4, ArrayD, Axis, IxDyn};
use std::cmp::Ordering;
use std::io::Read;
use std::time::Instant;
use zfvis_core::formats::caffe;
use zfvis_core::vis::topk::{rank, Entry, TopK};
use zfvis_core::{engine, Tensor};

fn e(value: f32, image: usize, y: usize, x: usize) -> Entry {
    Entry { value, image, y, x }
}

#[test]
fn per_image_maximum_ties_and_merge() {
    // 3 images, 2 channels of 2×2. Channel 0's maxima: image 0 has 5 twice (first in row-major order wins),
    // image 1 has 5, image 2 has 7.
    let data = vec![
        1.0, 5.0, 5.0, 0.0, /* ch1 */ -1.0, -2.0, -3.0, -4.0, // image 0
        5.0, 0.0, 0.0, 0.0, /* ch1 */ 0.0, 0.0, 0.0, 0.0, // image 1
        0.0, 0.0, 0.0, 7.0, /* ch1 */ -1.0, -1.0, -1.0, -1.0, // image 2
    ];
    let t: Tensor = ArrayD::from_shape_vec(IxDyn(&[3, 2, 2, 2]), data).unwrap();
    let mut top = TopK::new(2, 2);
    top.add_batch(&t, 10).unwrap();
    assert_eq!(top.channels()[0], vec![e(7.0, 12, 1, 1), e(5.0, 10, 0, 1)]);
    assert_eq!(top.channels()[1], vec![e(0.0, 11, 0, 0), e(-1.0, 10, 0, 0)]);

    // Image by image, in reverse, then merged in either order: the same.
    let mut parts: Vec<TopK> = (0..3)
        .map(|i| {
            let mut p = TopK::new(2, 2);
            p.add_batch(&t.slice(s![i..i + 1, .., .., ..]).to_owned().into_dyn(), 10 + i).unwrap();
            p
        })
        .collect();
    let mut a = parts[2].clone();
    a.merge(&parts[1]).unwrap();
    a.merge(&parts[0]).unwrap();
    assert_eq!(a, top);
    let mut b = parts.remove(0);
    for p in &parts {
        b.merge(p).unwrap();
    }
    assert_eq!(b, top);

    // −0 and +0 tie; the lower image wins.
    let mut z = TopK::new(1, 1);
    z.offer(0, e(0.0, 5, 0, 0));
    z.offer(0, e(-0.0, 4, 0, 0));
    assert_eq!(z.channels()[0][0].image, 4);

    // Bad inputs.
    assert!(TopK::new(3, 2).add_batch(&t, 0).unwrap_err().message.contains("3 channels"));
    assert!(top.merge(&TopK::new(2, 3)).is_err());
    let flat: Tensor = ArrayD::zeros(IxDyn(&[2]));
    assert!(top.add_batch(&flat, 0).unwrap_err().message.contains("N×C×H×W"));
}

/// `name` (an uncompressed-size-agnostic walk over the local headers) from a .npz written by numpy.
fn npz_member(bytes: &[u8], name: &str) -> Vec<u8> {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let mut o = 0;
    while bytes[o..o + 4] == [0x50, 0x4b, 0x03, 0x04] {
        let (method, name_len, extra_len) = (u16_at(o + 8), u16_at(o + 26), u16_at(o + 28));
        assert_eq!(bytes[o + 6] & 8, 0, "data descriptors are not handled");
        let member = std::str::from_utf8(&bytes[o + 30..o + 30 + name_len]).unwrap();
        let start = o + 30 + name_len + extra_len;
        assert_eq!(method, 8, "deflate expected");
        let mut d = flate2::bufread::DeflateDecoder::new(&bytes[start..]);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        if member == name {
            return out;
        }
        o = start + d.total_in() as usize;
    }
    panic!("{name} not in the .npz");
}

/// The 10k test images: N×32×32×3 RGB bytes.
fn cifar_x(sh: &std::path::Path) -> ndarray::Array4<u8> {
    use ndarray_npy::ReadNpyExt;
    let bytes = read(&sh.join("fixtures/images/cifar10_test_10k.npz"));
    Array4::<u8>::read_npy(&npz_member(&bytes, "x.npy")[..]).unwrap()
}

/// Images [from, to) preprocessed as the manifest says: RGB planes, 0..255 minus the mean.
fn blobs(x: &Array4<u8>, mean: &ArrayD<f32>, from: usize, to: usize) -> Tensor {
    let mut t = ndarray::Array4::<f32>::zeros((to - from, 3, 32, 32));
    for (i, img) in x.slice(s![from..to, .., .., ..]).axis_iter(Axis(0)).enumerate() {
        for c in 0..3 {
            for y in 0..32 {
                for xx in 0..32 {
                    t[[i, c, y, xx]] = img[[y, xx, c]] as f32 - mean[[c, y, xx]];
                }
            }
        }
    }
    t.into_dyn()
}

const LAYERS: [&str; 3] = ["relu1", "relu2", "relu3"];

#[test]
fn top9_over_cifar10_test_equals_brute_force() {
    let Some(sh) = shared() else { return };
    let dir = sh.join("fixtures/caffe/cifar10_quick");
    let m = caffe::load(
        &read(&dir.join("cifar10_quick.prototxt")),
        &read(&dir.join("cifar10_quick_iter_5000_v1.caffemodel")),
    )
    .unwrap();
    let g = &m.graph;
    let mean = npy(&dir.join("mean_approx.npy"));
    let x = cifar_x(&sh);
    let n = x.shape()[0];
    assert_eq!(n, 10_000);
    let ids: Vec<usize> = LAYERS.iter().map(|l| g.value_id(l).unwrap()).collect();
    // The post-ReLU tensors (relu1 is in place on pool1 in the prototxt).
    for (l, &id) in LAYERS.iter().zip(&ids) {
        assert_eq!(g.values[id].name, *l);
    }

    // Brute force: one image per forward pass; for every map of every image, all its units sorted
    // (value desc, then row-major) give the image's entry; then all images' entries sorted, first 9.
    let t0 = Instant::now();
    let mut all: Vec<Vec<Vec<Entry>>> = vec![Vec::new(); LAYERS.len()];
    for i in 0..n {
        let acts = engine::forward(g, vec![blobs(&x, &mean, i, i + 1)]).unwrap();
        for (l, &id) in ids.iter().enumerate() {
            let a = &acts.values[id];
            let (c, h, w) = (a.shape()[1], a.shape()[2], a.shape()[3]);
            if all[l].is_empty() {
                all[l] = vec![Vec::with_capacity(n); c];
            }
            for ch in 0..c {
                let mut units: Vec<Entry> = (0..h * w).map(|u| e(a[[0, ch, u / w, u % w]], i, u / w, u % w)).collect();
                units.sort_by(|p, q| q.value.partial_cmp(&p.value).unwrap().then((p.y, p.x).cmp(&(q.y, q.x))));
                all[l][ch].push(units[0]);
            }
        }
    }
    let brute: Vec<Vec<Vec<Entry>>> = all
        .into_iter()
        .map(|chs| {
            chs.into_iter()
                .map(|mut v| {
                    v.sort_by(|p, q| q.value.partial_cmp(&p.value).unwrap().then(p.image.cmp(&q.image)));
                    v.truncate(9);
                    v
                })
                .collect()
        })
        .collect();
    let brute_s = t0.elapsed().as_secs_f64();

    // Fast path: batches of 100 within 3 uneven shards, merged last shard first.
    let t0 = Instant::now();
    let shards = [(0, 3_700), (3_700, 4_100), (4_100, n)];
    let mut parts: Vec<Vec<TopK>> = Vec::new();
    for &(from, to) in &shards {
        let mut tops: Vec<Option<TopK>> = vec![None; LAYERS.len()];
        let mut i = from;
        while i < to {
            let j = (i + 100).min(to);
            let acts = engine::forward(g, vec![blobs(&x, &mean, i, j)]).unwrap();
            for (l, &id) in ids.iter().enumerate() {
                let a = &acts.values[id];
                tops[l].get_or_insert_with(|| TopK::new(a.shape()[1], 9)).add_batch(a, i).unwrap();
            }
            i = j;
        }
        parts.push(tops.into_iter().map(Option::unwrap).collect());
    }
    let mut fast = parts.pop().unwrap();
    while let Some(p) = parts.pop() {
        for (a, b) in fast.iter_mut().zip(&p) {
            a.merge(b).unwrap();
        }
    }
    let fast_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "top-9 of relu1..3 over {n} images: batched+sharded {fast_s:.2} s; brute force (single passes) {brute_s:.2} s"
    );

    for (l, name) in LAYERS.iter().enumerate() {
        let got = fast[l].channels();
        assert_eq!(got.len(), brute[l].len(), "{name}: channels");
        for (ch, (g9, b9)) in got.iter().zip(&brute[l]).enumerate() {
            assert_eq!(g9.len(), 9);
            // Same entries, in the same order, bit-identical values (batched passes give the single
            // passes' floats for these layers).
            for (a, b) in g9.iter().zip(b9) {
                assert_eq!((a.image, a.y, a.x), (b.image, b.y, b.x), "{name} channel {ch}: {g9:?} vs {b9:?}");
                assert_eq!(a.value.to_bits(), b.value.to_bits(), "{name} channel {ch} image {}", a.image);
            }
            assert!(g9.windows(2).all(|w| rank(&w[0], &w[1]) == Ordering::Less));
        }
    }
}
