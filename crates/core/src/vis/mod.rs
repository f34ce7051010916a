//! Visualizations, one module each. All render to [`Rgba`] images.

pub mod correspondence;
pub mod gradcam;
pub mod invariance;
pub mod occlusion;
pub mod projection;
pub mod receptive_field;
pub mod render;
pub mod tile;
pub mod topk;

/// An 8-bit RGBA image, row-major, ready for a canvas `ImageData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Channel order of a model's input planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

impl std::str::FromStr for ChannelOrder {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "rgb" => Ok(ChannelOrder::Rgb),
            "bgr" => Ok(ChannelOrder::Bgr),
            _ => Err(crate::Error::input(format!("channel order must be RGB or BGR, got '{s}'"))),
        }
    }
}

/// Maps a value in [0, 1] to a byte: ⌊255·v + ½⌋, clamped.
pub fn to_byte(v: f32) -> u8 {
    (v * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}
