//! Jobs over image sets, one shard per call (www/pool.js spreads the shards over workers): the top-k of
//! each feature map, the projections and patches of its entries, and occlusion maps.

use crate::{from_js, js_error, to_js, ImageJs, Model, PreprocessJs, GROUP_BYTES};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use zfvis_core::datasets::cifar10;
use zfvis_core::ndarray::{concatenate, Axis};
use zfvis_core::preprocess::{self, Pixels, Preprocess};
use zfvis_core::vis::occlusion::{self, Fill, Maps, Occluder, Targets};
use zfvis_core::vis::topk::{self, Entry, TopK};
use zfvis_core::{engine, Tensor};

/// Decoded images of one shard, as RGBA.
#[wasm_bindgen]
#[derive(Default)]
pub struct Images {
    items: Vec<(Vec<u8>, usize, usize)>,
}

#[wasm_bindgen]
impl Images {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Images {
        Images::default()
    }

    /// Adds one image: RGBA pixels, row-major.
    #[wasm_bindgen(js_name = pushRgba)]
    pub fn push_rgba(&mut self, rgba: Vec<u8>, width: usize, height: usize) -> Result<(), JsError> {
        if width == 0 || height == 0 || rgba.len() != width * height * 4 {
            return Err(JsError::new(&format!("{} bytes are not a {width}×{height} RGBA image", rgba.len())));
        }
        self.items.push((rgba, width, height));
        Ok(())
    }

    /// Adds every record of a CIFAR-10 binary batch (or a whole-record slice of one); returns how many.
    #[wasm_bindgen(js_name = pushCifar)]
    pub fn push_cifar(&mut self, bytes: &[u8]) -> Result<usize, JsError> {
        let mut n = 0;
        for r in cifar10::records(bytes).map_err(js_error)? {
            self.items.push((r.map_err(js_error)?.rgba(), cifar10::SIDE, cifar10::SIDE));
            n += 1;
        }
        Ok(n)
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.items.len()
    }
}

impl Images {
    pub(crate) fn pixels(&self, i: usize) -> Result<Pixels<'_>, JsError> {
        let (rgba, width, height) =
            self.items.get(i).ok_or_else(|| JsError::new(&format!("image {i} is not in this shard")))?;
        Ok(Pixels { rgba, width: *width, height: *height })
    }
}

#[derive(Serialize, Deserialize)]
struct EntryJs {
    value: f32,
    image: usize,
    y: usize,
    x: usize,
}

#[derive(Serialize, Deserialize)]
struct TopKJs {
    k: usize,
    /// Per channel, its entries, strongest first.
    channels: Vec<Vec<EntryJs>>,
    /// Whether the layer has maps (N×C×H×W) whose entries can be projected.
    spatial: bool,
}

impl TopKJs {
    fn new(top: TopK, spatial: bool) -> TopKJs {
        let k = top.k();
        let channels = top
            .into_sorted()
            .into_iter()
            .map(|list| list.into_iter().map(|e| EntryJs { value: e.value, image: e.image, y: e.y, x: e.x }).collect())
            .collect();
        TopKJs { k, channels, spatial }
    }

    fn top(&self) -> TopK {
        let mut top = TopK::new(self.channels.len(), self.k);
        for (ch, list) in self.channels.iter().enumerate() {
            for e in list {
                top.offer(ch, Entry { value: e.value, image: e.image, y: e.y, x: e.x });
            }
        }
        top
    }
}

/// Merges shards' top-k results (as `Model.topk` returns them) into one, exactly as one pass would rank.
#[wasm_bindgen(js_name = mergeTopK)]
pub fn merge_top_k(parts: JsValue) -> Result<JsValue, JsError> {
    let parts: Vec<TopKJs> = from_js(parts)?;
    let Some(first) = parts.first() else { return Err(JsError::new("no top-k results to merge")) };
    let spatial = first.spatial;
    let mut top = first.top();
    for p in &parts[1..] {
        top.merge(&p.top()).map_err(js_error)?;
    }
    to_js(&TopKJs::new(top, spatial))
}

#[derive(Deserialize)]
struct UnitJs {
    /// Index of the image in the shard's `Images`.
    image: usize,
    channel: usize,
    y: usize,
    x: usize,
}

#[derive(Serialize)]
struct BoxJs {
    y0: isize,
    y1: isize,
    x0: isize,
    x1: isize,
}

#[derive(Serialize)]
struct EntryViewJs {
    projection: ImageJs,
    patch: ImageJs,
    field: BoxJs,
}

