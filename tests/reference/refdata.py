"""Shared plumbing of the reference generators: the Caffe protobuf module and writing (or checking) a
folder of generated reference files."""
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "crates" / "core" / "proto" / "caffe.proto"


def load_caffe_pb2(tmp: Path):
    """Compiles the vendored caffe.proto with grpc_tools.protoc into tmp and imports it."""
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO.parent}", f"--python_out={tmp}", str(PROTO)],
        check=True,
    )
    sys.path.insert(0, str(tmp))
    return importlib.import_module("caffe_pb2")


def publish(generate, out: Path, check: bool):
    """Runs generate(caffe_pb2, folder) into a fresh folder; with check, compares it with out and exits 1
    on any difference, otherwise replaces out's files with it."""
    with tempfile.TemporaryDirectory() as tmp:
        pb = load_caffe_pb2(Path(tmp))
        fresh = Path(tmp) / "fresh"
        fresh.mkdir()
        generate(pb, fresh)
        if check:
            bad = []
            for f in sorted(fresh.iterdir()):
                old = out / f.name
                if f.suffix == ".npy":
                    same = old.exists() and np.array_equal(np.load(f), np.load(old))
                else:
                    same = old.exists() and old.read_bytes() == f.read_bytes()
                if not same:
                    bad.append(f.name)
            print("differs:" if bad else "all files match", " ".join(bad))
            sys.exit(1 if bad else 0)
        if out.exists():
            for f in out.iterdir():
                f.unlink()
        out.mkdir(parents=True, exist_ok=True)
        for f in fresh.iterdir():
            (out / f.name).write_bytes(f.read_bytes())
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {len(list(out.iterdir()))} files, {total / 1024:.0f} KiB, to {out.relative_to(ROOT)}")
