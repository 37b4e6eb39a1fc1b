//===- LowerToLinalg.cpp - dlc ops to linalg on tensors ---------*- C++ -*-===//
//
// The dlc-lower-to-linalg pass: one conversion pattern per dlc op family.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"
#include "ir/DlcOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

namespace dlc {
#define GEN_PASS_DEF_DLCLOWERTOLINALG
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;
using namespace dlc;

namespace {

/// Element types the CPU lowering handles: floats and integers. Unsigned
/// integers (ONNX's uint types) stay unsigned in tensors and buffers; scalar
/// code computes on the signless type of the same width, choosing unsigned
/// operations (divui, maxui, cmpi ult...), and unrealized casts bridge the
/// two until the LLVM conversion makes both the same type.
bool isSupportedElement(Type type) {
  return isa<FloatType>(type) || isa<IntegerType>(type);
}

/// The type scalar code computes in: unsigned integers become signless.
Type computeType(Type type) {
  if (type.isUnsignedInteger())
    return IntegerType::get(type.getContext(), type.getIntOrFloatBitWidth());
  return type;
}

/// Casts `value` to `type` when they differ (unsigned <-> signless).
Value castTo(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return UnrealizedConversionCastOp::create(b, loc, type, value).getResult(0);
}

/// An empty tensor of `type`, the destination of a linalg op.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

/// A tensor of `type` with every element equal to `value`.
Value filled(OpBuilder &b, Location loc, RankedTensorType type,
             TypedAttr value) {
  Value scalar = castTo(b, loc, arith::ConstantOp::create(b, loc, value),
                        type.getElementType());
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
        SmallVector<Value> operands;
        for (Value arg : args.drop_back())
          operands.push_back(castTo(nested, nestedLoc, arg, computeType(arg.getType())));
        Value result = scalarFn(nested, nestedLoc, type.getElementType(), operands);
        linalg::YieldOp::create(nested, nestedLoc,
                                castTo(nested, nestedLoc, result, type.getElementType()));
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
  if (t.isUnsignedInteger())
    return arith::DivUIOp::create(b, loc, v[0], v[1]);
  return arith::DivSIOp::create(b, loc, v[0], v[1]);
}
Value scalarMax(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::MaximumFOp::create(b, loc, v[0], v[1]);
  if (t.isUnsignedInteger())
    return arith::MaxUIOp::create(b, loc, v[0], v[1]);
  return arith::MaxSIOp::create(b, loc, v[0], v[1]);
}
Value scalarMin(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::MinimumFOp::create(b, loc, v[0], v[1]);
  if (t.isUnsignedInteger())
    return arith::MinUIOp::create(b, loc, v[0], v[1]);
  return arith::MinSIOp::create(b, loc, v[0], v[1]);
}
Value scalarExp(OpBuilder &b, Location loc, Type, ValueRange v) {
  return math::ExpOp::create(b, loc, v[0]);
}
Value scalarNeg(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::NegFOp::create(b, loc, v[0]);
  Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(computeType(t), 0));
  return arith::SubIOp::create(b, loc, zero, v[0]);
}

Value scalarRem(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return arith::RemFOp::create(b, loc, v[0], v[1]);
  if (t.isUnsignedInteger())
    return arith::RemUIOp::create(b, loc, v[0], v[1]);
  return arith::RemSIOp::create(b, loc, v[0], v[1]);
}
Value scalarPow(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return math::PowFOp::create(b, loc, v[0], v[1]);
  return math::IPowIOp::create(b, loc, v[0], v[1]);
}
Value scalarAnd(OpBuilder &b, Location loc, Type, ValueRange v) {
  return arith::AndIOp::create(b, loc, v[0], v[1]);
}
Value scalarOr(OpBuilder &b, Location loc, Type, ValueRange v) {
  return arith::OrIOp::create(b, loc, v[0], v[1]);
}
Value scalarXor(OpBuilder &b, Location loc, Type, ValueRange v) {
  return arith::XOrIOp::create(b, loc, v[0], v[1]);
}
Value scalarNot(OpBuilder &b, Location loc, Type t, ValueRange v) {
  Value ones = arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(computeType(t), APInt::getAllOnes(t.getIntOrFloatBitWidth())));
  return arith::XOrIOp::create(b, loc, v[0], ones);
}
Value scalarAbs(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t))
    return math::AbsFOp::create(b, loc, v[0]);
  if (t.isUnsignedInteger())
    return v[0];
  return math::AbsIOp::create(b, loc, v[0]);
}
/// sign(x) = (x > 0) - (x < 0); NaN stays NaN for floats.
Value scalarSign(OpBuilder &b, Location loc, Type t, ValueRange v) {
  if (isa<FloatType>(t)) {
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(t, 0.0));
    Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(t, 1.0));
    Value minusOne = arith::ConstantOp::create(b, loc, b.getFloatAttr(t, -1.0));
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v[0], zero);
    Value negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, v[0], zero);
    Value isZeroOrNaN = arith::SelectOp::create(b, loc, negative, minusOne, v[0]);
    Value zeroOrNaN = arith::SelectOp::create(
        b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, v[0], zero),
        zero, isZeroOrNaN);
    return arith::SelectOp::create(b, loc, positive, one, zeroOrNaN);
  }
  Type c = computeType(t);
  Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(c, 0));
  if (t.isUnsignedInteger())
    return arith::ExtUIOp::create(
        b, loc, c, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v[0], zero));
  Value positive = arith::ExtUIOp::create(
      b, loc, c, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, v[0], zero));
  Value negative = arith::ExtUIOp::create(
      b, loc, c, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v[0], zero));
  return arith::SubIOp::create(b, loc, positive, negative);
}

/// Float math ops map one to one onto the math dialect.
template <typename MathOp>
Value scalarMath(OpBuilder &b, Location loc, Type, ValueRange v) {
  return MathOp::create(b, loc, v[0]);
}

/// Combines `acc` and `value` (both of `elementType`) as `kind` says, in the
/// compute type.
Value combine(OpBuilder &b, Location loc, ReduceKind kind, Type elementType,
              Value acc, Value value) {
  Type c = computeType(elementType);
  SmallVector<Value> operands = {castTo(b, loc, acc, c), castTo(b, loc, value, c)};
  Value result;
  switch (kind) {
  case ReduceKind::sum: result = scalarAdd(b, loc, elementType, operands); break;
  case ReduceKind::prod: result = scalarMul(b, loc, elementType, operands); break;
  case ReduceKind::max: result = scalarMax(b, loc, elementType, operands); break;
  case ReduceKind::min: result = scalarMin(b, loc, elementType, operands); break;
  }
  return castTo(b, loc, result, elementType);
}

/// Lowers any elementwise dlc op with the scalar function `Fn`.
template <typename OpTy, Value (*Fn)(OpBuilder &, Location, Type, ValueRange)>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!isSupportedElement(type.getElementType()) ||
        !llvm::all_of(op->getOperandTypes(), [](Type t) {
          return isSupportedElement(cast<ShapedType>(t).getElementType());
        }))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    rewriter.replaceOp(op, buildElementwise(rewriter, op.getLoc(), type,
                                            adaptor.getOperands(), Fn));
    return success();
  }
};