/// An occluder's fill: "mean" (input 0: the mean, where it is subtracted), "grey" (pixel 128), "black", or
/// an input value.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum FillJs {
    Value(f32),
    Named(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OcclusionOptionsJs {
    size: usize,
    stride: usize,
    /// "mean" (input 0: the mean, where it is subtracted), "grey" (pixel 128), "black", or an input value.
    fill: FillJs,
    /// The class whose probability is mapped; default: the top-1 class of the unoccluded image.
    class_index: Option<usize>,
    /// The layer whose strongest map's total activation is mapped.
    layer: Option<String>,
    /// Grid positions start..end (row-major; end is clamped to the grid).
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct OcclusionJs {
    rows: usize,
    cols: usize,
    /// The class whose probability is mapped.
    class: usize,
    /// The layer's strongest channel (the feature map), when a layer was given.
    channel: Option<usize>,
    /// Positions start..end of the grid, row-major.
    start: usize,
    prob: Vec<f32>,
    argmax: Vec<usize>,
    feature: Vec<f32>,
    /// The image as the net saw it, at the input's size.
    input: ImageJs,
}

impl Model {
    pub(crate) fn preprocess(&self, pre: JsValue) -> Result<Preprocess, JsError> {
        let p: PreprocessJs = if pre.is_undefined() || pre.is_null() { PreprocessJs::default() } else { from_js(pre)? };
        p.to_core(self.mean.clone())
    }

    pub(crate) fn image_shape(&self) -> Result<Vec<usize>, JsError> {
        let shapes = self.inner.graph.default_input_shapes();
        match shapes.as_slice() {
            [s] if s.len() == 4 => Ok(s.clone()),
            _ => Err(JsError::new("image-set jobs need a net with one image input (N×C×H×W)")),
        }
    }

    /// Images `range` of the shard as one N×C×H×W batch.
    pub(crate) fn batch(
        &self,
        images: &Images,
        range: std::ops::Range<usize>,
        pre: &Preprocess,
    ) -> Result<Tensor, JsError> {
        let shape = self.image_shape()?;
        let blobs = range
            .map(|i| {
                preprocess::to_blob(&images.pixels(i)?, &shape, pre)
                    .map_err(|e| js_error(e.context(format!("image {i}"))))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let views: Vec<_> = blobs.iter().map(|b| b.view()).collect();
        concatenate(Axis(0), &views).map_err(js_error)
    }

    fn layer_id(&self, layer: &str) -> Result<usize, JsError> {
        self.inner.graph.value_id(layer).ok_or_else(|| JsError::new(&format!("no layer or value named '{layer}'")))
    }

    /// Images per forward pass for batch jobs.
    fn group(&self) -> Result<usize, JsError> {
        Ok(occlusion::batch_size(&self.inner.graph, &self.image_shape()?, GROUP_BYTES).map_err(js_error)?.max(1))
    }
}

#[wasm_bindgen]
impl Model {
    /// The k strongest activations of each map of `layer` over this shard's images, numbered from
    /// `firstImage`: {k, channels: [[{value, image, y, x}]], spatial}. Shards merge with `mergeTopK`.
    pub fn topk(
        &self,
        images: &Images,
        first_image: usize,
        layer: &str,
        k: usize,
        pre: JsValue,
    ) -> Result<JsValue, JsError> {
        if k == 0 {
            return Err(JsError::new("k must be at least 1"));
        }
        let pre = self.preprocess(pre)?;
        let id = self.layer_id(layer)?;
        let g = &self.inner.graph;
        let n = images.items.len();
        let step = self.group()?;
        let mut top: Option<TopK> = None;
        let mut spatial = false;
        for start in (0..n).step_by(step) {
            let end = (start + step).min(n);
            let acts = engine::forward(g, vec![self.batch(images, start..end, &pre)?])
                .map_err(|e| js_error(e.context(format!("images {}..{}", first_image + start, first_image + end))))?;
            let a = &acts.values[id];
            if a.ndim() < 2 {
                return Err(JsError::new(&format!("'{layer}' has no channels to rank")));
            }
            spatial = a.ndim() == 4;
            top.get_or_insert_with(|| TopK::new(a.shape()[1], k))
                .add_batch(a, first_image + start)
                .map_err(|e| js_error(e.context(layer)))?;
        }
        let top = top.ok_or_else(|| JsError::new("the shard has no images"))?;
        to_js(&TopKJs::new(top, spatial))
    }

    /// For each unit [{image (index in `images`), channel, y, x}] of `layer`: its deconvnet projection and
    /// input patch, cropped to its receptive field, and that box: [{projection, patch, field}].
    #[wasm_bindgen(js_name = topkViews)]
    pub fn topk_views(&self, images: &Images, units: JsValue, layer: &str, pre: JsValue) -> Result<JsValue, JsError> {
        let units: Vec<UnitJs> = from_js(units)?;
        let pre = self.preprocess(pre)?;
        let shape = self.image_shape()?;
        let g = &self.inner.graph;
        let order = pre.channel_order;
        let mut out = Vec::with_capacity(units.len());
        for u in &units {
            let px = images.pixels(u.image)?;
            let acts = engine::forward(g, vec![self.batch(images, u.image..u.image + 1, &pre)?]).map_err(js_error)?;
            let seen = preprocess::fit_rgba(&px, shape[2], shape[3], pre.resize);
            let v = topk::entry_view(g, &acts, &seen, layer, u.channel, (u.y, u.x), order).map_err(js_error)?;
            let f = v.field;
            out.push(EntryViewJs {
                projection: v.projection.into(),
                patch: v.patch.into(),
                field: BoxJs { y0: f.y0, y1: f.y1, x0: f.x0, x1: f.x1 },
            });
        }
        to_js(&out)
    }

    /// Occlusion maps of the shard's first image for some grid positions (see `OcclusionOptionsJs`): the
    /// probability of the class, the most probable class, and, with a layer, the total activation of its
    /// strongest map.
    pub fn occlusion(&self, images: &Images, opts: JsValue, pre: JsValue) -> Result<JsValue, JsError> {
        let o: OcclusionOptionsJs = from_js(opts)?;
        let (class, layer, start) = (o.class_index, o.layer, o.start);
        let pre = self.preprocess(pre)?;
        let g = &self.inner.graph;
        let image = self.batch(images, 0..1, &pre)?;
        let (h, w) = (image.shape()[2], image.shape()[3]);
        let seen = preprocess::fit_rgba(&images.pixels(0)?, h, w, pre.resize);
        let fill = self.fill(o.fill, &image, &pre)?;
        let occ = Occluder { size: o.size, stride: o.stride, fill };
        let (rows, cols) = occ.grid(h, w).map_err(js_error)?;
        let end = o.end.min(rows * cols);
        if start > end {
            return Err(JsError::new(&format!("positions {start}..{end} are outside the {rows}×{cols} grid")));
        }
        let acts = engine::forward(g, vec![image.clone()]).map_err(js_error)?;
        let targets = Targets::new(g, &acts, class, layer.as_deref()).map_err(js_error)?;
        let mut maps = Maps::new(1, end - start, layer.is_some());
        let step = self.group()?;
        for first in (start..end).step_by(step) {
            let last = (first + step).min(end);
            let batch = occ.occlude(&image, first..last).map_err(js_error)?;
            let acts = engine::forward(g, vec![batch]).map_err(js_error)?;
            maps.record(g, &targets, first - start, &acts).map_err(js_error)?;
        }
        to_js(&OcclusionJs {
            rows,
            cols,
            class: targets.class,
            channel: targets.feature.map(|f| f.1),
            start,
            prob: maps.prob,
            argmax: maps.argmax,
            feature: maps.feature,
            input: seen.into(),
        })
    }
}

impl Model {
    /// The fill's input values for images like `like` (1×C×H×W).
    pub(crate) fn fill(&self, fill: FillJs, like: &Tensor, pre: &Preprocess) -> Result<Fill, JsError> {
        let (c, h, w) = (like.shape()[1], like.shape()[2], like.shape()[3]);
        Ok(match fill {
            FillJs::Value(v) => Fill::Value(v),
            FillJs::Named(name) => match name.as_str() {
                "mean" => Fill::Value(0.0),
                "grey" | "gray" => Fill::PerChannel(self.solid(128, c, h, w, pre)?),
                "black" => Fill::PerChannel(self.solid(0, c, h, w, pre)?),
                _ => return Err(JsError::new(&format!("unknown fill '{name}': mean, grey, black or a number"))),
            },
        })
    }

    /// A solid colour's input values, per channel (averaged over the plane where a mean image varies).
    pub(crate) fn solid(&self, level: u8, c: usize, h: usize, w: usize, pre: &Preprocess) -> Result<Vec<f32>, JsError> {
        let rgba: Vec<u8> = [level, level, level, 255].repeat(h * w);
        let blob =
            preprocess::to_blob(&Pixels { rgba: &rgba, width: w, height: h }, &[1, c, h, w], pre).map_err(js_error)?;
        Ok(blob.axis_iter(Axis(1)).map(|p| p.mean().unwrap_or(0.0)).collect())
    }
}
