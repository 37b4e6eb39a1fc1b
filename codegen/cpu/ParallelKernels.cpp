//===- ParallelKernels.cpp - kernels split over threads ---------*- C++ -*-===//
//
// The dlc-parallel-kernels pass (see Passes.td): an outlined kernel runs its
// op on a range [lo, hi) of one parallel loop, so that the runtime can give
// each thread a part of the range.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"

namespace dlc {
#define GEN_PASS_DEF_DLCPARALLELKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The loop of `op` that threads split (dlc::rowLoopOf), unless it is the
/// innermost one (which stays whole, to vectorize). None when the op is too
/// small to be worth splitting or its loop ranges are not static.
std::optional<unsigned> splitLoop(linalg::LinalgOp op, int64_t minWork) {
  std::optional<int64_t> work = dlc::iterationsOf(op);
  if (!work || *work < minWork)
    return std::nullopt;
  std::optional<unsigned> loop = dlc::rowLoopOf(op);
  if (!loop || *loop + 1 == op.getNumLoops())
    return std::nullopt;
  return loop;
}

/// Whether each of `maps` reads the loops of `group` either not at all or
/// all of them, in order, as consecutive results.
bool groupStaysTogether(ArrayRef<AffineMap> maps, const ReassociationIndices &group) {
  for (AffineMap map : maps) {
    SmallVector<int64_t> positions;
    for (unsigned result = 0; result < map.getNumResults(); ++result)
      if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(result));
          dim && llvm::is_contained(group, dim.getPosition()))
        positions.push_back(result);
    if (positions.empty())
      continue;
    if (positions.size() != group.size())
      return false;
    for (auto [i, position] : llvm::enumerate(positions))
      if (position != positions.front() + int64_t(i) ||
          cast<AffineDimExpr>(map.getResult(position)).getPosition() != group[i])
        return false;
  }
  return true;
}

/// Whether every buffer of `op` can be viewed with the loops of `group`
/// merged into one: where an operand is indexed by them, its dimensions for
/// them must be contiguous in memory.
bool buffersCollapsible(linalg::LinalgOp op, const ReassociationIndices &group) {
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<ReassociationIndices> reassociation;
    for (unsigned result = 0; result < map.getNumResults(); ++result) {
      auto dim = dyn_cast<AffineDimExpr>(map.getResult(result));
      bool continues = dim && llvm::is_contained(group, dim.getPosition()) &&
                       dim.getPosition() != group.front() && !reassociation.empty();
      if (continues)
        reassociation.back().push_back(result);
      else
        reassociation.push_back({int64_t(result)});
    }
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type, reassociation))
      return false;
  }
  return true;
}

/// `op` with the unit dimensions that its inputs read at a constant 0 (a
/// per-channel [1, C, 1, 1] operand of a [1, C, H, W] op) viewed away, so
/// that every map is a plain projection of the loops; null when some map
/// has other constants or compound expressions.
linalg::GenericOp withoutConstantIndices(linalg::GenericOp op) {
  bool changed = false;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  OpBuilder builder(op);
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    auto type = dyn_cast<MemRefType>(input->get().getType());
    SmallVector<AffineExpr> kept;
    SmallVector<ReassociationIndices> reassociation;
    for (unsigned result = 0; result < map.getNumResults(); ++result) {
      AffineExpr expr = map.getResult(result);
      auto constant = dyn_cast<AffineConstantExpr>(expr);
      if (constant && constant.getValue() == 0 && type && type.getDimSize(result) == 1) {
        // A unit dimension joins its neighbour's group.
        if (reassociation.empty())
          reassociation.push_back({});
        reassociation.back().push_back(result);
        continue;
      }
      if (!isa<AffineDimExpr>(expr))
        return {};
      if (kept.empty() && !reassociation.empty())
        reassociation.back().push_back(result); // leading unit dims join the first kept one
      else
        reassociation.push_back({int64_t(result)});
      kept.push_back(expr);
    }
    if (kept.size() == map.getNumResults() || !type) {
      inputs.push_back(input->get());
      maps.push_back(map);
      continue;
    }
    if (kept.empty() || !memref::CollapseShapeOp::isGuaranteedCollapsible(type, reassociation))
      return {};
    inputs.push_back(memref::CollapseShapeOp::create(builder, op.getLoc(), input->get(),
                                                     reassociation));
    maps.push_back(AffineMap::get(map.getNumDims(), 0, kept, op.getContext()));
    changed = true;
  }
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!llvm::all_of(map.getResults(), [](AffineExpr e) { return isa<AffineDimExpr>(e); }))
      return {};
    maps.push_back(map);
  }
  if (!changed)
    return op;
  auto generic = linalg::GenericOp::create(builder, op.getLoc(), TypeRange{}, inputs,
                                           op.getDpsInits(), maps, op.getIteratorTypesArray());
  generic.getRegion().takeBody(op.getRegion());
  op->erase();
  return generic;
}

