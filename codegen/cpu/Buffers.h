//===- Buffers.h - facts about buffers in memref code -----------*- C++ -*-===//
//
// Small queries on buffers (memref values) that several CPU passes and
// `dlc inspect` share.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_BUFFERS_H
#define DLC_CODEGEN_CPU_BUFFERS_H

#include "mlir/IR/Value.h"

namespace dlc {

/// The buffer `value` is a view of (through subviews, reshapes, casts and
/// the other view-like ops): an allocation, a global or an argument.
mlir::Value bufferRoot(mlir::Value value);

} // namespace dlc

#endif // DLC_CODEGEN_CPU_BUFFERS_H
