#!/usr/bin/env python3
"""Checks `dlc train`'s weights against the same training recomputed in float64.

The model is an MLP of Gemm (transB=1) layers with Relu between them, as
make_digits.py writes mlp.onnx; the data set holds exactly one batch, so
every step sees all of it (a step's mean gradient does not depend on the
order of the samples) and no shuffling needs reproducing. Forward and
backward passes, softmax cross-entropy with label smoothing, clipping by
global norm, the learning-rate schedules and the optimizers are written out
here in NumPy float64 after PyTorch's documented formulas, independently of
dlc's code.

Tolerance: every parameter element within `--tolerance` (1e-4) of its
tensor's largest magnitude, except at most one element in a thousand, which
may be off by up to 100 times that. The adaptive optimizers (Adam, Adagrad,
RMSProp) divide a gradient by its own running magnitude, so an element whose
float64 gradient is within float32 rounding of zero (a unit that is almost
never active, say) moves by ±lr in either engine depending on rounding; the
exception is for those.

Usage: reference.py MODEL.onnx DATA.npz CHECKPOINT.npz --steps K [dlc train's options]
Prints the largest difference and exits 1 when the tolerance is exceeded.
"""
import argparse
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def learning_rate(args, step):
    if args.warmup and step <= args.warmup:
        return args.lr * step / args.warmup
    t = step - args.warmup
    kind, *rest = args.schedule.split(":")
    if kind == "constant":
        return args.lr
    if kind == "step":
        size, gamma = int(rest[0]), float(rest[1]) if len(rest) > 1 else 0.1
        return args.lr * gamma ** ((t - 1) // size)
    minimum = float(rest[0]) if rest else 0.0
    total = max(1, args.steps - args.warmup)
    progress = min(1.0, (t - 1) / total)
    return minimum + (args.lr - minimum) * 0.5 * (1 + math.cos(math.pi * progress))


def gradients(params, x, y, smoothing):
    """Loss and gradients of softmax cross-entropy for the Gemm/Relu MLP."""
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    inputs, h = [], x
    for i, (w, b) in enumerate(layers):
        inputs.append(h)
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = np.maximum(h, 0)
    n, classes = h.shape
    shifted = h - h.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.eye(classes)[y] * (1 - smoothing) + smoothing / classes
    loss = -(target * log_softmax).sum(axis=1).mean()
    grad = (np.exp(log_softmax) - target) / n
    grads = [None] * len(params)
    for i in reversed(range(len(layers))):
        w, _ = layers[i]
        grads[2 * i] = grad.T @ inputs[i]
        grads[2 * i + 1] = grad.sum(axis=0)
        if i:
            grad = (grad @ w) * (inputs[i] > 0)
    return loss, grads


def train(args, params, x, y):
    state = [dict() for _ in params]
    for step in range(1, args.steps + 1):
        _, grads = gradients(params, x, y, args.label_smoothing)
        if args.clip_norm > 0:
            norm = math.sqrt(sum((g * g).sum() for g in grads))
            factor = min(1.0, args.clip_norm / (norm + 1e-6))
            grads = [g * factor for g in grads]
        lr = learning_rate(args, step)
        for p, g, s in zip(params, grads, state):
            if args.optimizer != "adamw" and args.weight_decay:
                g = g + args.weight_decay * p
            if args.optimizer == "sgd":
                if args.momentum:
                    s["v"] = args.momentum * s.get("v", 0) + g
                    g = g + args.momentum * s["v"] if args.nesterov else s["v"]
                p -= lr * g
            elif args.optimizer in ("adam", "adamw"):
                if args.optimizer == "adamw":
                    p *= 1 - lr * args.weight_decay
                s["m"] = 0.9 * s.get("m", 0) + 0.1 * g
                s["v"] = 0.999 * s.get("v", 0) + 0.001 * g * g
                m_hat = s["m"] / (1 - 0.9 ** step)
                v_hat = s["v"] / (1 - 0.999 ** step)
                p -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            elif args.optimizer == "adagrad":
                s["sum"] = s.get("sum", 0) + g * g
                p -= lr * g / (np.sqrt(s["sum"]) + 1e-10)
            elif args.optimizer == "rmsprop":
                s["sq"] = 0.99 * s.get("sq", 0) + 0.01 * g * g
                p -= lr * g / (np.sqrt(s["sq"]) + 1e-8)
    return params


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("checkpoint")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", default="constant")
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--nesterov", action="store_true")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--clip-norm", type=float, default=0.0)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    model = onnx.load(args.model)
    names = [t.name for t in model.graph.initializer]
    params = [numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer]
    data = np.load(args.data)
    x, y = data["x"].astype(np.float64), data["y"]
    expected = train(args, params, x, y)

    checkpoint = np.load(args.checkpoint)
    if int(checkpoint["meta/step"]) != args.steps:
        sys.exit(f"the checkpoint is at step {int(checkpoint['meta/step'])}, not {args.steps}")
    worst, where, outside, total = 0.0, "", 0, 0
    for name, value in zip(names, expected):
        actual = checkpoint["param/" + name].astype(np.float64)
        difference = np.abs(actual - value) / max(np.abs(value).max(), 1e-3)
        outside += int((difference > args.tolerance).sum())
        total += difference.size
        if difference.max() > worst:
            worst, where = difference.max(), name
    ok = outside <= total // 1000 and worst <= 100 * args.tolerance
    print(f"{args.optimizer}: {outside} of {total} elements differ from float64 by more than "
          f"{args.tolerance:.0e} of their tensor's scale, the largest by {worst:.1e} ({where}): "
          f"{'ok' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
