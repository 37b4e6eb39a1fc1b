//===- LowerToLinalg.cpp - dlc ops to linalg on tensors ---------*- C++ -*-===//
//
// The dlc-lower-to-linalg pass: one conversion pattern per dlc op family.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"
#include "ir/DlcOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace dlc {
#define GEN_PASS_DEF_DLCLOWERTOLINALG
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;
using namespace dlc;

namespace {

/// An empty tensor of `type`, the destination of a linalg op.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

/// A tensor of `type` with every element equal to `value`.
Value filled(OpBuilder &b, Location loc, RankedTensorType type,
             TypedAttr value) {
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, scalar, emptyLike(b, loc, type))
      .getResult(0);
}

/// Computes one element of an elementwise op from its scalar operands.
using ScalarFn = function_ref<Value(OpBuilder &, Location, Type, ValueRange)>;

/// Emits `linalg.generic` over `inputs` (all of the result's shape) whose body
/// is `scalarFn`.
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType type,
                       ValueRange inputs, ScalarFn scalarFn) {
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, type, inputs, emptyLike(b, loc, type), maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = scalarFn(nested, nestedLoc, type.getElementType(),
                                args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

Value scalarAdd(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::AddFOp::create(b, loc, v[0], v[1]);
  return arith::AddIOp::create(b, loc, v[0], v[1]);
}
Value scalarSub(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::SubFOp::create(b, loc, v[0], v[1]);
  return arith::SubIOp::create(b, loc, v[0], v[1]);
}
Value scalarMul(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::MulFOp::create(b, loc, v[0], v[1]);
  return arith::MulIOp::create(b, loc, v[0], v[1]);
}
Value scalarDiv(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::DivFOp::create(b, loc, v[0], v[1]);
  return arith::DivSIOp::create(b, loc, v[0], v[1]);
}
Value scalarMax(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::MaximumFOp::create(b, loc, v[0], v[1]);
  return arith::MaxSIOp::create(b, loc, v[0], v[1]);
}
Value scalarMin(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::MinimumFOp::create(b, loc, v[0], v[1]);
  return arith::MinSIOp::create(b, loc, v[0], v[1]);
}
Value scalarExp(OpBuilder &b, Location loc, Type, ValueRange v) {
  return math::ExpOp::create(b, loc, v[0]);
}
Value scalarNeg(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::NegFOp::create(b, loc, v[0]);
  Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, 0));
  return arith::SubIOp::create(b, loc, zero, v[0]);
}

/// Lowers any elementwise dlc op with the scalar function `Fn`.
template <typename OpTy, Value (*Fn)(OpBuilder &, Location, Type, ValueRange)>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(op, buildElementwise(rewriter, op.getLoc(), type,
                                            adaptor.getOperands(), Fn));
    return success();
  }
};

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "constant is not a typed attr");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

/// Broadcast reads operand element (i_dims[0], i_dims[1], ...) for result
/// element (i_0, ..., i_n), with index 0 for operand dimensions of size 1
/// that grow.
struct BroadcastLowering : OpConversionPattern<BroadcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BroadcastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto operandType = op.getOperand().getType();
    auto resultType = op.getType();
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineExpr> exprs;
    for (auto [i, dim] : llvm::enumerate(op.getDims())) {
      bool grows = operandType.getDimSize(i) != resultType.getDimSize(dim);
      exprs.push_back(grows ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(dim, ctx));
    }
    unsigned rank = resultType.getRank();
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, exprs, ctx),
                                   rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, op.getLoc(), resultType, adaptor.getOperand(),
        emptyLike(rewriter, op.getLoc(), resultType), maps, iterators,
        [](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc, args[0]);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// Reshape as a view: collapse to one dimension, then expand to the target.
/// After bufferization both are free.
struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto sourceType = op.getOperand().getType();
    auto resultType = op.getType();
    auto flatType = RankedTensorType::get({sourceType.getNumElements()},
                                          sourceType.getElementType());
    auto allDims = [](int64_t rank) {
      ReassociationIndices all;
      for (int64_t d = 0; d < rank; ++d)
        all.push_back(d);
      return SmallVector<ReassociationIndices>{all};
    };
    Value flat = adaptor.getOperand();
    if (sourceType.getRank() == 0)
      flat = tensor::ExpandShapeOp::create(rewriter, loc, flatType, flat,
                                           SmallVector<ReassociationIndices>{});
    else if (sourceType.getRank() > 1)
      flat = tensor::CollapseShapeOp::create(rewriter, loc, flatType, flat,
                                             allDims(sourceType.getRank()));
    Value result = flat;
    if (resultType.getRank() == 0)
      result = tensor::CollapseShapeOp::create(
          rewriter, loc, resultType, flat, SmallVector<ReassociationIndices>{});
    else if (resultType.getRank() > 1)
      result = tensor::ExpandShapeOp::create(rewriter, loc, resultType, flat,
                                             allDims(resultType.getRank()));
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto transpose = linalg::TransposeOp::create(
        rewriter, op.getLoc(), adaptor.getOperand(),
        emptyLike(rewriter, op.getLoc(), op.getType()), op.getPerm());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

