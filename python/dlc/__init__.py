"""dlc: a deep-learning compiler and runtime.

    import dlc, numpy as np
    model = dlc.compile("model.onnx", shapes={"x": (8, 784)})
    outputs = model.run({"x": batch})        # dict of NumPy arrays
    model.save("model.dlc")
    again = dlc.load("model.dlc")            # native code from the cache

Training compiles whole steps (forward, loss, gradients, optimizer update):

    session = dlc.train_session("mlp.onnx", shapes={"x": (64, 784)},
                                loss="softmax_cross_entropy", optimizer="adam", lr=1e-3)
    loss = session.step({"x": xb}, yb)          # one batch of 64
    session.evaluate({"x": x_val}, y_val)      # {"loss", "accuracy", "samples"}
    session.save("step-100.npz"); session.load("step-100.npz")
    session.export_onnx("trained.onnx")

`compile` fixes symbolic dimensions from `shapes` or from example inputs.
With `shapes`, the compiler runs in a child process (the `dlc` program, or
$DLC_COMPILER) and this process loads the artifact it writes: the compiler's
memory never becomes this process's, and a compiler crash raises dlc.Error.
`in_process=True` compiles here; `model.compile_report` says how it went.
Contiguous, aligned NumPy inputs reach the compiled code without a copy.
Errors raise dlc.Error with dlc's diagnostic. Native code is cached in
$DLC_CACHE_DIR (default ~/.cache/dlc; "off" turns the cache off).
"""
from ._dlc import Error, Model, TrainingSession, compile, load, train_session  # noqa: F401

__all__ = ["Error", "Model", "TrainingSession", "compile", "load", "train_session"]