/// Merges the innermost loops of `op`, from `from` on, into one where its
/// maps and buffers allow and the loops are all parallel or all reductions:
/// a [C, 14, 14] batch norm then loops over 196 contiguous elements, which
/// vectorize, instead of over rows of 14, which barely do; so does a bias
/// gradient's sum over [N, C, 28, 28] (a linalg.reduce, taken as the
/// generic it stands for). Loops before `from` (the one threads split)
/// stay.
linalg::LinalgOp collapseInnerLoops(linalg::LinalgOp op, unsigned from) {
  if (auto reduce = dyn_cast<linalg::ReduceOp>(op.getOperation())) {
    IRRewriter rewriter(op.getContext());
    rewriter.setInsertionPoint(reduce);
    FailureOr<linalg::GenericOp> generalized = linalg::generalizeNamedOp(rewriter, reduce);
    if (failed(generalized))
      return op;
    op = *generalized;
  }
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  unsigned loops = op.getNumLoops();
  if (!generic || loops < 2 || !op.hasPureBufferSemantics() ||
      !generic.getBody()->getOps<linalg::IndexOp>().empty())
    return op;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Only operands indexed by plain loops (elementwise ops and broadcasts,
  // per-channel operands once their unit dimensions are viewed away), not
  // by sums of loops (im2col, convolutions): upstream's collapsing handles
  // projections only.
  for (AffineMap map : maps)
    for (AffineExpr result : map.getResults())
      if (!isa<AffineDimExpr, AffineConstantExpr>(result))
        return op;
  generic = withoutConstantIndices(generic);
  if (!generic)
    return op;
  op = generic;
  maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    if (!map.isProjectedPermutation())
      return op;
  for (unsigned first = from; first + 1 < loops; ++first) {
    ReassociationIndices group;
    for (unsigned loop = first; loop < loops; ++loop)
      group.push_back(loop);
    if (llvm::any_of(group, [&](int64_t loop) {
          return iterators[loop] != iterators[group.front()];
        }) ||
        !groupStaysTogether(maps, group) || !buffersCollapsible(op, group))
      continue;
    IRRewriter rewriter(op.getContext());
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::CollapseResult> collapsed =
        linalg::collapseOpIterationDims(op, {group}, rewriter);
    if (failed(collapsed))
      return op;
    rewriter.eraseOp(op);
    return collapsed->collapsedOp;
  }
  return op;
}

/// Adds the range [lo, hi) of a split loop to `kernel`'s arguments and
/// returns a loop over it, placed before `where`.
scf::ForOp splitLoopOver(func::FuncOp kernel, Operation *where) {
  MLIRContext *context = kernel.getContext();
  Block &body = kernel.getBody().front();
  Type index = IndexType::get(context);
  Location location = where->getLoc();
  Value lo = body.addArgument(index, location);
  Value hi = body.addArgument(index, location);
  kernel.setType(FunctionType::get(context, body.getArgumentTypes(), {}));
  OpBuilder builder(where);
  Value one = arith::ConstantIndexOp::create(builder, location, 1);
  return scf::ForOp::create(builder, location, lo, hi, one);
}

/// Moves `op` into `forOp`'s body (at its end), on the slices for the
/// loop's iteration of `loop`: tile size 1 there, the whole range
/// elsewhere.
void sliceInto(scf::ForOp forOp, linalg::LinalgOp op, unsigned loop) {
  OpBuilder builder = OpBuilder::atBlockTerminator(forOp.getBody());
  Location location = op.getLoc();
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
}

/// Rewrites `kernel` to run `op` on iterations [lo, hi) of `loop`, and
/// returns that loop's full range.
int64_t splitKernel(func::FuncOp kernel, linalg::LinalgOp op, unsigned loop) {
  int64_t range = op.getStaticLoopRanges()[loop];
  sliceInto(splitLoopOver(kernel, op), op, loop);
  return range;
}

/// Rewrites a kernel of dlc-fuse-rows to run its ops on rows [lo, hi), all
/// of them on a row before the next; returns the number of rows and sets
/// `work` to the ops' iterations in all.
int64_t splitRows(func::FuncOp kernel, int64_t &work) {
  work = 0;
  SmallVector<std::pair<linalg::LinalgOp, unsigned>> rowOps;
  for (auto op : llvm::make_early_inc_range(kernel.getBody().front().getOps<linalg::LinalgOp>())) {
    unsigned loop = *dlc::rowLoopOf(op);
    work += *dlc::iterationsOf(op);
    rowOps.push_back({collapseInnerLoops(op, loop + 1), loop});
  }
  int64_t rows = rowOps.front().first.getStaticLoopRanges()[rowOps.front().second];
  // The loop goes after the ops (and the views collapseInnerLoops made for
  // them), which then move into it in order.
  scf::ForOp forOp = splitLoopOver(kernel, kernel.getBody().front().getTerminator());
  for (auto [op, loop] : rowOps)
    sliceInto(forOp, op, loop);
  return rows;
}

/// Marks `kernel` for the thread pool: the JIT makes its calls calls of
/// dlc_parallel_for.
void markParallel(func::FuncOp kernel, ArrayAttr passthrough) {
  Builder builder(kernel.getContext());
  SmallVector<Attribute> attributes(passthrough.getValue());
  attributes.push_back(builder.getStringAttr(dlc::kParallelForAttribute));
  kernel->setAttr("passthrough", builder.getArrayAttr(attributes));
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
      if (kernel->hasAttr(dlc::kRowsAttribute)) {
        int64_t work = 0;
        splitRanges[kernel.getSymNameAttr()] = splitRows(kernel, work);
        // Small ones run their rows on the calling thread.
        if (work >= minWork)
          markParallel(kernel, passthrough);
        continue;
      }
      linalg::LinalgOp op = dlc::soleKernelOp(kernel);
      if (!op || !op.hasPureBufferSemantics())
        continue;
      std::optional<unsigned> loop = splitLoop(op, minWork);
      op = collapseInnerLoops(op, loop ? *loop + 1 : 0);
      if (!loop)
        continue;
      splitRanges[kernel.getSymNameAttr()] = splitKernel(kernel, op, *loop);
      markParallel(kernel, passthrough);
    }
    if (splitRanges.empty())
      return;
    // Every call runs the whole range; the JIT hands it to the pool (or,
    // for a row kernel too small to split, the kernel runs it).
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
