#!/usr/bin/env python3
"""Where a model loses time against ONNX Runtime, layer group by layer group.

Runs the model in ONNX Runtime with its profiler on (`enable_profiling`,
all graph optimizations) and in `dlc bench --profile`, on the same number
of threads (1 by default: per-kernel times are least disturbed there), and
groups both engines' kernel times by what they produce: a convolution's or
product's output channels (rounded up to 16, as ORT's NCHWc layout pads
them) and pixels. Each group lists both totals per run, most time lost
first. A group can hold several layers (an expansion and the depthwise
convolution after it both make 144 channels of 56 × 56), so read it as
"the layers that make this tensor shape"; dlc's expansion and depthwise
convolution run as one kernel, which counts in the expansion's group.
Images group by channels and
pixels of one sample (meant for batch 1: at larger batches dlc may run
one sample at a time, ORT the batch), sequences by rows and features.

Both engines time their kernels inside the model, with its caches as they
are between layers (a single layer timed alone runs hot and, in ORT,
pays for converting to and from NCHWc). Both profilers add overhead of
their own; dlc's lines say so.

Usage: bench/layers_vs_ort.py [--model NAME|FILE.onnx [--shape NAME=DIMS]] [--batch N]
                              [--threads T] [--turns K]
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))


def group_of(channels, pixels):
    return (int(channels + 15) // 16 * 16, int(pixels))


def ort_groups(path, shapes, threads, runs):
    """ORT's kernel time per run by output group, and its median run (ms)."""
    import onnxruntime as ort

    import models

    options = models.ort_options(threads)
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.gettempdir(), "dlc_layers_vs_ort")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for given in session.get_inputs():
        shape = shapes[given.name]
        if "int" in given.type:
            feeds[given.name] = rng.integers(0, 1000, shape).astype(np.int64)
        else:
            feeds[given.name] = rng.standard_normal(shape).astype(np.float32)
    for _ in range(runs):
        session.run(None, feeds)
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    groups = collections.defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        outputs = event["args"].get("output_type_shape") or [{}]
        shape = next(iter(outputs[0].values()), [])
        if len(shape) == 4:  # images: channels, pixels
            key = group_of(shape[1], shape[2] * shape[3])
        elif len(shape) == 3:  # sequences: rows (batch · length), features
            key = group_of(shape[0] * shape[1], shape[2])
        elif len(shape) == 2:  # rows, features
            key = group_of(shape[0], shape[1])
        else:
            key = ("other", event["args"].get("op_name", "?"))
        groups[key] += event["dur"] / 1000.0 / runs
    model_runs = [e["dur"] / 1000.0 for e in events if e.get("name") == "model_run"]
    return groups, float(np.median(model_runs))


# dlc's kernel lines: "  ms  share  calls  GFLOP/s  kernel and shape".
LINE = re.compile(r"^\s*([\d.]+)\s+[\d.]+%\s+(\d*)\s+([\d.-]+)\s+(.*)$")
GEMM = re.compile(r"gemm(?: \(pixel rows\))? (\d+) x \((\d+)x(\d+) · (\d+)x(\d+)\)")
CONV = re.compile(r"conv2d(?: \((?:Winograd|taps)\))? (\d+)x(\d+) -> (\d+)x(\d+)x(\d+)")
DEPTHWISE = re.compile(r"depthwise conv2d (\d+)x(\d+) -> (\d+)x(\d+)")
EXPAND = re.compile(r"expand \+ depthwise (\d+)x(\d+) -> (\d+)x(\d+)x(\d+) -> (\d+)x(\d+)")


def dlc_groups(path, shapes, threads, seconds, dlc=os.path.join(ROOT, "build", "bin", "dlc")):
    """dlc's kernel time per run by output group, and its median run (ms)."""
    command = [dlc, "bench", path, "--threads", str(threads), "--seconds", str(seconds),
               "--profile", "--top", "100000"]
    for name, shape in shapes.items():
        command += ["--shape", f"{name}={'x'.join(str(d) for d in shape)}"]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return profile_groups(text), float(re.search(r"median ([\d.]+) ms", text).group(1))


