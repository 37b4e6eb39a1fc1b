#!/usr/bin/env python3
"""Times loading a .dlc artifact with an empty compile cache and again with
the code cached, and checks that running the ONNX file and its artifact
gives identical outputs (and that both agree with ONNX Runtime).

    .venv/bin/python bench/artifact_load.py [--dlc build/bin/dlc] [--repeat 5]

Models are generated here with fixed seeds: an MLP (784-1024-1024-10,
batch 32), a small CNN (3 conv layers, batch 8) and a transformer encoder
block (hidden 256, sequence 64). "first load" is with an empty cache (parse,
lower, optimize, generate code, link); "cached load" finds the object in
the cache. Both are dlc's own "loaded in" time (reading the artifact
included), the median of --repeat runs; the process columns are the wall
time of the whole `dlc run` (start-up, reading inputs, one run, writing
outputs).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def weight(rng, name, shape, scale=None):
    scale = scale or 1.0 / np.sqrt(np.prod(shape[1:]) or 1)
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def model(name, nodes, inputs, outputs, initializers):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def mlp(rng):
    widths = [784, 1024, 1024, 10]
    nodes, inits, last = [], [], "x"
    for i in range(3):
        inits += [weight(rng, f"w{i}", (widths[i + 1], widths[i])),
                  weight(rng, f"b{i}", (widths[i + 1],), 0.1)]
        out = f"h{i}" if i < 2 else "y"
        nodes.append(helper.make_node("Gemm", [last, f"w{i}", f"b{i}"], [out + "_pre" if i < 2 else out],
                                      name=f"fc{i}", transB=1))
        if i < 2:
            nodes.append(helper.make_node("Relu", [out + "_pre"], [out], name=f"relu{i}"))
        last = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [32, 784])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [32, 10])
    return model("mlp", nodes, [x], [y], inits), {"x": (32, 784)}


def cnn(rng):
    nodes, inits, last, channels = [], [], "x", 3
    for i, out_channels in enumerate([16, 32, 64]):
        inits += [weight(rng, f"k{i}", (out_channels, channels, 3, 3)),
                  weight(rng, f"c{i}", (out_channels,), 0.1)]
        nodes += [helper.make_node("Conv", [last, f"k{i}", f"c{i}"], [f"conv{i}"], name=f"conv{i}",
                                   pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"),
                  helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], name=f"pool{i}",
                                   kernel_shape=[2, 2], strides=[2, 2])]
        last, channels = f"pool{i}", out_channels
    inits += [weight(rng, "fc", (64 * 4 * 4, 10)), weight(rng, "fcb", (10,), 0.1),
              numpy_helper.from_array(np.array([8, -1], np.int64), "flat")]
    nodes += [helper.make_node("Reshape", [last, "flat"], ["flattened"], name="flatten"),
              helper.make_node("MatMul", ["flattened", "fc"], ["logits"], name="fc"),
              helper.make_node("Add", ["logits", "fcb"], ["y"], name="fc_bias")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 10])
    return model("cnn", nodes, [x], [y], inits), {"x": (8, 3, 32, 32)}


def transformer(rng):
    s, d, heads, ff = 64, 256, 4, 1024
    hd = d // heads
    inits = [weight(rng, n, (d, d)) for n in ("wq", "wk", "wv", "wo")]
    inits += [weight(rng, "w1", (d, ff)), weight(rng, "w2", (ff, d)),
              numpy_helper.from_array(np.ones(d, np.float32), "gamma"),
              numpy_helper.from_array(np.zeros(d, np.float32), "beta"),
              numpy_helper.from_array(np.array([1, s, heads, hd], np.int64), "split_heads"),
              numpy_helper.from_array(np.array([1, s, d], np.int64), "merge_heads"),
              numpy_helper.from_array(np.array(1 / np.sqrt(hd), np.float32), "scale")]
    n = helper.make_node
    nodes = [n("MatMul", ["x", "wq"], ["q0"], name="q"), n("MatMul", ["x", "wk"], ["k0"], name="k"),
             n("MatMul", ["x", "wv"], ["v0"], name="v")]
    for t in "qkv":
        nodes += [n("Reshape", [f"{t}0", "split_heads"], [f"{t}1"], name=f"{t}_split"),
                  n("Transpose", [f"{t}1"], [f"{t}2"], name=f"{t}_heads", perm=[0, 2, 1, 3])]
    nodes += [n("Transpose", ["k2"], ["kt"], name="k_t", perm=[0, 1, 3, 2]),
              n("MatMul", ["q2", "kt"], ["scores0"], name="scores"),
              n("Mul", ["scores0", "scale"], ["scores"], name="scaled"),
              n("Softmax", ["scores"], ["attn"], name="softmax", axis=-1),
              n("MatMul", ["attn", "v2"], ["ctx0"], name="context"),
              n("Transpose", ["ctx0"], ["ctx1"], name="ctx_t", perm=[0, 2, 1, 3]),
              n("Reshape", ["ctx1", "merge_heads"], ["ctx"], name="ctx_merge"),
              n("MatMul", ["ctx", "wo"], ["proj"], name="out_proj"),
              n("Add", ["x", "proj"], ["res1"], name="residual1"),
              n("LayerNormalization", ["res1", "gamma", "beta"], ["ln1"], name="ln1", axis=-1),
              n("MatMul", ["ln1", "w1"], ["ff1"], name="ff1"),
              n("Relu", ["ff1"], ["ff1g"], name="ff_act"),
              n("MatMul", ["ff1g", "w2"], ["ff2"], name="ff2"),
              n("Add", ["ln1", "ff2"], ["res2"], name="residual2"),
              n("LayerNormalization", ["res2", "gamma", "beta"], ["y"], name="ln2", axis=-1)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, s, d])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, s, d])
    return model("transformer", nodes, [x], [y], inits), {"x": (1, s, d)}


def dlc_run(dlc, path, inputs, out, cache):
    """Runs `dlc run`; returns its load time, how it got its code, and the
    wall time of the whole process."""
    env = dict(os.environ, DLC_CACHE_DIR=cache)
    start = time.perf_counter()
    result = subprocess.run([dlc, "run", path, "--inputs", inputs, "--out", out],
                            env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"dlc run {path} failed:\n{result.stderr}")
    seconds = re.search(r"(?:loaded|compiled) in ([0-9.]+) s \(([^)]*)\)", result.stdout)
    return float(seconds.group(1)), seconds.group(2), wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dlc", default=os.path.join(ROOT, "build", "bin", "dlc"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    # Everything goes into a folder that is removed at the end.
    work = tempfile.mkdtemp(prefix="dlc-bench-")
    try:
        measure(args, rng, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args, rng, work):
    """Compiles and loads each model in `work`; prints the table."""
    print(f"{'model':<12} {'artifact':>9} {'first load':>11} {'cached load':>12} {'ratio':>7} "
          f"{'process, first':>15} {'cached':>8}  outputs")
    for build in (mlp, cnn, transformer):
        onnx_model, shapes = build(rng)
        name = onnx_model.graph.name
        path = os.path.join(work, f"{name}.onnx")
        onnx.save(onnx_model, path)
        x = {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}
        inputs = os.path.join(work, f"{name}-in.npz")
        np.savez(inputs, **x)
        artifact = os.path.join(work, f"{name}.dlc")
        shape_args = [f"--shape={k}={'x'.join(map(str, v))}" for k, v in shapes.items()]
        subprocess.run([args.dlc, "compile", path, "-o", artifact, *shape_args],
                       env=dict(os.environ, DLC_CACHE_DIR="off"), check=True,
                       capture_output=True)
        first, cached, first_wall, cached_wall = [], [], [], []
        for i in range(args.repeat):
            cache = os.path.join(work, f"cache-{name}-{i}")
            seconds, how, wall = dlc_run(args.dlc, artifact, inputs, os.path.join(work, "a.npz"), cache)
            assert not how.startswith("cached"), how
            first.append(seconds)
            first_wall.append(wall)
            seconds, how, wall = dlc_run(args.dlc, artifact, inputs, os.path.join(work, "b.npz"), cache)
            assert how.startswith("cached"), how
            cached.append(seconds)
            cached_wall.append(wall)
        dlc_run(args.dlc, path, inputs, os.path.join(work, "onnx.npz"), "off")
        from_onnx = np.load(os.path.join(work, "onnx.npz"))["y"]
        from_dlc = np.load(os.path.join(work, "b.npz"))["y"]
        (reference,) = ort.InferenceSession(path).run(None, x)
        identical = from_onnx.tobytes() == from_dlc.tobytes()
        close = np.allclose(from_dlc, reference, rtol=1e-4, atol=1e-5)
        f, c = statistics.median(first), statistics.median(cached)
        size = os.path.getsize(artifact) / 1e6
        fw, cw = statistics.median(first_wall), statistics.median(cached_wall)
        print(f"{name:<12} {size:>7.1f}MB {f * 1e3:>9.1f}ms {c * 1e3:>10.1f}ms {f / c:>6.1f}x "
              f"{fw * 1e3:>13.0f}ms {cw * 1e3:>6.0f}ms  "
              f"{'identical' if identical else 'DIFFERENT'} onnx/.dlc, "
              f"{'within 1e-4' if close else 'NOT within 1e-4'} of ORT")
        if not (identical and close):
            sys.exit(1)


if __name__ == "__main__":
    main()
