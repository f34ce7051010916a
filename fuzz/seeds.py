#!/usr/bin/env python3
"""Seed corpora for the fuzz targets: fuzz/corpus/<target>/ (not committed; rebuilt from scratch).

Usage: python3 fuzz/seeds.py            # writes every target's corpus
       python3 fuzz/seeds.py max-len T  # prints target T's -max_len

Seeds come from the small files the tests make (tests/corpus/make_corpus.py: good and broken models),
the files committed under crates/core/tests/data and crates/core/src/train/nets, a few files made here
(HDF5 snapshots with h5py, images with Pillow; each skipped when the module is missing), and the real
models in ../shared/fixtures when that folder exists. Files longer than the target's max_len are left out.
"""

import glob
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures")

MAX_LEN = {
    "prototxt": 64 << 10,
    "caffe_graph": 16 << 10,
    "caffemodel": 1 << 20,  # holds the CIFAR-10 fixtures (580 KB)
    "caffe_h5": 1 << 20,  # holds the fixture snapshot (600 KB)
    "mean_binaryproto": 64 << 10,
    "onnx": 256 << 10,
    "image": 256 << 10,
}


def test_corpus(out):
    """Runs the tests' corpus generator into `out`."""
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus", "make_corpus.py"), out],
                   check=True, stdout=subprocess.DEVNULL)


def h5_seeds(dst):
    try:
        import h5py
        import numpy as np
    except ImportError:
        print("seeds: no h5py, no generated .h5 seeds", file=sys.stderr)
        return
    rng = np.random.default_rng(1)
    blobs = {"conv1": [(2, 1, 3, 3), (2,)], "fc": [(3, 18), (3,)]}
    variants = [("f32", "<f4", {}, "earliest"), ("f64", "<f8", {}, "earliest"), ("be", ">f4", {}, "earliest"),
                ("chunked_gzip", "<f4", {"chunks": True, "compression": "gzip"}, "earliest"),
                ("latest", "<f4", {}, "latest"), ("shuffle", "<f4", {"chunks": True, "shuffle": True}, "latest")]
    for name, dtype, opts, libver in variants:
        path = os.path.join(dst, f"gen_{name}.caffemodel.h5")
        with h5py.File(path, "w", libver=libver) as f:
            for layer, shapes in blobs.items():
                g = f.create_group(f"data/{layer}")
                for i, s in enumerate(shapes):
                    g.create_dataset(str(i), data=rng.standard_normal(s).astype(dtype), **opts)


def image_seeds(dst):
    try:
        from PIL import Image
    except ImportError:
        print("seeds: no Pillow, no generated image seeds", file=sys.stderr)
        return
    import numpy as np
    rgb = Image.fromarray((np.indices((12, 10)).sum(0)[..., None] * [7, 13, 29] % 256).astype("uint8"))
    saves = [("rgb.png", rgb, "PNG", {}), ("grey.png", rgb.convert("L"), "PNG", {}),
             ("rgba.png", rgb.convert("RGBA"), "PNG", {}), ("palette.png", rgb.convert("P"), "PNG", {}),
             ("grey16.png", rgb.convert("I;16"), "PNG", {}), ("rgb.bmp", rgb, "BMP", {}),
             ("rgb.gif", rgb, "GIF", {}), ("rgb.jpg", rgb, "JPEG", {}), ("grey.jpg", rgb.convert("L"), "JPEG", {}),
             ("progressive.jpg", rgb, "JPEG", {"progressive": True}), ("cmyk.jpg", rgb.convert("CMYK"), "JPEG", {}),
             ("lossless.webp", rgb, "WEBP", {"lossless": True}), ("lossy.webp", rgb, "WEBP", {})]
    for name, im, fmt, opts in saves:
        buf = io.BytesIO()
        try:
            im.save(buf, fmt, **opts)
        except (OSError, KeyError, ValueError):
            continue  # this Pillow lacks the codec
        with open(os.path.join(dst, "gen_" + name), "wb") as f:
            f.write(buf.getvalue())


def main():
    if sys.argv[1:2] == ["max-len"]:
        print(MAX_LEN[sys.argv[2]])
        return
    out = os.path.join(HERE, "corpus")
    tmp = tempfile.mkdtemp(prefix="zfvis-seeds-")
    try:
        test_corpus(tmp)
        gen = os.path.join(tmp, "gen")
        os.makedirs(gen)
        h5_seeds(gen)
        image_seeds(gen)
        data = os.path.join(ROOT, "crates", "core", "tests", "data")
        nets = os.path.join(ROOT, "crates", "core", "src", "train", "nets")
        fx = os.path.abspath(FIXTURES) if os.path.isdir(FIXTURES) else None
        if fx is None:
            print("seeds: ../shared/fixtures absent, seeds from the repository only", file=sys.stderr)

        def files(*patterns):
            found = []
            for p in patterns:
                found += glob.glob(p, recursive=True)
            return found

        def fixtures(*patterns):
            return files(*(os.path.join(fx, p) for p in patterns)) if fx else []

        prototxts = files(f"{tmp}/*.prototxt", f"{data}/**/*.prototxt", f"{nets}/*.prototxt") + fixtures("caffe/**/*.prototxt")
        sources = {
            "prototxt": prototxts,
            "caffe_graph": prototxts,
            "caffemodel": files(f"{tmp}/*.caffemodel", f"{data}/**/*.caffemodel") + fixtures("caffe/**/*.caffemodel"),
            "caffe_h5": files(f"{gen}/*.h5", f"{tmp}/*.h5") + fixtures("caffe/**/*.h5"),
            "mean_binaryproto": files(f"{tmp}/*.binaryproto") + fixtures("caffe/**/*.binaryproto"),
            "onnx": files(f"{tmp}/*.onnx", f"{data}/**/*.onnx") + fixtures("onnx/*.onnx"),
            "image": files(f"{gen}/*.png", f"{gen}/*.jpg", f"{gen}/*.bmp", f"{gen}/*.gif", f"{gen}/*.webp",
                           f"{tmp}/*.png", f"{tmp}/*.jpg")
                     + fixtures("images/mnist/*.jpg", "images/natural/*.jpg", "images/cifar10/*_000[0-2].jpg"),
        }
        for target, paths in sources.items():
            dst = os.path.join(out, target)
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst)
            kept = 0
            for p in sorted(set(paths)):
                with open(p, "rb") as f:
                    b = f.read()
                if 0 < len(b) <= MAX_LEN[target]:
                    # Named by content, as libFuzzer names its own finds: duplicates collapse.
                    with open(os.path.join(dst, hashlib.sha1(b).hexdigest()), "wb") as f:
                        f.write(b)
                    kept += 1
            print(f"seeds: {target}: {len(os.listdir(dst))} files ({kept} kept of {len(paths)})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
