//! `zfvis topk`: the k strongest activations of each feature map of a layer over an image set, as JSON and
//! two PNG grids (deconvnet projections, and the input patches under the units' receptive fields).

use crate::model_files::load_model;
use crate::{decode, PreprocessArgs};
use clap::Args;
use ndarray::{concatenate, Axis};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zfvis_core::datasets::cifar10;
use zfvis_core::formats::Model;
use zfvis_core::preprocess::{self, Pixels, Preprocess};
use zfvis_core::vis::topk::{entry_view, Entry, TopK};
use zfvis_core::vis::Rgba;
use zfvis_core::{engine, Error, Result, Tensor};

#[derive(Args)]
pub struct TopkArgs {
    /// model.onnx, or net.prototxt and its weights
    #[arg(required = true, num_args = 1..)]
    model: Vec<PathBuf>,
    /// A folder of images (.jpg .jpeg .png .bmp .gif .webp, sorted by name), or a CIFAR-10 binary batch
    /// (data_batch_*.bin, test_batch.bin)
    #[arg(long)]
    images: PathBuf,
    /// The layer (or value) whose feature maps are ranked
    #[arg(long)]
    layer: String,
    #[arg(long, default_value_t = 9)]
    k: usize,
    /// Images per forward pass
    #[arg(long, default_value_t = 100)]
    batch: usize,
    #[command(flatten)]
    pre: PreprocessArgs,
    /// Grid tiles scaled up this many times (nearest neighbour)
    #[arg(long, default_value_t = 1)]
    zoom: usize,
    /// Output folder: topk.json, <layer>_projections.png, <layer>_patches.png
    #[arg(short, long)]
    output: PathBuf,
}

const IMAGE_EXTS: [&str; 6] = ["jpg", "jpeg", "png", "bmp", "gif", "webp"];

/// Where the images come from.
enum Source {
    Batch(cifar10::Batch),
    Files(Vec<PathBuf>),
}

impl Source {
    fn open(p: &Path) -> Result<Source> {
        let err = |e: &dyn std::fmt::Display| Error::input(format!("{}: {e}", p.display()));
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| err(&e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(err(&format!("no images ({}) in the folder", IMAGE_EXTS.join(", "))));
            }
            return Ok(Source::Files(files));
        }
        let bytes = std::fs::read(p).map_err(|e| err(&e))?;
        Ok(Source::Batch(cifar10::parse(&bytes).map_err(|e| e.context(p.display()))?))
    }

    fn len(&self) -> usize {
        match self {
            Source::Batch(b) => b.len(),
            Source::Files(f) => f.len(),
        }
    }

    /// The image's name in the JSON: its file name, or its index in a batch file.
    fn name(&self, i: usize) -> serde_json::Value {
        match self {
            Source::Batch(_) => i.into(),
            Source::Files(f) => f[i].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().into(),
        }
    }

    /// The image's RGBA pixels.
    fn pixels(&self, i: usize) -> Result<(Vec<u8>, usize, usize)> {
        match self {
            Source::Batch(b) => Ok((b.get(i).rgba(), cifar10::SIDE, cifar10::SIDE)),
            Source::Files(f) => {
                let d = decode::decode(&f[i])?;
                Ok((d.rgba, d.width, d.height))
            }
        }
    }
}

struct Prep {
    shape: Vec<usize>,
    pre: Preprocess,
}

impl Prep {
    fn blob(&self, src: &Source, i: usize) -> Result<Tensor> {
        let (rgba, width, height) = src.pixels(i)?;
        let what = match src {
            Source::Batch(_) => format!("image {i}"),
            Source::Files(f) => f[i].display().to_string(),
        };
        preprocess::to_blob(&Pixels { rgba: &rgba, width, height }, &self.shape, &self.pre).map_err(|e| e.context(what))
    }

    /// The image as the net sees it (resized to the input), as RGBA.
    fn fitted(&self, src: &Source, i: usize) -> Result<Rgba> {
        let (rgba, width, height) = src.pixels(i)?;
        Ok(preprocess::fit_rgba(&Pixels { rgba: &rgba, width, height }, self.shape[2], self.shape[3], self.pre.resize))
    }
}

