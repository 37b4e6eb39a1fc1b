#!/usr/bin/env python3
"""In-process A/B timing of a change to dlc, for changes smaller than the
machine's noise.

This machine has slow phases of seconds (docs/performance.md): two
processes timed minutes apart can differ by 20% with the same code, which
hides a 3% change. Here one process holds the model and times it in rounds
that alternate A and B (ABBA...), and reports the median of each and the
median of the per-round ratios B/A, whose neighbours in time share the
machine's phase.

A and B differ by an environment variable (`--env VAR[=VALUE]`, set for B):
- read by the runtime while it runs (`--when run`, the default): put a
  temporary `getenv("VAR")` switch in the kernel under test, marked
  `// AB-TOGGLE` so that `grep -rn AB-TOGGLE` finds it before committing.
  Read it on every call, never into a `static`: A's warm-up runs first,
  and a cached switch would give B A's code (outputs that "differ by at
  most 0" where B should change them are the sign);
- read by the compiler (`--when compile`): the model is compiled twice,
  with the variable unset and set (no compile cache), and the two
  executables alternate.

Outputs of A and B are compared too (the largest difference is printed).

With `--ort` instead of `--env`, B is ONNX Runtime (all graph
optimizations, the same number of intra-op threads) in the same process:
the ratio dlc/ORT per round, each engine's turns next to the other's in
time. (bench/compare_ort.py runs each engine in a process of its own, for
their memory, and takes the median of all runs; this gives per-round
ratios, steadier on this machine, and is how one engine's per-core speed
and its scaling to two threads are compared.) ORT's threads spin for a
while after its runs, so each turn starts after a 30 ms pause.

Usage: bench/ab.py MODEL (--env VAR[=VALUE] | --ort) [--batch N] [--threads T]
                   [--rounds R] [--per K] [--when run|compile]
MODEL is a model of bench/models.py (mlp, resnet50, mobilenetv2, bert) or an
ONNX file with one float input whose first dimension is the batch.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))


def inputs_of(model_path, batch):
    """Random inputs for the model's inputs, batch first, and their shapes."""
    import onnx

    model = onnx.load(model_path, load_external_data=False)
    rng = np.random.default_rng(0)
    initializers = {i.name for i in model.graph.initializer}
    feeds = {}
    for given in model.graph.input:
        if given.name in initializers:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else batch
                for d in given.type.tensor_type.shape.dim]
        if given.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            feeds[given.name] = rng.integers(0, 1000, dims).astype(np.int64)
        else:
            feeds[given.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--env", help="VAR[=VALUE], set for B (VALUE 1 if none)")
    which.add_argument("--ort", action="store_true", help="B is ONNX Runtime")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of A then B or B then A")
    parser.add_argument("--per", type=int, default=5, help="runs of each per round")
    parser.add_argument("--when", choices=["run", "compile"], default="run",
                        help="whether the runtime or the compiler reads the variable")
    args = parser.parse_args()
    var, _, value = (args.env or "").partition("=")
    value = value or "1"

    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import dlc

    with tempfile.TemporaryDirectory() as scratch:
        path = args.model
        if not path.endswith(".onnx"):
            import models

            path, _ = models.save(args.model, scratch)
        feeds = inputs_of(path, args.batch)
        shapes = {name: array.shape for name, array in feeds.items()}
        if var:
            os.environ.pop(var, None)
        if args.ort:
            import onnxruntime as ort

            import models

            a = dlc.compile(path, shapes=shapes)
            session = ort.InferenceSession(path, models.ort_options(args.threads),
                                           providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]

            class OrtModel:
                threads = args.threads

                def run(self, inputs):
                    return dict(zip(names, session.run(None, inputs)))

            b = OrtModel()
        elif args.when == "compile":
            os.environ["DLC_CACHE_DIR"] = "off"
            a = dlc.compile(path, shapes=shapes)
            os.environ[var] = value
            b = dlc.compile(path, shapes=shapes)
            os.environ.pop(var)
        else:
            a = b = dlc.compile(path, shapes=shapes)
        # (Set only where it changes: setting it makes a new thread pool.)
        for model in {id(a): a, id(b): b}.values():
            if model.threads != args.threads:
                model.threads = args.threads

        def run(which):
            if args.when == "run" and var:
                if which == "B":
                    os.environ[var] = value
                else:
                    os.environ.pop(var, None)
            return (a if which == "A" else b).run(feeds)

        for which in "AB":  # warm-up
            run(which)
        out_a, out_b = run("A"), run("B")
        diff = max(float(np.max(np.abs(np.asarray(out_a[k], np.float64) - np.asarray(out_b[k]))))
                   for k in out_a)
        times = {"A": [], "B": []}
        ratios = []
        for r in range(args.rounds):
            current = {"A": [], "B": []}
            for which in ("AB" if r % 2 == 0 else "BA"):
                if args.ort:
                    time.sleep(0.03)  # ORT's threads stop spinning
                    run(which)  # and the engine's first run is not timed
                for _ in range(args.per):
                    start = time.perf_counter()
                    run(which)
                    current[which].append(time.perf_counter() - start)
                times[which] += current[which]
            ratios.append(np.median(current["B"]) / np.median(current["A"]))
        if var:
            os.environ.pop(var, None)

    a_ms, b_ms = 1e3 * np.median(times["A"]), 1e3 * np.median(times["B"])
    what = "B is ONNX Runtime" if args.ort else f"{var}={value} read at {args.when} time"
    print(f"{os.path.basename(args.model)} batch {args.batch}, {args.threads} thread(s), {what}")
    if args.ort:
        # dlc against ORT, as compare_ort.py prints it.
        ratios = [1 / r for r in ratios]
        print(f"dlc {a_ms:.3f} ms   ORT {b_ms:.3f} ms   dlc/ORT {a_ms / b_ms:.3f}   per-round "
              f"dlc/ORT median {np.median(ratios):.3f} (quartiles "
              f"{np.percentile(ratios, 25):.3f}-{np.percentile(ratios, 75):.3f})   outputs "
              f"differ by at most {diff:.2e}")
        return
    print(f"A {a_ms:.3f} ms   B {b_ms:.3f} ms   B/A {b_ms / a_ms:.3f}   per-round B/A median "
          f"{np.median(ratios):.3f} (quartiles {np.percentile(ratios, 25):.3f}-"
          f"{np.percentile(ratios, 75):.3f})   outputs differ by at most {diff:.2e}")


if __name__ == "__main__":
    main()
