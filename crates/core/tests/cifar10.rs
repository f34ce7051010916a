//! CIFAR-10 binary batches: a synthetic round trip, bad files, and the official test_batch.bin if the
//! fixtures hold one.

mod common;
use common::*;
use zfvis_core::datasets::cifar10::{self, IMAGE, PLANE, RECORD};

/// Three records with known pixels: image i has R = i, G = pixel index mod 251, B = 255 − i.
fn synthetic() -> (Vec<u8>, Vec<Vec<u8>>) {
    let labels = [3u8, 0, 9];
    let images: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let mut p = vec![i as u8; PLANE];
            p.extend((0..PLANE).map(|k| (k % 251) as u8));
            p.extend(vec![255 - i as u8; PLANE]);
            p
        })
        .collect();
    let bytes = cifar10::encode(labels.iter().copied().zip(images.iter().map(|v| &v[..])));
    (bytes, images)
}

#[test]
fn round_trip() {
    let (bytes, images) = synthetic();
    assert_eq!(bytes.len(), 3 * RECORD);
    assert_eq!(bytes[0], 3);
    assert_eq!(bytes[RECORD], 0);
    let b = cifar10::parse(&bytes).unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!(b.labels, vec![3, 0, 9]);
    for (i, img) in images.iter().enumerate() {
        assert_eq!(b.get(i).planes, &img[..]);
    }
    let r = b.get(2);
    assert_eq!(r.class_name(), "truck");
    assert_eq!(b.get(0).class_name(), "cat");
    // RGBA pixel 5 of image 2: R = 2, G = 5, B = 253.
    assert_eq!(&r.rgba()[20..24], &[2, 5, 253, 255]);
    let chw = r.chw();
    assert_eq!((chw.len(), chw[0], chw[PLANE + 7], chw[2 * PLANE]), (IMAGE, 2.0, 7.0, 253.0));
    // Record by record, as a streaming reader would.
    let streamed: Vec<_> = cifar10::records(&bytes).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(streamed, (0..3).map(|i| b.get(i)).collect::<Vec<_>>());
    for (i, chunk) in bytes.chunks(RECORD).enumerate() {
        assert_eq!(cifar10::record(chunk, i).unwrap(), b.get(i));
    }
}

#[test]
fn bad_files_get_clear_messages() {
    let (mut bytes, _) = synthetic();
    let e = cifar10::parse(&bytes[..bytes.len() - 100]).unwrap_err();
    assert_eq!(e.kind, zfvis_core::error::ErrorKind::Input);
    assert!(e.message.contains("not a multiple of the record size 3073"), "{e}");
    assert!(e.message.contains("2 whole records and 2973 bytes left over"), "{e}");
    assert!(cifar10::parse(&[]).unwrap_err().message.contains("empty"));
    assert!(cifar10::records(&bytes[..10]).is_err());
    bytes[2 * RECORD] = 10;
    let e = cifar10::parse(&bytes).unwrap_err();
    assert!(e.message.contains("record 2 has label 10"), "{e}");
    assert!(cifar10::record(&bytes[..RECORD - 1], 7).unwrap_err().message.contains("record 7 has 3072 bytes"));
}

/// The npz's images are decoded from JPEG re-encodings of the originals, sorted by class, so they cannot
/// equal the official file byte for byte; its labels per class (1000 each, as the npz) and layout are checked.
#[test]
fn official_test_batch_if_present() {
    use ndarray_npy::ReadNpyExt;
    let Some(sh) = shared() else { return };
    let found = [
        "fixtures/images/test_batch.bin",
        "fixtures/images/cifar-10-batches-bin/test_batch.bin",
        "fixtures/cifar10/test_batch.bin",
    ]
    .iter()
    .map(|p| sh.join(p))
    .find(|p| p.is_file());
    let Some(path) = found else {
        eprintln!("SKIPPED: no official test_batch.bin under ../shared/fixtures");
        return;
    };
    let b = cifar10::parse(&read(&path)).unwrap();
    let npz = read(&sh.join("fixtures/images/cifar10_test_10k.npz"));
    let y = ndarray::Array1::<u8>::read_npy(&npz_member(&npz, "y.npy")[..]).unwrap();
    assert_eq!(b.len(), y.len());
    let count = |labels: &mut dyn Iterator<Item = u8>| {
        let mut c = [0usize; 10];
        labels.for_each(|l| c[l as usize] += 1);
        c
    };
    assert_eq!(count(&mut b.labels.iter().copied()), count(&mut y.iter().copied()));
}
