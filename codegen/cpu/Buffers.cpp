//===- Buffers.cpp - facts about buffers in memref code ---------*- C++ -*-===//

#include "codegen/cpu/Buffers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

mlir::Value dlc::bufferRoot(mlir::Value value) {
  while (auto view = value.getDefiningOp<mlir::ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

mlir::Value dlc::addressedBuffer(mlir::Value address) {
  if (auto add = address.getDefiningOp<mlir::arith::AddIOp>())
    address = add.getLhs();
  if (auto pointer = address.getDefiningOp<mlir::memref::ExtractAlignedPointerAsIndexOp>())
    return pointer.getSource();
  return {};
}

mlir::func::FuncOp dlc::declareRuntimeKernel(mlir::ModuleOp module, llvm::StringRef name,
                                             unsigned count) {
  if (auto existing = module.lookupSymbol<mlir::func::FuncOp>(name))
    return existing;
  mlir::OpBuilder b = mlir::OpBuilder::atBlockEnd(module.getBody());
  llvm::SmallVector<mlir::Type> arguments(count, b.getIndexType());
  auto function =
      mlir::func::FuncOp::create(b, module.getLoc(), name, b.getFunctionType(arguments, {}));
  function.setPrivate();
  return function;
}

llvm::SmallPtrSet<mlir::Operation *, 16>
dlc::usersInBlock(mlir::Value buffer, mlir::Block *block,
                  llvm::function_ref<bool(mlir::Operation *)> skip) {
  llvm::SmallPtrSet<mlir::Operation *, 16> users, seen;
  llvm::SmallVector<mlir::Value> pending = {buffer};
  while (!pending.empty()) {
    mlir::Value value = pending.pop_back_val();
    for (mlir::Operation *user : value.getUsers()) {
      if ((skip && skip(user)) || !seen.insert(user).second)
        continue;
      if (mlir::Operation *top = block->findAncestorOpInBlock(*user))
        users.insert(top);
      llvm::append_range(pending, user->getResults());
    }
  }
  return users;
}

std::optional<int64_t> dlc::iterationsOf(mlir::linalg::LinalgOp op) {
  int64_t iterations = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (mlir::ShapedType::isDynamic(range))
      return std::nullopt;
    iterations *= range;
  }
  return iterations;
}

std::optional<unsigned> dlc::rowLoopOf(mlir::linalg::LinalgOp op) {
  if (!iterationsOf(op))
    return std::nullopt;
  llvm::SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  llvm::SmallVector<mlir::utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < ranges.size(); ++loop)
    if (iterators[loop] == mlir::utils::IteratorType::parallel && ranges[loop] >= 2 &&
        llvm::all_of(op.getDpsInitsMutable(), [&](mlir::OpOperand &init) {
          return op.getMatchingIndexingMap(&init).isFunctionOfDim(loop);
        }))
      return loop;
  return std::nullopt;
}

void dlc::markNoAliasIfDistinct(mlir::func::FuncOp kernel,
                                llvm::ArrayRef<mlir::Value> arguments) {
  llvm::SmallPtrSet<void *, 8> roots;
  for (mlir::Value value : arguments)
    if (mlir::isa<mlir::MemRefType>(value.getType()) &&
        !roots.insert(bufferRoot(value).getAsOpaquePointer()).second)
      return;
  mlir::UnitAttr unit = mlir::UnitAttr::get(kernel.getContext());
  for (auto [i, value] : llvm::enumerate(arguments))
    if (mlir::isa<mlir::MemRefType>(value.getType()))
      kernel.setArgAttr(i, mlir::LLVM::LLVMDialect::getNoAliasAttrName(), unit);
}

mlir::linalg::LinalgOp dlc::soleKernelOp(mlir::func::FuncOp kernel) {
  mlir::linalg::LinalgOp found;
  for (mlir::Operation &op : kernel.getBody().front()) {
    if (auto linalgOp = mlir::dyn_cast<mlir::linalg::LinalgOp>(op)) {
      if (found)
        return {};
      found = linalgOp;
    } else if (!mlir::isa<mlir::arith::ConstantOp, mlir::memref::SubViewOp,
                          mlir::func::ReturnOp>(op)) {
      return {};
    }
  }
  return found;
}
