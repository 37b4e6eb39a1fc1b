"""The dlc Python package: compile, run, save, load, errors, zero-copy inputs.

Run through lit (test/lit/python/api.test) with build/python on PYTHONPATH.
"""
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import dlc

RNG = np.random.default_rng(7)
W1 = RNG.standard_normal((16, 32)).astype(np.float32)
B1 = RNG.standard_normal(32).astype(np.float32)
W2 = RNG.standard_normal((32, 4)).astype(np.float32)


@pytest.fixture
def mlp_path(tmp_path):
    """x[N,16] -> Gemm -> Relu -> MatMul -> Softmax, with a symbolic batch N."""
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("MatMul", ["r", "w2"], ["s"], name="fc2"),
            helper.make_node("Softmax", ["s"], ["y"], name="softmax", axis=-1),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(B1, "b1"),
         numpy_helper.from_array(W2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "mlp.onnx"
    onnx.save(model, str(path))
    return str(path)


def reference(x):
    s = np.maximum(x.astype(np.float64) @ W1 + B1, 0) @ W2
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_compile_with_shapes_matches_float64_and_onnxruntime(mlp_path):
    model = dlc.compile(mlp_path, shapes={"x": (5, 16)})
    assert model.inputs == [("x", (5, 16), "float32")]
    assert model.outputs == [("y", (5, 4), "float32")]
    x = RNG.standard_normal((5, 16)).astype(np.float32)
    y = model.run({"x": x})["y"]
    assert y.dtype == np.float32 and y.shape == (5, 4)
    np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-7)
    (ort_y,) = ort.InferenceSession(mlp_path).run(None, {"x": x})
    np.testing.assert_allclose(y, ort_y, rtol=1e-5, atol=1e-7)


def test_compile_from_example_inputs(mlp_path):
    x = RNG.standard_normal((3, 16)).astype(np.float32)
    model = dlc.compile(mlp_path, {"x": x})
    np.testing.assert_allclose(model.run({"x": x})["y"], reference(x), rtol=1e-5)


def test_save_and_load_give_identical_outputs_from_the_cache(mlp_path, tmp_path):
    model = dlc.compile(mlp_path, shapes={"x": (2, 16)})
    assert not model.cache_hit
    x = RNG.standard_normal((2, 16)).astype(np.float32)
    artifact = str(tmp_path / "mlp.dlc")
    model.save(artifact)
    loaded = dlc.load(artifact)
    assert loaded.cache_hit
    assert loaded.inputs == model.inputs
    np.testing.assert_array_equal(loaded.run({"x": x})["y"], model.run({"x": x})["y"])


def test_contiguous_inputs_are_not_copied():
    x = np.zeros((4, 8), np.float32)
    assert dlc._dlc._input_address(x) == x.ctypes.data
    strided = np.zeros((4, 16), np.float32)[:, ::2]
    assert dlc._dlc._input_address(strided) != strided.ctypes.data


def test_strided_big_endian_and_read_only_inputs_are_copied_correctly(mlp_path):
    model = dlc.compile(mlp_path, shapes={"x": (4, 16)})
    wide = RNG.standard_normal((4, 32)).astype(np.float32)
    x = wide[:, ::2]
    np.testing.assert_allclose(model.run({"x": x})["y"], reference(x), rtol=1e-5)
    swapped = x.astype(">f4")
    np.testing.assert_allclose(model.run({"x": swapped})["y"], reference(x), rtol=1e-5)
    # A read-only array (np.frombuffer, onnx.numpy_helper) is taken, as a copy.
    frozen = np.ascontiguousarray(x)
    frozen.flags.writeable = False
    np.testing.assert_allclose(model.run({"x": frozen})["y"], reference(x), rtol=1e-5)
    assert dlc._dlc._input_address(frozen) != frozen.ctypes.data


def test_thread_count_does_not_change_results(mlp_path):
    model = dlc.compile(mlp_path, shapes={"x": (64, 16)})
    x = RNG.standard_normal((64, 16)).astype(np.float32)
    model.threads = 1
    assert model.threads == 1
    one = model.run({"x": x})["y"]
    model.threads = 2
    assert model.threads == 2
    np.testing.assert_allclose(model.run({"x": x})["y"], one, rtol=1e-6)
    np.testing.assert_allclose(one, reference(x), rtol=1e-5, atol=1e-7)


def test_outputs_outlive_the_model(mlp_path):
    x = RNG.standard_normal((2, 16)).astype(np.float32)
    y = dlc.compile(mlp_path, shapes={"x": (2, 16)}).run({"x": x})["y"]
    np.testing.assert_allclose(y, reference(x), rtol=1e-5)


def test_input_errors_raise_dlc_error(mlp_path):
    model = dlc.compile(mlp_path, shapes={"x": (2, 16)})
    with pytest.raises(dlc.Error, match=r"input 'x' \(float32\[2x16\]\) is missing"):
        model.run({})
    with pytest.raises(dlc.Error, match=r"input 'x' must be float32\[2x16\], got float64"):
        model.run({"x": np.zeros((2, 16))})
    with pytest.raises(dlc.Error, match="the model has no input 'z'"):
        model.run({"x": np.zeros((2, 16), np.float32), "z": np.zeros(1)})
    with pytest.raises(dlc.Error, match="does not take"):
        model.run({"x": np.zeros((2, 16), np.complex64)})


