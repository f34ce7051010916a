//! Receptive fields: the input box a unit sees, from the layer geometry (Zeiler & Fergus, Fig. 2 crops).

use crate::engine::infer_shapes;
use crate::graph::Graph;
use crate::ops::{lrn::LrnRegion, Op};
use crate::{Error, Result};

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
