//===- Buffers.cpp - facts about buffers in memref code ---------*- C++ -*-===//

#include "codegen/cpu/Buffers.h"

#include "mlir/Interfaces/ViewLikeInterface.h"

mlir::Value dlc::bufferRoot(mlir::Value value) {
  while (auto view = value.getDefiningOp<mlir::ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}
