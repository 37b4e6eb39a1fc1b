//===- PairKernels.cpp - kernel calls the runtime computes as one -*- C++ -*-===//
//
// The dlc-cpu-pair-kernels pass: a pointwise product (or a convolution)
// whose result only the depthwise convolution right after it reads becomes
// one call of dlc_expand_depthwise_f32 (or dlc_conv_depthwise_f32); see
// Passes.td for the contract.
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
#include "llvm/ADT/SetVector.h"

namespace dlc {
#define GEN_PASS_DEF_DLCCPUPAIRKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The root buffer whose address `index` is, or null.
Value bufferOfAddress(Value index) {
  Value view = dlc::addressedBuffer(index);
  return view ? dlc::bufferRoot(view) : Value();
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

/// A runtime kernel that a depthwise convolution can pair with: its name,
/// argument count, the position of the buffer it writes, the positions of
/// all its buffers, and the fused kernel's name.
struct Producer {
  StringRef kernel;
  unsigned arguments, output;
  ArrayRef<unsigned> buffers;
  StringRef fused;
};

constexpr unsigned kGemmBuffers[] = {dlc::kGemmA,        dlc::kGemmB,        dlc::kGemmC,
                                     dlc::kGemmRowScale, dlc::kGemmRowShift, dlc::kGemmResidual};
constexpr unsigned kConvBuffers[] = {dlc::kConvInput,    dlc::kConvFilter,    dlc::kConvOutput,
                                     dlc::kConvRowScale, dlc::kConvRowShift, dlc::kConvResidual};
const Producer kProducers[] = {
    {dlc::kGemmF32Kernel, dlc::kGemmF32Arguments, dlc::kGemmC, kGemmBuffers,
     dlc::kExpandDepthwiseF32Kernel},
    {dlc::kConv2dF32Kernel, dlc::kConv2dF32Arguments, dlc::kConvOutput, kConvBuffers,
     dlc::kConvDepthwiseF32Kernel},
};

/// The producer `call` is a call of, or null.
const Producer *producerOf(func::CallOp call) {
  for (const Producer &producer : kProducers)
    if (call.getCallee() == producer.kernel && call.getNumOperands() == producer.arguments)
      return &producer;
  return nullptr;
}

/// The dlc_gemm_f32 or dlc_conv2d_f32 call that `depthwise` pairs with
/// (its Producer, and the allocation it writes): the last runtime kernel call before it (past
/// generated kernels that write none of its buffers), if that is one of
/// those whose output is an allocation that only these two calls use
/// (through views and their addresses) and that `depthwise` reads as its
/// input.
struct Paired {
  func::CallOp first;
  const Producer *producer = nullptr;
  memref::AllocOp intermediate; ///< the first call's output
};

Paired pairedProducer(func::CallOp depthwise) {
  // The generated kernels between, checked once the producer is found.
  SmallVector<Operation *> between;
  Operation *before = depthwise->getPrevNode();
  for (; before; before = before->getPrevNode()) {
    if (!mayWrite(before) || isa<memref::AllocOp>(before))
      continue;
    if (!isGeneratedKernel(before))
      break;
    between.push_back(before);
  }
  auto call = dyn_cast_or_null<func::CallOp>(before);
  const Producer *producer = call ? producerOf(call) : nullptr;
  if (!producer)
    return {};
  // The allocation in the calls' block: its users elsewhere (after a
  // loop the block is in) would escape the check below.
  Value output = bufferOfAddress(call.getOperand(producer->output));
  auto allocation = output ? output.getDefiningOp<memref::AllocOp>() : nullptr;
  if (!allocation || allocation->getBlock() != depthwise->getBlock() ||
      bufferOfAddress(depthwise.getOperand(dlc::kConvInput)) != output)
    return {};
  SmallVector<Value> used;
  for (unsigned operand : producer->buffers)
    if (Value buffer = bufferOfAddress(call.getOperand(operand)))
      used.push_back(buffer);
  if (!llvm::all_of(between, [&](Operation *op) { return passable(op, used); }))
    return {};
  // Every other op that reaches the buffer (views, their metadata and
  // addresses aside; the deallocation skipped) disqualifies it: the fused
  // kernel does not write it.
  auto users = dlc::usersInBlock(output, depthwise->getBlock(),
                                 [](Operation *op) { return isa<memref::DeallocOp>(op); });
  for (Operation *user : users)
    if (user != call.getOperation() && user != depthwise.getOperation() &&
        !isMemoryEffectFree(user))
      return {};
  return {call, producer, allocation};
}

/// The static offset, in elements, of the view whose address `index` is.
std::optional<int64_t> viewOffset(Value index) {
  Value view = dlc::addressedBuffer(index);
  auto type = view ? dyn_cast<MemRefType>(view.getType()) : nullptr;
  if (!type)
    return std::nullopt;
  auto [strides, offset] = type.getStridesAndOffset();
  if (ShapedType::isDynamic(offset))
    return std::nullopt;
  return offset;
}

/// Whether the fused call can do without the intermediate `buffer`: the
/// first kernel's output (operand `output`) and the depthwise convolution's
/// input (operand `input`) start at the same place in it (the runtime
/// checks the rest of their layout, which stays in the arguments), and no
/// other operand is an address inside it.
bool intermediateDroppable(func::CallOp call, Value buffer, unsigned output, unsigned input) {
  std::optional<int64_t> written = viewOffset(call.getOperand(output)),
                         read = viewOffset(call.getOperand(input));
  if (!written || !read || *written != *read)
    return false;
  for (auto [position, operand] : llvm::enumerate(call.getOperands()))
    if (position != output && position != input && bufferOfAddress(operand) == buffer)
      return false;
  return true;
}

/// Gives `call` the values of what it reads of `buffer` (a static
/// allocation) as constants: its views' sizes, strides and offsets, and 0
/// for an address inside it (the fused kernel never touches the buffer; the
/// runtime's fallback, two kernels apart, takes one of its own).
void passWithoutBuffer(func::CallOp call, Value buffer) {
  OpBuilder b(call);
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, call.getLoc(), value);
  };
  for (OpOperand &operand : call->getOpOperands()) {
    Value value = operand.get();
    if (bufferOfAddress(value) == buffer) {
      operand.set(constant(0));
      continue;
    }
    auto metadata = value.getDefiningOp<memref::ExtractStridedMetadataOp>();
    if (!metadata || dlc::bufferRoot(metadata.getSource()) != buffer)
      continue;
    // Results: the base buffer (not an index), the offset, the sizes, the
    // strides.
    auto type = cast<MemRefType>(metadata.getSource().getType());
    auto [strides, offset] = type.getStridesAndOffset();
    const int64_t rank = type.getRank(), result = cast<OpResult>(value).getResultNumber();
    if (result == 0)
      continue;
    const int64_t known = result == 1        ? offset
                          : result < 2 + rank ? type.getDimSize(result - 2)
                                              : strides[result - 2 - rank];
    if (!ShapedType::isDynamic(known))
      operand.set(constant(known));
  }
}

