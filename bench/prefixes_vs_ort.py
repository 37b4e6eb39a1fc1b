#!/usr/bin/env python3
"""Where a model loses time against ONNX Runtime, stage by stage, without profilers.

    .venv/bin/python bench/prefixes_vs_ort.py [--model NAME|FILE.onnx [--shape NAME=DIMS]]
                                              [--batch N] [--threads T] [--rounds R]

Cuts the model at every tensor that alone carries everything later nodes
need (between MobileNet's or ResNet's blocks; never right before a
depthwise convolution, which dlc runs as one kernel with the pointwise
expansion before it), saves each prefix up to such
a cut as a model of its own, and times every prefix in both engines: each
engine in one process that compiled all of them (bench/turns.py's
workers). Each round runs every prefix in both engines in turn, so that
both, and neighbouring prefixes, meet the machine's slow phases alike. A
stage's time is its prefix's median latency less the previous prefix's in
the same round, the median over the rounds.
Printed per stage: the nodes it holds (op counts), each engine's time, the
difference and the ratio; last, the whole model's latencies.

Profilers (bench/layers_vs_ort.py) see inside a stage but add overhead of
their own, ORT's more than dlc's (its profiled runs take ~1.6x as long), so
their per-kernel times favour dlc; here both engines run as in production.
A stage's time includes what its cut costs: the prefix's output is a
model output (dlc copies it out once; ORT converts it from NCHWc), the
same for both engines at every cut except the last.
"""
import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


ANCHORS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "GlobalAveragePool", "AveragePool",
           "MaxPool"}


def grouped(node):
    """Whether `node` is a convolution with more than one group (a
    depthwise one)."""
    return node.op_type == "Conv" and any(
        a.name == "group" and a.i > 1 for a in node.attribute)


