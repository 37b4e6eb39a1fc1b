#!/usr/bin/env python3
"""Runs an ONNX model (one exported by `dlc export`) in ONNX Runtime on a test
set and checks its accuracy: an independent engine judges dlc's training.

Usage: check_accuracy.py MODEL.onnx TEST.npz INPUT_ARRAY MINIMUM_PERCENT
"""
import sys

import numpy as np
import onnxruntime as ort


def main():
    model, data, array, minimum = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    test = np.load(data)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    logits = session.run(None, {input_name: test[array]})[0]
    accuracy = 100.0 * float((logits.argmax(axis=1) == test["y"]).mean())
    ok = accuracy >= minimum
    print(f"ONNX Runtime: test accuracy {accuracy:.2f}% on {len(test['y'])} images "
          f"(at least {minimum:g}%): {'ok' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
