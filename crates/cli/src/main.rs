//! `zfvis`: the command-line front end over zfvis-core.

mod bench;
mod decode;
mod model_files;
mod occlusion;
mod project;
mod topk;
mod train;

use clap::{Args, Parser, Subcommand, ValueEnum};
use model_files::{load_mean, load_model};
use ndarray::ArrayD;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zfvis_core::formats::Model;
use zfvis_core::ops::fmt_shape;
use zfvis_core::preprocess::{self, Pixels, Preprocess, Resize};
use zfvis_core::vis::tile::{tile_filters, Norm, TileMode, TileOptions};
use zfvis_core::vis::ChannelOrder;
use zfvis_core::{engine, labels, summary, Error, Result};

#[derive(Parser)]
#[command(name = "zfvis", version, about = "See inside trained CNNs: model info, forward passes and filter grids")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Layers: types, output shapes, parameters, MACs, activation memory and receptive fields; totals and
    /// per-type sums.
    Info {
        /// model.onnx, or net.prototxt and its weights (.caffemodel or .caffemodel.h5) in any order
        #[arg(required = true, num_args = 1..)]
        model: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Runs the net and prints the top-5 classes.
    Forward {
        #[arg(required = true, num_args = 1..)]
        model: Vec<PathBuf>,
        #[command(flatten)]
        inputs: InputArgs,
        /// Write every layer's output as <layer>.npy (the input image's, with several images)
        #[arg(long)]
        dump: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        /// How many classes to print
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Class names: one per line, or Caffe's synset_words.txt (default: built-in sets that fit)
        #[arg(long)]
        labels: Option<PathBuf>,
    },
    /// Projects a unit or feature map to input space (deconvnet, guided backprop, saliency) or maps a
    /// class over a layer (Grad-CAM).
    Project {
        #[arg(required = true, num_args = 1..)]
        model: Vec<PathBuf>,
        #[command(flatten)]
        inputs: InputArgs,
        /// The layer whose unit is projected, or Grad-CAM's layer
        #[arg(long)]
        layer: String,
        #[arg(long, default_value_t = 0)]
        channel: usize,
        /// max (the strongest unit), map (the whole feature map) or Y,X
        #[arg(long, default_value = "max")]
        unit: String,
        #[arg(long, value_enum, default_value_t = project::MethodArg::Deconvnet)]
        method: project::MethodArg,
        /// Grad-CAM's class (default: the top-1)
        #[arg(long)]
        class: Option<usize>,
        /// Take LRN's true gradient in the deconvnet instead of passing the signal through
        #[arg(long)]
        lrn_gradient: bool,
        /// .npy: the raw float32 map; .png: rendered (Grad-CAM over the image)
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Writes a Caffe net's weights (.caffemodel V1 or V2, or .caffemodel.h5) as a binary V2 .caffemodel.
    Export {
        /// net.prototxt and its weights
        #[arg(required = true, num_args = 2)]
        model: Vec<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Times the forward pass, a deconvnet projection from the last convolution and the tiling of the
    /// first one's filters: median, min and max over repeated runs; optionally every node's time
    /// (GFLOP/s per convolution) and the GEMM micro-benchmark.
    Bench {
        /// model.onnx, or net.prototxt and its weights (none with --gemm alone)
        #[arg(num_args = 0.., required_unless_present = "gemm")]
        model: Vec<PathBuf>,
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Also this many forward passes timed node by node
        #[arg(long, default_value_t = 0)]
        profile: usize,
        /// Also time sgemm on these square sizes (comma-separated)
        #[arg(long, value_delimiter = ',')]
        gemm: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        gemm_runs: usize,
        #[arg(long)]
        json: bool,
    },
    /// Occlusion sensitivity (Zeiler & Fergus Fig. 7): a square slides over the input; maps of the class
    /// probability, the most probable class, or a feature map's total activation at each position.
    Occlusion(occlusion::OcclusionArgs),
    /// The k strongest activations of each feature map of a layer over an image set (Zeiler & Fergus
    /// Fig. 2), as JSON and PNG grids of projections and input patches.
    Topk(topk::TopkArgs),
    /// Trains a Caffe net from its solver.prototxt (or a built-in one: lenet, cifar10_quick) on the MNIST
    /// digits or CIFAR-10 binary batches; writes snapshots as V2 .caffemodel files.
    Train(train::TrainArgs),
    /// Tiles a layer's filters into a grid PNG (Caffe's vis_square).
    Tile {
        #[arg(required = true, num_args = 1..)]
        model: Vec<PathBuf>,
        #[arg(long)]
        layer: String,
        #[arg(long, value_enum, default_value_t = NormArg::Global)]
        norm: NormArg,
        #[arg(long, default_value_t = 1)]
        pad: usize,
        /// Padding colour in normalised units (1 = white)
        #[arg(long, default_value_t = 1.0)]
        pad_value: f32,
        #[arg(long, default_value_t = 1)]
        zoom: usize,
        /// Show only this many tiles
        #[arg(long)]
        first: Option<usize>,
        /// Index of the first tile shown
        #[arg(long, default_value_t = 0)]
        start: usize,
        #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
        mode: ModeArg,
        /// Order of the filters' input channels (default: the model's)
        #[arg(long, value_enum)]
        channel_order: Option<OrderArg>,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Args)]
struct InputArgs {
    /// An N×C×H×W float32 .npy fed exactly as is
    #[arg(long, conflicts_with_all = ["image", "mean", "mean_values", "scale", "channel_order"])]
    input: Option<PathBuf>,
    /// Image files, each preprocessed with the flags below
    #[arg(long, num_args = 1..)]
    image: Vec<PathBuf>,
    #[command(flatten)]
    pre: PreprocessArgs,
}

/// How images become the net's input blob.
#[derive(Args)]
struct PreprocessArgs {
    /// Pixel-wise mean: mean.binaryproto or a C×H×W .npy, in the net's channel order
    #[arg(long)]
    mean: Option<PathBuf>,
    /// Per-channel mean values, comma-separated, in the net's channel order
    #[arg(long, value_delimiter = ',')]
    mean_values: Vec<f32>,
    /// Multiplier applied after mean subtraction (LeNet: 0.00390625)
    #[arg(long)]
    scale: Option<f32>,
    /// Channel order the net expects (default: the model's)
    #[arg(long, value_enum)]
    channel_order: Option<OrderArg>,
    #[arg(long, value_enum, default_value_t = ResizeArg::Stretch)]
    resize: ResizeArg,
}

impl PreprocessArgs {
    fn preprocess(&self, model: &Model) -> Result<Preprocess> {
        Ok(Preprocess {
            channel_order: order(self.channel_order, model),
            mean_image: self.mean.as_deref().map(load_mean).transpose()?,
            mean_values: self.mean_values.clone(),
            scale: self.scale.unwrap_or(1.0),
            resize: match self.resize {
                ResizeArg::Stretch => Resize::Stretch,
                ResizeArg::CenterCrop => Resize::CenterCrop,
            },
        })
    }
}

/// One input to run: its name, the blob, and the decoded image when it came from one.
struct Run {
    name: String,
    blob: ArrayD<f32>,
    image: Option<decode::Decoded>,
}

/// The blobs that --input or --image give.
fn load_inputs(model: &Model, a: &InputArgs) -> Result<Vec<Run>> {
    if let Some(p) = &a.input {
        return Ok(vec![Run { name: p.display().to_string(), blob: read_npy(p)?, image: None }]);
    }
    if a.image.is_empty() {
        return Err(Error::input("give --input x.npy or --image FILE..."));
    }
    let shape = model.graph.default_input_shapes().remove(0);
    let prep = a.pre.preprocess(model)?;
    a.image
        .iter()
        .map(|p| {
            let img = decode::decode(p)?;
            let px = Pixels { rgba: &img.rgba, width: img.width, height: img.height };
            let blob = preprocess::to_blob(&px, &shape, &prep)?;
            Ok(Run { name: p.display().to_string(), blob, image: Some(img) })
        })
        .collect()
}

#[derive(Clone, Copy, ValueEnum)]
enum NormArg {
    Global,
    Tile,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Auto,
    Rgb,
    Grey,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum OrderArg {
    #[value(alias = "rgb")]
    Rgb,
    #[value(alias = "bgr")]
    Bgr,
}

#[derive(Clone, Copy, ValueEnum)]
enum ResizeArg {
    Stretch,
    CenterCrop,
}

fn order(o: Option<OrderArg>, model: &Model) -> ChannelOrder {
    match o {
        Some(OrderArg::Rgb) => ChannelOrder::Rgb,
        Some(OrderArg::Bgr) => ChannelOrder::Bgr,
        None => model.default_channel_order(),
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, which turns a closed pipe into a panic on the next print.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { model, json } => info(&load_model(&model)?, json),
        Command::Forward { model, inputs, dump, json, top, labels } => {
            let model = load_model(&model)?;
            let labels = match labels {
                Some(p) => Some(zfvis_core::labels::parse(
                    &std::fs::read_to_string(&p).map_err(|e| Error::input(format!("{}: {e}", p.display())))?,
                )),
                None => None,
            };
            forward(&model, load_inputs(&model, &inputs)?, dump.as_deref(), json, top, labels)
        }
        Command::Project { model, inputs, layer, channel, unit, method, class, lrn_gradient, output } => {
            let model = load_model(&model)?;
            let runs = load_inputs(&model, &inputs)?;
            let req = project::Request { layer, channel, unit, method, class, lrn_gradient };
            project::run(&model, runs, &req, &output)
        }
        Command::Bench { model, runs, profile, gemm, gemm_runs, json } => {
            let model = if model.is_empty() { None } else { Some(load_model(&model)?) };
            bench::run(model.as_ref(), runs, &bench::Extra { profile, gemm, gemm_runs }, json)
        }
        Command::Export { model, output } => {
            let m = load_model(&model)?;
            let name = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let bytes = zfvis_core::formats::caffe::export::caffemodel(&m, &name)?;
            std::fs::write(&output, &bytes).map_err(|e| Error::input(format!("{}: {e}", output.display())))?;
            println!(
                "{}: {} layers with weights, {} bytes (V2 .caffemodel)",
                output.display(),
                m.graph.nodes.iter().filter(|n| !n.weights().is_empty()).count(),
                bytes.len()
            );
            Ok(())
        }
        Command::Occlusion(args) => occlusion::run(args),
        Command::Topk(args) => topk::run(args),
        Command::Train(args) => train::run(args),
        Command::Tile { model, layer, norm, pad, pad_value, zoom, first, start, mode, channel_order, output } => {
            let model = load_model(&model)?;
            let node = model.graph.node(&layer).ok_or_else(|| Error::input(format!("no layer named '{layer}'")))?;
            let w = node
                .weights()
                .first()
                .ok_or_else(|| Error::input(format!("layer '{layer}' has no weights to tile")))?;
            let opts = TileOptions {
                norm: match norm {
                    NormArg::Global => Norm::Global,
                    NormArg::Tile => Norm::Tile,
                },
                pad,
                pad_value,
                zoom,
                start,
                count: first,
                mode: match mode {
                    ModeArg::Auto => TileMode::Auto,
                    ModeArg::Rgb => TileMode::Rgb,
                    ModeArg::Grey => TileMode::Grey,
                },
                channel_order: order(channel_order, &model),
            };
            let g = tile_filters(w, &opts).map_err(|e| e.context(format!("layer '{layer}'")))?;
            image::save_buffer(
                &output,
                &g.image.data,
                g.image.width as u32,
                g.image.height as u32,
                image::ColorType::Rgba8,
            )
            .map_err(|e| Error::input(format!("{}: {e}", output.display())))?;
            println!(
                "{}: {} tiles in a {}×{} grid, {}×{} px",
                output.display(),
                g.tiles,
                g.side,
                g.side,
                g.image.width,
                g.image.height
            );
            Ok(())
        }
    }
}

fn info(model: &Model, json: bool) -> Result<()> {
    let s = summary::summarize(model)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s).expect("serializable"));
        return Ok(());
    }
    println!("{} — {}", s.name, s.format);
    for n in &s.notes {
        println!("note: {n}");
    }
    let row = |name: &str, ty: &str, shape: &str, params: &str, macs: &str, bytes: &str, field: &str| {
        println!("{name:<16} {ty:<14} {shape:<18} {params:>10} {macs:>14} {bytes:>11}  {field}");
    };
    row("layer", "type", "output", "params", "MACs", "activations", "receptive field");
    for i in &s.inputs {
        row(&i.name, "Input", &fmt_shape(&i.shape), "0", "", "", "");
    }
    for l in &s.layers {
        for (k, o) in l.outputs.iter().enumerate() {
            if k == 0 {
                let field = l.receptive_field.as_ref().map_or(String::new(), fmt_field);
                let (params, macs, bytes) = (l.params.to_string(), l.macs.to_string(), fmt_bytes(l.activation_bytes));
                row(&l.name, &l.type_name, &fmt_shape(&o.shape), &params, &macs, &bytes, &field);
            } else {
                row("", "", &fmt_shape(&o.shape), "", "", "", "");
            }
        }
    }
    let t = &s.totals;
    println!("total parameters: {}", t.params);
    println!("total MACs: {} ({})", t.macs, fmt_count(t.macs));
    println!("total activations: {} (the input not included)", fmt_bytes(t.activation_bytes));
    println!();
    println!("{:<20} {:>6} {:>12} {:>16} {:>11}", "type", "layers", "params", "MACs", "activations");
    for b in &s.by_type {
        let bytes = fmt_bytes(b.activation_bytes);
        println!("{:<20} {:>6} {:>12} {:>16} {:>11}", b.type_name, b.count, b.params, b.macs, bytes);
    }
    Ok(())
}

