"""dlc: a deep-learning compiler and runtime.

    import dlc, numpy as np
    model = dlc.compile("model.onnx", {"x": np.zeros((8, 784), np.float32)})
    outputs = model.run({"x": batch})        # dict of NumPy arrays

`compile` takes example inputs (or their shapes) to fix the model's symbolic
dimensions; contiguous NumPy inputs are passed to the compiled code without
a copy. Errors raise dlc.Error with dlc's diagnostic.
"""
from ._dlc import Error, Model, compile  # noqa: F401

__all__ = ["Error", "Model", "compile"]