def profile_groups(text):
    """The kernel times of `dlc bench --profile`'s output by output group."""
    groups = collections.defaultdict(float)
    for line in text.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        ms, kernel = float(match.group(1)), match.group(4)
        if (m := GEMM.match(kernel)):
            # One product (a 1×1 convolution: channels × pixels; a dense
            # layer: rows × features), or a batch of them (attention's
            # heads: as ORT's 4-D output, heads × each product).
            batch, rows, columns = int(m.group(1)), int(m.group(2)), int(m.group(5))
            key = group_of(rows, columns) if batch == 1 else group_of(batch, rows * columns)
        elif (m := CONV.match(kernel)):
            key = group_of(int(m.group(3)), int(m.group(4)) * int(m.group(5)))
        elif (m := DEPTHWISE.match(kernel)):
            key = group_of(int(m.group(2)), int(m.group(3)) * int(m.group(4)))
        elif (m := EXPAND.match(kernel)):
            # An expansion and its depthwise convolution as one kernel: in
            # the expansion's group (at stride 2 ORT's depthwise output is
            # a group of its own: read the two together).
            key = group_of(int(m.group(3)), int(m.group(4)) * int(m.group(5)))
        else:
            key = ("other", kernel.split(" (")[0].split(" 1")[0])
        groups[key] += ms
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mobilenetv2",
                        help="a model of bench/models.py or an ONNX file (default mobilenetv2)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--shape", action="append", default=[],
                        help="NAME=D1xD2x... for an ONNX file's inputs (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50, help="ORT's profiled runs (default 50)")
    parser.add_argument("--seconds", type=float, default=2, help="dlc's timing (default 2)")
    parser.add_argument("--turns", type=int, default=3,
                        help="turns each engine takes; each group keeps its fastest (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        import models

        path, shapes = models.model_and_shapes(args.model, args.shape, args.batch, scratch)
        # The engines take turns, and each group keeps its fastest turn:
        # the machine has slow phases of seconds (docs/performance.md) that
        # would otherwise land on one engine's whole measurement.
        ort_times, dlc_times = {}, {}
        ort_runs, dlc_runs = [], []
        for _ in range(args.turns):
            times, run = ort_groups(path, shapes, args.threads, args.runs)
            ort_runs.append(run)
            for key, ms in times.items():
                ort_times[key] = min(ms, ort_times.get(key, ms))
            times, run = dlc_groups(path, shapes, args.threads, args.seconds)
            dlc_runs.append(run)
            for key, ms in times.items():
                dlc_times[key] = min(ms, dlc_times.get(key, ms))
        ort_run, dlc_run = min(ort_runs), min(dlc_runs)

    print(f"{os.path.basename(path)}, {args.threads} thread(s), fastest of {args.turns} turns; "
          f"median run with each profiler on: ORT {ort_run:.3f} ms, dlc {dlc_run:.3f} ms")
    print(f"{'output (channels, pixels)':<28} {'ORT ms':>8} {'dlc ms':>8} {'dlc-ORT':>8} {'ratio':>6}")
    keys = sorted(set(ort_times) | set(dlc_times),
                  key=lambda k: -(dlc_times.get(k, 0) - ort_times.get(k, 0)))
    for key in keys:
        ours, theirs = dlc_times.get(key, 0.0), ort_times.get(key, 0.0)
        label = f"{key[0]} x {key[1]}" if key[0] != "other" else key[1][:28]
        ratio = f"{ours / theirs:6.2f}" if theirs > 0 else "     -"
        print(f"{label:<28} {theirs:8.3f} {ours:8.3f} {ours - theirs:+8.3f} {ratio}")
    print(f"{'all kernels':<28} {sum(ort_times.values()):8.3f} {sum(dlc_times.values()):8.3f}")


if __name__ == "__main__":
    main()