def test_model_errors_raise_dlc_error(mlp_path, tmp_path):
    with pytest.raises(dlc.Error, match="N"):
        dlc.compile(mlp_path)
    with pytest.raises(dlc.Error, match="absent.onnx"):
        dlc.compile(str(tmp_path / "absent.onnx"))
    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="strange", domain="")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    unsupported = tmp_path / "unsupported.onnx"
    onnx.save(helper.make_model(graph), str(unsupported))
    with pytest.raises(dlc.Error, match="strange.*Frobnicate"):
        dlc.compile(str(unsupported))
    damaged = tmp_path / "damaged.dlc"
    dlc.compile(mlp_path, shapes={"x": (2, 16)}).save(str(damaged))
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(dlc.Error, match="damaged.dlc: the artifact is truncated"):
        dlc.load(str(damaged))
    with pytest.raises(dlc.Error, match="not a dlc artifact"):
        dlc.load(mlp_path)


def test_compile_in_a_child_process_matches_compiling_here(mlp_path, tmp_path):
    x = RNG.standard_normal((6, 16)).astype(np.float32)
    child = dlc.compile(mlp_path, shapes={"x": (6, 16)})
    here = dlc.compile(mlp_path, shapes={"x": (6, 16)}, in_process=True)
    np.testing.assert_array_equal(child.run({"x": x})["y"], here.run({"x": x})["y"])
    report = child.compile_report
    # The child compiled cold: its stages and memory plan come back, and its
    # peak memory (a whole process with MLIR and LLVM: above 10 MiB).
    assert not report["cache_hit"] and report["codegen_s"] > 0
    assert 0 < report["arena_bytes"] <= report["intermediate_bytes"]
    assert report["compiler_peak_bytes"] > 10 << 20
    assert here.compile_report["compiler_peak_bytes"] == 0
    # One build, one cache key: this process loaded the child's code, and
    # compiling here found it too.
    assert len(list((tmp_path / "cache").glob("*.o"))) == 1
    assert here.cache_hit
    again = dlc.compile(mlp_path, shapes={"x": (6, 16)})
    assert again.cache_hit
    # The child's artifact, report and log do not stay in the cache.
    assert not list((tmp_path / "cache").glob("compile-*"))


def test_compile_in_a_child_process_without_a_cache(mlp_path, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("DLC_CACHE_DIR", "off")
    x = RNG.standard_normal((2, 16)).astype(np.float32)
    model = dlc.compile(mlp_path, shapes={"x": (2, 16)})
    np.testing.assert_allclose(model.run({"x": x})["y"], reference(x), rtol=1e-5, atol=1e-7)
    assert not model.cache_hit
    assert not list(scratch.iterdir())  # the child's temporary cache is gone
    # A cache that cannot be written costs the code's reuse, not the compile.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("DLC_CACHE_DIR", str(blocker / "cache"))
    np.testing.assert_allclose(dlc.compile(mlp_path, shapes={"x": (2, 16)}).run({"x": x})["y"],
                               reference(x), rtol=1e-5, atol=1e-7)
    assert not list(scratch.iterdir())
    # A relative path that looks like an option is still the model's.
    monkeypatch.chdir(tmp_path)
    shutil.copy(mlp_path, "-m.onnx")
    assert dlc.compile("-m.onnx", shapes={"x": (2, 16)}).outputs == [("y", (2, 4), "float32")]


def test_compiler_process_failures_raise_dlc_error(mlp_path, tmp_path, monkeypatch):
    # The child's diagnostic comes back as the error.
    with pytest.raises(dlc.Error, match="mlp.onnx.*'N'"):
        dlc.compile(mlp_path)
    # A compiler that dies is an error here, not the end of this process.
    crashing = tmp_path / "crashing-dlc"
    crashing.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crashing.chmod(0o755)
    monkeypatch.setenv("DLC_COMPILER", str(crashing))
    with pytest.raises(dlc.Error, match=r"the compiler process \(.*crashing-dlc compile .*mlp.onnx\) died"):
        dlc.compile(mlp_path, shapes={"x": (2, 16)})
    monkeypatch.setenv("DLC_COMPILER", str(tmp_path / "absent"))
    with pytest.raises(dlc.Error, match="DLC_COMPILER is .*absent', which is not an executable"):
        dlc.compile(mlp_path, shapes={"x": (2, 16)})
    # in_process=True does not need the program.
    assert dlc.compile(mlp_path, shapes={"x": (2, 16)}, in_process=True).outputs


@pytest.mark.parametrize("op,kernel,strides,pads", [
    ("MaxPool", 2, 2, 0),       # windows that tile the input: one pass, no reduction loops
    ("AveragePool", 2, 2, 0),
    ("MaxPool", 3, 3, 0),
    ("MaxPool", 3, 2, 1),       # overlapping, padded windows: the general lowering
])
def test_pooling_matches_float64(tmp_path, op, kernel, strides, pads):
    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], kernel_shape=[kernel, kernel],
                          strides=[strides, strides], pads=[pads] * 4)],
        "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 12, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "pool.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    x = RNG.standard_normal((2, 3, 12, 12)).astype(np.float32)
    x[0, 0, :2, :2] = -0.0  # a window of negative zeros
    x[1, 2, 4, 5] = np.nan  # a NaN reaches its window's result
    y = dlc.compile(str(path)).run({"x": x})["y"]
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads, pads), (pads, pads)),
                    constant_values=-np.inf)
    out = (12 + 2 * pads - kernel) // strides + 1
    want = np.empty((2, 3, out, out))
    for i in range(out):
        for j in range(out):
            window = padded[:, :, i * strides:i * strides + kernel, j * strides:j * strides + kernel]
            want[:, :, i, j] = (window.max(axis=(2, 3)) if op == "MaxPool"
                                else window.mean(axis=(2, 3)))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert np.isnan(y[1, 2]).any()
    if op == "MaxPool" and kernel == 2:
        # The window of negative zeros alone: its maximum is -0, as in float64.
        assert want[0, 0, 0, 0] == 0 and np.signbit(want[0, 0, 0, 0])
        assert np.signbit(y[0, 0, 0, 0])


