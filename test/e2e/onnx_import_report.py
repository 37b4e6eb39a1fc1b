#!/usr/bin/env python3
"""Imports every ONNX node test model with `dlc import` and reports how each fared.

Each model lands in one class:
  imported        dlc import exited 0 and printed the module
  imported-bound  imported once the graph inputs that set shapes (a Reshape's
                  shape, a Slice's starts...) were bound to the test's data
                  with --constant-input: dlc compiles static shapes
  refused         exited non-zero with a diagnostic ("error: ...")
  crashed         died on a signal, hung past the timeout, or failed without
                  a diagnostic: these are bugs, and the script exits 1

Usage: onnx_import_report.py [--dlc build/bin/dlc] [--list CLASS] [DIR ...]
DIR defaults to Debian's libonnx-testdata node tests.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys

DEFAULT_DIR = "/usr/share/libonnx-testdata/data/node"
BOUND_RE = re.compile(r"--constant-input (\S+)=FILE")


def input_files(test_dir):
    """Maps graph input names to the first data set's TensorProto files."""
    data = os.path.join(test_dir, "test_data_set_0")
    if not os.path.isdir(data):
        return {}
    try:
        import onnx  # Only to read input names: the model's own inputs order.
        model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
        initializers = {i.name for i in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in initializers]
    except Exception:
        return {}
    files = {}
    for i, name in enumerate(names):
        path = os.path.join(data, f"input_{i}.pb")
        if os.path.exists(path):
            files[name] = path
    return files


def run_import(dlc, model, bound, timeout):
    command = [dlc, "import", model, "-o", os.devnull]
    for name, path in bound.items():
        command += ["--constant-input", f"{name}={path}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "crashed", "timed out"
    if result.returncode == 0:
        return "imported", ""
    if result.returncode < 0 or result.returncode > 1:
        return "crashed", f"exit status {result.returncode}: {result.stderr[-300:]}"
    message = result.stderr.strip()
    if "error:" not in message:
        return "crashed", f"no diagnostic: {message[-300:]}"
    return "refused", message


def classify(dlc, test_dir, timeout):
    model = os.path.join(test_dir, "model.onnx")
    status, message = run_import(dlc, model, {}, timeout)
    if status != "refused" or "--constant-input" not in message:
        return status, message
    files = input_files(test_dir)
    bound = {}
    for _ in range(8):
        wanted = BOUND_RE.findall(message)
        if not wanted or any(w not in files or w in bound for w in wanted):
            return status, message
        for w in wanted:
            bound[w] = files[w]
        status, message = run_import(dlc, model, bound, timeout)
        if status == "imported":
            return "imported-bound", ", ".join(sorted(bound))
        if status != "refused":
            return status, message
    return status, message


def first_line(message):
    line = message.splitlines()[0] if message else ""
    return line[:240]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("dirs", nargs="*", default=[DEFAULT_DIR])
    parser.add_argument("--dlc", default=os.path.join(root, "build", "bin", "dlc"))
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list", action="append", default=[],
                        help="print the tests of this class with their first message line")
    parser.add_argument("--json", help="write every test's class and message here")
    parser.add_argument("--require", type=float, default=0,
                        help="exit 1 unless at least this percentage imports")
    args = parser.parse_args()

    tests = []
    for d in args.dirs:
        for name in sorted(os.listdir(d)):
            if os.path.exists(os.path.join(d, name, "model.onnx")):
                tests.append(os.path.join(d, name))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(classify, args.dlc, t, args.timeout): t for t in tests}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()

    counts = collections.Counter(status for status, _ in results.values())
    for wanted in args.list:
        print(f"--- {wanted}")
        for test in sorted(results):
            status, message = results[test]
            if status == wanted:
                print(f"{os.path.basename(test)}: {first_line(message)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({os.path.basename(t): {"class": s, "message": m}
                       for t, (s, m) in sorted(results.items())}, f, indent=1)
    total = len(tests)
    imported = counts["imported"] + counts["imported-bound"]
    print(f"ONNX node tests in {', '.join(args.dirs)}: {total}")
    for status in ("imported", "imported-bound", "refused", "crashed"):
        print(f"  {status:15} {counts[status]:4}  ({100.0 * counts[status] / max(total, 1):.1f}%)")
    print(f"  imported in all {imported:4}  ({100.0 * imported / max(total, 1):.1f}%)")
    share = 100.0 * imported / max(total, 1)
    if args.require and share < args.require:
        print(f"FAILED: {share:.1f}% imported, {args.require}% required")
        return 1
    return 1 if counts["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
