"""The benchmark scripts' own logic (bench/), where it can break silently:
bench/layers_vs_ort.py reads `dlc bench --profile`'s lines and ONNX
Runtime's profile; bench/prefixes_vs_ort.py cuts a model into stages.

Run through lit (test/lit/python/api.test) with build/python on PYTHONPATH.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import dlc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import layers_vs_ort  # noqa: E402
import prefixes_vs_ort  # noqa: E402

DLC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(dlc.__file__))), "bin", "dlc")


def test_profile_lines_group_by_output_channels_and_pixels():
    text = """kernels, per run (times with --profile's own overhead):
       ms   share  calls  GFLOP/s  kernel and shape
    0.788    7.5%      3     82.6  gemm (pixel rows) 1 x (576x96 · 96x196)
    0.519    5.0%      1     41.8  conv2d 1x3 -> 32x112x112, 3x3 stride 2x2
    0.300    3.0%      1     71.8  conv2d (taps) 1x3 -> 16x20x20, 3x3 stride 1x1
    0.200    2.0%      2     90.0  conv2d (Winograd) 1x64 -> 64x56x56, 3x3 stride 1x1
    0.395    3.8%      1     13.7  depthwise conv2d 1x96 -> 56x56, 3x3 stride 2x2
    0.100    1.0%      1     13.7  depthwise conv2d 1x24 -> 56x56, 3x3 stride 1x1
    2.323    1.8%     12    130.0  gemm 12 x (128x64 · 64x128)
    0.396    3.8%               -  generated code and the rest of the run
"""
    groups = layers_vs_ort.profile_groups(text)
    assert groups[(576, 196)] == 0.788
    assert groups[(32, 12544)] == 0.519
    assert groups[(16, 400)] == 0.300
    assert groups[(64, 3136)] == 0.200
    assert groups[(96, 3136)] == 0.395
    assert groups[(32, 3136)] == 0.100  # 24 channels, padded to 32 as NCHWc pads them
    assert groups[(16, 16384)] == 2.323  # 12 heads of 128 × 128
    assert groups[("other", "generated code and the rest of the run")] == 0.396
    assert len(groups) == 8


def test_prefixes_end_where_one_tensor_feeds_a_new_anchor(tmp_path):
    # conv, relu, conv, add (the relu's output again), relu, conv: the
    # residual keeps two tensors live inside the block, so the cuts fall
    # after each relu that a convolution follows, never after a
    # convolution (its epilogue would be cut off).
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 4, 1, 1)).astype(np.float32), w)
             for w in ("w1", "w2", "w3")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"]),
             helper.make_node("Add", ["r1", "c2"], ["s"]),
             helper.make_node("Relu", ["s"], ["r2"]),
             helper.make_node("Conv", ["r2", "w3"], ["y"])]
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert prefixes_vs_ort.cut_points(model) == [1, 4]
    # With the second convolution depthwise (4 groups), no cut before it:
    # dlc fuses it with the pointwise one before.
    nodes[2] = helper.make_node("Conv", ["r1", "w2"], ["c2"], group=4)
    graph.ClearField("node")
    graph.node.extend(nodes)
    depthwise = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert prefixes_vs_ort.cut_points(depthwise) == [4]
    path = str(tmp_path / "block.onnx")
    onnx.save(model, path)
    stages = prefixes_vs_ort.save_prefixes(path, {"x": [1, 4, 6, 6]}, str(tmp_path))
    assert [d.split(": ")[1] for _, d in stages] == ["Conv Relu", "Conv Add Relu", "Conv"]
    assert stages[-1][0] == path
    # Each prefix computes its cut tensor from the model's input.
    first = onnx.load(stages[0][0])
    assert [o.name for o in first.graph.output] == ["r1"]
    assert [n.op_type for n in first.graph.node] == ["Conv", "Relu"]


def test_both_engines_report_the_layers_of_a_model(tmp_path):
    # A 1×1 convolution (24 → 48 channels) then a depthwise one, 20 × 20.
    rng = np.random.default_rng(3)
    def weight(shape, name):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    inits = [weight((48, 24, 1, 1), "w1"), weight((48, 1, 3, 3), "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"]),
             helper.make_node("Conv", ["a", "w2"], ["y"], group=48, pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, "two", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 24, 20, 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 48, 20, 20])], inits)
    path = str(tmp_path / "two.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    shapes = {"x": [1, 24, 20, 20]}
    ours, median = layers_vs_ort.dlc_groups(path, shapes, threads=1, seconds=0.2, dlc=DLC)
    theirs, run = layers_vs_ort.ort_groups(path, shapes, threads=1, runs=3)
    # Both kernels make 48 channels of 400 pixels: one group in each engine.
    assert ours[(48, 400)] > 0 and theirs[(48, 400)] > 0
    assert median > 0 and run > 0