/// Erases `allocation` and everything derived from it (views, metadata,
/// addresses, its deallocation) when nothing else is left that reads or
/// writes it: an intermediate that the fused kernel replaced.
void eraseIfUnused(memref::AllocOp allocation) {
  // Every op reached from the allocation through results, in one block.
  SetVector<Operation *> derived;
  SmallVector<Value> worklist{allocation.getResult()};
  while (!worklist.empty())
    for (Operation *user : worklist.pop_back_val().getUsers())
      if (derived.insert(user))
        llvm::append_range(worklist, user->getResults());
  for (Operation *op : derived) {
    if (op->getBlock() != allocation->getBlock() ||
        !(isMemoryEffectFree(op) || isa<memref::DeallocOp>(op)))
      return;
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (!derived.contains(user))
          return;
  }
  SmallVector<Operation *> order(derived.begin(), derived.end());
  llvm::sort(order, [](Operation *a, Operation *b) { return b->isBeforeInBlock(a); });
  for (Operation *op : order) {
    op->dropAllUses();
    op->erase();
  }
  allocation->erase();
}

struct PairKernelsPass : public dlc::impl::DlcCpuPairKernelsBase<PairKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<Paired, func::CallOp>> pairs;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() != dlc::kDepthwiseConv2dF32Kernel ||
          call.getNumOperands() != dlc::kDepthwiseConv2dF32Arguments)
        return;
      if (Paired paired = pairedProducer(call); paired.first)
        pairs.push_back({paired, call});
    });
    for (auto [paired, depthwise] : pairs) {
      auto [first, producer, intermediate] = paired;
      // At the depthwise call's place: the first call's operands are
      // defined before it, and nothing in between writes what it reads.
      func::FuncOp fused =
          dlc::declareRuntimeKernel(module, producer->fused,
                        producer->arguments + dlc::kDepthwiseConv2dF32Arguments);
      SmallVector<Value> arguments(first.getOperands());
      llvm::append_range(arguments, depthwise.getOperands());
      OpBuilder b(depthwise);
      auto call = func::CallOp::create(b, depthwise.getLoc(), fused, arguments);
      call->setAttrs(depthwise->getDiscardableAttrDictionary());
      depthwise.erase();
      first.erase();
      // The product's output leaves the memory plan: MobileNetV2's arena
      // 6.8 -> 2.4 MB, and the model 3.6% faster at batch 1 on two
      // threads, 6.5% on one, 4.6% at batch 32 (its other buffers packed
      // closer, more of them in cache).
      if (intermediateDroppable(call, intermediate.getResult(), producer->output,
                                producer->arguments + dlc::kConvInput)) {
        passWithoutBuffer(call, intermediate.getResult());
        eraseIfUnused(intermediate);
      }
    }
    // Declarations no call is left to.
    for (StringRef name :
         {dlc::kGemmF32Kernel, dlc::kConv2dF32Kernel, dlc::kDepthwiseConv2dF32Kernel})
      if (auto declaration = module.lookupSymbol<func::FuncOp>(name);
          declaration && SymbolTable::symbolKnownUseEmpty(declaration, module))
        declaration.erase();
  }
};

} // namespace
