#!/usr/bin/env python3
"""Kills `dlc train` mid-run, damages its newest checkpoint, resumes, and
checks the final weights and optimizer state are bit-identical to those of
an uninterrupted run.

Usage: kill_resume.py DLC WORK_DIR -- TRAIN_ARGS...
TRAIN_ARGS must include --checkpoint-every N; this script adds
--checkpoint-dir. The run is killed (SIGKILL) once its checkpoint at step
2N exists; the checkpoint at 2N is then cut short, so that the resumed run
must detect it, skip it, and continue from step N.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np


def final_checkpoint(directory):
    names = sorted(f for f in os.listdir(directory) if f.startswith("step-") and f.endswith(".npz"))
    return os.path.join(directory, names[-1])


def main():
    dlc, work = sys.argv[1], sys.argv[2]
    args = sys.argv[sys.argv.index("--") + 1:]
    every = int(args[args.index("--checkpoint-every") + 1])
    whole, interrupted = os.path.join(work, "whole"), os.path.join(work, "interrupted")

    subprocess.run([dlc, "train", *args, "--checkpoint-dir", whole], check=True,
                   stdout=subprocess.DEVNULL)

    # The same run, killed once it has written its second checkpoint.
    target = os.path.join(interrupted, f"step-{2 * every:08d}.npz")
    process = subprocess.Popen([dlc, "train", *args, "--checkpoint-dir", interrupted],
                               stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not os.path.exists(target) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    code = process.wait()
    if code != -signal.SIGKILL:
        sys.exit(f"dlc train ended (status {code}) before it could be killed; "
                 "give it more steps")
    written = sorted(f for f in os.listdir(interrupted) if f.endswith(".npz"))
    print(f"killed after {len(written)} checkpoint(s)")

    # Damage the newest checkpoint: cut it in half.
    newest = final_checkpoint(interrupted)
    size = os.path.getsize(newest)
    with open(newest, "r+b") as f:
        f.truncate(size // 2)

    resumed = subprocess.run([dlc, "train", *args, "--checkpoint-dir", interrupted, "--resume"],
                             capture_output=True, text=True)
    print(resumed.stderr.replace(work, "WORK"), end="")
    if resumed.returncode != 0:
        sys.exit(f"the resumed run failed (status {resumed.returncode})")
    if "skipping checkpoint" not in resumed.stderr:
        sys.exit("the damaged checkpoint was not reported")
    for line in resumed.stdout.splitlines():
        if line.startswith("resumed from"):
            print(line.replace(work, "WORK"))

    expected, actual = np.load(final_checkpoint(whole)), np.load(final_checkpoint(interrupted))
    compared = 0
    for name in expected.files:
        if not name.startswith(("param/", "state/", "meta/step")):
            continue
        if name not in actual.files or expected[name].tobytes() != actual[name].tobytes():
            sys.exit(f"{name} differs between the uninterrupted and the resumed run")
        compared += 1
    records = [json.loads(line) for line in open(os.path.join(interrupted, "metrics.jsonl"))]
    steps = [r["step"] for r in records if "epoch_end" not in r]
    if steps != list(range(1, len(steps) + 1)):
        sys.exit("metrics.jsonl of the resumed run does not count steps 1, 2, ... once each")
    print(f"{compared} arrays (parameters, optimizer state, step) bit-identical after kill, "
          f"damage and resume; metrics count steps 1..{len(steps)} once each")


if __name__ == "__main__":
    main()
