//===- TransposeProducts.cpp - (a · b)ᵀ as bᵀ · aᵀ ---------------*- C++ -*-===//
//
// The dlc-transpose-products pass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "ir/DlcOps.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dlc {
#define GEN_PASS_DEF_DLCTRANSPOSEPRODUCTS
#include "passes/Passes.h.inc"
} // namespace dlc

using namespace mlir;
using namespace dlc;

namespace {

/// Whether `perm` keeps the leading (batch) dimensions and swaps the last two.
bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t rank = perm.size();
  if (rank < 2 || perm[rank - 2] != rank - 1 || perm[rank - 1] != rank - 2)
    return false;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (perm[d] != d)
      return false;
  return true;
}

struct TransposeOfProduct : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TransposeOp transpose,
                                PatternRewriter &rewriter) const override {
    auto dot = transpose.getOperand().getDefiningOp<DotOp>();
    if (!dot || !dot->hasOneUse() || !swapsLastTwo(transpose.getPerm()))
      return failure();
    Location loc = transpose.getLoc();
    auto transposed = [&](Value value) -> Value {
      return TransposeOp::create(rewriter, loc, value, transpose.getPermAttr());
    };
    Value lhs = transposed(dot.getRhs()), rhs = transposed(dot.getLhs());
    rewriter.replaceOpWithNewOp<DotOp>(transpose, lhs, rhs);
    return success();
  }
};

struct TransposeProductsPass
    : public dlc::impl::DlcTransposeProductsBase<TransposeProductsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<TransposeOfProduct>(&getContext());
    // The driver folds the transposes of transposes this leaves.
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
