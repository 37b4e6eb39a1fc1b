//===- NumPyIO.h - tensors in NumPy's .npy and .npz files -------*- C++ -*-===//
//
// Reads and writes NumPy arrays: .npy (one array) and .npz (a zip archive of
// .npy files, stored or deflated, as np.savez and np.savez_compressed write
// them). Files are written atomically: to a temporary file, then renamed.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_NUMPYIO_H
#define DLC_RUNTIME_NUMPYIO_H

#include "runtime/Executable.h"

#include "llvm/Support/Error.h"

#include <string>

namespace dlc {

/// Parses the bytes of a .npy file; `what` names it in errors.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef bytes, llvm::StringRef what);

/// The bytes of a .npy file (format 1.0, little-endian, C order) holding
/// `tensor`. bfloat16, which NumPy lacks, is written as its uint16 bits.
std::string serializeNpy(const HostTensor &tensor);

/// Reads an .npz archive (names without the .npy suffix, in archive order)
/// or a single .npy file (named after the file, without extension).
llvm::Expected<NamedTensors> readNumPyFile(llvm::StringRef path);

/// Writes `tensors` to an .npz archive (stored, like np.savez) or, for a
/// path ending in .npy, the single tensor given.
llvm::Error writeNumPyFile(llvm::StringRef path, const NamedTensors &tensors);

} // namespace dlc

#endif // DLC_RUNTIME_NUMPYIO_H