/// Compare: arith.cmpf with ordered predicates (unordered for ne), or
/// arith.cmpi with signed ones.
struct CompareLowering : OpConversionPattern<CompareOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CompareOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type operandType = op.getLhs().getType().getElementType();
    if (!isSupportedElement(operandType))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    CompareDirection direction = op.getDirection();
    auto type = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(
        op, buildElementwise(
                rewriter, op.getLoc(), type, adaptor.getOperands(),
                [&](OpBuilder &b, Location loc, Type, ValueRange v) -> Value {
                  if (isa<FloatType>(operandType)) {
                    arith::CmpFPredicate p;
                    switch (direction) {
                    case CompareDirection::eq: p = arith::CmpFPredicate::OEQ; break;
                    case CompareDirection::ne: p = arith::CmpFPredicate::UNE; break;
                    case CompareDirection::lt: p = arith::CmpFPredicate::OLT; break;
                    case CompareDirection::le: p = arith::CmpFPredicate::OLE; break;
                    case CompareDirection::gt: p = arith::CmpFPredicate::OGT; break;
                    case CompareDirection::ge: p = arith::CmpFPredicate::OGE; break;
                    }
                    return arith::CmpFOp::create(b, loc, p, v[0], v[1]);
                  }
                  bool u = operandType.isUnsignedInteger();
                  arith::CmpIPredicate p;
                  switch (direction) {
                  case CompareDirection::eq: p = arith::CmpIPredicate::eq; break;
                  case CompareDirection::ne: p = arith::CmpIPredicate::ne; break;
                  case CompareDirection::lt: p = u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt; break;
                  case CompareDirection::le: p = u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle; break;
                  case CompareDirection::gt: p = u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt; break;
                  case CompareDirection::ge: p = u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge; break;
                  }
                  return arith::CmpIOp::create(b, loc, p, v[0], v[1]);
                }));
    return success();
  }
};

struct SelectLowering : OpConversionPattern<SelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!isSupportedElement(type.getElementType()))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    rewriter.replaceOp(op, buildElementwise(
                               rewriter, op.getLoc(), type, adaptor.getOperands(),
                               [](OpBuilder &b, Location loc, Type, ValueRange v) -> Value {
                                 return arith::SelectOp::create(b, loc, v[0], v[1], v[2]);
                               }));
    return success();
  }
};

/// Convert: float↔float extends or truncates, float→int rounds toward zero,
/// int→float is signed, int↔int sign-extends or truncates, →i1 is "≠ 0".
struct ConvertLowering : OpConversionPattern<ConvertOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvertOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type from = op.getOperand().getType().getElementType();
    auto type = cast<RankedTensorType>(op.getType());
    Type to = type.getElementType();
    if (!isSupportedElement(from) || !isSupportedElement(to))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    rewriter.replaceOp(
        op, buildElementwise(
                rewriter, op.getLoc(), type, adaptor.getOperands(),
                [&](OpBuilder &b, Location loc, Type, ValueRange v) -> Value {
                  Value x = v[0];
                  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(to);
                  // Booleans and unsigned integers widen with zeros.
                  bool fromUnsigned = from.isUnsignedInteger() || from.isInteger(1);
                  bool toUnsigned = to.isUnsignedInteger();
                  Type source = computeType(from), target = computeType(to);
                  if (to.isInteger(1)) {
                    if (fromFloat) {
                      Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(source, 0.0));
                      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x, zero);
                    }
                    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(source, 0));
                    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, zero);
                  }
                  if (fromFloat && toFloat)
                    return source.getIntOrFloatBitWidth() < target.getIntOrFloatBitWidth()
                               ? Value(arith::ExtFOp::create(b, loc, target, x))
                               : Value(arith::TruncFOp::create(b, loc, target, x));
                  if (fromFloat)
                    return toUnsigned ? Value(arith::FPToUIOp::create(b, loc, target, x))
                                      : Value(arith::FPToSIOp::create(b, loc, target, x));
                  // A boolean as 1.0 or 0.0 by a select: LLVM vectorizes
                  // it, where it converts each lane of an i1 vector alone.
                  if (toFloat && from.isInteger(1)) {
                    Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(target, 1.0));
                    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(target, 0.0));
                    return arith::SelectOp::create(b, loc, x, one, zero);
                  }
                  if (toFloat)
                    return fromUnsigned ? Value(arith::UIToFPOp::create(b, loc, target, x))
                                        : Value(arith::SIToFPOp::create(b, loc, target, x));
                  unsigned fromWidth = source.getIntOrFloatBitWidth();
                  unsigned toWidth = target.getIntOrFloatBitWidth();
                  if (fromWidth == toWidth)
                    return x;
                  if (fromWidth < toWidth)
                    return fromUnsigned ? Value(arith::ExtUIOp::create(b, loc, target, x))
                                        : Value(arith::ExtSIOp::create(b, loc, target, x));
                  return arith::TruncIOp::create(b, loc, target, x);
                }));
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
    // Adding unit dimensions in order (a weight [768, 768] as [1, 768, 768]
    // for a batched product) is a view, not a copy: the product then reads
    // the weight itself, and the runtime can keep its packing.
    if (operandType.hasStaticShape() && resultType.hasStaticShape() &&
        resultType.getRank() > operandType.getRank() &&
        operandType.getNumElements() == resultType.getNumElements() &&
        llvm::is_sorted(op.getDims())) {
      if (auto reassociation = getReassociationIndicesForReshape(operandType, resultType)) {
        rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, resultType, adaptor.getOperand(),
                                                           *reassociation);
        return success();
      }
    }
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

/// iota: linalg.index of the counted dimension, converted to the element type.
struct IotaLowering : OpConversionPattern<IotaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IotaOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Type elementType = type.getElementType();
    if (!isSupportedElement(elementType))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    int64_t dim = op.getDim();
    rewriter.replaceOp(
        op, buildElementwise(rewriter, op.getLoc(), type, {},
                             [&](OpBuilder &b, Location loc, Type t, ValueRange) -> Value {
                               Value index = linalg::IndexOp::create(b, loc, dim);
                               Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
                               if (isa<FloatType>(t))
                                 return arith::SIToFPOp::create(b, loc, t, i64);
                               if (t.getIntOrFloatBitWidth() < 64)
                                 return arith::TruncIOp::create(b, loc, t, i64);
                               return i64;
                             }));
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, type, adaptor.getOperand(), ValueRange{}, ValueRange{}, ValueRange{},
        op.getStart(), type.getShape(), op.getStrides());
    return success();
  }
};

/// reverse reads element N - 1 - i of each reversed dimension.
struct ReverseLowering : OpConversionPattern<ReverseOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReverseOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    MLIRContext *ctx = op.getContext();
    unsigned rank = type.getRank();
    SmallVector<AffineExpr> exprs;
    for (unsigned d = 0; d < rank; ++d) {
      AffineExpr dim = getAffineDimExpr(d, ctx);
      exprs.push_back(llvm::is_contained(op.getDims(), int64_t(d))
                          ? getAffineConstantExpr(type.getDimSize(d) - 1, ctx) - dim
                          : dim);
    }
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, exprs, ctx),
                                   rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, op.getLoc(), type, adaptor.getOperand(),
        emptyLike(rewriter, op.getLoc(), type), maps, iterators,
        [](OpBuilder &b, Location loc, ValueRange args) {
          linalg::YieldOp::create(b, loc, args[0]);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// Inserts `source` into `dest` at static `offsets` with unit strides.
Value insertAt(OpBuilder &b, Location loc, Value source, Value dest,
               ArrayRef<int64_t> offsets) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> strides(offsets.size(), 1);
  return tensor::InsertSliceOp::create(b, loc, source, dest, ValueRange{},
                                       ValueRange{}, ValueRange{}, offsets,
                                       sourceType.getShape(), strides);
}

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value result = emptyLike(rewriter, op.getLoc(), type);
    SmallVector<int64_t> offsets(type.getRank(), 0);
    for (Value input : adaptor.getInputs()) {
      result = insertAt(rewriter, op.getLoc(), input, result, offsets);
      offsets[op.getDim()] += cast<RankedTensorType>(input.getType()).getDimSize(op.getDim());
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// pad: fill the result with the pad value, then insert the operand.
struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value value = tensor::ExtractOp::create(rewriter, loc, adaptor.getValue(), ValueRange{});
    Value filledResult =
        linalg::FillOp::create(rewriter, loc, value, emptyLike(rewriter, loc, type)).getResult(0);
    rewriter.replaceOp(op, insertAt(rewriter, loc, adaptor.getOperand(), filledResult,
                                    op.getLow()));
    return success();
  }
};

