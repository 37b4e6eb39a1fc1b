//===- FuseRows.cpp - row-wise kernels as one -------------------*- C++ -*-===//
//
// The dlc-fuse-rows pass (see Passes.td): consecutive outlined kernels that
// all work row by row on the same rows become one kernel, which
// dlc-parallel-kernels runs as one loop over the rows, every op on a row
// in turn while it is in cache.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

namespace dlc {
#define GEN_PASS_DEF_DLCFUSEROWS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// How one op reaches a buffer along its row loop: the buffer's elements
/// that iteration r touches start at offset + r·stride and lie within
/// `extent` elements of it. Two accesses that agree on all three touch the
/// same elements in the same iteration.
struct RowAccess {
  int64_t offset, stride, rows, extent;
  bool operator==(const RowAccess &other) const {
    return offset == other.offset && stride == other.stride && rows == other.rows &&
           extent == other.extent;
  }
};

/// One buffer operand of a kernel's op: its value in the caller, whether
/// the op writes it, and its row access (none when the op reads it
/// without the row loop, or through anything but plain loop indices).
struct Operand {
  Value buffer;
  bool written;
  std::optional<RowAccess> access;
};

/// An outlined kernel that is one linalg op on its arguments, split by
/// dlc-parallel-kernels along its row loop (dlc::rowLoopOf) of `rows`
/// iterations.
struct RowKernel {
  func::CallOp call;
  func::FuncOp kernel;
  int64_t rows;
  SmallVector<Operand> operands;
};

/// The op of `kernel` if the kernel is one linalg op on buffers (and
/// constants), every operand one of its arguments.
linalg::LinalgOp soleOpOnArguments(func::FuncOp kernel) {
  linalg::LinalgOp found = dlc::soleKernelOp(kernel);
  if (!found || !found.hasPureBufferSemantics())
    return {};
  for (Value operand : found->getOperands())
    if (isa<MemRefType>(operand.getType()) && !isa<BlockArgument>(operand))
      return {};
  return found;
}

/// How `op` reaches `type` through `map` along `loop`: the map must use
/// the loop as exactly one of its results, and plain loops or constants
/// for the others.
std::optional<RowAccess> rowAccess(MemRefType type, AffineMap map, unsigned loop) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!type.hasStaticShape() || failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) || llvm::any_of(strides, ShapedType::isDynamic))
    return std::nullopt;
  std::optional<unsigned> rowDim;
  for (auto [dim, result] : llvm::enumerate(map.getResults())) {
    if (!isa<AffineDimExpr, AffineConstantExpr>(result))
      return std::nullopt;
    if (auto d = dyn_cast<AffineDimExpr>(result); d && d.getPosition() == loop) {
      if (rowDim)
        return std::nullopt;
      rowDim = dim;
    }
  }
  if (!rowDim)
    return std::nullopt;
  // The elements of one row: everything but the row dimension, whole.
  int64_t extent = 1;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (dim != *rowDim)
      extent += (size - 1) * std::abs(strides[dim]);
  return RowAccess{offset, strides[*rowDim], type.getDimSize(*rowDim), extent};
}

/// `call` as a RowKernel, if it calls an outlined kernel of one op that
/// reaches every buffer it writes row by row.
std::optional<RowKernel> rowKernelOf(func::CallOp call, ModuleOp module) {
  auto kernel = module.lookupSymbol<func::FuncOp>(call.getCallee());
  if (!kernel || kernel.isExternal() || !kernel->hasAttr("passthrough"))
    return std::nullopt;
  linalg::LinalgOp op = soleOpOnArguments(kernel);
  if (!op)
    return std::nullopt;
  std::optional<unsigned> loop = dlc::rowLoopOf(op);
  if (!loop)
    return std::nullopt;
  RowKernel row{call, kernel, op.getStaticLoopRanges()[*loop], {}};
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      continue;
    Value buffer = call.getOperand(cast<BlockArgument>(operand.get()).getArgNumber());
    bool written = op.isDpsInit(&operand);
    std::optional<RowAccess> access =
        rowAccess(type, op.getMatchingIndexingMap(&operand), *loop);
    if (written && (!access || access->rows != row.rows ||
                    (access->rows > 1 && access->extent > std::abs(access->stride))))
      return std::nullopt;
    row.operands.push_back({buffer, written, access});
  }
  return row;
}

/// What a group's legality is about: the buffer `value` is a view of, with
/// the arguments of the function taken as one when `argumentsMayAlias`
/// (a function with outputs computed in place: such an output is its
/// input's memory at run time). Otherwise the runtime passes distinct
/// arrays for the inputs, weights and outputs.
Value memoryOf(Value value, bool argumentsMayAlias) {
  Value root = dlc::bufferRoot(value);
  if (auto argument = dyn_cast<BlockArgument>(root))
    if (argumentsMayAlias && isa<FunctionOpInterface>(argument.getOwner()->getParentOp()))
      return argument.getOwner()->getArgument(0);
  return root;
}