def cut_points(model):
    """Indices i of nodes after which a single tensor (the last node's
    output) is all that later nodes read, besides initializers, and where
    a new anchor (convolution, product, pooling) starts: each stage keeps
    its anchors' fused producers and consumers, as the whole model does.
    Never before a depthwise convolution: dlc computes a pointwise
    expansion and the depthwise convolution after it as one kernel, which
    a cut between them would split."""
    graph = model.graph
    constant = {init.name for init in graph.initializer}
    last_use = {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            last_use[name] = index
    outputs = {o.name for o in graph.output}
    cuts, live = [], set()
    for index, node in enumerate(graph.node[:-1]):
        live |= {name for name in node.output if name}
        live = {name for name in live if last_use.get(name, -1) > index or name in outputs}
        live -= constant
        inputs_live = any(last_use.get(i.name, -1) > index for i in graph.input
                          if i.name not in constant)
        following = graph.node[index + 1]
        if (len(live) == 1 and not inputs_live and node.output[0] in live
                and following.op_type in ANCHORS and node.op_type not in ANCHORS
                and not grouped(following)):
            cuts.append(index)
    return cuts


def save_prefixes(path, shapes, directory):
    """Writes the prefixes; returns [(path, description of the stage)]."""
    import onnx
    from onnx import shape_inference, utils

    model = onnx.load(path)
    model = shape_inference.infer_shapes(model)
    inputs = [i.name for i in model.graph.input
              if i.name not in {init.name for init in model.graph.initializer}]
    extractor = utils.Extractor(model)
    stages, previous = [], 0
    for index in cut_points(model) + [len(model.graph.node) - 1]:
        ops = collections.Counter(n.op_type for n in model.graph.node[previous:index + 1])
        describe = " ".join(f"{op}{'x' + str(c) if c > 1 else ''}"
                            for op, c in sorted(ops.items(), key=lambda e: -e[1]))
        if index == len(model.graph.node) - 1:
            target = path
        else:
            target = os.path.join(directory, f"prefix-{index}.onnx")
            onnx.save(extractor.extract_model(inputs, [model.graph.node[index].output[0]]), target)
        stages.append((target, f"{index + 1 - previous:>3} nodes: {describe}"))
        previous = index + 1
    return stages


def worker(args):
    """Compiles every prefix; answers `runs INDEX SECONDS` with its times."""
    sys.path.insert(0, HERE)
    from compare_ort import timed_runs

    inputs = dict(np.load(args.inputs))
    paths = args.models.split(",")
    runs = []
    if args.engine == "ort":
        import onnxruntime as ort
        import models
        options = models.ort_options(args.threads)
        for path in paths:
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            runs.append(lambda s=session: s.run(None, inputs))
    else:
        sys.path.insert(0, os.path.join(ROOT, "build", "python"))
        import dlc
        os.environ["DLC_CACHE_DIR"] = "off"
        shapes = {name: value.shape for name, value in inputs.items()}
        for path in paths:
            model = dlc.compile(path, shapes=shapes)
            model.threads = args.threads
            runs.append(lambda m=model: m.run(inputs))
    for run in runs:
        run()  # warm-up
    print(json.dumps({"prefixes": len(runs)}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] != "runs":
            break
        print(json.dumps({"times": timed_runs(runs[int(command[1])], float(command[2]))}),
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mobilenetv2",
                        help="a model of bench/models.py or an ONNX file (default mobilenetv2)")
    parser.add_argument("--shape", action="append", default=[],
                        help="NAME=D1xD2x... for an ONNX file's inputs (repeatable)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5,
                        help="times each engine runs every prefix (default 5)")
    parser.add_argument("--slice", type=float, default=0.2,
                        help="seconds of runs of a prefix in each round (default 0.2)")
    parser.add_argument("--worker", choices=["ort", "dlc"], dest="engine")
    parser.add_argument("--models")
    parser.add_argument("--inputs")
    args = parser.parse_args()
    if args.engine:
        return worker(args)
    sys.path.insert(0, HERE)
    import models
    from turns import Worker

    work = tempfile.mkdtemp(prefix="dlc-prefixes-")
    try:
        path, shapes = models.model_and_shapes(args.model, args.shape, args.batch, work)
        stages = save_prefixes(path, shapes, work)
        rng = np.random.default_rng(0)
        inputs = {name: rng.standard_normal(dims).astype(np.float32)
                  for name, dims in shapes.items()}
        in_path = os.path.join(work, "in.npz")
        np.savez(in_path, **inputs)
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        command = lambda engine: [sys.executable, __file__, "--worker", engine, "--models",
                                  ",".join(p for p, _ in stages), "--inputs", in_path,
                                  "--threads", str(args.threads)]
        workers = {engine: Worker(command(engine), env) for engine in ("ort", "dlc")}
        # rounds[r][index][engine]: the 10th percentile of one turn (the
        # least disturbed runs; medians moved by more than a stage takes). Every round
        # visits all prefixes, so adjacent prefixes are timed seconds
        # apart, within the same phase of the machine.
        rounds = []
        for r in range(args.rounds):
            rounds.append([])
            for index in range(len(stages)):
                order = ("ort", "dlc") if (r + index) % 2 == 0 else ("dlc", "ort")
                rounds[-1].append({
                    engine: 1e3 * float(np.percentile(
                        workers[engine].ask(f"runs {index} {args.slice}")["times"], 10))
                    for engine in order})
                time.sleep(0.05)
        for process in workers.values():
            process.process.stdin.close()
            process.process.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{os.path.basename(path)}, {args.threads} thread(s), medians over {args.rounds} "
          f"rounds of each turn's 10th percentile ({args.slice:g} s turns)")
    print(f"{'stage':>5} {'ORT ms':>8} {'dlc ms':>8} {'dlc-ORT':>8} {'ratio':>6}  nodes")

    def stage_ms(index, engine):
        return float(np.median([run[index][engine] - (run[index - 1][engine] if index else 0.0)
                                for run in rounds]))

    for index, (_, describe) in enumerate(stages):
        ort_ms, dlc_ms = stage_ms(index, "ort"), stage_ms(index, "dlc")
        ratio = f"{dlc_ms / ort_ms:6.2f}" if ort_ms > 0.005 else "     -"
        print(f"{index:>5} {ort_ms:8.3f} {dlc_ms:8.3f} {dlc_ms - ort_ms:+8.3f} {ratio}  {describe}")
    whole = {e: float(np.median([run[-1][e] for run in rounds])) for e in ("ort", "dlc")}
    print(f"whole model: ORT {whole['ort']:.3f} ms, dlc {whole['dlc']:.3f} ms, "
          f"ratio {whole['dlc'] / whole['ort']:.3f}")

if __name__ == "__main__":
    sys.exit(main())
