//===- PairKernels.cpp - kernel calls the runtime computes as one -*- C++ -*-===//
//
// The dlc-cpu-pair-kernels pass: a pointwise product whose result only the
// depthwise convolution right after it reads becomes one call of
// dlc_expand_depthwise_f32 (see Passes.td for the contract).
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace dlc {
#define GEN_PASS_DEF_DLCCPUPAIRKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The root buffer whose address `index` is (dlc-cpu-kernel-calls passes
/// a view's aligned pointer plus its offset), or null.
Value bufferOfAddress(Value index) {
  if (auto add = index.getDefiningOp<arith::AddIOp>())
    index = add.getLhs();
  if (auto pointer = index.getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>())
    return dlc::bufferRoot(pointer.getSource());
  return {};
}

/// Whether `op` may write or free memory (a call, a store, a kernel).
bool mayWrite(Operation *op) {
  if (isMemoryEffectFree(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return true;
  return effects.hasEffect<MemoryEffects::Write>() ||
         effects.hasEffect<MemoryEffects::Free>();
}

/// Whether `op` is a generated kernel that a product may move past if it
/// writes none of the product's buffers: a linalg op on buffers, or a call
/// of a function of the module (not of a runtime kernel, which takes
/// addresses that say nothing of what it writes).
bool isGeneratedKernel(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return linalgOp.hasPureBufferSemantics();
  auto call = dyn_cast<func::CallOp>(op);
  if (!call)
    return false;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  return callee && !callee.isExternal();
}

/// Whether a product that uses the buffers `used` (roots) can move past
/// the generated kernel `op`: none of its buffers is one of them (a batch
/// norm's per-channel terms, computed between a product and the
/// convolution they belong to).
bool passable(Operation *op, ArrayRef<Value> used) {
  return llvm::all_of(op->getOperands(), [&](Value operand) {
    if (isa<MemRefType>(operand.getType()))
      return !llvm::is_contained(used, dlc::bufferRoot(operand));
    // A call passes buffers only; a linalg op may take scalars too.
    return isa<linalg::LinalgOp>(op);
  });
}

/// The dlc_gemm_f32 call that `depthwise` pairs with: the last kernel call
/// before it (past generated kernels that write none of its buffers), if
/// that is a product whose C is an allocation that only these two calls
/// use (through views and their addresses) and that `depthwise` reads as
/// its input.
func::CallOp pairedProduct(func::CallOp depthwise) {
  // The generated kernels between, checked once the product is found.
  SmallVector<Operation *> between;
  Operation *before = depthwise->getPrevNode();
  for (; before; before = before->getPrevNode()) {
    auto call = dyn_cast<func::CallOp>(before);
    if (call && call.getCallee() == dlc::kGemmF32Kernel)
      break;
    if (!mayWrite(before) || isa<memref::AllocOp>(before))
      continue;
    if (!isGeneratedKernel(before))
      return {};
    between.push_back(before);
  }
  auto gemm = dyn_cast_or_null<func::CallOp>(before);
  if (!gemm || gemm.getCallee() != dlc::kGemmF32Kernel ||
      gemm.getNumOperands() != dlc::kGemmF32Arguments)
    return {};
  Value product = bufferOfAddress(gemm.getOperand(dlc::kGemmC));
  if (!product || !product.getDefiningOp<memref::AllocOp>() ||
      bufferOfAddress(depthwise.getOperand(dlc::kConvInput)) != product)
    return {};
  SmallVector<Value> used;
  for (unsigned operand : {dlc::kGemmA, dlc::kGemmB, dlc::kGemmC, dlc::kGemmRowScale,
                           dlc::kGemmRowShift, dlc::kGemmResidual})
    if (Value buffer = bufferOfAddress(gemm.getOperand(operand)))
      used.push_back(buffer);
  if (!llvm::all_of(between, [&](Operation *op) { return passable(op, used); }))
    return {};
  // Every other op that reaches the buffer (views, their metadata and
  // addresses aside; the deallocation skipped) disqualifies it: the fused
  // kernel does not write it.
  auto users = dlc::usersInBlock(product, depthwise->getBlock(),
                                 [](Operation *op) { return isa<memref::DeallocOp>(op); });
  for (Operation *user : users)
    if (user != gemm.getOperation() && user != depthwise.getOperation() &&
        !isMemoryEffectFree(user))
      return {};
  return gemm;
}

struct PairKernelsPass : public dlc::impl::DlcCpuPairKernelsBase<PairKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<func::CallOp, func::CallOp>> pairs;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() != dlc::kDepthwiseConv2dF32Kernel ||
          call.getNumOperands() != dlc::kDepthwiseConv2dF32Arguments)
        return;
      if (func::CallOp gemm = pairedProduct(call))
        pairs.push_back({gemm, call});
    });
    if (pairs.empty())
      return;
    constexpr unsigned kArguments =
        dlc::kGemmF32Arguments + dlc::kDepthwiseConv2dF32Arguments;
    func::FuncOp fused = module.lookupSymbol<func::FuncOp>(dlc::kExpandDepthwiseF32Kernel);
    if (!fused) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      SmallVector<Type> arguments(kArguments, b.getIndexType());
      fused = func::FuncOp::create(b, module.getLoc(), dlc::kExpandDepthwiseF32Kernel,
                                   b.getFunctionType(arguments, {}));
      fused.setPrivate();
    }
    for (auto [gemm, depthwise] : pairs) {
      // At the depthwise call's place: the product's operands are defined
      // before it, and nothing in between writes what it reads.
      SmallVector<Value> arguments(gemm.getOperands());
      llvm::append_range(arguments, depthwise.getOperands());
      OpBuilder b(depthwise);
      auto call = func::CallOp::create(b, depthwise.getLoc(), fused, arguments);
      call->setAttrs(depthwise->getDiscardableAttrDictionary());
      depthwise.erase();
      gemm.erase();
    }
    // Declarations no call is left to.
    for (StringRef name : {dlc::kGemmF32Kernel, dlc::kDepthwiseConv2dF32Kernel})
      if (auto declaration = module.lookupSymbol<func::FuncOp>(name);
          declaration && SymbolTable::symbolKnownUseEmpty(declaration, module))
        declaration.erase();
  }
};

} // namespace
