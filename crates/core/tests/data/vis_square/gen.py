"""Generates the expected grids for tests/tile.rs with a small numpy re-implementation of Caffe's
vis_square (from the classification example notebook), extended with the options zfvis offers.

Run from this folder: python3 gen.py  (numpy only). Writes case_*.npy inputs and expected outputs.
"""
import json
import numpy as np


def vis_square(data, padsize=1, padval=1.0, per_tile=False):
    """data: N x h x w (grey) or N x h x w x 3, float32. Returns the float grid in [0, 1]."""
    data = data.astype(np.float32).copy()
    if per_tile:
        for i in range(data.shape[0]):
            t = data[i] - data[i].min()
            m = t.max()
            data[i] = t / m if m > 0 else 0
    else:
        data -= data.min()
        m = data.max()
        data = data / m if m > 0 else data * 0
    n = int(np.ceil(np.sqrt(data.shape[0])))
    padding = ((0, n ** 2 - data.shape[0]), (0, padsize), (0, padsize)) + ((0, 0),) * (data.ndim - 3)
    data = np.pad(data, padding, mode="constant", constant_values=(padval, padval))
    data = data.reshape((n, n) + data.shape[1:]).transpose((0, 2, 1, 3) + tuple(range(4, data.ndim + 1)))
    return data.reshape((n * data.shape[1], n * data.shape[3]) + data.shape[4:])


def to_rgba(grid, zoom):
    b = np.clip(np.floor(grid.astype(np.float32) * np.float32(255) + np.float32(0.5)), 0, 255).astype(np.uint8)
    if b.ndim == 2:
        b = np.stack([b] * 3, axis=-1)
    b = np.repeat(np.repeat(b, zoom, axis=0), zoom, axis=1)
    return np.concatenate([b, np.full(b.shape[:2] + (1,), 255, np.uint8)], axis=-1)


def tiles(w, mode, order, start, count):
    m, c = w.shape[:2]
    if mode == "rgb" or (mode == "auto" and c == 3):
        t = w.transpose(0, 2, 3, 1)[start:]
        if order == "bgr":
            t = t[..., ::-1]
    else:
        t = w.reshape(m * c, *w.shape[2:])[start:]
    return t if count is None else t[:count]


rng = np.random.default_rng(20141128)
cases = [
    dict(name="rgb_global", shape=(32, 3, 5, 5), mode="auto", order="rgb", norm="global", pad=1, pad_value=1.0, zoom=1, start=0, count=None),
    dict(name="bgr_tile_zoom3", shape=(32, 3, 5, 5), mode="rgb", order="bgr", norm="tile", pad=2, pad_value=0.0, zoom=3, start=0, count=None),
    dict(name="grey_lenet", shape=(20, 1, 5, 5), mode="auto", order="bgr", norm="global", pad=1, pad_value=1.0, zoom=4, start=0, count=None),
    dict(name="grey_range", shape=(16, 8, 3, 3), mode="grey", order="rgb", norm="tile", pad=1, pad_value=0.5, zoom=2, start=5, count=50),
    dict(name="first_1024_of_64x32", shape=(64, 32, 5, 5), mode="grey", order="rgb", norm="global", pad=1, pad_value=1.0, zoom=1, start=0, count=1024),
]
for c in cases:
    w = rng.normal(0, 0.05, c["shape"]).astype(np.float32)
    grid = vis_square(tiles(w, c["mode"], c["order"], c["start"], c["count"]), c["pad"], c["pad_value"], c["norm"] == "tile")
    np.save(f"case_{c['name']}_weights.npy", w)
    np.save(f"case_{c['name']}_expected.npy", to_rgba(grid, c["zoom"]))
json.dump(cases, open("cases.json", "w"), indent=1)
