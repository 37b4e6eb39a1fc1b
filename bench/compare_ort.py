#!/usr/bin/env python3
"""dlc against ONNX Runtime on the benchmark's model set, in one run.

    .venv/bin/python bench/compare_ort.py [--models mlp,resnet50,mobilenetv2,bert]
                                          [--batches 1,32] [--seconds 3] [--slice 0.5]
                                          [--threads 2] [--in-process]

For every model and batch size (BERT uses 1 and 8 where 32 is asked), each
engine runs in its own process on the same inputs: ONNX Runtime with all
graph optimizations and `--threads` intra-op threads, dlc through its Python
package with the same number of threads. The machine has slow phases
(seconds long, 1.5x or more), so the two processes take turns: each runs for
`--slice` seconds (at least one run) while the other waits, until each has
run `--seconds`; both meet the same phases. Printed per pair: median latency
of each, the ratio dlc/ORT, peak memory of each (resident memory above what the
process held after importing its engine), dlc's cold compile time (empty
cache) and cached compile time (from the ONNX file, import included), and
whether the outputs agree (rtol 1e-3, atol 1e-4 times the largest output
magnitude). Last, the geometric mean of the ratios.

dlc's memory is given three times: "dlc MiB" for the process that compiles
the ONNX file with `dlc.compile` and runs it (the compiler runs in a child
process, as `dlc.compile` does by default; with --in-process it runs in this
one, and the import and the compiler's own memory count here), ".dlc MiB" for
a third process that loads the artifact the second one saved (its code in
the compile cache) and runs it, as a deployment that compiled ahead of time
does (its outputs must equal the second's exactly), and "cc MiB" for the
child that compiled cold: its whole peak resident set, libraries included.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def resident_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_resident_kib():
    """VmHWM: this process's peak resident set. (ru_maxrss would not do:
    Linux carries it across exec from the parent, which holds the models.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def timed_runs(run, seconds):
    """Times of runs for `seconds`, at least one run."""
    times = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds or not times:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def serve(run, result, baseline):
    """Answers the parent's commands on stdin, one JSON line each: `runs
    SECONDS` times runs for that long; `finish` (or the end of stdin) ends
    and returns the peak memory, which the caller answers once it has saved
    the outputs. The dlc-artifact worker is only told to finish: its
    latency is not compared, only its memory and outputs."""
    run()  # warm-up
    print(json.dumps(result), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] != "runs":
            break
        print(json.dumps({"times": timed_runs(run, float(command[1]))}), flush=True)
    return {"peak_mib": (peak_resident_kib() - baseline) / 1024}


