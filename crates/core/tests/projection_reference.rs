//! Deconvnet projections against ../shared/reference: the Zeiler–Fergus files and captum's Deconvolution.

mod common;
use common::*;
use zfvis_core::vis::projection::{project, Method, Options, SeedValue, Target, Unit};
use zfvis_core::{engine, formats::caffe};

const TOL: f32 = 1e-4;

fn check(key: &str) -> usize {
    let Some(sh) = shared() else { return 0 };
    let m = manifest(&sh);
    let entry = &m["models"][key];
    let model = caffe::load(
        &read(&sh.join(entry["prototxt"].as_str().unwrap())),
        &read(&sh.join(entry["weights"].as_str().unwrap())),
    )
    .unwrap();
    let g = &model.graph;
    let mut checked = 0;
    for (img, spec) in entry["images"].as_object().unwrap() {
        let acts = engine::forward(g, vec![npy(&sh.join(spec["input"].as_str().unwrap()))]).unwrap();
        for p in spec["zf_projections"].as_array().unwrap() {
            let layer = p["layer"].as_str().unwrap();
            let channel = p["channel"].as_u64().unwrap() as usize;
            let unit = if p["mode"] == "max" { Unit::Max } else { Unit::Map };
            let target = Target { value: layer.into(), channel, unit };
            let ours = project(g, &acts, &target, Method::Deconvnet, Options::default()).unwrap();
            let want = npy(&sh.join(p["path"].as_str().unwrap()));
            let err = rel_err(&ours, &want);
            println!("{key} {img} zf {layer} c{channel} {}: rel err {err:.2e}", p["mode"].as_str().unwrap());
            assert!(err <= TOL, "{key} {img} {layer} c{channel} {}: {err:e}", p["mode"]);
            checked += 1;
        }
        let captum =
            spec["captum_deconvolution_logit"]["path"].as_str().or(spec["captum_deconvolution_ip2_top1"].as_str());
        if let Some(path) = captum {
            let logits = acts.get(g, "ip2").unwrap();
            let top1 = zfvis_core::vis::projection::strongest(logits.as_slice().unwrap()).0;
            let target = Target { value: "ip2".into(), channel: top1, unit: Unit::Max };
            let opts = Options { seed: Some(SeedValue::One), ..Options::default() };
            let ours = project(g, &acts, &target, Method::Deconvnet, opts).unwrap();
            let err = rel_err(&ours, &npy(&sh.join(path)));
            println!("{key} {img} captum deconvolution of ip2[{top1}]: rel err {err:.2e}");
            assert!(err <= TOL, "{key} {img} captum: {err:e}");
            checked += 1;
        }
    }
    checked
}

#[test]
fn cifar10_quick_v1_projections() {
    if shared().is_some() {
        assert_eq!(check("cifar10_quick_iter_5000_v1"), 2 * 19);
    }
}

#[test]
fn lenet_projections() {
    if shared().is_some() {
        assert_eq!(check("lenet"), 5);
    }
}
