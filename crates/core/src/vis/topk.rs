//! The k strongest activations of each feature map over an image set (Zeiler & Fergus 2014, Fig. 2).
//!
//! **What counts.** As in the paper, each image gives one entry per feature map: the map's maximum in that
//! image, at its *first* maximum in row-major order (the unit a deconvnet projection starts from, as
//! [`super::projection::Unit::Max`]). So the k entries of a map come from k different images.
//!
//! **Order.** Entries rank by value, largest first; equal values by image index, lower first; then by
//! position in row-major order (y, then x), lower first. Values compare with [`f32::total_cmp`] after
//! turning −0 into +0 (a NaN map maximum, which a sane net never gives, ranks above +∞). The order is
//! total over distinct (image, channel) pairs, so the result does not depend on the order images arrive
//! in, on the batch size, or on how the set is split into shards that are [`TopK::merge`]d — as long as
//! each image index is seen once.
//!
//! **Cost.** Per channel a sorted array of at most k entries; an entry that does not beat the k-th is
//! rejected with one comparison, so a batch costs one pass over its activations and no allocation.

use super::projection::{project, Method, Options, Target, Unit};
use super::receptive_field::{receptive_field, Rect};
use super::{render, ChannelOrder, Rgba};
use crate::engine::Activations;
use crate::graph::Graph;
use crate::ops::fmt_shape;
use crate::{bail, Result, Tensor};
use ndarray::s;
use serde::Serialize;
use std::cmp::Ordering;

/// One activation: its value, the image's index in the set, and the unit's position in the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Entry {
    pub value: f32,
    pub image: usize,
    pub y: usize,
    pub x: usize,
}

/// The ranking (see the module docs): `Less` when `a` ranks before (is stronger than) `b`.
pub fn rank(a: &Entry, b: &Entry) -> Ordering {
    (b.value + 0.0).total_cmp(&(a.value + 0.0)).then(a.image.cmp(&b.image)).then(a.y.cmp(&b.y)).then(a.x.cmp(&b.x))
}

/// The first maximum of a row-major plane: (flat index, value). A NaN never replaces a number; an
/// all-NaN plane gives index 0.
pub fn first_max(plane: &[f32]) -> (usize, f32) {
    let mut best = (0, plane[0]);
    for (i, &v) in plane.iter().enumerate().skip(1) {
        if v > best.1 || (best.1.is_nan() && !v.is_nan()) {
            best = (i, v);
        }
    }
    best
}

/// The running top-k of every channel of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK {
    k: usize,
    /// Per channel, at most k entries, strongest first.
    channels: Vec<Vec<Entry>>,
}

impl TopK {
    /// An empty result for a layer of `channels` maps.
    pub fn new(channels: usize, k: usize) -> TopK {
        TopK { k, channels: (0..channels).map(|_| Vec::with_capacity(k + 1)).collect() }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// Offers one entry to a channel; kept when it ranks among the k strongest so far.
    pub fn offer(&mut self, channel: usize, e: Entry) {
        let k = self.k;
        let list = &mut self.channels[channel];
        if k == 0 || (list.len() == k && rank(&e, &list[k - 1]) != Ordering::Less) {
            return;
        }
        let at = list.partition_point(|o| rank(o, &e) == Ordering::Less);
        if list.len() == k {
            list.pop();
        }
        list.insert(at, e);
    }

    /// Adds a batch of a layer's activations, N×C×H×W (or N×C, taken as 1×1 maps), whose sample 0 is
    /// image `first_image` of the set and sample i image `first_image + i`.
    pub fn add_batch(&mut self, acts: &Tensor, first_image: usize) -> Result<()> {
        let (n, c, h, w) = match *acts.shape() {
            [n, c, h, w] => (n, c, h, w),
            [n, c] => (n, c, 1, 1),
            _ => bail!(input, "top-k takes N×C×H×W (or N×C) activations, got shape {}", fmt_shape(acts.shape())),
        };
        if c != self.channels.len() {
            bail!(input, "top-k was set up for {} channels; these activations have {c}", self.channels.len());
        }
        let plane = h * w;
        if plane == 0 {
            bail!(input, "top-k: the feature maps are empty (shape {})", fmt_shape(acts.shape()));
        }
        let flat = acts.as_standard_layout();
        let flat = flat.as_slice().expect("standard layout");
        for b in 0..n {
            for ch in 0..c {
                let base = (b * c + ch) * plane;
                let (i, value) = first_max(&flat[base..base + plane]);
                self.offer(ch, Entry { value, image: first_image + b, y: i / w, x: i % w });
            }
        }
        Ok(())
    }

    /// Folds another partial result (other images of the same layer) into this one. Exact: merging
    /// shards in any order gives the same result as one pass over all the images.
    pub fn merge(&mut self, other: &TopK) -> Result<()> {
        if other.channels.len() != self.channels.len() || other.k != self.k {
            bail!(
                input,
                "top-k: cannot merge {} channels with k = {} into {} channels with k = {}",
                other.channels.len(),
                other.k,
                self.channels.len(),
                self.k
            );
        }
        for (ch, list) in other.channels.iter().enumerate() {
            for &e in list {
                self.offer(ch, e);
            }
        }
        Ok(())
    }

    /// Per channel, the (at most) k strongest entries, strongest first.
    pub fn channels(&self) -> &[Vec<Entry>] {
        &self.channels
    }

    /// [`TopK::channels`], owned.
    pub fn into_sorted(self) -> Vec<Vec<Entry>> {
        self.channels
    }
}

/// What the page and the CLI show for one entry: its deconvnet projection and the input patch, both
/// cropped to the unit's receptive field clipped to the image, and that box.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryView {
    pub projection: Rgba,
    pub patch: Rgba,
    pub field: Rect,
}

/// The view of a unit (y, x) of `channel` of `layer`, from the forward pass `acts` of one image and that
/// image as the net saw it (`seen`, at the input's size).
pub fn entry_view(
    graph: &Graph,
    acts: &Activations,
    seen: &Rgba,
    layer: &str,
    channel: usize,
    (y, x): (usize, usize),
    order: ChannelOrder,
) -> Result<EntryView> {
    let field = receptive_field(graph, layer, y, x)?.clip(seen.height, seen.width);
    let (y0, y1, x0, x1) = (field.y0 as usize, field.y1 as usize, field.x0 as usize, field.x1 as usize);
    let target = Target { value: layer.to_string(), channel, unit: Unit::At(y, x) };
    let p = project(graph, acts, &target, Method::Deconvnet, Options::default())?;
    if p.ndim() != 4 || p.shape()[2] != seen.height || p.shape()[3] != seen.width {
        bail!(
            input,
            "the projection ({}) does not match the {}×{} image",
            fmt_shape(p.shape()),
            seen.height,
            seen.width
        );
    }
    let crop: Tensor = p.slice(s![0, .., y0..=y1, x0..=x1]).to_owned().into_dyn();
    let projection = render::paper(&crop, order)?;
    let mut data = Vec::with_capacity((y1 - y0 + 1) * (x1 - x0 + 1) * 4);
    for row in y0..=y1 {
        data.extend_from_slice(&seen.data[(row * seen.width + x0) * 4..(row * seen.width + x1 + 1) * 4]);
    }
    let patch = Rgba { width: x1 - x0 + 1, height: y1 - y0 + 1, data };
    Ok(EntryView { projection, patch, field })
}