/// The value that leaves a reduction unchanged: 0 for sum, 1 for prod, the
/// lowest value for max and the highest for min.
TypedAttr reductionIdentity(OpBuilder &b, ReduceKind kind, Type elementType) {
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    const llvm::fltSemantics &sem = floatType.getFloatSemantics();
    switch (kind) {
    case ReduceKind::sum:
      return b.getFloatAttr(floatType, APFloat::getZero(sem));
    case ReduceKind::prod:
      return b.getFloatAttr(floatType, APFloat::getOne(sem));
    case ReduceKind::max:
      return b.getFloatAttr(floatType, APFloat::getInf(sem, /*Negative=*/true));
    case ReduceKind::min:
      return b.getFloatAttr(floatType, APFloat::getInf(sem));
    }
  }
  unsigned width = elementType.getIntOrFloatBitWidth();
  switch (kind) {
  case ReduceKind::sum:
    return b.getIntegerAttr(elementType, 0);
  case ReduceKind::prod:
    return b.getIntegerAttr(elementType, 1);
  case ReduceKind::max:
    return b.getIntegerAttr(elementType, APInt::getSignedMinValue(width));
  case ReduceKind::min:
    return b.getIntegerAttr(elementType, APInt::getSignedMaxValue(width));
  }
  llvm_unreachable("unknown reduce kind");
}

struct ReduceLowering : OpConversionPattern<ReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type elementType = resultType.getElementType();
    ReduceKind kind = op.getKind();
    Value init = filled(rewriter, loc, resultType,
                        reductionIdentity(rewriter, kind, elementType));
    auto reduce = linalg::ReduceOp::create(
        rewriter, loc, adaptor.getOperand(), init, op.getDims(),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value combined;
          switch (kind) {
          case ReduceKind::sum:
            combined = scalarAdd(b, nestedLoc, elementType, args);
            break;
          case ReduceKind::prod:
            combined = scalarMul(b, nestedLoc, elementType, args);
            break;
          case ReduceKind::max:
            combined = scalarMax(b, nestedLoc, elementType, args);
            break;
          case ReduceKind::min:
            combined = scalarMin(b, nestedLoc, elementType, args);
            break;
          }
          linalg::YieldOp::create(b, nestedLoc, combined);
        });
    rewriter.replaceOp(op, reduce.getResult(0));
    return success();
  }
};

/// Rank 2 becomes linalg.matmul, rank 3 linalg.batch_matmul; higher ranks
/// collapse their batch dimensions into one around a batch_matmul.
struct DotLowering : OpConversionPattern<DotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type elementType = resultType.getElementType();
    TypedAttr zero = reductionIdentity(rewriter, ReduceKind::sum, elementType);
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    int64_t rank = resultType.getRank();
    if (rank == 2) {
      Value init = filled(rewriter, loc, resultType, zero);
      rewriter.replaceOp(
          op, linalg::MatmulOp::create(rewriter, loc, ValueRange{lhs, rhs}, init)
                  .getResult(0));
      return success();
    }
    // Fold batch dimensions [B0, B1, ..., M, K] into [B, M, K].
    SmallVector<ReassociationIndices> reassociation(3);
    for (int64_t d = 0; d < rank - 2; ++d)
      reassociation[0].push_back(d);
    reassociation[1].push_back(rank - 2);
    reassociation[2].push_back(rank - 1);
    auto collapse = [&](Value v) -> Value {
      if (rank == 3)
        return v;
      return tensor::CollapseShapeOp::create(rewriter, loc, v, reassociation);
    };
    lhs = collapse(lhs);
    rhs = collapse(rhs);
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    auto batchType = RankedTensorType::get(
        {lhsType.getDimSize(0), lhsType.getDimSize(1), rhsType.getDimSize(2)},
        elementType);
    Value init = filled(rewriter, loc, batchType, zero);
    Value product =
        linalg::BatchMatmulOp::create(rewriter, loc, ValueRange{lhs, rhs}, init)
            .getResult(0);
    if (rank > 3)
      product = tensor::ExpandShapeOp::create(rewriter, loc, resultType,
                                              product, reassociation);
    rewriter.replaceOp(op, product);
    return success();
  }
};

struct LowerToLinalgPass
    : public dlc::impl::DlcLowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<DlcDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });

    RewritePatternSet patterns(ctx);
    patterns.add<ConstantLowering, BroadcastLowering, ReshapeLowering,
                 TransposeLowering, ReduceLowering, DotLowering,
                 ElementwiseLowering<AddOp, scalarAdd>,
                 ElementwiseLowering<SubOp, scalarSub>,
                 ElementwiseLowering<MulOp, scalarMul>,
                 ElementwiseLowering<DivOp, scalarDiv>,
                 ElementwiseLowering<MaxOp, scalarMax>,
                 ElementwiseLowering<MinOp, scalarMin>,
                 ElementwiseLowering<ExpOp, scalarExp>,
                 ElementwiseLowering<NegOp, scalarNeg>>(ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