def cnn_path(tmp_path, mixing=False):
    """x[N,3,8,8] -> Conv -> Relu -> MaxPool -> Conv 1x1 (+ residual) ->
    GlobalAveragePool -> Reshape [0, -1] -> Gemm -> Softmax. With `mixing`,
    the input first has its mean over the batch subtracted: the samples
    are no longer independent."""
    rng = np.random.default_rng(11)
    weights = {
        "w1": rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3,
        "b1": rng.standard_normal(8).astype(np.float32),
        "w2": rng.standard_normal((8, 8, 1, 1)).astype(np.float32) * 0.3,
        "fc": rng.standard_normal((8, 5)).astype(np.float32),
        "shape": np.array([0, -1], np.int64),
        "axes": np.array([0], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x0", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"]),
        helper.make_node("Add", ["c2", "p1"], ["s2"]),
        helper.make_node("GlobalAveragePool", ["s2"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["l"]),
        helper.make_node("Softmax", ["l"], ["y"], axis=-1),
    ]
    if mixing:
        nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["m"]),
                 helper.make_node("Sub", ["x", "m"], ["x0"])] + nodes
    else:
        nodes = [helper.make_node("Identity", ["x"], ["x0"])] + nodes
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / ("mixing.onnx" if mixing else "cnn.onnx")
    onnx.save(model, str(path))
    return str(path)


@pytest.mark.parametrize("mixing", [False, True])
def test_batch_split_matches_onnxruntime(tmp_path, mixing):
    # A convolutional model whose nodes keep the samples apart runs its
    # batch one sample at a time over the threads; one whose ReduceMean
    # mixes them runs the batch whole. Both as ONNX Runtime computes them,
    # on any number of threads, and from a saved artifact.
    path = cnn_path(tmp_path, mixing)
    x = np.random.default_rng(3).standard_normal((5, 3, 8, 8)).astype(np.float32)
    (want,) = ort.InferenceSession(path).run(None, {"x": x})
    model = dlc.compile(path, shapes={"x": x.shape})
    assert model.samples == (1 if mixing else 5)
    assert model.inputs == [("x", (5, 3, 8, 8), "float32")]
    assert model.outputs == [("y", (5, 5), "float32")]
    first = None
    for threads in (1, 2, 3):
        model.threads = threads
        y = model.run({"x": x})["y"]
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-6)
        if first is None:
            first = y
        np.testing.assert_array_equal(y, first)
    artifact = str(tmp_path / "cnn.dlc")
    model.save(artifact)
    loaded = dlc.load(artifact)
    assert loaded.samples == model.samples and loaded.inputs == model.inputs
    np.testing.assert_array_equal(loaded.run({"x": x})["y"], first)


def test_batch_split_leaves_large_dense_layers_whole(tmp_path):
    # A convolution followed by a dense layer with 33.6 MB of weights: split
    # into samples, each would read them once (a matrix-vector product per
    # sample), so the batch is imported whole; the results are ONNX
    # Runtime's either way.
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32) * 0.3
    fc = rng.standard_normal((128, 65600)).astype(np.float32) * 0.01
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Flatten", ["c"], ["f"]),
         helper.make_node("Gemm", ["f", "fc"], ["y"])],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 65600])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(fc, "fc")])
    path = str(tmp_path / "wide.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    x = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    model = dlc.compile(path, shapes={"x": x.shape})
    assert model.samples == 1
    (want,) = ort.InferenceSession(path).run(None, {"x": x})
    np.testing.assert_allclose(model.run({"x": x})["y"], want, rtol=1e-4, atol=1e-5)
