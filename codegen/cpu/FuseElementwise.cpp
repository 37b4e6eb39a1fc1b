//===- FuseElementwise.cpp - fuse elementwise chains ------------*- C++ -*-===//
//
// The dlc-fuse-elementwise pass (see Passes.td): upstream's elementwise
// producer-consumer fusion, allowed only between all-parallel generics.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dlc {
#define GEN_PASS_DEF_DLCFUSEELEMENTWISE
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// An all-parallel generic on signed, signless or float elements, other
/// than a GEMM's epilogue (which the GEMM applies to its tiles). Generics
/// on unsigned integers compute on signless values through casts that
/// only resolve within their own body, so they are never merged.
bool isFusableElementwise(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumLoops() != generic.getNumParallelLoops() ||
      generic->hasAttr(dlc::kEpilogueAttribute))
    return false;
  return llvm::none_of(op->getOperandTypes(), [](Type type) {
    return getElementTypeOrSelf(type).isUnsignedInteger();
  });
}

/// Whether every use of `producer`'s results other than by `consumer` is
/// the function's return: an optimizer's new momentum, both returned and
/// read by the parameter update. The fused op then also yields the value
/// for the return (one pass reads the old state and writes both).
bool otherUsersAreReturns(Operation *producer, Operation *consumer) {
  return llvm::all_of(producer->getUsers(), [&](Operation *user) {
    return user == consumer || isa<func::ReturnOp>(user);
  });
}

/// Whether fusing `producer` into the consumer of `operand` duplicates no
/// work: the consumer reads each of the producer's elements once and is
/// its only user (but for the function's return), or the producer's body
/// only moves values (a broadcast, a transpose), which costs nothing to
/// recompute. Fusing a computing producer that has other users would
/// compute it twice, and along a chain (each layer's residual stream
/// feeding the next) again for every later consumer.
bool fusionDuplicatesNoWork(Operation *producer, OpOperand &operand) {
  auto generic = cast<linalg::GenericOp>(producer);
  if (llvm::hasSingleElement(generic.getBody()->getOperations()))
    return true;
  // Read through a broadcast, the producer would run once per element of
  // the consumer, not once per element of its own (a batch norm's
  // per-channel sqrt and division, once per pixel).
  auto consumer = cast<linalg::GenericOp>(operand.getOwner());
  if (!consumer.getMatchingIndexingMap(&operand).isPermutation())
    return false;
  return otherUsersAreReturns(producer, consumer);
}

/// Fuses an elementwise producer into an elementwise consumer, one operand
/// at a time (upstream's fusion pattern, with dlc's choice of what to fuse
/// and without its other rewrites, which make constants of unsigned types).
struct FuseElementwiseProducer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    if (!isFusableElementwise(consumer))
      return failure();
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!isFusableElementwise(operand.get().getDefiningOp()) ||
          !linalg::areElementwiseOpsFusable(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      if (!fusionDuplicatesNoWork(producer, operand))
        continue;
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        continue;
      // The consumer's results are replaced, and so are the producer's
      // where the function returns them (the fused op yields them too); the
      // producer stays for its other users, if any (the driver erases it
      // when dead).
      for (auto [original, replacement] : fused->replacements)
        rewriter.replaceUsesWithIf(original, replacement, [&](OpOperand &use) {
          return use.get().getDefiningOp() != producer || isa<func::ReturnOp>(use.getOwner());
        });
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
};

/// Turns a splat constant input of a generic (a batch norm's epsilon, a
/// scale) into a scalar constant in its body, so that it is not read from
/// memory element by element. Unsigned element types are left alone: their
/// scalars must stay signless.
struct FoldSplatInputs : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SmallVector<std::pair<unsigned, TypedAttr>> folded;
    for (OpOperand *input : op.getDpsInputOperands()) {
      DenseElementsAttr splat;
      Type element = getElementTypeOrSelf(input->get().getType());
      if (matchPattern(input->get(), m_Constant(&splat)) && splat.isSplat() &&
          !element.isUnsignedInteger() && element.isIntOrIndexOrFloat()) {
        folded.push_back({input->getOperandNumber(), splat.getSplatValue<TypedAttr>()});
        continue;
      }
      inputs.push_back(input->get());
      maps.push_back(op.getMatchingIndexingMap(input));
    }
    if (folded.empty())
      return failure();
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));
    auto fused = linalg::GenericOp::create(
        rewriter, op.getLoc(), op->getResultTypes(), inputs, op.getDpsInits(), maps,
        op.getIteratorTypesArray());
    // Move the body over; folded arguments become constants at its start.
    Block *body = op.getBody();
    rewriter.setInsertionPointToStart(body);
    for (auto [index, value] : llvm::reverse(folded)) {
      Value scalar = arith::ConstantOp::create(rewriter, op.getLoc(), value);
      rewriter.replaceAllUsesWith(body->getArgument(index), scalar);
      body->eraseArgument(index);
    }
    rewriter.inlineRegionBefore(op.getRegion(), fused.getRegion(), fused.getRegion().end());
    rewriter.replaceOp(op, fused->getResults());
    return success();
  }
};

