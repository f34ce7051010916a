"""The native half of the benchmark: zfvis (release CLI, `zfvis bench`) next to OpenCV dnn, both on the same
ONNX files (target/bench-models, from make_models.py), batch 1, one thread, on a seeded input.

Per model: forward pass, deconvnet projection from the strongest unit of the last convolution and tiling of
the first convolution's filters (median, min–max over samples of one call), OpenCV's forward pass, their
ratio, and ms and GFLOP/s of every convolution; then the GEMM micro-benchmark through
zfvis_core::ops::gemm::sgemm. zfvis and OpenCV run in three alternating rounds, so that a slow spell of
the machine hits both. Run counts come from models.json.

Usage: python3 tests/bench/native_forward.py [--json results.json] [--scale 0.5] [--no-gemm] [model name ...]
(from anywhere; needs `cargo build --release -p zfvis-cli`, numpy and opencv-python-headless<5)."""
import argparse
import json
import math
import os
import subprocess
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXE = os.path.join(ROOT, "target", "release", "zfvis")
ROUNDS = 3


def stats(samples):
    s = sorted(samples)
    return [s[len(s) // 2], s[0], s[-1]]


def fmt(t, d=3):
    return f"{t[0]:.{d}f} ms ({t[1]:.{d}f}–{t[2]:.{d}f})"


def digits(ms):
    return 3 if ms < 10 else 2 if ms < 100 else 1


def gflops(macs, ms):
    return 2 * macs / ms / 1e6


def zfvis(args):
    out = subprocess.run([EXE, "bench", *args, "--json"], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().removeprefix("error: ") or f"zfvis bench exited with {out.returncode}")
    return json.loads(out.stdout)


class OpenCV:
    def __init__(self, path, shape):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        self.run()

    def run(self):
        self.net.setInput(self.x)
        return self.net.forward()

    def time(self, runs):
        ms = []
        for _ in range(runs):
            t = time.perf_counter()
            self.run()
            ms.append((time.perf_counter() - t) * 1e3)
        return ms


def measure(model, path, scale):
    r = {"name": model["name"], "label": model["label"]}
    runs = max(3, round(model["native_runs"] * scale))
    per_round = math.ceil(runs / ROUNDS)
    samples = {"forward": [], "projection": [], "tile": [], "opencv": []}
    cv = None
    info = subprocess.run([EXE, "info", path, "--json"], capture_output=True, text=True)
    if info.returncode == 0:
        info = json.loads(info.stdout)
        shape = info["inputs"][0]["shape"]
        r["macs"] = info["totals"]["macs"]
    else:
        r["error"] = info.stderr.strip().removeprefix("error: ") or f"zfvis info exited with {info.returncode}"
        print(f"  zfvis FAILED: {r['error']}")
        # OpenCV still runs, on the input shape the file declares (free dimensions 1).
        try:
            import onnx
            dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
            shape = [1] + [d.dim_value or 1 for d in dims[1:]]
        except Exception as e:
            r["opencv_error"] = f"no input shape: {e}"
            print(f"  OpenCV FAILED: {r['opencv_error']}")
            return r
    try:
        cv = OpenCV(path, shape)
    except Exception as e:
        r["opencv_error"] = str(e).strip().splitlines()[-1]
        print(f"  OpenCV FAILED: {r['opencv_error']}")
    for i in range(ROUNDS):
        # The last round also times every node.
        profile = ["--profile", str(max(3, round(model["profile"] * scale)))] if i == ROUNDS - 1 else []
        steps = [("zfvis", lambda: None if "error" in r else zfvis([path, "--runs", str(per_round), *profile])),
                 ("opencv", lambda: cv.time(per_round) if cv else None)]
        for who, step in steps if i % 2 == 0 else reversed(steps):
            try:
                got = step()
            except Exception as e:
                r["error"] = str(e)
                print(f"  zfvis FAILED: {e}")
                continue
            if who == "opencv":
                samples["opencv"] += got or []
                continue
            if got is None:
                continue
            samples["forward"] += got["forward_ms"][3:]
            if "projection_ms" in got:
                samples["projection"] += got["projection_ms"][3:]
                r["projection_layer"] = got["projection_layer"]
            if "tile_ms" in got:
                samples["tile"] += got["tile_ms"][3:]
                r["tile_layer"] = got["tile_layer"]
            if "profile" in got:
                r["profile"] = got["profile"]
    for k, v in samples.items():
        if v:
            r[k] = stats(v)
    r["runs"] = max(len(samples["forward"]), len(samples["opencv"]))
    return r


def report(r):
    d = digits((r.get("forward") or r.get("opencv"))[0])
    print(f"  {r['runs']} samples of one call each, in {ROUNDS} rounds alternating with OpenCV (ms: median, min–max)")
    if "forward" in r:
        print(f"  forward      zfvis {fmt(r['forward'], d)}")
    if "opencv" in r:
        print(f"  forward      OpenCV dnn {cv2.__version__} {fmt(r['opencv'], d)}")
    if "forward" in r and "opencv" in r:
        print(f"  zfvis / OpenCV {r['forward'][0] / r['opencv'][0]:.2f}×")
    if "projection" in r:
        print(f"  deconvnet from {r['projection_layer']} {fmt(r['projection'], d)}, "
              f"{r['projection'][0] / r['forward'][0]:.2f}× zfvis's forward pass")
    if "tile" in r:
        print(f"  tile {r['tile_layer']} {fmt(r['tile'])}")
    if "profile" in r:
        nodes = r["profile"]["nodes"]
        convs = [n for n in nodes if n["conv"]]
        conv_ms, conv_macs = sum(n["ms"] for n in convs), sum(n["macs"] for n in convs)
        print(f"  per convolution (mean of the faster half of {len(r['profile']['runs'])} profiled passes; the nodes add up "
              f"to {sum(n['ms'] for n in nodes):.{d}f} ms, convolutions {conv_ms:.{d}f} ms = {gflops(conv_macs, conv_ms):.1f} GFLOP/s):")
        for n in convs:
            print(f"    {n['name']:<28} {n['macs'] / 1e6:8.1f} M MACs {n['ms']:9.3f} ms {gflops(n['macs'], n['ms']):6.1f} GFLOP/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--json")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--no-gemm", action="store_true")
    args = ap.parse_args()
    config = json.load(open(os.path.join(ROOT, "tests", "bench", "models.json")))
    cv2.setNumThreads(1)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    print(f"Native: zfvis (release) and OpenCV dnn {cv2.__version__} with 1 thread, on {cpu}")
    results = {"opencv": cv2.__version__, "cpu": cpu, "models": []}
    for model in config["models"]:
        if args.models and model["name"] not in args.models:
            continue
        path = os.path.join(ROOT, "target", "bench-models", f"{model['name']}.onnx")
        print(f"\n{model['label']} ({model['source']})", flush=True)
        if not os.path.exists(path):
            r = {"name": model["name"], "label": model["label"], "error": f"{path} is absent"}
            print(f"  SKIPPED: {r['error']}; make it with python3 tests/bench/make_models.py {model['name']}")
        else:
            r = measure(model, path, args.scale)
            if "forward" in r or "opencv" in r:
                report(r)
        results["models"].append(r)
    if not args.no_gemm:
        g = config["gemm"]
        gemm_runs = max(3, round(g["runs"] * args.scale))
        sizes = g["sizes"]
        print(f"\nsgemm through zfvis_core::ops::gemm::sgemm natively (C = A·B, square; {gemm_runs} samples of ≥ 20 ms each):")
        try:
            rows = zfvis(["--gemm", ",".join(map(str, sizes)), "--gemm-runs", str(gemm_runs)])["sgemm"]
            results["gemm"] = []
            for row in rows:
                n, t = row["n"], row["ms"][:3]
                gf = [gflops(n ** 3, t[0]), gflops(n ** 3, t[1])]
                print(f"  {n:4}: {fmt(t)} = {gf[0]:.1f} GFLOP/s (best {gf[1]:.1f})")
                results["gemm"].append({"n": n, "ms": t, "gflops": gf})
            print(f"  peak {max(x['gflops'][1] for x in results['gemm']):.1f} GFLOP/s")
        except Exception as e:
            print(f"  FAILED: {e}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        json.dump(results, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
