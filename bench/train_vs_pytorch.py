#!/usr/bin/env python3
"""dlc's compiled training step against PyTorch's eager one, in one run.

    .venv/bin/python bench/train_vs_pytorch.py [--models mlp,cnn] [--seconds 12]
                                               [--slice 0.5] [--threads 2]
                                               [--optimizer sgd|adam] [--show-slices]

PyTorch is not in requirements.txt (the test suite does not need it); install
it into the environment first: `.venv/bin/pip install torch`.

Models, batch 64, float32, weights drawn once by PyTorch (seeded) and
written into the ONNX model that dlc trains, so both start equal:

  mlp  784 -> Linear 1024 -> ReLU -> Linear 1024 -> ReLU -> Linear 10
  cnn  1x28x28 -> Conv 32 3x3 pad 1 -> ReLU -> MaxPool 2 -> Conv 64 3x3 pad 1
       -> ReLU -> MaxPool 2 -> Flatten -> Linear 10

Each engine runs in its own process with `--threads` threads on the same
batch: a step is forward, softmax cross-entropy, backward and the optimizer
update (PyTorch: zero_grad, forward, loss, backward, step; dlc: one call of
the compiled step). The machine has slow phases (memory-bound work can take
1.5-3x longer for seconds at a time), so the two processes take turns: each
runs steps for `--slice` seconds while the other waits, until each has run
`--seconds`. Both engines thus meet the same phases, and each pair of
neighbouring slices gives a ratio. Printed per model: the median step time
of each, the ratio of the medians dlc/PyTorch and the 10th-90th percentile
range of the slices' ratios, the peak memory of each (resident memory above
what the process held after importing its engine and building the data),
dlc's compile time, and the largest difference between the two engines'
losses over the first steps (they train the same model from the same
weights).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

BATCH = 64


def resident_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_resident_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def torch_model(name):
    import torch
    from torch import nn
    torch.manual_seed(0)
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                             nn.Linear(1024, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def input_shape(name):
    return (BATCH, 784) if name == "mlp" else (BATCH, 1, 28, 28)


def write_onnx(name, path):
    """The PyTorch model's architecture and initial weights as ONNX."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    model = torch_model(name)
    nodes, initializers, previous = [], [], "x"
    for i, layer in enumerate(model):
        kind = type(layer).__name__
        out = f"t{i}"
        if kind == "Linear":
            initializers += [numpy_helper.from_array(layer.weight.detach().numpy(), f"{i}.weight"),
                             numpy_helper.from_array(layer.bias.detach().numpy(), f"{i}.bias")]
            nodes.append(helper.make_node("Gemm", [previous, f"{i}.weight", f"{i}.bias"], [out],
                                          name=f"linear{i}", transB=1))
        elif kind == "Conv2d":
            initializers += [numpy_helper.from_array(layer.weight.detach().numpy(), f"{i}.weight"),
                             numpy_helper.from_array(layer.bias.detach().numpy(), f"{i}.bias")]
            nodes.append(helper.make_node("Conv", [previous, f"{i}.weight", f"{i}.bias"], [out],
                                          name=f"conv{i}", kernel_shape=[3, 3],
                                          pads=[1, 1, 1, 1]))
        elif kind == "ReLU":
            nodes.append(helper.make_node("Relu", [previous], [out], name=f"relu{i}"))
        elif kind == "MaxPool2d":
            nodes.append(helper.make_node("MaxPool", [previous], [out], name=f"pool{i}",
                                          kernel_shape=[2, 2], strides=[2, 2]))
        elif kind == "Flatten":
            nodes.append(helper.make_node("Flatten", [previous], [out], name=f"flatten{i}"))
        previous = out
    nodes[-1].output[0] = "logits"
    shape = ["N", *input_shape(name)[1:]]
    graph = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                             ["N", 10])], initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def batch(name):
    rng = np.random.default_rng(1)
    return (rng.standard_normal(input_shape(name)).astype(np.float32),
            rng.integers(0, 10, BATCH).astype(np.int64))


