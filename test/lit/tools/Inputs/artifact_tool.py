"""Helpers for dlc-compile.test: damage a .dlc artifact in chosen ways, and
compare two .npz files exactly."""
import struct
import sys

import numpy as np

HEADER_VERSION_OFFSET = 24  # after magic, format, section count, file size


def damage(source, target, how):
    data = bytearray(open(source, "rb").read())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip":
        # One bit in the last section's payload (the weights).
        data[-70] ^= 0x01
    elif how == "version":
        data[HEADER_VERSION_OFFSET : HEADER_VERSION_OFFSET + 16] = b"0.0.1".ljust(16, b"\0")
    elif how == "format":
        data[8:12] = struct.pack("<I", 99)
    elif how == "empty":
        data = bytearray()
    else:
        raise SystemExit(f"unknown damage {how}")
    open(target, "wb").write(bytes(data))


def same(a, b):
    first, second = np.load(a), np.load(b)
    assert sorted(first.files) == sorted(second.files), (first.files, second.files)
    for name in first.files:
        x, y = first[name], second[name]
        assert x.dtype == y.dtype and x.shape == y.shape, (name, x.dtype, y.dtype)
        assert x.tobytes() == y.tobytes(), f"{name} differs"
    print(f"identical: {', '.join(sorted(first.files))}")


if sys.argv[1] == "damage":
    damage(*sys.argv[2:5])
elif sys.argv[1] == "same":
    same(sys.argv[2], sys.argv[3])
