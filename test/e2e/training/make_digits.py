#!/usr/bin/env python3
"""Writes the digits training set and two untrained ONNX models for `dlc train`.

The data is scikit-learn's bundled digits set (1,797 8x8 images of the
digits 0-9, pixel values 0..16, no download), scaled to [0, 1] and split
80/20 with a fixed seed (stratified). Both splits are written as .npz with

  x      float32 [n, 64]       the flattened images (for the MLP)
  image  float32 [n, 1, 8, 8]  the same images (for the CNN)
  y      int64   [n]           the digit

and one.npz holds the first 64 training images: one batch, for the float64
reference (reference.py).

The models take a symbolic batch dimension and have weights drawn with a
fixed seed as PyTorch initializes them (Kaiming uniform, a = sqrt(5)):

  mlp.onnx  x [N, 64] -> Gemm 256 -> Relu -> Gemm 128 -> Relu -> Gemm 10 -> logits
  cnn.onnx  image [N, 1, 8, 8] -> Conv 32 3x3 pad 1 -> Relu -> MaxPool 2
            -> Conv 64 3x3 pad 1 -> Relu -> MaxPool 2 -> Flatten -> Gemm 10 -> logits
  cnn-bn.onnx  the same with BatchNormalization after each Conv (no bias) and
            Dropout (ratio 0.5) before the Gemm

Usage: make_digits.py OUT_DIR
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def uniform_init(rng, shape, fan_in):
    # PyTorch's default for Linear and Conv weights and biases.
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def save(graph_nodes, inputs, initializers, path):
    graph = helper.make_graph(
        graph_nodes, os.path.splitext(os.path.basename(path))[0], inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(value, name) for name, value in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def mlp(rng, path):
    sizes = [64, 256, 128, 10]
    nodes, initializers, previous = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        initializers += [(f"fc{i}.weight", uniform_init(rng, (fan_out, fan_in), fan_in)),
                         (f"fc{i}.bias", uniform_init(rng, (fan_out,), fan_in))]
        out = "logits" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [previous, f"fc{i}.weight", f"fc{i}.bias"],
                                      [out + ("" if out == "logits" else "_linear")],
                                      name=f"fc{i}", transB=1))
        if out != "logits":
            nodes.append(helper.make_node("Relu", [out + "_linear"], [out], name=f"relu{i}"))
        previous = out
    save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
         initializers, path)


def cnn(rng, path, batch_norm=False):
    """Two 3x3 convolutions with ReLU and 2x2 max pooling, then a dense layer.
    With `batch_norm`, each convolution (without bias) is followed by
    BatchNormalization and the dense layer by Dropout: training and
    evaluation then compute differently."""
    nodes, initializers, previous = [], [], "image"
    for i, (cin, cout) in enumerate([(1, 32), (32, 64)]):
        initializers.append((f"conv{i}.weight", uniform_init(rng, (cout, cin, 3, 3), cin * 9)))
        conv_inputs = [previous, f"conv{i}.weight"]
        if batch_norm:
            statistics = [f"bn{i}.weight", f"bn{i}.bias", f"bn{i}.running_mean",
                          f"bn{i}.running_var"]
            initializers += [(name, value(cout, np.float32)) for name, value in
                             zip(statistics, [np.ones, np.zeros, np.zeros, np.ones])]
            normalize = [helper.make_node("BatchNormalization", [f"c{i}", *statistics],
                                          [f"b{i}"], name=f"bn{i}", momentum=0.9)]
        else:
            initializers.append((f"conv{i}.bias", uniform_init(rng, (cout,), cin * 9)))
            conv_inputs.append(f"conv{i}.bias")
            normalize = [helper.make_node("Identity", [f"c{i}"], [f"b{i}"], name=f"id{i}")]
        nodes += [
            helper.make_node("Conv", conv_inputs, [f"c{i}"], name=f"conv{i}",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            *normalize,
            helper.make_node("Relu", [f"b{i}"], [f"r{i}"], name=f"relu{i}"),
            helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], name=f"pool{i}",
                             kernel_shape=[2, 2], strides=[2, 2]),
        ]
        previous = f"p{i}"
    initializers += [("fc.weight", uniform_init(rng, (10, 256), 256)),
                     ("fc.bias", uniform_init(rng, (10,), 256))]
    nodes.append(helper.make_node("Flatten", [previous], ["flat"], name="flatten"))
    if batch_norm:
        nodes.append(helper.make_node("Dropout", ["flat"], ["dropped"], name="dropout"))
    nodes.append(helper.make_node("Gemm", ["dropped" if batch_norm else "flat", "fc.weight",
                                           "fc.bias"], ["logits"], name="fc", transB=1))
    save(nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
         initializers, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y)
    for name, xs, ys in [("train", x_train, y_train), ("test", x_test, y_test)]:
        np.savez(os.path.join(out, f"{name}.npz"), x=xs, image=xs.reshape(-1, 1, 8, 8), y=ys)
    np.savez(os.path.join(out, "one.npz"), x=x_train[:64], y=y_train[:64])
    rng = np.random.default_rng(0)
    mlp(rng, os.path.join(out, "mlp.onnx"))
    cnn(rng, os.path.join(out, "cnn.onnx"))
    cnn(rng, os.path.join(out, "cnn-bn.onnx"), batch_norm=True)
    print(f"{len(y_train)} training and {len(y_test)} test images, mlp.onnx, cnn.onnx and "
          f"cnn-bn.onnx in {out}")


if __name__ == "__main__":
    main()