/// Whether running `group` row by row (all ops on row r before any on row
/// r + 1) computes what running its ops one after the other does: the
/// same number of rows,
/// and every buffer that some op writes reached by all of them row by row
/// with the same rows (so an op on row r reads what the ops before it wrote
/// there, and nothing a later op writes).
bool fusable(ArrayRef<RowKernel> group, bool argumentsMayAlias) {
  llvm::DenseMap<Value, SmallVector<const Operand *>> byMemory;
  for (const RowKernel &kernel : group) {
    if (kernel.rows != group.front().rows)
      return false;
    for (const Operand &operand : kernel.operands)
      byMemory[memoryOf(operand.buffer, argumentsMayAlias)].push_back(&operand);
  }
  for (auto &[memory, operands] : byMemory) {
    if (llvm::none_of(operands, [](const Operand *o) { return o->written; }))
      continue;
    for (const Operand *operand : operands)
      if (!operand->access || !(*operand->access == *operands.front()->access))
        return false;
  }
  return true;
}

/// Whether `op`, between two calls of a group, lets the later call move up
/// to the earlier: no effect on memory but allocation (views, constants,
/// index arithmetic, allocations) or a deallocation (moved after the
/// group's call).
bool movableAcross(Operation *op) {
  if (isa<memref::DeallocOp, memref::AllocOp, memref::AllocaOp>(op))
    return true;
  return isMemoryEffectFree(op) && op->getNumRegions() == 0;
}

/// The reshapes (static expand_shape and collapse_shape) that make
/// `value` from a buffer, innermost first; `value` is then that buffer.
SmallVector<Operation *> reshapesOf(Value &value) {
  SmallVector<Operation *> chain;
  while (Operation *definer = value.getDefiningOp()) {
    if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(definer) ||
        definer->getNumOperands() != 1)
      break;
    chain.push_back(definer);
    value = definer->getOperand(0);
  }
  return chain;
}

/// Replaces the calls of `group` with one call of a new kernel that holds
/// their ops in order, marked for dlc-parallel-kernels. Buffers that the
/// calls pass reshaped (a row sum as [1, 128], then as [1, 128, 1]) are
/// passed once and reshaped inside, so that the kernel's arguments are
/// distinct buffers and can all be `llvm.noalias`.
void merge(MutableArrayRef<RowKernel> group, ModuleOp module) {
  func::CallOp last = group.back().call;
  SetVector<Value> arguments;
  for (RowKernel &kernel : group)
    for (Value operand : kernel.call.getOperands()) {
      Value buffer = operand;
      reshapesOf(buffer);
      arguments.insert(buffer);
    }

  OpBuilder builder(group.front().kernel);
  std::string name = (group.front().kernel.getSymName() + "_rows").str();
  auto type = builder.getFunctionType(ValueRange(arguments.getArrayRef()).getTypes(), {});
  auto fused = func::FuncOp::create(builder, last.getLoc(), name, type);
  fused.setPrivate();
  fused->setAttr("passthrough", group.front().kernel->getAttr("passthrough"));
  fused->setAttr(dlc::kRowsAttribute, builder.getUnitAttr());
  dlc::markNoAliasIfDistinct(fused, arguments.getArrayRef());
  Block *body = fused.addEntryBlock();
  builder.setInsertionPointToStart(body);
  // Each operand of the calls inside: an argument, or its reshapes of one.
  IRMapping inside;
  for (auto [argument, value] : llvm::zip(body->getArguments(), arguments))
    inside.map(value, argument);
  for (RowKernel &kernel : group) {
    IRMapping mapping;
    for (auto [operand, argument] :
         llvm::zip(kernel.call.getOperands(), kernel.kernel.getArguments())) {
      Value buffer = operand;
      for (Operation *reshape : llvm::reverse(reshapesOf(buffer)))
        if (!inside.contains(reshape->getResult(0)))
          builder.clone(*reshape, inside);
      mapping.map(argument, inside.lookup(operand));
    }
    for (Operation &op : kernel.kernel.getBody().front().without_terminator())
      builder.clone(op, mapping);
  }
  func::ReturnOp::create(builder, last.getLoc());

  // Deallocations between the calls wait for the group's call.
  SmallVector<Operation *> deallocations;
  for (Operation *op = group.front().call; op != last; op = op->getNextNode())
    if (isa<memref::DeallocOp>(op))
      deallocations.push_back(op);
  builder.setInsertionPoint(last);
  auto call = func::CallOp::create(builder, last.getLoc(), fused, arguments.getArrayRef());
  for (Operation *deallocation : llvm::reverse(deallocations))
    deallocation->moveAfter(call);
  for (RowKernel &kernel : group) {
    kernel.call->erase();
    if (SymbolTable::symbolKnownUseEmpty(kernel.kernel, module))
      kernel.kernel->erase();
  }
}

struct FuseRowsPass : public dlc::impl::DlcFuseRowsBase<FuseRowsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    const bool argumentsMayAlias = bool(module.lookupSymbol(dlc::kInPlaceOutputsSymbol));
    SmallVector<SmallVector<RowKernel>> groups;
    module.walk([&](Block *block) {
      SmallVector<RowKernel> group;
      auto close = [&] {
        if (group.size() > 1)
          groups.push_back(std::move(group));
        group.clear();
      };
      for (Operation &op : *block) {
        auto call = dyn_cast<func::CallOp>(op);
        std::optional<RowKernel> kernel = call ? rowKernelOf(call, module) : std::nullopt;
        if (!kernel) {
          if (!movableAcross(&op))
            close();
          continue;
        }
        group.push_back(std::move(*kernel));
        if (!fusable(group, argumentsMayAlias)) {
          RowKernel next = std::move(group.back());
          group.pop_back();
          close();
          group.push_back(std::move(next));
        }
      }
      close();
    });
    for (SmallVector<RowKernel> &group : groups)
      merge(group, module);
  }
};

} // namespace
