//===- PlanMemory.cpp - one arena for a function's buffers ------*- C++ -*-===//
//
// The dlc-plan-memory pass (see Passes.td): intermediate buffers become
// views into one arena, placed by planArena.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/MemoryPlan.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/MathExtras.h"

namespace dlc {
#define GEN_PASS_DEF_DLCPLANMEMORY
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// A buffer the plan can place: statically shaped, identity layout, whole
/// bytes per element, released once in the same block (which shows it does
/// not escape).
struct Candidate {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  int64_t bytes;
};

std::optional<Candidate> candidateFor(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      !alloc.getSymbolOperands().empty() || type.getMemorySpace())
    return std::nullopt;
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  memref::DeallocOp dealloc;
  for (Operation *user : alloc->getUsers())
    if (auto release = dyn_cast<memref::DeallocOp>(user)) {
      if (dealloc || release->getBlock() != alloc->getBlock())
        return std::nullopt;
      dealloc = release;
    }
  if (!dealloc)
    return std::nullopt;
  return Candidate{alloc, dealloc, type.getNumElements() * element.getIntOrFloatBitWidth() / 8};
}

/// The position of the last operation in the block that uses `alloc`'s
/// memory: its users, the users of their results (views, reshapes, the
/// addresses kernel calls take as indices), and so on, except the dealloc.
/// Deallocation is placed at the end of the block, so its position says
/// nothing about when the buffer is last needed.
int64_t lastUse(memref::AllocOp alloc, const DenseMap<Operation *, int64_t> &position) {
  int64_t last = position.lookup(alloc);
  for (Operation *user : dlc::usersInBlock(alloc.getResult(), alloc->getBlock(), [](Operation *op) {
         return isa<memref::DeallocOp>(op);
       }))
    last = std::max(last, position.lookup(user));
  return last;
}

/// The buffers of `function` the plan can place, in block order.
SmallVector<Candidate> candidatesOf(func::FuncOp function) {
  SmallVector<Candidate> buffers;
  for (memref::AllocOp alloc : function.getBody().front().getOps<memref::AllocOp>())
    if (std::optional<Candidate> candidate = candidateFor(alloc))
      buffers.push_back(*candidate);
  return buffers;
}

dlc::FunctionMemoryPlan planCandidates(func::FuncOp function,
                                       ArrayRef<Candidate> buffers) {
  Block &body = function.getBody().front();
  DenseMap<Operation *, int64_t> position;
  int64_t next = 0;
  for (Operation &op : body)
    position[&op] = next++;
  SmallVector<dlc::LiveRange> ranges;
  for (const Candidate &buffer : buffers)
    ranges.push_back({buffer.bytes, position[buffer.alloc], lastUse(buffer.alloc, position)});
  dlc::ArenaPlan arena = dlc::planArena(ranges);
  dlc::FunctionMemoryPlan plan;
  plan.arenaBytes = arena.size;
  for (auto [buffer, range, offset] : llvm::zip(buffers, ranges, arena.offsets)) {
    plan.buffers.push_back({buffer.alloc, range, offset});
    plan.separateBytes += llvm::alignTo(buffer.bytes, dlc::kArenaAlignment);
  }
  return plan;
}

void planFunction(func::FuncOp function) {
  SmallVector<Candidate> buffers = candidatesOf(function);
  if (buffers.empty())
    return;
  dlc::FunctionMemoryPlan plan = planCandidates(function, buffers);

  Block &body = function.getBody().front();
  OpBuilder builder = OpBuilder::atBlockBegin(&body);
  Location loc = function.getLoc();
  auto arenaType = MemRefType::get({plan.arenaBytes}, builder.getI8Type());
  auto arena = memref::AllocOp::create(builder, loc, arenaType);
  arena.setAlignment(dlc::kArenaAlignment);
  for (auto [buffer, placed] : llvm::zip(buffers, plan.buffers)) {
    builder.setInsertionPoint(buffer.alloc);
    Value byteShift =
        arith::ConstantIndexOp::create(builder, buffer.alloc.getLoc(), placed.offset);
    auto view = memref::ViewOp::create(builder, buffer.alloc.getLoc(), buffer.alloc.getType(),
                                       arena, byteShift, ValueRange{});
    buffer.alloc.replaceAllUsesWith(view.getResult());
    buffer.dealloc.erase();
    buffer.alloc.erase();
  }
  builder.setInsertionPoint(body.getTerminator());
  memref::DeallocOp::create(builder, loc, arena);
  function->setAttr(dlc::kArenaBytesAttr, builder.getI64IntegerAttr(plan.arenaBytes));
  function->setAttr(dlc::kIntermediateBytesAttr, builder.getI64IntegerAttr(plan.separateBytes));
}

/// Functions with a body of one block: the straight-line code the CPU
/// pipeline makes (the schedule is the block's order).
bool isPlannable(func::FuncOp function) {
  return !function.isExternal() && function.getBody().hasOneBlock();
}

struct PlanMemoryPass : public dlc::impl::DlcPlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    for (func::FuncOp function : getOperation().getOps<func::FuncOp>())
      if (isPlannable(function))
        planFunction(function);
  }
};

} // namespace

dlc::FunctionMemoryPlan dlc::planFunctionMemory(func::FuncOp function) {
  if (!isPlannable(function))
    return {};
  return planCandidates(function, candidatesOf(function));
}
