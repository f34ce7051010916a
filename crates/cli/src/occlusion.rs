//! `zfvis occlusion`.

use crate::model_files::load_model;
use clap::{Args, ValueEnum};
use ndarray::ArrayD;
use std::path::PathBuf;
use std::time::Instant;
use zfvis_core::vis::occlusion::{occlusion, Fill, Occluder, BATCH_BYTES};
use zfvis_core::{Error, Result};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapArg {
    /// Probability of the class (--class, default the unoccluded image's top-1)
    Prob,
    /// Most probable class at each position, as float32 class indices
    Argmax,
    /// Total activation of --layer's strongest feature map (its channel with the largest unit, unoccluded)
    Feature,
}

/// Slides a square over the image; map[i,j] is measured with its top-left at (stride·i, stride·j),
/// positions fully inside the image only. Writes a rows×cols float32 .npy.
#[derive(Args)]
pub struct OcclusionArgs {
    /// model.onnx, or net.prototxt and its weights
    #[arg(required = true, num_args = 1..)]
    model: Vec<PathBuf>,
    /// One image as a 1×C×H×W float32 .npy, preprocessed as the model expects
    #[arg(long)]
    input: PathBuf,
    /// Side of the square, in pixels
    #[arg(long)]
    size: usize,
    /// Step between positions, in pixels
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// The square's value in input space (0 = the mean when the mean is subtracted), or one value per
    /// channel, comma-separated
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    fill: String,
    /// Class for --map prob (default: top-1 of the unoccluded image)
    #[arg(long)]
    class: Option<usize>,
    /// Which map to write
    #[arg(long, value_enum, default_value_t = MapArg::Prob)]
    map: MapArg,
    /// Layer for --map feature
    #[arg(long)]
    layer: Option<String>,
    /// Output .npy
    #[arg(short, long)]
    output: PathBuf,
}

fn parse_fill(s: &str) -> Result<Fill> {
    let v: Vec<f32> = s
        .split(',')
        .map(|v| v.trim().parse())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::input(format!("--fill must be a number or comma-separated numbers; got '{s}'")))?;
    Ok(if let [one] = v[..] { Fill::Value(one) } else { Fill::PerChannel(v) })
}

pub fn run(args: OcclusionArgs) -> Result<()> {
    let occ = Occluder { size: args.size, stride: args.stride, fill: parse_fill(&args.fill)? };
    if args.map == MapArg::Feature && args.layer.is_none() {
        return Err(Error::input("--map feature needs --layer L"));
    }
    let model = load_model(&args.model)?;
    let image = crate::read_npy(&args.input)?;
    let start = Instant::now();
    let (targets, maps) = occlusion(&model.graph, &image, &occ, args.class, args.layer.as_deref(), BATCH_BYTES)?;
    let secs = start.elapsed().as_secs_f64();
    let (values, what) = match args.map {
        MapArg::Prob => (maps.prob, "class probability".to_string()),
        MapArg::Argmax => (maps.argmax.iter().map(|&c| c as f32).collect(), "most probable class".to_string()),
        MapArg::Feature => {
            let (_, ch) = targets.feature.expect("a layer was given");
            (maps.feature, format!("total activation of {} channel {ch}", args.layer.unwrap_or_default()))
        }
    };
    let map = ArrayD::from_shape_vec(vec![maps.rows, maps.cols], values).expect("rows×cols");
    ndarray_npy::write_npy(&args.output, &map).map_err(|e| Error::input(format!("{}: {e}", args.output.display())))?;
    println!(
        "{}: {}×{} map of {what}; class {}{}; {} positions in {secs:.2} s",
        args.output.display(),
        maps.rows,
        maps.cols,
        targets.class,
        if args.class.is_some() { "" } else { " (top-1 unoccluded)" },
        maps.rows * maps.cols
    );
    Ok(())
}
