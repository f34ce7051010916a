//! zfvis-core: model import, a CNN engine that records what visualizations need, and the visualizations.
//!
//! - [`formats`]: one module per model format, each producing a [`graph::Graph`].
//! - [`graph`] and [`engine`]: the format-free network and its forward pass.
//! - [`ops`]: one module per family of layers.
//! - [`vis`]: one module per visualization.
//! - [`preprocess`]: image pixels to an input blob.
//! - [`limits`]: sizes refused before allocating.
//! - [`summary`] and [`analysis`]: the layer table with shapes, parameters, MACs, memory and receptive fields.

pub mod analysis;
pub mod datasets;
pub mod engine;
pub mod error;
pub mod formats;
pub mod graph;
pub mod labels;
pub mod limits;
pub mod ops;
pub mod preprocess;
pub mod summary;
pub mod real;
pub mod train;
pub mod vis;

pub use error::{Error, Result};
pub use graph::Graph;
pub use real::Real;
pub use ndarray;

/// The tensor type used everywhere: NCHW (or N×K), f32 unless a gradient check asks for f64.
pub type Tensor<T = f32> = ndarray::ArrayD<T>;