/// Reads element `index` (an integer of any width) as an index clamped to
/// [0, size): out-of-range indices are undefined in ONNX, and clamping keeps
/// them inside the buffer.
Value clampedIndex(OpBuilder &b, Location loc, Value index, int64_t size) {
  index = castTo(b, loc, index, computeType(index.getType()));
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value last = arith::ConstantIndexOp::create(b, loc, std::max<int64_t>(size - 1, 0));
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, i, zero), last);
}

/// gather: a generic over the result that reads its index from `indices`
/// and the element from `data` with tensor.extract.
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    auto dataType = op.getData().getType();
    int64_t axis = op.getAxis();
    int64_t indexRank = op.getIndices().getType().getRank();
    unsigned rank = type.getRank();
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineExpr> indexExprs;
    for (int64_t d = 0; d < indexRank; ++d)
      indexExprs.push_back(getAffineDimExpr(axis + d, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, indexExprs, ctx),
                                   rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    Value data = adaptor.getData();
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, adaptor.getIndices(), emptyLike(rewriter, loc, type), maps,
        iterators, [&](OpBuilder &b, Location nested, ValueRange args) {
          SmallVector<Value> position;
          for (int64_t d = 0; d < axis; ++d)
            position.push_back(linalg::IndexOp::create(b, nested, d));
          position.push_back(clampedIndex(b, nested, args[0], dataType.getDimSize(axis)));
          for (int64_t d = axis + 1; d < dataType.getRank(); ++d)
            position.push_back(linalg::IndexOp::create(b, nested, d - 1 + indexRank));
          Value element = tensor::ExtractOp::create(b, nested, data, position);
          linalg::YieldOp::create(b, nested, element);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// scatter: a sequential loop over the updates, in order, so that repeated
/// indices resolve as the op says (the last write wins for `none`).
struct ScatterLowering : OpConversionPattern<ScatterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elementType = op.getData().getType().getElementType();
    if (!isSupportedElement(elementType))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    int64_t size = op.getData().getType().getDimSize(0);
    int64_t count = op.getIndices().getType().getDimSize(0);
    ScatterKind kind = op.getKind();
    Value lower = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value upper = arith::ConstantIndexOp::create(rewriter, loc, count);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto loop = scf::ForOp::create(
        rewriter, loc, lower, upper, step, ValueRange{adaptor.getData()},
        [&](OpBuilder &b, Location nested, Value i, ValueRange carried) {
          Value index = tensor::ExtractOp::create(b, nested, indices, ValueRange{i});
          Value position = clampedIndex(b, nested, index, size);
          Value update = tensor::ExtractOp::create(b, nested, updates, ValueRange{i});
          Value current = carried[0];
          if (kind != ScatterKind::none) {
            Value old = tensor::ExtractOp::create(b, nested, current, ValueRange{position});
            ReduceKind combiner = kind == ScatterKind::add   ? ReduceKind::sum
                                  : kind == ScatterKind::mul ? ReduceKind::prod
                                  : kind == ScatterKind::max ? ReduceKind::max
                                                             : ReduceKind::min;
            update = combine(b, nested, combiner, elementType, old, update);
          }
          Value next = tensor::InsertOp::create(b, nested, update, current, ValueRange{position});
          scf::YieldOp::create(b, nested, next);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

/// top_k becomes other dlc ops, which this pass then lowers: each element's
/// rank is the number of elements that beat it (ties go to the lower index),
/// and output position r picks the element whose rank is r. It costs n² per
/// row, fine for the class counts and sequence lengths top-k is used on.
struct TopKDecomposition : OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getOperand().getType();
    Type elementType = inType.getElementType();
    Type i64 = rewriter.getI64Type();
    int64_t rank = inType.getRank(), dim = op.getDim(), k = op.getK();
    int64_t n = inType.getDimSize(dim);
    // Move `dim` last: x is [B..., n].
    SmallVector<int64_t> perm, inverse(rank);
    for (int64_t d = 0; d < rank; ++d)
      if (d != dim)
        perm.push_back(d);
    perm.push_back(dim);
    for (int64_t d = 0; d < rank; ++d)
      inverse[perm[d]] = d;
    Value x = TransposeOp::create(rewriter, loc, adaptor.getOperand(),
                                  rewriter.getDenseI64ArrayAttr(perm));
    SmallVector<int64_t> batch;
    for (int64_t d : ArrayRef<int64_t>(perm).drop_back())
      batch.push_back(inType.getDimSize(d));
    int64_t b = batch.size();
    auto shaped = [&](ArrayRef<int64_t> tail, Type t) {
      SmallVector<int64_t> shape(batch);
      shape.append(tail.begin(), tail.end());
      return RankedTensorType::get(shape, t);
    };
    auto dimsUpTo = [&](int64_t count) {
      SmallVector<int64_t> dims;
      for (int64_t d = 0; d < count; ++d)
        dims.push_back(d);
      return dims;
    };
    // Pairs [B..., i, j]: mine = x[i], other = x[j].
    SmallVector<int64_t> keepI = dimsUpTo(b), keepJ = dimsUpTo(b);
    keepI.push_back(b);
    keepJ.push_back(b + 1);
    auto pairType = shaped({n, n}, elementType);
    Value mine = BroadcastOp::create(rewriter, loc, pairType, x, rewriter.getDenseI64ArrayAttr(keepI));
    Value other = BroadcastOp::create(rewriter, loc, pairType, x, rewriter.getDenseI64ArrayAttr(keepJ));
    auto pairIndex = shaped({n, n}, i64);
    Value iIndex = IotaOp::create(rewriter, loc, pairIndex, b);
    Value jIndex = IotaOp::create(rewriter, loc, pairIndex, b + 1);
    Value strictlyBetter = CompareOp::create(
        rewriter, loc, op.getLargest() ? CompareDirection::gt : CompareDirection::lt, other, mine);
    Value tieBefore = AndOp::create(
        rewriter, loc, CompareOp::create(rewriter, loc, CompareDirection::eq, other, mine),
        CompareOp::create(rewriter, loc, CompareDirection::lt, jIndex, iIndex));
    Value beats = ConvertOp::create(rewriter, loc, pairIndex,
                                    OrOp::create(rewriter, loc, strictlyBetter, tieBefore));
    Value ranks = ReduceOp::create(rewriter, loc, ReduceKind::sum, beats,
                                   rewriter.getDenseI64ArrayAttr({b + 1}));
    // Picks [B..., r, i]: element i goes to output r when its rank is r.
    auto pickIndex = shaped({k, n}, i64);
    SmallVector<int64_t> alongI = dimsUpTo(b);
    alongI.push_back(b + 1);
    Value rankOfI = BroadcastOp::create(rewriter, loc, pickIndex, ranks,
                                        rewriter.getDenseI64ArrayAttr(alongI));
    Value picked = CompareOp::create(rewriter, loc, CompareDirection::eq, rankOfI,
                                     IotaOp::create(rewriter, loc, pickIndex, b));
    auto pickValues = shaped({k, n}, elementType);
    Value candidates = BroadcastOp::create(rewriter, loc, pickValues, x,
                                           rewriter.getDenseI64ArrayAttr(alongI));
    auto zeros = [&](RankedTensorType type) -> Value {
      Type t = type.getElementType();
      Attribute zero = isa<FloatType>(t) ? Attribute(rewriter.getFloatAttr(t, 0.0))
                                         : Attribute(rewriter.getIntegerAttr(t, 0));
      return ConstantOp::create(rewriter, loc, DenseElementsAttr::get(type, zero));
    };
    Value values = ReduceOp::create(
        rewriter, loc, ReduceKind::sum,
        SelectOp::create(rewriter, loc, picked, candidates, zeros(pickValues)),
        rewriter.getDenseI64ArrayAttr({b + 1}));
    Value indices = ReduceOp::create(
        rewriter, loc, ReduceKind::sum,
        SelectOp::create(rewriter, loc, picked, IotaOp::create(rewriter, loc, pickIndex, b + 1),
                         zeros(pickIndex)),
        rewriter.getDenseI64ArrayAttr({b + 1}));
    // Back to the original dimension order.
    Value outValues = TransposeOp::create(rewriter, loc, values, rewriter.getDenseI64ArrayAttr(inverse));
    Value outIndices = TransposeOp::create(rewriter, loc, indices, rewriter.getDenseI64ArrayAttr(inverse));
    if (outIndices.getType() != op.getIndices().getType())
      outIndices = ConvertOp::create(rewriter, loc, op.getIndices().getType(), outIndices);
    rewriter.replaceOp(op, {outValues, outIndices});
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
  // Identities are built in the signless compute type; filled() casts.
  unsigned width = elementType.getIntOrFloatBitWidth();
  bool isUnsigned = elementType.isUnsignedInteger();
  Type type = computeType(elementType);
  switch (kind) {
  case ReduceKind::sum:
    return b.getIntegerAttr(type, 0);
  case ReduceKind::prod:
    return b.getIntegerAttr(type, 1);
  case ReduceKind::max:
    return b.getIntegerAttr(type, isUnsigned ? APInt::getZero(width)
                                             : APInt::getSignedMinValue(width));
  case ReduceKind::min:
    return b.getIntegerAttr(type, isUnsigned ? APInt::getMaxValue(width)
                                             : APInt::getSignedMaxValue(width));
  }
  llvm_unreachable("unknown reduce kind");
}

/// Copies `source` into a tensor of `type` filled with `value`, at `low`
/// offsets and with `strides` (strides > 1 spread the elements out, which
/// is how a convolution's input dilation is made).
Value embed(OpBuilder &b, Location loc, Value source, RankedTensorType type,
            TypedAttr value, ArrayRef<int64_t> low, ArrayRef<int64_t> strides) {
  Value result = filled(b, loc, type, value);
  auto sourceType = cast<RankedTensorType>(source.getType());
  return tensor::InsertSliceOp::create(b, loc, source, result, ValueRange{},
                                       ValueRange{}, ValueRange{}, low,
                                       sourceType.getShape(), strides);
}

/// A convolution's input [N, C, D...] spread by `lhsDilation` and padded
/// with `zero` by `low` and `high` along its spatial dimensions.
Value paddedInput(OpBuilder &b, Location loc, Value input, TypedAttr zero,
                  ArrayRef<int64_t> lhsDilation, ArrayRef<int64_t> low, ArrayRef<int64_t> high) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1)};
  SmallVector<int64_t> offsets = {0, 0}, strides = {1, 1};
  for (size_t i = 0; i < low.size(); ++i) {
    int64_t in = type.getDimSize(i + 2), dilation = lhsDilation[i];
    int64_t dilated = in == 0 ? 0 : (in - 1) * dilation + 1;
    shape.push_back(dilated + low[i] + high[i]);
    offsets.push_back(low[i]);
    strides.push_back(dilation);
  }
  return embed(b, loc, input, RankedTensorType::get(shape, type.getElementType()), zero,
               offsets, strides);
}

