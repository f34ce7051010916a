//! Model formats: each reader turns files into a [`crate::Graph`] plus what the files say about inputs.

pub mod caffe;
pub mod onnx;
pub mod sniff;
pub mod stream;

use crate::Graph;

/// A loaded model: the graph and what its files say about feeding it.
#[derive(Debug, Clone)]
pub struct Model {
    pub graph: Graph,
    /// "Caffe (V2 prototxt, binary V1 weights)", ...
    pub format: String,
    /// Notes on what the reader assumed or changed (dropped layers, inferred shapes).
    pub notes: Vec<String>,
    /// Preprocessing the model files declare, if any.
    pub transform: Transform,
}

/// Preprocessing declared by the model (Caffe's `transform_param`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transform {
    pub scale: Option<f32>,
    pub mean_values: Vec<f32>,
    pub mean_file: Option<String>,
    pub crop_size: Option<usize>,
}

impl Model {
    /// The plane order the model most likely expects: Caffe's CIFAR-10 converter writes RGB; Caffe's
    /// image tools (OpenCV) give BGR.
    pub fn default_channel_order(&self) -> crate::vis::ChannelOrder {
        if self.graph.name.to_ascii_lowercase().contains("cifar") {
            crate::vis::ChannelOrder::Rgb
        } else {
            crate::vis::ChannelOrder::Bgr
        }
    }
}
