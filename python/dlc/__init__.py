"""dlc: a deep-learning compiler and runtime.

    import dlc, numpy as np
    model = dlc.compile("model.onnx", shapes={"x": (8, 784)})
    outputs = model.run({"x": batch})        # dict of NumPy arrays
    model.save("model.dlc")
    again = dlc.load("model.dlc")            # native code from the cache

`compile` fixes symbolic dimensions from `shapes` or from example inputs.
Contiguous, aligned NumPy inputs reach the compiled code without a copy.
Errors raise dlc.Error with dlc's diagnostic. Native code is cached in
$DLC_CACHE_DIR (default ~/.cache/dlc; "off" turns the cache off).
"""
from ._dlc import Error, Model, compile, load  # noqa: F401

__all__ = ["Error", "Model", "compile", "load"]
