//! `zfvis topk`.

use clap::Args;
use std::path::PathBuf;
use zfvis_core::{Error, Result};

#[derive(Args)]
pub struct TopkArgs {
    /// model.onnx, or net.prototxt and its weights
    #[arg(required = true, num_args = 1..)]
    model: Vec<PathBuf>,
}

pub fn run(_args: TopkArgs) -> Result<()> {
    Err(Error::input("not built yet"))
}
