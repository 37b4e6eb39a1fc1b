//===- HostTensor.h - a tensor's data in host memory ------------*- C++ -*-===//
//
// The common currency of weights, inputs and outputs: an element type, a
// shape and a 64-byte aligned buffer. Copies share the buffer (as NumPy views
// do); clone() makes a deep copy.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_HOSTTENSOR_H
#define DLC_IR_HOSTTENSOR_H

#include "ir/DType.h"

#include "llvm/ADT/ArrayRef.h"

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dlc {

class HostTensor {
public:
  HostTensor() = default;

  /// A zero-filled tensor of `dtype` and `shape`.
  HostTensor(DType dtype, llvm::ArrayRef<int64_t> shape);

  /// A tensor over memory someone else owns (a NumPy array's buffer, say):
  /// no copy is made, and `owner` is kept alive as long as any copy of the
  /// tensor. `data` must be aligned to the element size; generated code
  /// assumes no more than that of its inputs.
  static HostTensor view(DType dtype, llvm::ArrayRef<int64_t> shape, void *data,
                         std::shared_ptr<void> owner);

  /// A float32 tensor holding `values` (one per element, row-major).
  static HostTensor fromFloats(llvm::ArrayRef<int64_t> shape,
                               llvm::ArrayRef<float> values);

  DType dtype() const { return elementType; }
  llvm::ArrayRef<int64_t> shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numElements() const;
  size_t byteSize() const { return numElements() * dtypeSize(elementType); }

  void *data() { return storage.get(); }
  const void *data() const { return storage.get(); }

  /// The elements as `T`; the caller names the type that matches dtype().
  template <typename T> T *dataAs() { return static_cast<T *>(data()); }
  template <typename T> const T *dataAs() const {
    return static_cast<const T *>(data());
  }

  /// Element `index` (row-major) converted to double, whatever the dtype.
  double elementAsDouble(int64_t index) const;

  /// A tensor with its own copy of the data.
  HostTensor clone() const;

  /// Whether this tensor is the only one holding its bytes: writing them
  /// then changes no other tensor (nor an array that views them).
  bool soleOwner() const { return storage && storage.use_count() == 1; }

  /// "float32[2x3]".
  std::string describe() const;

private:
  DType elementType = DType::f32;
  std::vector<int64_t> dims;
  std::shared_ptr<void> storage;
};

/// Tensors with their names, in a fixed order.
using NamedTensors = std::vector<std::pair<std::string, HostTensor>>;

/// "2x3", or "scalar" for rank 0.
std::string formatShape(llvm::ArrayRef<int64_t> shape);
/// "[2x3]": formatShape in brackets, for messages.
inline std::string bracketedShape(llvm::ArrayRef<int64_t> shape) {
  return "[" + formatShape(shape) + "]";
}

} // namespace dlc

#endif // DLC_IR_HOSTTENSOR_H
