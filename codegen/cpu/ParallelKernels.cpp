//===- ParallelKernels.cpp - kernels split over threads ---------*- C++ -*-===//
//
// The dlc-parallel-kernels pass (see Passes.td): an outlined kernel runs its
// op on a range [lo, hi) of one parallel loop, so that the runtime can give
// each thread a part of the range.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace dlc {
#define GEN_PASS_DEF_DLCPARALLELKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The loop of `op` that threads split: the outermost parallel loop with at
/// least two iterations, other than the innermost loop. None when the op is
/// too small to be worth splitting or its loop ranges are not static.
std::optional<unsigned> splitLoop(linalg::LinalgOp op, int64_t minWork) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t work = 1;
  for (int64_t range : ranges) {
    if (ShapedType::isDynamic(range))
      return std::nullopt;
    work *= range;
  }
  if (work < minWork)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  // Each thread must write elements of its own: the loop indexes every
  // output.
  auto indexesEveryOutput = [&](unsigned loop) {
    return llvm::all_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
      return op.getMatchingIndexingMap(&init).isFunctionOfDim(loop);
    });
  };
  for (unsigned loop = 0; loop + 1 < ranges.size(); ++loop)
    if (iterators[loop] == utils::IteratorType::parallel && ranges[loop] >= 2 &&
        indexesEveryOutput(loop))
      return loop;
  return std::nullopt;
}

/// The one linalg op of an outlined kernel, if that is all it holds (with
/// constants and the subviews of slices it works on).
linalg::LinalgOp soleOp(func::FuncOp kernel) {
  linalg::LinalgOp found;
  for (Operation &op : kernel.getBody().front()) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (found)
        return {};
      found = linalgOp;
    } else if (!isa<arith::ConstantOp, memref::SubViewOp, func::ReturnOp>(op)) {
      return {};
    }
  }
  return found;
}

/// Rewrites `kernel` to run `op` on iterations [lo, hi) of `loop`, and
/// returns that loop's full range.
int64_t splitKernel(func::FuncOp kernel, linalg::LinalgOp op, unsigned loop) {
  MLIRContext *context = kernel.getContext();
  Block &body = kernel.getBody().front();
  Type index = IndexType::get(context);
  Location location = op.getLoc();
  Value lo = body.addArgument(index, location);
  Value hi = body.addArgument(index, location);
  kernel.setType(FunctionType::get(context, body.getArgumentTypes(), {}));

  OpBuilder builder(op);
  Value one = arith::ConstantIndexOp::create(builder, location, 1);
  auto forOp = scf::ForOp::create(builder, location, lo, hi, one);
  builder.setInsertionPointToStart(forOp.getBody());

  // The op on the slices for iteration `i` of `loop`: tile size 1 there,
  // the whole range elsewhere.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<OpFoldResult> tileSizes(ranges.size(), builder.getIndexAttr(0));
  tileSizes[loop] = builder.getIndexAttr(1);
  SmallVector<OpFoldResult> bounds;
  for (int64_t range : ranges)
    bounds.push_back(builder.getIndexAttr(range));
  Value iteration = forOp.getInductionVar();
  SmallVector<Value> operands(op->getOperands());
  SmallVector<Value> slices = linalg::makeTiledShapes(
      builder, location, op, operands, {OpFoldResult(iteration)}, tileSizes, bounds,
      /*omitPartialTileCheck=*/true);
  Operation *sliced = clone(builder, op, TypeRange{}, slices);
  SmallVector<OpFoldResult> offsets(ranges.size(), builder.getIndexAttr(0));
  offsets[loop] = iteration;
  linalg::offsetIndices(builder, cast<linalg::LinalgOp>(sliced), offsets);
  op->erase();
  return ranges[loop];
}

struct ParallelKernelsPass
    : public dlc::impl::DlcParallelKernelsBase<ParallelKernelsPass> {
  using DlcParallelKernelsBase::DlcParallelKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::DenseMap<StringAttr, int64_t> splitRanges;
    for (func::FuncOp kernel : module.getOps<func::FuncOp>()) {
      auto passthrough = kernel->getAttrOfType<ArrayAttr>("passthrough");
      if (kernel.isExternal() || !passthrough ||
          llvm::is_contained(passthrough, StringAttr::get(&getContext(),
                                                          dlc::kParallelForAttribute)))
        continue;
      linalg::LinalgOp op = soleOp(kernel);
      if (!op || !op.hasPureBufferSemantics())
        continue;
      std::optional<unsigned> loop = splitLoop(op, minWork);
      if (!loop)
        continue;
      splitRanges[kernel.getSymNameAttr()] = splitKernel(kernel, op, *loop);
      Builder builder(kernel.getContext());
      SmallVector<Attribute> attributes(passthrough.getValue());
      attributes.push_back(builder.getStringAttr(dlc::kParallelForAttribute));
      kernel->setAttr("passthrough", builder.getArrayAttr(attributes));
    }
    if (splitRanges.empty())
      return;
    // Every call runs the whole range; the JIT hands it to the pool.
    module.walk([&](func::CallOp call) {
      auto found = splitRanges.find(call.getCalleeAttr().getAttr());
      if (found == splitRanges.end())
        return;
      OpBuilder builder(call);
      SmallVector<Value> operands(call.getOperands());
      operands.push_back(arith::ConstantIndexOp::create(builder, call.getLoc(), 0));
      operands.push_back(
          arith::ConstantIndexOp::create(builder, call.getLoc(), found->second));
      call->setOperands(operands);
    });
  }
};

} // namespace
