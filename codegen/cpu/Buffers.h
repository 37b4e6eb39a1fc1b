//===- Buffers.h - facts about buffers in memref code -----------*- C++ -*-===//
//
// Small queries on buffers (memref values) and on the runtime kernel calls
// that take their addresses, which several CPU passes and `dlc inspect`
// share.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_BUFFERS_H
#define DLC_CODEGEN_CPU_BUFFERS_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mlir {
class Block;
class Operation;
class ModuleOp;
namespace func {
class FuncOp;
} // namespace func
namespace linalg {
class LinalgOp;
} // namespace linalg
} // namespace mlir

namespace dlc {

/// The buffer `value` is a view of (through subviews, reshapes, casts and
/// the other view-like ops): an allocation, a global or an argument.
mlir::Value bufferRoot(mlir::Value value);

/// The buffer (view) whose address the index `address` is, as
/// dlc-cpu-kernel-calls passes it to a runtime kernel (a view's aligned
/// pointer plus its offset in bytes); null for anything else.
mlir::Value addressedBuffer(mlir::Value address);

/// The private declaration of the runtime kernel `name` taking `count`
/// indices (codegen/cpu/KernelAbi.h), made in `module` if it has none.
mlir::func::FuncOp declareRuntimeKernel(mlir::ModuleOp module, llvm::StringRef name,
                                        unsigned count);

/// The ops at the top level of `block` that use `buffer`: its users, the
/// users of their results (views, reshapes, the addresses kernel calls take
/// as indices), and so on, each counted as its ancestor in `block`. Ops
/// that `skip` accepts are left out and not followed (deallocations).
llvm::SmallPtrSet<mlir::Operation *, 16>
usersInBlock(mlir::Value buffer, mlir::Block *block,
             llvm::function_ref<bool(mlir::Operation *)> skip = nullptr);

/// Marks the buffer arguments of `kernel` `llvm.noalias` when `arguments`,
/// the values its call passes, are views of pairwise distinct allocations
/// or arguments (the runtime passes distinct arrays for the inputs,
/// weights and outputs): LLVM then keeps loop-invariant loads in registers
/// across stores, and vectorizes.
void markNoAliasIfDistinct(mlir::func::FuncOp kernel, llvm::ArrayRef<mlir::Value> arguments);

/// The one linalg op of an outlined kernel, if that is all it holds (with
/// constants and the subviews of slices it works on).
mlir::linalg::LinalgOp soleKernelOp(mlir::func::FuncOp kernel);

/// The number of iterations of all of `op`'s loops; none when a range is
/// not static.
std::optional<int64_t> iterationsOf(mlir::linalg::LinalgOp op);

/// The loop of `op` that threads split it along (dlc-parallel-kernels)
/// and that a row-by-row kernel (dlc-fuse-rows) runs it along, its rows:
/// its first parallel loop of at least two iterations that indexes every
/// output (so each iteration writes elements of its own); none when its
/// loop ranges are not static.
std::optional<unsigned> rowLoopOf(mlir::linalg::LinalgOp op);

} // namespace dlc

#endif // DLC_CODEGEN_CPU_BUFFERS_H
