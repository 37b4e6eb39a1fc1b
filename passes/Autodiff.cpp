//===- Autodiff.cpp - reverse-mode differentiation of dlc programs -*- C++ -*-===//
//
// See Autodiff.h. The ops that matter are those `y` depends on that depend
// on some x; they are visited in reverse order of the block, each turning
// its results' gradients into its operands', and gradients reaching one
// value along several paths are summed.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff.h"
#include "ir/DlcOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace {

/// The ops of `y`'s block that `y` depends on, `y`'s own included.
llvm::DenseSet<Operation *> opsBehind(Value y) {
  llvm::DenseSet<Operation *> behind;
  SmallVector<Value> pending = {y};
  Block *block = y.getParentBlock();
  while (!pending.empty()) {
    Operation *op = pending.pop_back_val().getDefiningOp();
    if (!op || op->getBlock() != block || !behind.insert(op).second)
      continue;
    llvm::append_range(pending, op->getOperands());
  }
  return behind;
}

Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  return dlc::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 0)));
}

bool isFloat(Value value) {
  return isa<FloatType>(cast<RankedTensorType>(value.getType()).getElementType());
}

} // namespace

FailureOr<SmallVector<Value>> dlc::buildGradients(OpBuilder &b, Value y, Value seed,
                                                  ArrayRef<Value> xs) {
  Block *block = y.getParentBlock();
  llvm::DenseSet<Operation *> behind = opsBehind(y);
  // The values that depend on some x, in block order.
  llvm::DenseSet<Value> dependent(xs.begin(), xs.end());
  SmallVector<Operation *> path;
  for (Operation &op : *block) {
    if (!behind.contains(&op) ||
        llvm::none_of(op.getOperands(), [&](Value v) { return dependent.contains(v); }))
      continue;
    path.push_back(&op);
    dependent.insert(op.result_begin(), op.result_end());
  }

  llvm::DenseMap<Value, Value> gradients;
  auto accumulate = [&](Value value, Value gradient) {
    Value &slot = gradients[value];
    slot = slot ? AddOp::create(b, gradient.getLoc(), slot.getType(), slot, gradient).getResult()
                : gradient;
  };
  accumulate(y, seed);
  for (Operation *op : llvm::reverse(path)) {
    if (llvm::none_of(op->getResults(), [&](Value r) { return gradients.count(r); }))
      continue;
    auto rule = dyn_cast<DifferentiableOpInterface>(op);
    if (!rule)
      return op->emitOpError("has no gradient rule: it cannot be differentiated");
    SmallVector<Value> resultGradients;
    for (Value result : op->getResults()) {
      Value g = gradients.lookup(result);
      resultGradients.push_back(g ? g : zerosLike(b, op->getLoc(), result));
    }
    FailureOr<SmallVector<Value>> operandGradients = rule.gradients(b, resultGradients);
    if (failed(operandGradients))
      return failure();
    for (auto [operand, gradient] : llvm::zip(op->getOperands(), *operandGradients))
      if (gradient && dependent.contains(operand))
        accumulate(operand, gradient);
  }

  SmallVector<Value> result;
  for (Value x : xs) {
    Value g = gradients.lookup(x);
    result.push_back(g ? g : isFloat(x) ? zerosLike(b, x.getLoc(), x) : Value());
  }
  return result;
}