/// An elementwise generic over a split shape (pooling's gradient: the
/// operand as [N, C, H, 2, W, 2] against per-window values [N, C, H, W])
/// whose result is only merged back, becomes one over the merged shape:
/// per-window values are read through `d floordiv 2`. Its innermost loop
/// then runs along a whole row (14 or 28 floats) instead of a window's
/// width (2), and vectorizes.
struct MergeSplitWindows : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isFusableElementwise(op) || op->getNumResults() != 1 || !op->hasOneUse() ||
        !op.getDpsInitOperand(0)->get().getDefiningOp<tensor::EmptyOp>() ||
        !op.getBody()->getOps<linalg::IndexOp>().empty())
      return failure();
    auto merge = dyn_cast<tensor::CollapseShapeOp>(*op->getUsers().begin());
    if (!merge)
      return failure();
    SmallVector<ReassociationIndices> groups = merge.getReassociationIndices();
    auto splitType = cast<RankedTensorType>(op->getResult(0).getType());
    MLIRContext *ctx = op.getContext();
    const unsigned rank = splitType.getRank(), merged = groups.size();
    if (merged == rank)
      return failure();
    // The split dimensions' map from the merged loops: a group's outer
    // dimension is its merged index floordiv the inner sizes' product.
    SmallVector<AffineExpr> outer(rank), identity;
    SmallVector<bool> isOuter(rank, false);
    for (auto [g, group] : llvm::enumerate(groups)) {
      int64_t inner = 1;
      for (int64_t d : llvm::drop_begin(group))
        inner *= splitType.getDimSize(d);
      AffineExpr loop = getAffineDimExpr(g, ctx);
      outer[group.front()] = inner == 1 ? loop : loop.floorDiv(inner);
      isOuter[group.front()] = true;
      identity.push_back(loop);
    }
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (OpOperand *input : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(input);
      if (map.isIdentity()) {
        // The whole split operand: its merged source, read as it is.
        auto split = input->get().getDefiningOp<tensor::ExpandShapeOp>();
        if (!split || split.getReassociationIndices() != groups)
          return failure();
        inputs.push_back(split.getSrc());
        maps.push_back(AffineMap::get(merged, 0, identity, ctx));
        continue;
      }
      // A per-window value: indexed by outer dimensions only.
      SmallVector<AffineExpr> results;
      for (AffineExpr result : map.getResults()) {
        auto dim = dyn_cast<AffineDimExpr>(result);
        if (!dim || !isOuter[dim.getPosition()])
          return failure();
        results.push_back(outer[dim.getPosition()]);
      }
      inputs.push_back(input->get());
      maps.push_back(AffineMap::get(merged, 0, results, ctx));
    }
    maps.push_back(AffineMap::get(merged, 0, identity, ctx));
    auto mergedType = cast<RankedTensorType>(merge.getType());
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), mergedType.getShape(),
                                         mergedType.getElementType());
    auto rewritten = linalg::GenericOp::create(
        rewriter, op.getLoc(), TypeRange{mergedType}, inputs, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(merged, utils::IteratorType::parallel));
    rewriter.inlineRegionBefore(op.getRegion(), rewritten.getRegion(), rewritten.getRegion().end());
    rewriter.replaceOp(merge, rewritten->getResults());
    rewriter.eraseOp(op);
    return success();
  }
};

struct FuseElementwisePass
    : public dlc::impl::DlcFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseElementwiseProducer, FoldSplatInputs, MergeSplitWindows>(&getContext());
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
