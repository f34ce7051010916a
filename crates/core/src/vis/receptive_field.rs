//! Receptive fields: the input box a unit sees, from the layer geometry (Zeiler & Fergus, Fig. 2 crops).

use crate::engine::infer_shapes;
use crate::graph::{Graph, Node};
use crate::ops::{lrn::LrnRegion, Op};
use crate::{Error, Result};
use serde::Serialize;

/// Rows y0..=y1 and columns x0..=x1 of the input; before clipping they may reach into the padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub y0: isize,
    pub y1: isize,
    pub x0: isize,
    pub x1: isize,
}

impl Rect {
    fn union(self, o: Rect) -> Rect {
        Rect { y0: self.y0.min(o.y0), y1: self.y1.max(o.y1), x0: self.x0.min(o.x0), x1: self.x1.max(o.x1) }
    }

    /// The part inside an h×w image.
    pub fn clip(self, h: usize, w: usize) -> Rect {
        let c = |v: isize, n: usize| v.clamp(0, n as isize - 1);
        Rect { y0: c(self.y0, h), y1: c(self.y1, h), x0: c(self.x0, w), x1: c(self.x1, w) }
    }

    /// Through a window of `kernel` (dilated) with `stride`, starting `pad` before the input.
    fn through(self, kernel: [usize; 2], stride: [usize; 2], pads: [usize; 4], dilation: [usize; 2]) -> Rect {
        let (s, p, e) = (
            |i: usize| stride[i] as isize,
            |i: usize| pads[i] as isize,
            |i: usize| (dilation[i] * (kernel[i] - 1)) as isize,
        );
        Rect {
            y0: self.y0 * s(0) - p(0),
            y1: self.y1 * s(0) - p(0) + e(0),
            x0: self.x0 * s(1) - p(1),
            x1: self.x1 * s(1) - p(1) + e(1),
        }
    }
}

/// Which input region a region of a node's output depends on, per input.
fn region_below(op: &Op, out: Option<Rect>, input_shape: &[usize]) -> Option<Rect> {
    let full = match input_shape {
        [_, _, h, w] => Rect { y0: 0, y1: *h as isize - 1, x0: 0, x1: *w as isize - 1 },
        _ => return None,
    };
    let Some(r) = out else { return Some(full) };
    Some(match op {
        Op::Conv(c) => r.through(c.kernel, c.stride, c.pads, c.dilation),
        Op::Pool(p) if p.global => full,
        Op::Pool(p) => r.through(p.kernel, p.stride, p.pads, p.dilation),
        Op::Lrn(l) if l.region == LrnRegion::WithinChannel => {
            let pre = ((l.size - 1) / 2) as isize;
            let post = l.size as isize - 1 - pre;
            Rect { y0: r.y0 - pre, y1: r.y1 + post, x0: r.x0 - pre, x1: r.x1 + post }
        }
        Op::Pad(p) => {
            let (y0, y1) = p.source_range(2, r.y0, r.y1, input_shape[2]);
            let (x0, x1) = p.source_range(3, r.x0, r.x1, input_shape[3]);
            Rect { y0, y1, x0, x1 }
        }
        Op::Resize(z) => match (z.source_range(input_shape, 2, r.y0, r.y1), z.source_range(input_shape, 3, r.x0, r.x1))
        {
            (Some((y0, y1)), Some((x0, x1))) => Rect { y0, y1, x0, x1 },
            _ => full,
        },
        Op::Transpose(t) if t.perm.len() == 4 && t.perm[2..] == [2, 3] => r,
        Op::InnerProduct(_) | Op::MatMul(_) | Op::Gemm(_) | Op::Flatten(_) | Op::Reshape(_) => full,
        Op::Transpose(_) | Op::FlatSoftmax(_) => full,
        Op::Softmax(s) if s.axis != 1 => full,
        Op::Concat(c) if c.axis != 1 => full,
        Op::Slice(s) if s.axis != 1 => full,
        _ => r,
    })
}