pub fn run(a: TopkArgs) -> Result<()> {
    if a.k == 0 || a.batch == 0 {
        return Err(Error::input("--k and --batch must be at least 1"));
    }
    let model = load_model(&a.model)?;
    let g = &model.graph;
    let id = g.value_id(&a.layer).ok_or_else(|| Error::input(format!("no layer or value named '{}'", a.layer)))?;
    let src = Source::open(&a.images)?;
    let shape = g.default_input_shapes().remove(0);
    if shape.len() != 4 {
        return Err(Error::input("top-k needs a net whose input is an image (N×C×H×W)"));
    }
    let prep = Prep { pre: a.pre.preprocess(&model)?, shape };

    let t0 = Instant::now();
    let n = src.len();
    let mut top: Option<TopK> = None;
    let mut spatial = false;
    let mut i = 0;
    while i < n {
        let j = (i + a.batch).min(n);
        let blobs = (i..j).map(|k| prep.blob(&src, k)).collect::<Result<Vec<_>>>()?;
        let views: Vec<_> = blobs.iter().map(|b| b.view()).collect();
        let batch = concatenate(Axis(0), &views).map_err(|e| Error::input(format!("stacking images: {e}")))?;
        let acts = engine::forward(g, vec![batch])?;
        let v = &acts.values[id];
        spatial = v.ndim() == 4;
        if v.ndim() < 2 {
            return Err(Error::input(format!("'{}' has no channels to rank", a.layer)));
        }
        top.get_or_insert_with(|| TopK::new(v.shape()[1], a.k)).add_batch(v, i).map_err(|e| e.context(&a.layer))?;
        i = j;
    }
    let top = top.expect("at least one image").into_sorted();
    let ranked_s = t0.elapsed().as_secs_f64();

    std::fs::create_dir_all(&a.output).map_err(|e| Error::input(format!("{}: {e}", a.output.display())))?;
    let mut entries = Vec::new();
    let mut proj_tiles: Vec<Vec<Option<Rgba>>> = Vec::new();
    let mut patch_tiles: Vec<Vec<Option<Rgba>>> = Vec::new();
    for (ch, list) in top.iter().enumerate() {
        let (mut prow, mut crow) = (Vec::new(), Vec::new());
        for (r, e) in list.iter().enumerate() {
            let (proj, patch, rect) =
                if spatial { tiles(&model, &src, &prep, &a.layer, ch, e)? } else { (None, None, None) };
            let mut j = serde_json::json!({
                "channel": ch, "rank": r, "image": src.name(e.image), "index": e.image,
                "y": e.y, "x": e.x, "value": e.value,
            });
            if let Some([y0, y1, x0, x1]) = rect {
                j["patch"] = serde_json::json!({"y0": y0, "y1": y1, "x0": x0, "x1": x1});
            }
            if let Source::Batch(b) = &src {
                j["label"] = b.get(e.image).class_name().into();
            }
            entries.push(j);
            prow.push(proj);
            crow.push(patch);
        }
        proj_tiles.push(prow);
        patch_tiles.push(crow);
    }
    let json = serde_json::json!({
        "layer": a.layer, "k": a.k, "images": n, "source": a.images.display().to_string(),
        "channels": top.len(), "entries": entries,
    });
    let jp = a.output.join("topk.json");
    std::fs::write(&jp, serde_json::to_string_pretty(&json).expect("serializable"))
        .map_err(|e| Error::input(format!("{}: {e}", jp.display())))?;
    let safe: String =
        a.layer.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    for (tiles, what) in [(&proj_tiles, "projections"), (&patch_tiles, "patches")] {
        let p = a.output.join(format!("{safe}_{what}.png"));
        let img = grid(tiles, a.k, a.zoom);
        image::save_buffer(&p, &img.data, img.width as u32, img.height as u32, image::ColorType::Rgba8)
            .map_err(|e| Error::input(format!("{}: {e}", p.display())))?;
    }
    println!(
        "{}: top-{} of {} maps of '{}' over {n} images ({ranked_s:.2} s ranking, {:.2} s in all) → {}",
        a.images.display(),
        a.k,
        top.len(),
        a.layer,
        t0.elapsed().as_secs_f64(),
        a.output.display()
    );
    Ok(())
}

type Tiles = (Option<Rgba>, Option<Rgba>, Option<[isize; 4]>);

/// The entry's projection and patch (see [`entry_view`]) and their box (y0, y1, x0, x1, inclusive).
fn tiles(model: &Model, src: &Source, prep: &Prep, layer: &str, ch: usize, e: &Entry) -> Result<Tiles> {
    let acts = engine::forward(&model.graph, vec![prep.blob(src, e.image)?])?;
    let seen = prep.fitted(src, e.image)?;
    let v = entry_view(&model.graph, &acts, &seen, layer, ch, (e.y, e.x), prep.pre.channel_order)?;
    let f = v.field;
    Ok((Some(v.projection), Some(v.patch), Some([f.y0, f.y1, f.x0, f.x1])))
}

/// A row per channel, a column per rank; cells as large as the largest tile, tiles centred, 1-pixel white
/// gaps, empty cells grey.
fn grid(rows: &[Vec<Option<Rgba>>], k: usize, zoom: usize) -> Rgba {
    let zoom = zoom.max(1);
    let all = rows.iter().flatten().flatten();
    let ch = all.clone().map(|t| t.height).max().unwrap_or(1) * zoom;
    let cw = all.map(|t| t.width).max().unwrap_or(1) * zoom;
    let (width, height) = (k * (cw + 1) + 1, rows.len().max(1) * (ch + 1) + 1);
    let mut data = vec![255u8; width * height * 4];
    for (r, row) in rows.iter().enumerate() {
        for c in 0..k {
            let (oy, ox) = (r * (ch + 1) + 1, c * (cw + 1) + 1);
            for y in 0..ch {
                for x in 0..cw {
                    let o = ((oy + y) * width + ox + x) * 4;
                    data[o..o + 3].copy_from_slice(&[128, 128, 128]);
                }
            }
            let Some(Some(t)) = row.get(c) else { continue };
            let (ty, tx) = (oy + (ch - t.height * zoom) / 2, ox + (cw - t.width * zoom) / 2);
            for y in 0..t.height * zoom {
                for x in 0..t.width * zoom {
                    let s = ((y / zoom) * t.width + x / zoom) * 4;
                    let o = ((ty + y) * width + tx + x) * 4;
                    data[o..o + 4].copy_from_slice(&t.data[s..s + 4]);
                }
            }
        }
    }
    Rgba { width, height, data }
}
