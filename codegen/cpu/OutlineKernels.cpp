//===- OutlineKernels.cpp - one function per kernel -------------*- C++ -*-===//
//
// The dlc-outline-kernels pass (see Passes.td): each linalg op on buffers
// moves into a noinline function of its own.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace dlc {
#define GEN_PASS_DEF_DLCOUTLINEKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// Whether `type` can cross a function boundary as a bare pointer, which
/// the LLVM lowering uses for every function: a memref needs a static
/// shape, strides and offset.
bool passableAsBarePointer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref)
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  return memref.hasStaticShape() && succeeded(memref.getStridesAndOffset(strides, offset)) &&
         !ShapedType::isDynamic(offset) && llvm::none_of(strides, ShapedType::isDynamic);
}

/// The subviews, in order of definition, between `op`'s operands that
/// cannot be passed as bare pointers and buffers that can; failure when
/// some operand is neither.
FailureOr<SmallVector<Operation *>> slicesToClone(linalg::LinalgOp op) {
  SetVector<Operation *> views;
  for (Value operand : op->getOperands()) {
    SmallVector<Operation *> chain;
    Value value = operand;
    while (!passableAsBarePointer(value.getType())) {
      auto subview = value.getDefiningOp<memref::SubViewOp>();
      if (!subview)
        return failure();
      chain.push_back(subview);
      value = subview.getSource();
    }
    for (Operation *view : llvm::reverse(chain))
      views.insert(view);
  }
  return SmallVector<Operation *>(views.begin(), views.end());
}

/// What outlining `op` clones into its kernel (the subviews of
/// slicesToClone), if every operand and captured value can be passed,
/// directly or as a subview of a buffer that can.
FailureOr<SmallVector<Operation *>> outlinable(linalg::LinalgOp op) {
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  if (!llvm::all_of(captured, [](Value v) { return passableAsBarePointer(v.getType()); }))
    return failure();
  return slicesToClone(op);
}

/// Moves `op` into a new function `name` placed before `parent`, and calls
/// it; `views` (from outlinable()) are cloned into the function.
void outline(linalg::LinalgOp op, ArrayRef<Operation *> views, func::FuncOp parent,
             StringRef name) {
  // The kernel's arguments: the op's operands and the values its body uses
  // from outside, except constants, which are cloned into the kernel.
  // A slice that moves with a loop (one image of a batch) cannot cross the
  // call as a bare pointer: its subview is cloned into the kernel, which
  // takes the sliced buffer and the slice's offsets instead.
  llvm::SmallPtrSet<Operation *, 4> cloned(views.begin(), views.end());
  SetVector<Value> captured;
  auto capture = [&](Value value) {
    if (!cloned.contains(value.getDefiningOp()))
      captured.insert(value);
  };
  for (Operation *view : views)
    for (Value operand : view->getOperands())
      capture(operand);
  for (Value operand : op->getOperands())
    capture(operand);
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  SmallVector<Value> arguments;
  SmallVector<Operation *> constants;
  for (Value value : captured) {
    Operation *definer = value.getDefiningOp();
    if (definer && definer->hasTrait<OpTrait::ConstantLike>())
      constants.push_back(definer);
    else
      arguments.push_back(value);
  }

  OpBuilder builder(parent);
  auto type = builder.getFunctionType(ValueRange(arguments).getTypes(), {});
  auto kernel = func::FuncOp::create(builder, op.getLoc(), name, type);
  kernel.setPrivate();
  // Kept apart in LLVM too: inlining them back would undo the point.
  kernel->setAttr("passthrough", builder.getArrayAttr({builder.getStringAttr("noinline")}));
  // Buffers of distinct allocations (or distinct arguments of the caller)
  // never overlap: telling LLVM lets it keep a batch norm's per-channel
  // values in registers across the stores of a row, and vectorize.
  dlc::markNoAliasIfDistinct(kernel, arguments);
  Block *body = kernel.addEntryBlock();
  builder.setInsertionPointToStart(body);
  IRMapping mapping;
  for (auto [value, argument] : llvm::zip(arguments, body->getArguments()))
    mapping.map(value, argument);
  for (Operation *constant : constants)
    builder.clone(*constant, mapping);
  for (Operation *view : views)
    builder.clone(*view, mapping);
  builder.clone(*op, mapping);
  func::ReturnOp::create(builder, op.getLoc());

  builder.setInsertionPoint(op);
  func::CallOp::create(builder, op.getLoc(), kernel, arguments);
  op->erase();
}

struct OutlineKernelsPass
    : public dlc::impl::DlcOutlineKernelsBase<OutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp function : functions) {
      if (function.isExternal() || function->hasAttr("passthrough"))
        continue;
      // Copies become ops like any other: outlined and compiled to loops.
      // (MLIR's memrefCopy helper copies a strided buffer one element at
      // a time through memcpy.)
      function.walk([](memref::CopyOp copy) {
        OpBuilder builder(copy);
        linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(), copy.getTarget());
        copy->erase();
      });
      SmallVector<std::pair<linalg::LinalgOp, SmallVector<Operation *>>> kernels;
      function.walk([&](linalg::LinalgOp op) {
        if (!op.hasPureBufferSemantics())
          return;
        if (FailureOr<SmallVector<Operation *>> views = outlinable(op); succeeded(views))
          kernels.push_back({op, std::move(*views)});
      });
      unsigned count = 0;
      for (auto &[op, views] : kernels)
        outline(op, views, function,
                (function.getSymName() + "_kernel_" + llvm::Twine(count++)).str());
    }
  }
};

} // namespace
