//===- Autodiff.h - reverse-mode differentiation of dlc programs -*- C++ -*-===//
//
// Builds the gradients of a value with respect to others by walking the ops
// between them backwards, each through its gradient rule
// (DifferentiableOpInterface, ir/Gradients.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_AUTODIFF_H
#define DLC_PASSES_AUTODIFF_H

#include "mlir/IR/Builders.h"

namespace dlc {

/// dL/dx for each x of `xs`, where dL/dy = `seed` (of y's type): the
/// vector-Jacobian product through every op between the xs and `y`, built
/// with dlc ops at `builder`'s insertion point, which must come after `y`
/// in the same block. An x that `y` does not depend on gets zeros; an x of
/// integer type gets a null value. Fails, with an error at the op, at the
/// first op on the way without a gradient rule.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildGradients(mlir::OpBuilder &builder, mlir::Value y, mlir::Value seed,
               llvm::ArrayRef<mlir::Value> xs);

} // namespace dlc

#endif // DLC_PASSES_AUTODIFF_H
