//===- ConstantFolding.h - element-level helpers for op folders -*- C++ -*-===//
//
// Folders of dlc ops evaluate ops whose operands are constant, so that shape
// subgraphs of exported models fold away at import. These helpers read and
// build dense constants element by element; they give up (return null) on
// non-splat constants above kFoldLimit elements, which would cost more to
// fold at compile time than to compute at run time.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_CONSTANTFOLDING_H
#define DLC_IR_CONSTANTFOLDING_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace dlc {

constexpr int64_t kFoldLimit = 1 << 16;

/// The elements of a constant operand, or nothing if it is not a dense
/// constant or too large to fold.
std::optional<llvm::SmallVector<mlir::Attribute>>
constantElements(mlir::Attribute operand);

/// Builds `type` from one element function: `element(i)` gives the i-th
/// element (row-major) or null to give up.
mlir::Attribute
buildElements(mlir::ShapedType type,
              llvm::function_ref<mlir::Attribute(int64_t)> element);

/// Maps constant operands of one shape element by element through `fn`,
/// which returns null to give up. Splat operands give a splat result.
mlir::Attribute
mapElements(llvm::ArrayRef<mlir::Attribute> operands, mlir::ShapedType type,
            llvm::function_ref<mlir::Attribute(llvm::ArrayRef<mlir::Attribute>)> fn);

/// Row-major index arithmetic.
llvm::SmallVector<int64_t> delinearize(int64_t index,
                                       llvm::ArrayRef<int64_t> shape);
int64_t linearize(llvm::ArrayRef<int64_t> index, llvm::ArrayRef<int64_t> shape);

/// True for unsigned integer types (ui8...), whose arithmetic is unsigned.
bool isUnsignedType(mlir::Type type);

} // namespace dlc

#endif // DLC_IR_CONSTANTFOLDING_H