/// "11×11 jump 4×4 start -2,-2": the field's size, jump and start, rows then columns.
fn fmt_field(f: &zfvis_core::vis::receptive_field::Field) -> String {
    format!("{}×{} jump {}×{} start {},{}", f.size[0], f.size[1], f.jump[0], f.jump[1], f.start[0], f.start[1])
}

/// 12.35 M, 1.48 G.
fn fmt_count(n: u64) -> String {
    match n {
        0..1_000_000 => format!("{:.2} k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", n as f64 / 1e6),
        _ => format!("{:.2} G", n as f64 / 1e9),
    }
}

/// Bytes in KiB, MiB or GiB.
fn fmt_bytes(b: u64) -> String {
    match b {
        0..1024 => format!("{b} B"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b as f64 / 1_048_576.0),
        _ => format!("{:.2} GiB", b as f64 / 1_073_741_824.0),
    }
}

fn read_npy(p: &Path) -> Result<ArrayD<f32>> {
    ndarray_npy::read_npy(p).map_err(|e| Error::input(format!("{}: not a float32 .npy array: {e}", p.display())))
}

fn forward(
    model: &Model,
    runs: Vec<Run>,
    dump: Option<&Path>,
    json: bool,
    top: usize,
    labels: Option<Vec<String>>,
) -> Result<()> {
    let g = &model.graph;
    let last = g.nodes.last().expect("graph has nodes").outputs[0];
    let mut out = Vec::new();
    for Run { name, blob, .. } in runs {
        let acts = engine::forward(g, vec![blob])?;
        if let Some(dir) = dump {
            std::fs::create_dir_all(dir).map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
            for v in g.nodes.iter().flat_map(|n| &n.outputs).chain(g.inputs.iter().map(|(v, _)| v)) {
                let path = dir.join(format!("{}.npy", g.values[*v].name));
                ndarray_npy::write_npy(&path, &acts.values[*v])
                    .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
            }
        }
        let scores: Vec<f32> = acts.values[last].iter().copied().collect();
        let builtin = labels::for_model(&g.name, scores.len());
        let class_name = |i: usize| match &labels {
            Some(l) => l.get(i).cloned(),
            None => builtin.as_ref().map(|n| n[i].clone()),
        };
        let ranked: Vec<serde_json::Value> = preprocess::top_k(&scores, top)
            .into_iter()
            .map(|(i, p)| serde_json::json!({"index": i, "label": class_name(i), "score": p}))
            .collect();
        if json {
            out.push(serde_json::json!({"input": name, "top": ranked}));
        } else {
            println!("{name}");
            for (k, r) in ranked.iter().enumerate() {
                let label = r["label"].as_str().map(String::from).unwrap_or_else(|| format!("class {}", r["index"]));
                println!("  {}. {:<12} {:.6}", k + 1, label, r["score"].as_f64().unwrap());
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).expect("serializable"));
    }
    Ok(())
}
