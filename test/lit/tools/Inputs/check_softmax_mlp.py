"""Writes inputs for softmax-mlp.onnxtxt, or checks dlc's outputs against NumPy."""
import sys

import numpy as np

W = np.arange(1, 13, dtype=np.float32).reshape(4, 3)
B = np.array([0.5, -0.5, 1.0], np.float32)


def reference(x):
    s = x.astype(np.float64) @ W + B
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


mode, folder = sys.argv[1], sys.argv[2]
x = np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4)
if mode == "write":
    np.savez(f"{folder}/stored.npz", x=x)
    np.savez_compressed(f"{folder}/deflated.npz", x=x)
    np.save(f"{folder}/single.npy", x[:2])
    np.savez(f"{folder}/wrong.npz", x=x.astype(np.float64))
    np.savez(f"{folder}/extra.npz", x=x, z=x)
else:
    for name, rows in (("out-stored.npz", 5), ("out-deflated.npz", 5)):
        y = np.load(f"{folder}/{name}")["y"]
        error = np.abs(y - reference(x[:rows])).max()
        assert y.dtype == np.float32 and y.shape == (rows, 3), (y.dtype, y.shape)
        assert error < 1e-6, error
    y = np.load(f"{folder}/out-single.npy")
    assert np.abs(y - reference(x[:2])).max() < 1e-6
    print("outputs match NumPy")
