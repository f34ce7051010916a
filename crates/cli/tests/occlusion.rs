//! `zfvis occlusion` against OpenCV dnn's occlusion map in ../shared/reference.

#[path = "../../core/tests/common/mod.rs"]
mod common;
use common::{manifest, npy, rel_err, shared};
use std::path::Path;
use std::process::{Command, Output};

fn zfvis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zfvis")).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn probability_map_matches_opencv() {
    let Some(sh) = shared() else { return };
    let m = manifest(&sh);
    let entry = &m["models"]["cifar10_quick_iter_5000_v1"];
    let spec = &entry["images"]["cat_0000"];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.npy");
    let (proto, weights) = (sh.join(entry["prototxt"].as_str().unwrap()), sh.join(entry["weights"].as_str().unwrap()));
    let input = sh.join(spec["input"].as_str().unwrap());
    // `zfvis occlusion` on the cat with a size-8, stride-2 square, then these flags.
    let occlude = |flags: &[&str]| {
        let base = ["occlusion", s(&proto), s(&weights), "--input", s(&input), "--size", "8", "--stride", "2"];
        let run = zfvis(&[&base[..], flags, &["-o", s(&out)]].concat());
        assert!(run.status.success(), "zfvis {flags:?} failed: {}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let line = occlude(&["--fill", "0"]);
    println!("{line}");
    assert!(line.contains("13×13") && line.contains("169 positions"), "{line}");
    let reference = npy(&sh.join(spec["occlusion_cv2_s8_st2"]["path"].as_str().unwrap()));
    let err = rel_err(&npy(&out), &reference);
    println!("cifar10_quick cat size 8 stride 2: rel err {err:.2e}");
    assert!(err <= 1e-4, "{err:e}");

    // The argmax map holds class indices as float32; the feature map names its channel.
    occlude(&["--map", "argmax"]);
    assert!(npy(&out).iter().all(|&c| c == c.floor() && (0.0..10.0).contains(&c)));
    assert!(occlude(&["--map", "feature", "--layer", "relu2", "--fill", "-10,0,10"]).contains("relu2 channel"));
    assert_eq!(npy(&out).shape(), &[13, 13]);

    // Bad input: a clear message and a non-zero exit.
    for (args, msg) in
        [(["--size", "0"], "size 0"), (["--size", "40"], "occluder size 40 is larger than the 32×32 image")]
    {
        let run = zfvis(
            &[&["occlusion", s(&proto), s(&weights), "--input", s(&input), "-o", s(&out)][..], &args[..]].concat(),
        );
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success() && err.contains(msg), "{err}");
    }
}