def steps_for(step, seconds):
    """Step times (s) of steps run for `seconds`, at least 3 of them."""
    times = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds or len(times) < 3:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def serve_engine(engine, name, onnx_path, threads, optimizer):
    """A child process: sets up one engine, then runs steps when told.

    Reads lines from stdin: `steps SECONDS` runs steps for that long and
    answers their times; `quit` answers the peak memory. Each answer is one
    JSON line on stdout."""
    x, y = batch(name)
    result = {}
    if engine == "torch":
        import torch
        torch.set_num_threads(threads)
        model = torch_model(name)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        baseline = resident_kib()
        opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer == "sgd"
               else torch.optim.Adam(model.parameters(), lr=1e-3))
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt), yt)
            loss.backward()
            opt.step()
            return loss.item()
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "build", "python"))
        import dlc
        baseline = resident_kib()
        start = time.perf_counter()
        options = dict(momentum=0.9, lr=0.01) if optimizer == "sgd" else dict(lr=1e-3)
        session = dlc.train_session(onnx_path, shapes={"x": input_shape(name)},
                                    optimizer=optimizer, **options)
        result["compile_s"] = time.perf_counter() - start
        session.set_threads(threads)

        def step():
            return session.step(x, y)
    # Warm-up; the first steps' losses compare the engines.
    result["losses"] = [step() for _ in range(5)]
    print(json.dumps(result), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "steps":
            print(json.dumps({"times": steps_for(step, float(command[1]))}), flush=True)
        else:
            print(json.dumps({"peak_mib": (peak_resident_kib() - baseline) / 1024}), flush=True)
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--seconds", type=float, default=12,
                        help="steps each engine runs, in all")
    parser.add_argument("--slice", type=float, default=0.5,
                        help="seconds each engine runs before the other's turn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--show-slices", action="store_true",
                        help="print each slice's median step time (the machine's phases)")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:  # a child process: one engine, one model
        serve_engine(args.engine, args.model, args.onnx, args.threads, args.optimizer)
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from turns import Worker, take_turns
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("PyTorch is needed: .venv/bin/pip install torch")
    print(f"training step, batch {BATCH}, {args.optimizer}, {args.threads} threads each; "
          f"engines take turns of {args.slice:g} s, {args.seconds:g} s each in all "
          f"(ratio range: 10th-90th percentile of neighbouring slices' ratios)")
    print(f"{'model':<6} {'torch ms':>9} {'dlc ms':>8} {'dlc/torch':>9} {'ratio range':>12} "
          f"{'torch MiB':>9} {'dlc MiB':>8} {'compile s':>9} {'loss diff':>9}")
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, DLC_CACHE_DIR=os.path.join(work, "cache"))
        for name in args.models.split(","):
            onnx_path = os.path.join(work, f"{name}.onnx")
            write_onnx(name, onnx_path)
            engines = {engine: Worker([sys.executable, __file__, "--engine", engine,
                                       "--model", name, "--onnx", onnx_path,
                                       "--threads", str(args.threads),
                                       "--optimizer", args.optimizer], env)
                       for engine in ("torch", "dlc")}
            turns = take_turns(engines, f"steps {args.slice}", args.seconds)
            times = {e: [t for turn in turns[e] for t in turn] for e in turns}
            slices = {e: [float(np.median(turn)) for turn in turns[e]] for e in turns}
            if args.show_slices:
                for engine, medians in slices.items():
                    print(f"  {engine} slices (ms): " +
                          " ".join(f"{m * 1e3:.2f}" for m in medians))
            peaks = {engine: e.finish("quit")["peak_mib"] for engine, e in engines.items()}
            torch_ms = float(np.median(times["torch"])) * 1e3
            dlc_ms = float(np.median(times["dlc"])) * 1e3
            ratios = np.array(slices["dlc"]) / np.array(slices["torch"])
            low, high = np.percentile(ratios, [10, 90])
            difference = max(abs(a - b) / max(abs(a), 1e-6) for a, b in
                             zip(engines["torch"].ready["losses"], engines["dlc"].ready["losses"]))
            print(f"{name:<6} {torch_ms:>9.2f} {dlc_ms:>8.2f} {dlc_ms / torch_ms:>9.2f} "
                  f"{f'{low:.2f}-{high:.2f}':>12} {peaks['torch']:>9.0f} {peaks['dlc']:>8.0f} "
                  f"{engines['dlc'].ready['compile_s']:>9.2f} {difference:>9.1e}")


if __name__ == "__main__":
    main()
