//! `zfvis project`: projections and Grad-CAM to .npy or .png.

use crate::Run;
use clap::ValueEnum;
use std::path::Path;
use zfvis_core::formats::Model;
use zfvis_core::vis::projection::{project, Method, Options, Target, Unit};
use zfvis_core::vis::{gradcam, render, Rgba};
use zfvis_core::{engine, preprocess, Error, Result, Tensor};

#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Deconvnet,
    Guided,
    Saliency,
    Gradcam,
}

pub struct Request {
    pub layer: String,
    pub channel: usize,
    pub unit: String,
    pub method: MethodArg,
    pub class: Option<usize>,
    pub lrn_gradient: bool,
}

fn parse_unit(s: &str) -> Result<Unit> {
    match s {
        "max" => Ok(Unit::Max),
        "map" => Ok(Unit::Map),
        _ => {
            let yx: Vec<usize> = s
                .split(',')
                .map(|v| v.trim().parse())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::input(format!("--unit must be max, map or Y,X; got '{s}'")))?;
            match yx[..] {
                [y, x] => Ok(Unit::At(y, x)),
                _ => Err(Error::input(format!("--unit must be max, map or Y,X; got '{s}'"))),
            }
        }
    }
}

fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    ndarray_npy::write_npy(path, t).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

fn write_png(path: &Path, img: &Rgba) -> Result<()> {
    image::save_buffer(path, &img.data, img.width as u32, img.height as u32, image::ColorType::Rgba8)
        .map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

pub fn run(model: &Model, runs: Vec<Run>, req: &Request, output: &Path) -> Result<()> {
    let [run] = &runs[..] else {
        return Err(Error::input(format!("project takes one input, {} given", runs.len())));
    };
    let g = &model.graph;
    let acts = engine::forward(g, vec![run.blob.clone()])?;
    let png = output.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let map = match req.method {
        MethodArg::Gradcam => {
            let class = match req.class {
                Some(c) => c,
                None => {
                    let scores = &acts.values[gradcam::class_scores(g)];
                    preprocess::top_k(scores.as_slice().unwrap_or(&[]), 1).first().map_or(0, |t| t.0)
                }
            };
            let cam = gradcam::grad_cam(g, &acts, &req.layer, class)?;
            if png {
                let background = match &run.image {
                    Some(img) => Rgba { width: img.width, height: img.height, data: img.rgba.clone() },
                    None => {
                        let s = run.blob.shape();
                        Rgba { width: s[3], height: s[2], data: vec![128; s[2] * s[3] * 4] }
                    }
                };
                return write_png(output, &render::heat_overlay(&cam, &background, 0.5)?);
            }
            cam
        }
        m => {
            let method = match m {
                MethodArg::Deconvnet => Method::Deconvnet,
                MethodArg::Guided => Method::GuidedBackprop,
                _ => Method::Saliency,
            };
            let target = Target { value: req.layer.clone(), channel: req.channel, unit: parse_unit(&req.unit)? };
            let opts = Options { lrn_gradient: req.lrn_gradient, ..Options::default() };
            let p = project(g, &acts, &target, method, opts)?;
            if png {
                return write_png(output, &render::paper(&p, crate::order(None, model))?);
            }
            p
        }
    };
    write_npy(output, &map)
}