/// The input box that unit (y, x) of `value` depends on, at the model's default input shape; None for
/// values without a spatial layout (the whole input).
pub fn receptive_field(graph: &Graph, value: &str, y: usize, x: usize) -> Result<Rect> {
    let id = graph.value_id(value).ok_or_else(|| Error::input(format!("no layer or value named '{value}'")))?;
    let shapes = infer_shapes(graph, &graph.default_input_shapes())?;
    // Some(rect): the region of that value; None: all of it.
    let mut regions: Vec<Option<Option<Rect>>> = vec![None; graph.values.len()];
    regions[id] = Some(match shapes[id].as_slice() {
        [_, _, _, _] => Some(Rect { y0: y as isize, y1: y as isize, x0: x as isize, x1: x as isize }),
        _ => None,
    });
    for node in graph.nodes.iter().rev() {
        let mut out: Option<Option<Rect>> = None;
        for &v in &node.outputs {
            if let Some(r) = regions[v] {
                out = Some(match (out, r) {
                    (Some(Some(a)), Some(b)) => Some(a.union(b)),
                    (Some(_), _) | (None, None) => None,
                    (None, Some(b)) => Some(b),
                });
            }
        }
        let Some(out) = out else { continue };
        for &v in &node.inputs {
            let below = region_below(&node.op, out, &shapes[v]);
            regions[v] = Some(match (regions[v], below) {
                (Some(Some(a)), Some(b)) => Some(a.union(b)),
                (Some(_), _) | (None, None) => None,
                (None, Some(b)) => Some(b),
            });
        }
    }
    let input = graph.inputs[0].0;
    let [_, _, h, w] = shapes[input][..] else {
        return Err(Error::input("receptive fields need an image input (N×C×H×W)"));
    };
    Ok(match regions[input] {
        Some(Some(r)) => r,
        _ => Rect { y0: 0, y1: h as isize - 1, x0: 0, x1: w as isize - 1 },
    })
}

/// One value's receptive field per spatial axis [h, w], in input pixels: unit (y, x) sees rows
/// `start[0] + y·jump[0]` to that plus `size[0]` − 1 (and likewise for columns), before clipping to the image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Field {
    #[serde(serialize_with = "whole_numbers")]
    pub size: [f64; 2],
    /// Input pixels between neighbouring units (the product of the strides below).
    #[serde(serialize_with = "whole_numbers")]
    pub jump: [f64; 2],
    /// Where unit (0, 0)'s field starts; negative when it reaches into padding.
    #[serde(serialize_with = "whole_numbers")]
    pub start: [f64; 2],
}

/// Integers as JSON integers; only Resize makes fractions.
fn whole_numbers<S: serde::Serializer>(v: &[f64; 2], s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    let mut t = s.serialize_tuple(2)?;
    for &x in v {
        if x.fract() == 0.0 && x.abs() < 9e15 {
            t.serialize_element(&(x as i64))?;
        } else {
            t.serialize_element(&x)?;
        }
    }
    t.end()
}

impl Field {
    /// A single pixel of the image.
    const PIXEL: Field = Field { size: [1.0; 2], jump: [1.0; 2], start: [0.0; 2] };

    /// Through a window of `extent` input units, moved by `stride`, starting `pad` units before the input.
    fn window(self, extent: [usize; 2], stride: [usize; 2], pad: [isize; 2]) -> Field {
        let mut f = self;
        for a in 0..2 {
            f.size[a] += (extent[a] as f64 - 1.0) * self.jump[a];
            f.start[a] -= pad[a] as f64 * self.jump[a];
            f.jump[a] *= stride[a] as f64;
        }
        f
    }

    /// Both fields' pixels, at unit (0, 0). With unequal jumps (a broadcast 1×1 input moves by 0) this is
    /// exact for unit (0, 0) only, and the larger jump is kept.
    fn union(self, o: Field) -> Field {
        let mut f = self;
        for a in 0..2 {
            let end = (self.start[a] + self.size[a]).max(o.start[a] + o.size[a]);
            f.start[a] = self.start[a].min(o.start[a]);
            f.size[a] = end - f.start[a];
            f.jump[a] = self.jump[a].max(o.jump[a]);
        }
        f
    }
}

/// What a value's units depend on in the image (the graph's first input).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reach {
    /// A spatial (N×C×H×W) value whose units see a window of the image.
    Window(Field),
    /// Depends on the image, but its units have no place in it (after Flatten, InnerProduct, ...).
    Everywhere,
    /// Does not depend on the image (another graph input).
    Nowhere,
}

/// Every value's receptive field at these shapes (from `infer_shapes`): None where the units have no
/// spatial place in the image. One pass over the nodes, no forward pass.
pub fn fields(graph: &Graph, shapes: &[Vec<usize>]) -> Vec<Option<Field>> {
    let mut reach = vec![Reach::Nowhere; graph.values.len()];
    if let Some(&(image, _)) = graph.inputs.first() {
        reach[image] = if shapes[image].len() == 4 { Reach::Window(Field::PIXEL) } else { Reach::Everywhere };
    }
    let image_hw = graph.inputs.first().and_then(|(v, _)| match shapes[*v][..] {
        [_, _, h, w] => Some([h, w]),
        _ => None,
    });
    for node in &graph.nodes {
        let ins: Vec<Reach> = node.inputs.iter().map(|&v| reach[v]).collect();
        for &out in &node.outputs {
            reach[out] = through(node, &ins, &node.inputs, shapes, &shapes[out], image_hw);
        }
    }
    reach.into_iter().map(|r| if let Reach::Window(f) = r { Some(f) } else { None }).collect()
}

