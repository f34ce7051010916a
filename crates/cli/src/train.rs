//! `zfvis train`: trains a Caffe net from its solver.prototxt (or a built-in one) on MNIST digits or
//! CIFAR-10 binary batches, printing the loss and test results as Caffe does and writing snapshots as
//! V2 .caffemodel files.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zfvis_core::datasets::{mnist, Dataset};
use zfvis_core::formats::caffe::export::{caffemodel, mean_binaryproto};
use zfvis_core::train::{nets, Overrides, Solver, Trainer};
use zfvis_core::{Error, Result};

#[derive(Args)]
pub struct TrainArgs {
    /// A solver.prototxt, or a built-in net: lenet, cifar10_quick
    solver: String,
    /// The data: `mnist FILE` (the packed digits, www/data/mnist.bin: the first 8,000 train, the last
    /// 2,000 test) or `cifar10 DIR` (data_batch_*.bin train, test_batch.bin test)
    #[arg(long, num_args = 2, value_names = ["KIND", "PATH"])]
    data: Vec<String>,
    /// Where snapshots go (default: the current folder)
    #[arg(long)]
    snapshot_dir: Option<PathBuf>,
    /// Seed of the weight fillers and of the data layer's crops and mirrors (default: the solver's
    /// random_seed, else 1)
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after this many iterations instead of the solver's max_iter
    #[arg(long)]
    max_iter: Option<u32>,
    /// Snapshot every this many iterations instead of the solver's snapshot
    #[arg(long)]
    snapshot: Option<u32>,
    /// Test every this many iterations instead of the solver's test_interval (0: never)
    #[arg(long)]
    test_interval: Option<u32>,
    /// Also write every iteration's loss and every test result as JSON lines to this file
    #[arg(long)]
    log: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Mnist,
    Cifar10,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::input(format!("{}: {e}", path.display())))
}

/// The training and test sets.
fn load_data(data: &[String]) -> Result<(Dataset, Dataset)> {
    let [kind, path] = data else {
        return Err(Error::input("--data takes a kind (mnist or cifar10) and a path"));
    };
    let path = PathBuf::from(path);
    match Kind::from_str(kind, true).map_err(|_| Error::input(format!("--data {kind}: the kinds are mnist and cifar10")))? {
        Kind::Mnist => Ok(Dataset::from_mnist(&read(&path)?)?.split_at(mnist::TRAIN_RECORDS)),
        Kind::Cifar10 => {
            let mut batches: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| Error::input(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("data_batch_")))
                .collect();
            batches.sort();
            if batches.is_empty() {
                return Err(Error::input(format!("{}: no data_batch_*.bin files", path.display())));
            }
            let files = batches.iter().map(|p| read(p)).collect::<Result<Vec<_>>>()?;
            let train = Dataset::from_cifar10(&files.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            let test = Dataset::from_cifar10(&[&read(&path.join("test_batch.bin"))?])?;
            Ok((train, test))
        }
    }
}

/// The solver and its net's text: a built-in pair, or the files (the net resolved from the working
/// folder, as Caffe does, else from the solver's folder).
fn load_solver(solver: &str) -> Result<(Solver, Option<Vec<u8>>)> {
    if let Some((net, solver)) = nets::builtin(solver) {
        return Ok((Solver::parse(solver.as_bytes())?, Some(net.as_bytes().to_vec())));
    }
    let path = PathBuf::from(solver);
    let s = Solver::parse(&read(&path)?).map_err(|e| e.context(path.display().to_string()))?;
    if s.net_param.is_some() {
        return Ok((s, None));
    }
    let Some(net) = s.net.clone() else {
        return Err(Error::input(format!("{}: the solver names no net (net: or net_param:)", path.display())));
    };
    let beside = path.parent().unwrap_or(Path::new(".")).join(&net);
    let net_path = if Path::new(&net).exists() { PathBuf::from(&net) } else { beside };
    Ok((s, Some(read(&net_path)?)))
}

pub fn run(args: TrainArgs) -> Result<()> {
    let (mut solver, net_text) = load_solver(&args.solver)?;
    let overrides =
        Overrides { max_iter: args.max_iter, snapshot: args.snapshot, test_interval: args.test_interval, seed: args.seed };
    let seed = overrides.apply(&mut solver);
    let (train, test) = load_data(&args.data)?;
    let display = solver.display;
    let (train_len, test_len, shape) = (train.len(), test.len(), train.shape());
    let mut t = Trainer::for_solver(net_text.as_deref(), solver, train, Some(test), seed)?;
    let prefix = t.snapshot_prefix();
    let dir = args.snapshot_dir.unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
    // The mean image the net's mean_file stands for, beside the snapshots, for loading them elsewhere.
    if let Some(mean) = t.mean_image() {
        let file = dir.join(format!("{prefix}_mean.binaryproto"));
        std::fs::write(&file, mean_binaryproto(&mean)?).map_err(|e| Error::input(format!("{}: {e}", file.display())))?;
        println!("Mean image: {}", file.display());
    }
    let mut log = match &args.log {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))?),
        None => None,
    };
    let mut write_log = |line: String| {
        if let Some(f) = log.as_mut() {
            use std::io::Write;
            let _ = writeln!(f, "{line}");
        }
    };
    println!(
        "{}: {train_len} training and {test_len} test images {shape:?}, seed {seed}, {} iterations",
        t.net().graph.name,
        t.solver().max_iter
    );
    // Training time only, without the test passes and snapshots.
    let mut busy = 0f64;
    let test_now = |t: &mut Trainer, write_log: &mut dyn FnMut(String)| -> Result<()> {
        let r = t.test()?;
        let acc: Vec<String> = r.accuracy.iter().map(|(n, a)| format!("{n} = {a:.4}")).collect();
        let loss = r.loss.map_or(String::new(), |l| format!(", loss = {l:.5}"));
        println!("Iteration {}, testing {} images: {}{loss}", r.iter, r.images, acc.join(", "));
        let accs: Vec<String> = r.accuracy.iter().map(|(n, a)| format!("\"{n}\": {a}")).collect();
        let l = r.loss.map_or("null".into(), |l| l.to_string());
        write_log(format!("{{\"test\": {}, \"loss\": {l}, \"accuracy\": {{{}}}}}", r.iter, accs.join(", ")));
        Ok(())
    };
    while !t.finished() {
        if t.test_due() {
            test_now(&mut t, &mut write_log)?;
        }
        let clock = Instant::now();
        let s = t.step()?;
        busy += clock.elapsed().as_secs_f64();
        write_log(format!("{{\"iter\": {}, \"loss\": {}, \"lr\": {}}}", s.iter, s.loss, s.rate));
        if display > 0 && s.iter % display == 0 {
            println!("Iteration {}, loss = {:.5}, lr = {:.6} ({:.1} it/s)", s.iter, s.loss, s.rate, (s.iter + 1) as f64 / busy);
        }
        if t.snapshot_due() {
            let file = dir.join(format!("{prefix}_iter_{}.caffemodel", t.iter()));
            let bytes = caffemodel(&t.model(), &prefix)?;
            std::fs::write(&file, bytes).map_err(|e| Error::input(format!("{}: {e}", file.display())))?;
            println!("Snapshot: {}", file.display());
        }
    }
    if t.test_due() {
        test_now(&mut t, &mut write_log)?;
    }
    println!("Done: {} iterations, {busy:.1} s of training ({:.1} it/s)", t.iter(), t.iter() as f64 / busy);
    Ok(())
}
