"""The benchmark's model set, generated with the onnx package (fixed seeds,
random weights): an MLP (784-1024-1024-10), ResNet-50, MobileNetV2 and a
BERT-base encoder (12 layers, hidden 768, 12 heads, sequence 128). Every
model has a symbolic batch dimension "N" on its input.

    from models import build, save
    model, input_shapes = build("resnet50", rng)   # shapes with "N" for the batch
    path, input_shapes = save("resnet50", directory)  # the benchmarks' weights, as a file
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Graph:
    """Collects nodes and initializers under unique names."""

    def __init__(self, rng):
        self.rng, self.nodes, self.inits, self.count = rng, [], [], 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def weight(self, shape, scale=None, prefix="w"):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        scale = scale if scale is not None else np.sqrt(2.0 / fan_in)
        name = self.name(prefix)
        value = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def const(self, value, prefix="c"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def model(self, name, inputs, output, output_shape):
        graph = helper.make_graph(
            self.nodes, name, inputs,
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def conv_bn(g, x, cin, cout, k, stride=1, groups=1, relu=True, relu6=False):
    w = g.weight((cout, cin // groups, k, k))
    y = g.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
             pads=[k // 2] * 4, group=groups)
    scale = g.const((1 + 0.1 * g.rng.standard_normal(cout)).astype(np.float32))
    bias = g.const((0.1 * g.rng.standard_normal(cout)).astype(np.float32))
    mean = g.const((0.1 * g.rng.standard_normal(cout)).astype(np.float32))
    var = g.const((1 + 0.1 * g.rng.random(cout)).astype(np.float32))
    y = g.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5)
    if relu6:
        return g.op("Clip", [y, g.const(np.float32(0)), g.const(np.float32(6))])
    return g.op("Relu", [y]) if relu else y


def mlp(rng):
    g = Graph(rng)
    x, widths = "x", [784, 1024, 1024, 10]
    for i in range(3):
        w = g.weight((widths[i + 1], widths[i]))
        b = g.weight((widths[i + 1],), 0.01)
        x = g.op("Gemm", [x, w, b], transB=1)
        if i < 2:
            x = g.op("Relu", [x])
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])]
    return g.model("mlp", inputs, x, ["N", 10]), {"x": ["N", 784]}


def resnet50(rng):
    g = Graph(rng)
    x = conv_bn(g, "x", 3, 64, 7, stride=2)
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2),
                                                     (512, 3, 2)]):
        for block in range(blocks):
            s = stride if block == 0 else 1
            y = conv_bn(g, x, cin, width, 1)
            y = conv_bn(g, y, width, width, 3, stride=s)
            y = conv_bn(g, y, width, width * 4, 1, relu=False)
            shortcut = conv_bn(g, x, cin, width * 4, 1, stride=s, relu=False) if block == 0 else x
            x = g.op("Relu", [g.op("Add", [y, shortcut])])
            cin = width * 4
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    x = g.op("Gemm", [x, g.weight((1000, 2048)), g.weight((1000,), 0.01)], transB=1)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])]
    return g.model("resnet50", inputs, x, ["N", 1000]), {"x": ["N", 3, 224, 224]}


def mobilenetv2(rng):
    g = Graph(rng)
    x = conv_bn(g, "x", 3, 32, 3, stride=2, relu6=True)
    cin = 32
    for expand, cout, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                                          (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                                          (6, 320, 1, 1)]:
        for i in range(repeats):
            s = stride if i == 0 else 1
            hidden = cin * expand
            y = x if expand == 1 else conv_bn(g, x, cin, hidden, 1, relu6=True)
            y = conv_bn(g, y, hidden, hidden, 3, stride=s, groups=hidden, relu6=True)
            y = conv_bn(g, y, hidden, cout, 1, relu=False)
            x = g.op("Add", [x, y]) if s == 1 and cin == cout else y
            cin = cout
    x = conv_bn(g, x, cin, 1280, 1, relu6=True)
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    x = g.op("Gemm", [x, g.weight((1000, 1280)), g.weight((1000,), 0.01)], transB=1)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])]
    return g.model("mobilenetv2", inputs, x, ["N", 1000]), {"x": ["N", 3, 224, 224]}


def bert_base(rng, layers=12, hidden=768, heads=12, seq=128, ff=3072, vocab=30522):
    g = Graph(rng)
    head = hidden // heads
    table = g.weight((vocab, hidden), 0.02)
    positions = g.weight((1, seq, hidden), 0.02)
    x = g.op("Add", [g.op("Gather", [table, "input_ids"]), positions])

    def layer_norm(v):
        gamma = g.const(np.ones(hidden, np.float32))
        beta = g.const(np.zeros(hidden, np.float32))
        return g.op("LayerNormalization", [v, gamma, beta], axis=-1, epsilon=1e-12)

    def dense(v, cin, cout):
        return g.op("Add", [g.op("MatMul", [v, g.weight((cin, cout), 0.02)]),
                            g.weight((cout,), 0.02)])

    x = layer_norm(x)
    split = g.const(np.array([0, seq, heads, head], np.int64))
    merge = g.const(np.array([0, seq, hidden], np.int64))
    scale = g.const(np.float32(1 / np.sqrt(head)))
    for _ in range(layers):
        q, k, v = (g.op("Transpose", [g.op("Reshape", [dense(x, hidden, hidden), split])],
                        perm=[0, 2, 1, 3]) for _ in range(3))
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                              scale])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge])
        x = layer_norm(g.op("Add", [x, dense(context, hidden, hidden)]))
        h = dense(x, hidden, ff)
        # GELU, tanh-free form: 0.5·h·(1 + erf(h/√2))
        h = g.op("Mul", [g.op("Mul", [h, g.const(np.float32(0.5))]),
                         g.op("Add", [g.op("Erf", [g.op("Div", [h, g.const(np.float32(np.sqrt(2)))])]),
                                      g.const(np.float32(1))])])
        x = layer_norm(g.op("Add", [x, dense(h, ff, hidden)]))
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", seq])]
    return g.model("bert_base", inputs, x, ["N", seq, hidden]), {"input_ids": ["N", seq]}


BUILDERS = {"mlp": mlp, "resnet50": resnet50, "mobilenetv2": mobilenetv2, "bert": bert_base}


def build(name, rng):
    return BUILDERS[name](rng)


def save(name, directory):
    """Writes model `name` with the benchmarks' weights (seed 2026) to
    DIRECTORY/NAME.onnx; returns the path and the input shapes."""
    import os

    import onnx

    model, shapes = build(name, np.random.default_rng(2026))
    path = os.path.join(directory, f"{name}.onnx")
    onnx.save(model, path)
    return path, shapes


def ort_options(threads):
    """The benchmarks' ONNX Runtime settings: all graph optimizations,
    `threads` intra-op threads, one inter-op thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def model_and_shapes(model, shape_args, batch, directory):
    """An ONNX file and its input shapes from a script's arguments: `model`
    is a file (shapes from `shape_args`, NAME=D1xD2x... each) or a model of
    this module, saved to `directory`, with "N" dimensions set to `batch`."""
    if model.endswith(".onnx"):
        shapes = {}
        for given in shape_args:
            name, dims = given.split("=")
            shapes[name] = [int(d) for d in dims.split("x")]
        return model, shapes
    path, symbolic = save(model, directory)
    return path, {name: [batch if d == "N" else d for d in dims]
                  for name, dims in symbolic.items()}