/// A node's output reach from its inputs'.
fn through(
    node: &Node,
    ins: &[Reach],
    inputs: &[usize],
    shapes: &[Vec<usize>],
    out: &[usize],
    image_hw: Option<[usize; 2]>,
) -> Reach {
    if ins.iter().all(|r| *r == Reach::Nowhere) {
        return Reach::Nowhere;
    }
    let in_shape = &shapes[inputs[0]];
    if out.len() != 4 || in_shape.len() != 4 {
        return Reach::Everywhere;
    }
    let axis_is_channel = |axis: i64| matches!(crate::ops::axis_index(axis, 4), Ok(0 | 1));
    let merges = match &node.op {
        Op::Concat(c) => axis_is_channel(c.axis),
        Op::Eltwise(_) | Op::Binary(_) | Op::Scale(_) => ins.len() > 1,
        _ => false,
    };
    if merges {
        return merge(ins, inputs, shapes, out, image_hw);
    }
    let Reach::Window(first) = ins[0] else { return Reach::Everywhere };
    let same = |f: Field| Reach::Window(f);
    match &node.op {
        Op::Conv(c) => {
            same(first.window(extent(c.kernel, c.dilation), c.stride, [c.pads[0], c.pads[1]].map(|p| p as isize)))
        }
        Op::Pool(p) if p.global => same(first.window([in_shape[2], in_shape[3]], [1, 1], [0, 0])),
        Op::Pool(p) => {
            same(first.window(extent(p.kernel, p.dilation), p.stride, [p.pads[0], p.pads[1]].map(|p| p as isize)))
        }
        Op::Lrn(l) if l.region == LrnRegion::WithinChannel => {
            same(first.window([l.size; 2], [1, 1], [((l.size - 1) / 2) as isize; 2]))
        }
        Op::Pad(p) => same(first.window([1, 1], [1, 1], [p.before[2] as isize, p.before[3] as isize])),
        Op::Resize(z) => resized(z, first, in_shape, out),
        // An empty perm (ONNX's default: reversed axes) moves the spatial axes too.
        Op::Transpose(t) if t.perm.get(2..) == Some(&[2, 3][..]) => same(first),
        Op::Flatten(_) | Op::Reshape(_) if out == in_shape.as_slice() => same(first),
        Op::Softmax(s) if axis_is_channel(s.axis) => same(first),
        Op::Slice(s) if axis_is_channel(s.axis) => same(first),
        Op::Activation(_) | Op::Lrn(_) | Op::BatchNorm(_) | Op::Scale(_) | Op::Binary(_) => same(first),
        Op::Identity | Op::Split => same(first),
        // Everything else mixes or rearranges the spatial axes.
        _ => Reach::Everywhere,
    }
}

/// A window's extent in input units: dilation · (taps − 1) + 1.
fn extent(kernel: [usize; 2], dilation: [usize; 2]) -> [usize; 2] {
    [0, 1].map(|a| dilation[a] * (kernel[a] - 1) + 1)
}

/// A Resize's field from the taps of its middle output unit: exact for integer upscaling with nearest
/// interpolation, a typical unit's otherwise (the jump becomes input length / output length).
fn resized(z: &crate::ops::Resize, f: Field, input: &[usize], out: &[usize]) -> Reach {
    let mut r = f;
    for a in 0..2 {
        let mid = (out[2 + a] / 2) as isize;
        let Some((lo, hi)) = z.source_range(input, 2 + a, mid, mid) else { return Reach::Everywhere };
        r.jump[a] = f.jump[a] * input[2 + a] as f64 / out[2 + a] as f64;
        r.size[a] = f.size[a] + (hi - lo) as f64 * f.jump[a];
        r.start[a] = f.start[a] + lo as f64 * f.jump[a] - mid as f64 * r.jump[a];
    }
    Reach::Window(r)
}

/// The union of the inputs' fields (Concat, Eltwise, Add, ...). An input broadcast along an axis (length
/// 1 there) moves by 0 along it; an input without a spatial place counts as the whole image.
fn merge(ins: &[Reach], inputs: &[usize], shapes: &[Vec<usize>], out: &[usize], image_hw: Option<[usize; 2]>) -> Reach {
    let mut acc: Option<Field> = None;
    let mut everywhere = false;
    for (r, &v) in ins.iter().zip(inputs) {
        let f = match *r {
            Reach::Window(mut f) => {
                for a in 0..2 {
                    if shapes[v].get(2 + a) == Some(&1) && out[2 + a] > 1 {
                        f.jump[a] = 0.0;
                    }
                }
                f
            }
            Reach::Everywhere => {
                everywhere = true;
                continue;
            }
            Reach::Nowhere => continue,
        };
        acc = Some(acc.map_or(f, |a| a.union(f)));
    }
    match (acc, everywhere, image_hw) {
        (Some(f), true, Some([h, w])) => {
            let image = Field { size: [h as f64, w as f64], jump: [0.0; 2], start: [0.0; 2] };
            Reach::Window(f.union(image))
        }
        (Some(f), false, _) => Reach::Window(f),
        (None, false, _) => Reach::Nowhere,
        _ => Reach::Everywhere,
    }
}