/// Windows that tile the operand exactly (stride = window, no padding or
/// dilation: the usual 2×2 pooling) and hold at most 16 elements: one
/// all-parallel generic that reads each window offset as an input of its
/// own (map d·stride + offset) and combines them, with no fill of the
/// result and no reduction loops (LLVM vectorizes the stride-2 reads as
/// interleaved loads). Null for other windows.
Value tiledWindows(OpBuilder &b, ReduceWindowOp op, Value operand) {
  auto inType = cast<RankedTensorType>(operand.getType());
  auto type = cast<RankedTensorType>(op.getType());
  int64_t rank = inType.getRank(), elements = 1;
  for (int64_t window : op.getWindow())
    elements *= window;
  if (!op.windowsTileOperand() || elements > 16)
    return {};
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (int64_t index = 0; index < elements; ++index) {
    // The offsets of window element `index`, row-major over the window.
    SmallVector<AffineExpr> exprs(rank);
    int64_t rest = index;
    for (int64_t d = rank - 1; d >= 0; --d) {
      int64_t window = op.getWindow()[d];
      exprs[d] = getAffineDimExpr(d, ctx) * window + rest % window;
      rest /= window;
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    inputs.push_back(operand);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Type elementType = type.getElementType();
  Value empty = tensor::EmptyOp::create(b, op.getLoc(), type.getShape(), elementType);
  auto generic = linalg::GenericOp::create(
      b, op.getLoc(), type, inputs, ValueRange{empty}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nested, ValueRange args) {
        Value result = args[0];
        for (int64_t index = 1; index < elements; ++index)
          result = combine(nb, nested, op.getKind(), elementType, result, args[index]);
        linalg::YieldOp::create(nb, nested, result);
      });
  return generic.getResult(0);
}

/// reduce_window: pad with the kind's identity, then a generic whose
/// reduction dimensions walk the window (their bounds come from an empty
/// tensor of the window's shape).
struct ReduceWindowLowering : OpConversionPattern<ReduceWindowOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReduceWindowOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getOperand().getType();
    auto type = cast<RankedTensorType>(op.getType());
    Type elementType = type.getElementType();
    if (!isSupportedElement(elementType))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    ReduceKind kind = op.getKind();
    TypedAttr identity = reductionIdentity(rewriter, kind, elementType);
    int64_t rank = inType.getRank();
    if (Value tiled = tiledWindows(rewriter, op, adaptor.getOperand())) {
      rewriter.replaceOp(op, tiled);
      return success();
    }
    SmallVector<int64_t> paddedShape, ones(rank, 1);
    for (int64_t d = 0; d < rank; ++d)
      paddedShape.push_back(inType.getDimSize(d) + op.getPadLow()[d] + op.getPadHigh()[d]);
    Value padded = embed(rewriter, loc, adaptor.getOperand(),
                         RankedTensorType::get(paddedShape, elementType), identity,
                         op.getPadLow(), ones);
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineExpr> inputExprs, windowExprs, outputExprs;
    for (int64_t d = 0; d < rank; ++d) {
      AffineExpr o = getAffineDimExpr(d, ctx), k = getAffineDimExpr(rank + d, ctx);
      inputExprs.push_back(o * op.getStrides()[d] + k * op.getDilations()[d]);
      windowExprs.push_back(k);
      outputExprs.push_back(o);
    }
    SmallVector<AffineMap> maps = {AffineMap::get(2 * rank, 0, inputExprs, ctx),
                                   AffineMap::get(2 * rank, 0, windowExprs, ctx),
                                   AffineMap::get(2 * rank, 0, outputExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    iterators.append(rank, utils::IteratorType::reduction);
    Value window = tensor::EmptyOp::create(rewriter, loc, op.getWindow(), elementType);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{padded, window},
        filled(rewriter, loc, type, identity), maps, iterators,
        [&](OpBuilder &b, Location nested, ValueRange args) {
          linalg::YieldOp::create(b, nested,
                                  combine(b, nested, kind, elementType, args[2], args[0]));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// conv: dilate and pad the input into a zero tensor, split channels into
/// groups, and contract in one generic:
///   out[n, g, m, o...] += in[n, g, c, o * stride + k * dilation] * w[g, m, c, k]
/// A float32 2-D convolution with one group is computed by the runtime's
/// kernels (dlc-cpu-kernel-calls):
///
///   pointwise (1×1, stride 1):  out[n] = filter · input[n]   [O, HO·WO]
///     one linalg.batch_matmul over the images, reading the input in place
///     (the filter operand has no batch dimension): dlc_gemm_f32;
///   any other:  one linalg.generic marked `dlc.conv2d`: dlc_conv2d_f32, an
///     implicit GEMM that packs patches from the images as it needs them
///     (an im2col buffer per image, copied again into the GEMM's panels,
///     took half of a small CNN's training step).
///
/// A float32 2-D depthwise convolution (a group per input and output
/// channel) is one linalg.generic marked `dlc.depthwise_conv2d`:
/// dlc_depthwise_conv2d_f32.
///
/// The implicit GEMM's `input` is already padded (and dilated); the
/// depthwise generic reads its padding as zeros (convDepthwise).
///
/// With an epilogue (a dlc.fused_conv), the product is followed by a
/// linalg.generic marked `dlc.epilogue` that updates it in place:
///   out[n, o, p] = min(max(out[n, o, p] · scale[o] + shift[o]
///                          + residual[n, o, p], min), max)
/// (absent terms left out), which dlc-cpu-kernel-calls folds into the call.
struct ConvEpilogue {
  Value scale, shift, residual, min, max; ///< residual [N, O, HO, WO]
};

/// Applies `epilogue` to `product` ([N, O, P] or [N, O, HO, WO]) in
/// place; `residual` has the product's shape.
Value applyEpilogue(OpBuilder &b, Location loc, Value product, const ConvEpilogue &epilogue,
                    Value residual) {
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  const unsigned rank = cast<RankedTensorType>(product.getType()).getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap perChannel = AffineMap::get(rank, 0, {d(1)}, ctx);
  AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  auto add = [&](Value value, AffineMap map) {
    if (!value)
      return;
    inputs.push_back(value);
    maps.push_back(map);
  };
  add(epilogue.scale, perChannel);
  add(epilogue.shift, perChannel);
  add(residual, identity);
  // A constant bound (ReLU's zero) goes into the body as a scalar now: the
  // canonicalizer would otherwise fold it there by rebuilding the generic,
  // without its mark.
  auto constantBound = [](Value bound) -> FloatAttr {
    DenseElementsAttr value;
    if (bound && matchPattern(bound, m_Constant(&value)) && value.isSplat())
      return value.getSplatValue<FloatAttr>();
    return {};
  };
  FloatAttr minConstant = constantBound(epilogue.min), maxConstant = constantBound(epilogue.max);
  if (!minConstant)
    add(epilogue.min, scalar);
  if (!maxConstant)
    add(epilogue.max, scalar);
  maps.push_back(identity);
  auto generic = linalg::GenericOp::create(
      b, loc, product.getType(), inputs, ValueRange{product}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nested, ValueRange args) {
        // args: the present terms in order, then the product's element.
        Value v = args.back();
        unsigned next = 0;
        if (epilogue.scale)
          v = arith::MulFOp::create(nb, nested, v, args[next++]);
        if (epilogue.shift)
          v = arith::AddFOp::create(nb, nested, v, args[next++]);
        if (residual)
          v = arith::AddFOp::create(nb, nested, v, args[next++]);
        auto bound = [&](FloatAttr constant) -> Value {
          if (constant)
            return arith::ConstantOp::create(nb, nested, constant);
          return args[next++];
        };
        if (epilogue.min)
          v = arith::MaximumFOp::create(nb, nested, v, bound(minConstant));
        if (epilogue.max)
          v = arith::MinimumFOp::create(nb, nested, v, bound(maxConstant));
        linalg::YieldOp::create(nb, nested, v);
      });
  generic->setAttr(kEpilogueAttribute, UnitAttr::get(ctx));
  return generic.getResult(0);
}

/// The float32 sum `out += term(arguments)` over `maps` and `iterators`
/// (from zeros) as one linalg.generic on `inputs` marked `mark` with
/// `values`, which dlc-cpu-kernel-calls turns into a runtime call, then
/// `epilogue` (if any) on the whole result.
Value markedConvolution(ConversionPatternRewriter &rewriter, Location loc,
                        RankedTensorType type, ValueRange inputs, ArrayRef<AffineMap> maps,
                        ArrayRef<utils::IteratorType> iterators, StringRef mark,
                        ArrayRef<int64_t> values,
                        function_ref<Value(OpBuilder &, Location, ValueRange)> term,
                        const ConvEpilogue *epilogue) {
  auto conv = linalg::GenericOp::create(
      rewriter, loc, type, inputs, filled(rewriter, loc, type, rewriter.getF32FloatAttr(0)),
      maps, iterators, [&](OpBuilder &b, Location nested, ValueRange args) {
        Value product = term(b, nested, args);
        linalg::YieldOp::create(b, nested,
                                arith::AddFOp::create(b, nested, args.back(), product).getResult());
      });
  conv->setAttr(mark, rewriter.getDenseI64ArrayAttr(values));
  if (!epilogue)
    return conv.getResult(0);
  return applyEpilogue(rewriter, loc, conv.getResult(0), *epilogue, epilogue->residual);
}

/// A 2-D convolution with one group that is not pointwise, as one
/// linalg.generic over the padded input marked kConv2dAttribute, which
/// dlc-cpu-kernel-calls turns into the runtime's implicit GEMM (no patches
/// buffer; see dlc_conv2d_f32), then the epilogue on the whole result:
///   out[n, o, y, x] += in[n, c, y·sh + i·dh, x·sw + j·dw] · filter[o, c, i, j]
/// `epilogue`'s residual is [N, O, HO, WO].
Value convAsImplicitGemm(ConversionPatternRewriter &rewriter, Location loc,
                         RankedTensorType type, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> dilations, Value input, Value filter,
                         const ConvEpilogue *epilogue) {
  MLIRContext *ctx = rewriter.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Loops: n, o, y, x (parallel), c, i, j (reduction).
  SmallVector<AffineMap> maps = {
      AffineMap::get(7, 0,
                     {d(0), d(4), d(2) * strides[0] + d(5) * dilations[0],
                      d(3) * strides[1] + d(6) * dilations[1]},
                     ctx),
      AffineMap::get(7, 0, {d(1), d(4), d(5), d(6)}, ctx),
      AffineMap::get(7, 0, {d(0), d(1), d(2), d(3)}, ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(3, utils::IteratorType::reduction);
  return markedConvolution(
      rewriter, loc, type, ValueRange{input, filter}, maps, iterators, kConv2dAttribute,
      {strides[0], strides[1], dilations[0], dilations[1]},
      [](OpBuilder &b, Location nested, ValueRange args) -> Value {
        return arith::MulFOp::create(b, nested, args[0], args[1]);
      },
      epilogue);
}

/// `conv`, a float32 2-D depthwise convolution (filter [C, 1, KH, KW]) of
/// `input` spread by `lhsDilation` and padded by `padLow` and `padHigh`,
/// as one linalg.generic marked kDepthwiseConv2dAttribute, which
/// dlc-cpu-kernel-calls turns into the runtime's dlc_depthwise_conv2d_f32
/// (its epilogue folded in), then the epilogue:
///   out[n, c, y, x] += in[n, c, y·sh + i·dh - pt, x·sw + j·dw - pl] · filter[c, i, j]
/// The padding is never stored where padsImplicitly(conv) says so: the
/// generic's body reads the input itself and takes zero outside it (which
/// a map could not say). Otherwise (input dilation, an input without
/// elements) the input is copied into a zero tensor first and read with no
/// padding of the generic's own. The loops run along an output row
/// innermost (n, c, y, i, j, x), so that the generic, where it stays one,
/// vectorizes along the row.
Value convDepthwise(ConversionPatternRewriter &rewriter, Location loc, Operation *conv,
                    RankedTensorType type, ArrayRef<int64_t> strides,
                    ArrayRef<int64_t> dilations, ArrayRef<int64_t> lhsDilation,
                    ArrayRef<int64_t> padLow, ArrayRef<int64_t> padHigh, Value input,
                    Value filter, const ConvEpilogue *epilogue) {
  if (!padsImplicitly(conv)) {
    input = paddedInput(rewriter, loc, input, rewriter.getF32FloatAttr(0), lhsDilation, padLow,
                        padHigh);
    static constexpr int64_t kNone[] = {0, 0};
    padLow = kNone;
  }
  MLIRContext *ctx = rewriter.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto filterType = cast<RankedTensorType>(filter.getType());
  auto inputType = cast<RankedTensorType>(input.getType());
  Value perChannel = tensor::CollapseShapeOp::create(
      rewriter, loc,
      RankedTensorType::get(
          {filterType.getDimSize(0), filterType.getDimSize(2), filterType.getDimSize(3)},
          filterType.getElementType()),
      filter, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  SmallVector<AffineMap> maps = {AffineMap::get(6, 0, {d(1), d(3), d(4)}, ctx),
                                 AffineMap::get(6, 0, {d(0), d(1), d(2), d(5)}, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {IteratorType::parallel,  IteratorType::parallel,
                                         IteratorType::parallel,  IteratorType::reduction,
                                         IteratorType::reduction, IteratorType::parallel};
  // in[n, c, y·sh + i·dh - pt, x·sw + j·dw - pl], or 0 outside the input.
  auto term = [&](OpBuilder &b, Location nested, ValueRange args) -> Value {
    auto index = [&](int64_t loop) -> Value { return linalg::IndexOp::create(b, nested, loop); };
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, nested, value);
    };
    // position·stride + tap·dilation - pad, and whether it lies in [0, size).
    auto coordinate = [&](int64_t position, int64_t tap, int64_t dim) {
      Value at = arith::AddIOp::create(
          b, nested, arith::MulIOp::create(b, nested, index(position), constant(strides[dim])),
          arith::MulIOp::create(b, nested, index(tap), constant(dilations[dim])));
      at = arith::SubIOp::create(b, nested, at, constant(padLow[dim]));
      // Unsigned, a negative coordinate is out of range too.
      Value inside = arith::CmpIOp::create(b, nested, arith::CmpIPredicate::ult, at,
                                           constant(inputType.getDimSize(2 + dim)));
      return std::make_pair(at, inside);
    };
    auto [row, rowInside] = coordinate(2, 3, 0);
    auto [column, columnInside] = coordinate(5, 4, 1);
    Value inside = arith::AndIOp::create(b, nested, rowInside, columnInside);
    Value zeroIndex = constant(0);
    Value value = tensor::ExtractOp::create(
        b, nested, input,
        ValueRange{index(0), index(1), arith::SelectOp::create(b, nested, inside, row, zeroIndex),
                   arith::SelectOp::create(b, nested, inside, column, zeroIndex)});
    Value zero = arith::ConstantOp::create(b, nested, b.getF32FloatAttr(0));
    value = arith::SelectOp::create(b, nested, inside, value, zero);
    return arith::MulFOp::create(b, nested, value, args[0]);
  };
  return markedConvolution(rewriter, loc, type, ValueRange{perChannel}, maps, iterators,
                           kDepthwiseConv2dAttribute,
                           {strides[0], strides[1], dilations[0], dilations[1], padLow[0],
                            padLow[1]},
                           term, epilogue);
}

Value convAsMatmul(ConversionPatternRewriter &rewriter, Location loc, RankedTensorType type,
                   ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations, Value input,
                   Value filter, const ConvEpilogue *epilogue = nullptr,
                   bool writesPaddedInterior = false) {
  MLIRContext *ctx = rewriter.getContext();
  Type f32 = type.getElementType();
  auto inType = cast<RankedTensorType>(input.getType());
  auto filterType = cast<RankedTensorType>(filter.getType());
  int64_t N = inType.getDimSize(0), C = inType.getDimSize(1);
  int64_t HP = inType.getDimSize(2), WP = inType.getDimSize(3);
  int64_t O = filterType.getDimSize(0), KH = filterType.getDimSize(2),
          KW = filterType.getDimSize(3);
  int64_t HO = type.getDimSize(2), WO = type.getDimSize(3);
  int64_t P = HO * WO;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

  // A 1×1 convolution with stride 1 reads its input in place as the
  // product's right operand: no patches. Any other is an implicit GEMM.
  // (Unless its result goes into the next layer's padding: the GEMM
  // writes a dense [O, HO·WO] result, the implicit GEMM writes rows of the
  // padded interior in place, epilogue included.)
  const bool pointwise =
      KH == 1 && KW == 1 && strides[0] == 1 && strides[1] == 1 && HP == HO && WP == WO;
  if (!pointwise || writesPaddedInterior)
    return convAsImplicitGemm(rewriter, loc, type, strides, dilations, input, filter, epilogue);

  // out[n, O, P] += weights[O, C] · images[n, C, P] for all images in one
  // batched product: with a batch at least as large as the thread pool,
  // each thread computes whole products (no split, no sync).
  Value weights = tensor::CollapseShapeOp::create(
      rewriter, loc, RankedTensorType::get({O, C}, f32), filter,
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  Value images = tensor::CollapseShapeOp::create(
      rewriter, loc, RankedTensorType::get({N, C, P}, f32), input,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  // The product starts from zeros of the convolution's own shape, viewed
  // as [N, O, P]: when the result is copied into a bigger tensor (the next
  // convolution's padding), empty-tensor elimination finds an empty tensor
  // of the copied type and the GEMM writes into the bigger tensor directly.
  Value init = tensor::CollapseShapeOp::create(
      rewriter, loc, filled(rewriter, loc, type, rewriter.getF32FloatAttr(0)),
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  // (b, m, n, k): the filter has no batch dimension.
  SmallVector<Attribute> productMaps = {
      AffineMapAttr::get(AffineMap::get(4, 0, {d(1), d(3)}, ctx)),
      AffineMapAttr::get(AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx)),
      AffineMapAttr::get(AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx))};
  auto product = linalg::BatchMatmulOp::create(rewriter, loc, TypeRange{init.getType()},
                                               ValueRange{weights, images}, ValueRange{init});
  product.setIndexingMapsAttr(rewriter.getArrayAttr(productMaps));
  Value result = product.getResult(0);
  if (epilogue) {
    Value residual;
    if (epilogue->residual)
      residual = tensor::CollapseShapeOp::create(
          rewriter, loc, epilogue->residual, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    result = applyEpilogue(rewriter, loc, result, *epilogue, residual);
  }
  return tensor::ExpandShapeOp::create(rewriter, loc, type, result,
                                       SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
}

struct ConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    auto filterType = op.getFilter().getType();
    auto type = cast<RankedTensorType>(op.getType());
    Type elementType = type.getElementType();
    if (!isSupportedElement(elementType))
      return rewriter.notifyMatchFailure(op, "unsigned integers are not lowered yet");
    int64_t spatial = inType.getRank() - 2;
    int64_t groups = op.getGroups();
    int64_t N = inType.getDimSize(0), C = inType.getDimSize(1);
    int64_t O = filterType.getDimSize(0);
    int64_t Cg = C / groups, Mg = O / groups;
    TypedAttr zero = reductionIdentity(rewriter, ReduceKind::sum, elementType);

    if (elementType.isF32() && spatial == 2 && groups != 1 && groups == C && O == C) {
      rewriter.replaceOp(op, convDepthwise(rewriter, loc, op, type, op.getStrides(),
                                           op.getDilations(), op.getLhsDilation(),
                                           op.getPadLow(), op.getPadHigh(), adaptor.getInput(),
                                           adaptor.getFilter(), /*epilogue=*/nullptr));
      return success();
    }
    Value input = paddedInput(rewriter, loc, adaptor.getInput(), zero, op.getLhsDilation(),
                              op.getPadLow(), op.getPadHigh());

    if (elementType.isF32() && spatial == 2 && groups == 1) {
      rewriter.replaceOp(op, convAsMatmul(rewriter, loc, type, op.getStrides(),
                                          op.getDilations(), input, adaptor.getFilter()));
      return success();
    }

    // [N, C, P...] -> [N, G, Cg, P...]; [O, Cg, K...] -> [G, Mg, Cg, K...].
    auto splitDim = [&](Value v, int64_t dim, int64_t outer, int64_t inner) {
      auto vType = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape;
      SmallVector<ReassociationIndices> groupsOf;
      for (int64_t d = 0, r = 0; d < vType.getRank(); ++d) {
        if (d == dim) {
          shape.append({outer, inner});
          groupsOf.push_back({r, r + 1});
          r += 2;
        } else {
          shape.push_back(vType.getDimSize(d));
          groupsOf.push_back({r++});
        }
      }
      return tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get(shape, elementType), v, groupsOf);
    };
    Value groupedInput = splitDim(input, 1, groups, Cg);
    Value groupedFilter = splitDim(adaptor.getFilter(), 0, groups, Mg);

    // Iteration space: n, g, m, o_1..o_s (parallel), c, k_1..k_s (reduction),
    // with o_s moved innermost: the loops over the filter run outside a loop
    // along an output row, which LLVM vectorizes (each output element still
    // sums its terms in the same order). Grouped convolutions other than
    // float32 2-D depthwise ones are this loop nest.
    MLIRContext *ctx = op.getContext();
    unsigned numDims = 3 + 2 * spatial + 1;
    unsigned lastOutput = 2 + spatial;
    auto dim = [&](unsigned d) {
      unsigned loop = d == lastOutput ? numDims - 1 : d > lastOutput ? d - 1 : d;
      return getAffineDimExpr(loop, ctx);
    };
    AffineExpr n = dim(0), g = dim(1), m = dim(2), c = dim(3 + spatial);
    SmallVector<AffineExpr> inExprs = {n, g, c}, filterExprs = {g, m, c},
                            outExprs = {n, g, m};
    for (int64_t i = 0; i < spatial; ++i) {
      AffineExpr o = dim(3 + i), k = dim(4 + spatial + i);
      inExprs.push_back(o * op.getStrides()[i] + k * op.getDilations()[i]);
      filterExprs.push_back(k);
      outExprs.push_back(o);
    }
    SmallVector<AffineMap> maps = {AffineMap::get(numDims, 0, inExprs, ctx),
                                   AffineMap::get(numDims, 0, filterExprs, ctx),
                                   AffineMap::get(numDims, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(2 + spatial, utils::IteratorType::parallel);
    iterators.append(1 + spatial, utils::IteratorType::reduction);
    iterators.push_back(utils::IteratorType::parallel);
    SmallVector<int64_t> groupedOut = {N, groups, Mg};
    llvm::append_range(groupedOut, type.getShape().drop_front(2));
    auto groupedType = RankedTensorType::get(groupedOut, elementType);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, groupedType, ValueRange{groupedInput, groupedFilter},
        filled(rewriter, loc, groupedType, zero), maps, iterators,
        [&](OpBuilder &b, Location nested, ValueRange args) {
          Type c = computeType(elementType);
          SmallVector<Value> product = {castTo(b, nested, args[0], c),
                                        castTo(b, nested, args[1], c)};
          Value term = castTo(b, nested, scalarMul(b, nested, elementType, product), elementType);
          linalg::YieldOp::create(
              b, nested, combine(b, nested, ReduceKind::sum, elementType, args[2], term));
        });
    SmallVector<ReassociationIndices> merge = {{0}, {1, 2}};
    for (int64_t i = 0; i < spatial; ++i)
      merge.push_back({3 + i});
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, type, generic.getResult(0), merge);
    return success();
  }
};

/// fused_conv: the convolution as GEMMs (convAsMatmul), or a depthwise
/// one as its own kernel (convDepthwise), with its epilogue after each
/// product.
struct FusedConvLowering : OpConversionPattern<FusedConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FusedConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    ConvEpilogue epilogue{adaptor.getScale(), adaptor.getShift(), adaptor.getResidual(),
                          adaptor.getMin(), adaptor.getMax()};
    if (op.getGroups() != 1) {
      rewriter.replaceOp(op, convDepthwise(rewriter, loc, op, type, op.getStrides(),
                                           op.getDilations(), {1, 1}, op.getPadLow(),
                                           op.getPadHigh(), adaptor.getInput(),
                                           adaptor.getFilter(), &epilogue));
      return success();
    }
    Value input = paddedInput(rewriter, loc, adaptor.getInput(), rewriter.getF32FloatAttr(0),
                              {1, 1}, op.getPadLow(), op.getPadHigh());

    rewriter.replaceOp(op, convAsMatmul(rewriter, loc, type, op.getStrides(),
                                        op.getDilations(), input, adaptor.getFilter(),
                                        &epilogue, feedsSpatialPadding(op.getResult())));
    return success();
  }
};

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
          Value sum = combine(b, nestedLoc, kind, elementType, args[1], args[0]);
          // A float sum may be reassociated, so that LLVM vectorizes it
          // with partial sums (a sequential sum runs at one add per four
          // cycles: a bias gradient over a batch of feature maps took 2%
          // of a CNN's training step). The order is still the same on
          // every run.
          if (auto add = sum.getDefiningOp<arith::AddFOp>())
            add.setFastmath(arith::FastMathFlags::reassoc);
          linalg::YieldOp::create(b, nestedLoc, sum);
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
    if (elementType.isUnsignedInteger())
      return rewriter.notifyMatchFailure(op, "unsigned matrix products are not lowered yet");
    TypedAttr zero = reductionIdentity(rewriter, ReduceKind::sum, elementType);
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    int64_t rank = resultType.getRank();
    // A right operand that is a transpose of its last two dimensions (ONNX
    // Gemm's transB, attention's K^T) is read transposed by the product
    // instead of being materialized.
    bool transposedRhs = false;
    if (auto transpose = op.getRhs().getDefiningOp<TransposeOp>()) {
      SmallVector<int64_t> swapLast = llvm::to_vector(llvm::seq<int64_t>(0, rank));
      std::swap(swapLast[rank - 1], swapLast[rank - 2]);
      if (llvm::ArrayRef(transpose.getPerm()) == llvm::ArrayRef(swapLast)) {
        rhs = rewriter.getRemappedValue(transpose.getOperand());
        transposedRhs = rhs != nullptr;
        if (!rhs)
          rhs = adaptor.getRhs();
      }
    }
    MLIRContext *ctx = op.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    if (rank == 2) {
      // So is a transposed left operand (a weight gradient's Xᵀ·dY).
      bool transposedLhs = false;
      if (auto transpose = op.getLhs().getDefiningOp<TransposeOp>())
        if (llvm::ArrayRef(transpose.getPerm()) == llvm::ArrayRef<int64_t>{1, 0})
          if (Value source = rewriter.getRemappedValue(transpose.getOperand())) {
            lhs = source;
            transposedLhs = true;
          }
      Value init = filled(rewriter, loc, resultType, zero);
      auto product = linalg::MatmulOp::create(rewriter, loc, ValueRange{lhs, rhs}, init);
      if (transposedLhs || transposedRhs)
        // (m, n, k): A is read as [k, m], B as [n, k].
        product.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(
            {AffineMap::get(3, 0, transposedLhs ? ArrayRef{d(2), d(0)} : ArrayRef{d(0), d(2)},
                            ctx),
             AffineMap::get(3, 0, transposedRhs ? ArrayRef{d(1), d(2)} : ArrayRef{d(2), d(1)},
                            ctx),
             AffineMap::get(3, 0, {d(0), d(1)}, ctx)}));
      rewriter.replaceOp(op, product.getResult(0));
      return success();
    }
    // A batch of rows times one matrix broadcast over the batch (a dense
    // layer on [batch, sequence, hidden]) is one matrix product on
    // [batch · sequence, hidden]: the weight is read in place, not copied
    // once per batch entry, and its packing is kept.
    auto broadcast = op.getRhs().getDefiningOp<BroadcastOp>();
    if (!transposedRhs && broadcast &&
        broadcast.getOperand().getType().getRank() == 2 &&
        llvm::ArrayRef(broadcast.getDims()) == llvm::ArrayRef<int64_t>{rank - 2, rank - 1}) {
      Value matrix = rewriter.getRemappedValue(broadcast.getOperand());
      if (matrix) {
        SmallVector<ReassociationIndices> rows(2);
        for (int64_t d = 0; d < rank - 1; ++d)
          rows[0].push_back(d);
        rows[1].push_back(rank - 1);
        Value flat = tensor::CollapseShapeOp::create(rewriter, loc, lhs, rows);
        auto flatType = RankedTensorType::get(
            {cast<RankedTensorType>(flat.getType()).getDimSize(0), resultType.getDimSize(rank - 1)},
            elementType);
        Value init = filled(rewriter, loc, flatType, zero);
        auto product = linalg::MatmulOp::create(rewriter, loc, ValueRange{flat, matrix}, init);
        rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, resultType, product.getResult(0),
                                                           rows);
        return success();
      }
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
        {lhsType.getDimSize(0), lhsType.getDimSize(1),
         rhsType.getDimSize(transposedRhs ? 1 : 2)},
        elementType);
    Value init = filled(rewriter, loc, batchType, zero);
    auto batched = linalg::BatchMatmulOp::create(rewriter, loc, ValueRange{lhs, rhs}, init);
    if (transposedRhs)
      // (b, m, n, k): B is read as [b, n, k].
      batched.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(
          {AffineMap::get(4, 0, {d(0), d(1), d(3)}, ctx),
           AffineMap::get(4, 0, {d(0), d(2), d(3)}, ctx),
           AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)}));
    Value product = batched.getResult(0);
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
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
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
                 ElementwiseLowering<NegOp, scalarNeg>,
                 ElementwiseLowering<RemOp, scalarRem>,
                 ElementwiseLowering<PowOp, scalarPow>,
                 ElementwiseLowering<AndOp, scalarAnd>,
                 ElementwiseLowering<OrOp, scalarOr>,
                 ElementwiseLowering<XorOp, scalarXor>,
                 ElementwiseLowering<NotOp, scalarNot>,
                 ElementwiseLowering<AbsOp, scalarAbs>,
                 ElementwiseLowering<SignOp, scalarSign>,
                 ElementwiseLowering<LogOp, scalarMath<math::LogOp>>,
                 ElementwiseLowering<SqrtOp, scalarMath<math::SqrtOp>>,
                 ElementwiseLowering<TanhOp, scalarMath<math::TanhOp>>,
                 ElementwiseLowering<ErfOp, scalarMath<math::ErfOp>>,
                 ElementwiseLowering<FloorOp, scalarMath<math::FloorOp>>,
                 ElementwiseLowering<CeilOp, scalarMath<math::CeilOp>>,
                 ElementwiseLowering<RoundOp, scalarMath<math::RoundEvenOp>>,
                 ElementwiseLowering<SinOp, scalarMath<math::SinOp>>,
                 ElementwiseLowering<CosOp, scalarMath<math::CosOp>>,
                 ElementwiseLowering<TanOp, scalarMath<math::TanOp>>,
                 ElementwiseLowering<AsinOp, scalarMath<math::AsinOp>>,
                 ElementwiseLowering<AcosOp, scalarMath<math::AcosOp>>,
                 ElementwiseLowering<AtanOp, scalarMath<math::AtanOp>>,
                 ElementwiseLowering<SinhOp, scalarMath<math::SinhOp>>,
                 ElementwiseLowering<CoshOp, scalarMath<math::CoshOp>>,
                 ElementwiseLowering<AsinhOp, scalarMath<math::AsinhOp>>,
                 ElementwiseLowering<AcoshOp, scalarMath<math::AcoshOp>>,
                 ElementwiseLowering<AtanhOp, scalarMath<math::AtanhOp>>,
                 CompareLowering, SelectLowering, ConvertLowering,
                 IotaLowering, SliceLowering, ReverseLowering, ConcatLowering,
                 PadLowering, GatherLowering, ScatterLowering,
                 ReduceWindowLowering, ConvLowering, FusedConvLowering,
                 TopKDecomposition>(ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    // Inputs and weights belong to the caller and stay as they are: an op
    // that updates a tensor in place (a scatter into a weight) gets a copy
    // when bufferized, and the runtime may cache what it derives from a
    // weight (packed GEMM operands) across runs.
    getOperation()->walk([](func::FuncOp function) {
      if (function.isExternal())
        return;
      for (unsigned i = 0; i < function.getNumArguments(); ++i)
        if (isa<TensorType>(function.getArgument(i).getType()))
          function.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                              BoolAttr::get(function.getContext(), false));
    });
  }
};

} // namespace
