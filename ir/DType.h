//===- DType.h - element types of host tensors ------------------*- C++ -*-===//
//
// The element types dlc exchanges with its users, and their MLIR types.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_DTYPE_H
#define DLC_IR_DTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>

namespace mlir {
class MLIRContext;
class Type;
} // namespace mlir

namespace dlc {

enum class DType { f32, f64, f16, bf16, i1, i8, i16, i32, i64, u8, u16, u32, u64 };

/// The short name, as NumPy spells it where it can ("float32", "int64", "bool").
llvm::StringRef dtypeName(DType dtype);

/// Whether `dtype` is a floating-point type.
inline bool isFloat(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::f16 ||
         dtype == DType::bf16;
}

/// Bytes per element (a bool takes one byte).
size_t dtypeSize(DType dtype);

mlir::Type toMlirType(mlir::MLIRContext &context, DType dtype);

/// The DType of an MLIR element type, or nothing if dlc does not exchange it.
std::optional<DType> fromMlirType(mlir::Type type);

} // namespace dlc

#endif // DLC_IR_DTYPE_H