def worker(args):
    """Runs one engine on one model; prints a JSON line."""
    inputs = dict(np.load(args.inputs))
    result = {}
    if args.engine == "ort":
        import onnxruntime as ort

        import models  # (before the baseline: the onnx package it imports is not ORT's)
        baseline = resident_kib()
        options = models.ort_options(args.threads)
        start = time.perf_counter()
        session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        result["compile"] = time.perf_counter() - start
        outputs = {}

        def run():
            names = [o.name for o in session.get_outputs()]
            outputs.update(zip(names, session.run(None, inputs)))
    elif args.engine == "dlc-artifact":
        # Serving from the artifact that the dlc worker saved, with its code
        # in the compile cache: what a deployment that compiled ahead of
        # time runs.
        sys.path.insert(0, os.path.join(ROOT, "build", "python"))
        import dlc
        baseline = resident_kib()
        os.environ["DLC_CACHE_DIR"] = args.cache
        start = time.perf_counter()
        model = dlc.load(args.model)
        result["compile"] = time.perf_counter() - start
        assert model.cache_hit
        model.threads = args.threads
        outputs = {}

        def run():
            outputs.update(model.run(inputs))
    else:
        sys.path.insert(0, os.path.join(ROOT, "build", "python"))
        import dlc
        baseline = resident_kib()
        os.environ["DLC_CACHE_DIR"] = args.cache
        shapes = {name: value.shape for name, value in inputs.items()}
        start = time.perf_counter()
        model = dlc.compile(args.model, shapes=shapes, in_process=args.in_process)
        result["compile"] = time.perf_counter() - start
        result["compiler_mib"] = model.compile_report["compiler_peak_bytes"] / 2**20
        # The cached compile makes a second model: drop the first one, as
        # a user recompiling would, so peak memory counts one model.
        del model
        start = time.perf_counter()
        model = dlc.compile(args.model, shapes=shapes, in_process=args.in_process)
        result["compile_cached"] = time.perf_counter() - start
        assert model.cache_hit
        model.threads = args.threads
        if args.save:
            model.save(args.save)
        outputs = {}

        def run():
            outputs.update(model.run(inputs))
    final = serve(run, result, baseline)
    np.savez(args.out, **outputs)
    print(json.dumps(final), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mlp,resnet50,mobilenetv2,bert")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="seconds of runs for each engine, in all")
    parser.add_argument("--slice", type=float, default=0.5,
                        help="seconds each engine runs before the other's turn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--in-process", action="store_true",
                        help="dlc compiles in the process that runs the model")
    parser.add_argument("--worker", choices=["ort", "dlc", "dlc-artifact"], dest="engine")
    parser.add_argument("--model")
    parser.add_argument("--save")
    parser.add_argument("--cache")
    parser.add_argument("--inputs")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.engine:
        return worker(args)

    # The models, inputs, outputs, artifacts and caches (1.7 GB with
    # BERT's) go into a folder that is removed at the end, however the run
    # ends.
    work = tempfile.mkdtemp(prefix="dlc-compare-")
    try:
        return compare(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(args, work):
    """Runs every model and batch of `args` in `work`; prints the table."""
    sys.path.insert(0, HERE)
    import models
    from turns import Worker, take_turns

    print(f"{'model':<12} {'batch':>5} {'ORT ms':>9} {'dlc ms':>9} {'dlc/ORT':>8} "
          f"{'ORT MiB':>8} {'dlc MiB':>8} {'.dlc MiB':>8} {'cc MiB':>7} {'compile s':>9} {'cached s':>8}"
          f"  outputs")
    ratios, all_ok = [], True
    for name in args.models.split(","):
        path, shapes = models.save(name, work)
        for batch in [int(b) for b in args.batches.split(",")]:
            if name == "bert" and batch > 8:
                batch = 8
            rng = np.random.default_rng(batch)
            inputs = {}
            for input_name, shape in shapes.items():
                dims = [batch if d == "N" else d for d in shape]
                inputs[input_name] = (rng.integers(0, 30522, dims, dtype=np.int64)
                                      if input_name == "input_ids"
                                      else rng.standard_normal(dims).astype(np.float32))
            in_path = os.path.join(work, f"{name}-{batch}-in.npz")
            np.savez(in_path, **inputs)
            results, outputs = {}, {}
            cache = tempfile.mkdtemp(prefix="dlc-bench-cache-", dir=work)
            artifact = os.path.join(work, f"{name}-{batch}.dlc")
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

            def command(engine):
                return [sys.executable, __file__, "--worker", engine,
                        "--model", artifact if engine == "dlc-artifact" else path,
                        "--inputs", in_path, "--out", os.path.join(work, f"{name}-{batch}-{engine}.npz"),
                        "--threads", str(args.threads), "--cache", cache, "--save", artifact,
                        *(["--in-process"] if args.in_process else [])]
            try:
                workers = {engine: Worker(command(engine), env) for engine in ("ort", "dlc")}
                turns = take_turns(workers, f"runs {args.slice}", args.seconds)
                for engine, process in workers.items():
                    times = [t for turn in turns[engine] for t in turn]
                    results[engine] = {**process.ready, **process.finish("finish"),
                                       "latency": float(np.median(times))}
                # The artifact, served by a process of its own (memory,
                # outputs), after the dlc worker saved it.
                artifact_worker = Worker(command("dlc-artifact"), env)
                results["dlc-artifact"] = {**artifact_worker.ready,
                                           **artifact_worker.finish("finish")}
                for engine in results:
                    outputs[engine] = dict(np.load(os.path.join(work, f"{name}-{batch}-{engine}.npz")))
            except RuntimeError as failure:
                print(f"{name} batch {batch}: a worker failed:\n{failure}")
            if not all(results.get(e) for e in ("ort", "dlc", "dlc-artifact")):
                all_ok = False
                continue
            # The artifact must compute exactly what the compiled ONNX file does.
            same = all(np.array_equal(outputs["dlc"][k], outputs["dlc-artifact"][k])
                       for k in outputs["dlc"])
            all_ok &= same
            # Elementwise rtol 1e-3, with the absolute floor scaled to the
            # output's magnitude: deep float32 networks reorder sums.
            agree = all(np.allclose(outputs["dlc"][k], outputs["ort"][k], rtol=1e-3,
                                    atol=1e-4 * max(1.0, float(np.abs(outputs["ort"][k]).max())))
                        for k in outputs["ort"])
            worst = max(float(np.max(np.abs(outputs["dlc"][k] - outputs["ort"][k])))
                        for k in outputs["ort"])
            all_ok &= agree
            o, d, a = results["ort"], results["dlc"], results["dlc-artifact"]
            ratio = d["latency"] / o["latency"]
            ratios.append(ratio)
            print(f"{name:<12} {batch:>5} {o['latency'] * 1e3:>9.2f} {d['latency'] * 1e3:>9.2f} "
                  f"{ratio:>8.2f} {o['peak_mib']:>8.0f} {d['peak_mib']:>8.0f} "
                  f"{a['peak_mib']:>8.0f} {d['compiler_mib']:>7.0f} "
                  f"{d['compile']:>9.2f} {d['compile_cached']:>8.3f}  "
                  f"{'agree' if agree else 'DIFFER'} (max |diff| {worst:.1e})"
                  f"{'' if same else '; .dlc outputs DIFFER'}", flush=True)
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"geometric mean of dlc/ORT latency ratios: {geomean:.2f} over {len(ratios)} pairs")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
