//===- ElementwiseOps.cpp - folders of the elementwise dlc ops --*- C++ -*-===//
//
// Math, logic, comparison, selection and conversion: their folders and the
// few shape rules that are not declared in ODS.
//
//===----------------------------------------------------------------------===//

#include "ir/ConstantFolding.h"
#include "ir/DlcOps.h"

#include "mlir/Dialect/CommonFolders.h"
#include "llvm/ADT/APSInt.h"

#include <cmath>

using namespace mlir;
using namespace dlc;

namespace {

/// Folds a float math op by evaluating `fn` in double precision.
OpFoldResult foldMath(ArrayRef<Attribute> operands, double (*fn)(double)) {
  return constFoldUnaryOp<FloatAttr, APFloat, void>(
      operands, [fn](const APFloat &a) {
        APFloat result(fn(a.convertToDouble()));
        bool losesInfo = false;
        result.convert(a.getSemantics(), APFloat::rmNearestTiesToEven,
                       &losesInfo);
        return result;
      });
}

Type elementTypeOf(Type type) { return cast<ShapedType>(type).getElementType(); }

/// Folds a binary op on integers of `type`'s element type with `fn`
/// (which gets the signedness), or on floats with `floatFn`.
OpFoldResult foldBinaryElements(
    ArrayRef<Attribute> operands, Type type,
    function_ref<std::optional<APInt>(const APInt &, const APInt &, bool)> intFn,
    function_ref<std::optional<APFloat>(const APFloat &, const APFloat &)> floatFn) {
  if (!operands[0] || !operands[1])
    return {};
  bool isUnsigned = isUnsignedType(elementTypeOf(type));
  return mapElements(operands, cast<ShapedType>(type),
                     [&](ArrayRef<Attribute> e) -> Attribute {
                       if (auto a = dyn_cast<FloatAttr>(e[0])) {
                         if (!floatFn)
                           return {};
                         auto r = floatFn(a.getValue(), cast<FloatAttr>(e[1]).getValue());
                         return r ? FloatAttr::get(a.getType(), *r) : Attribute();
                       }
                       auto a = cast<IntegerAttr>(e[0]);
                       if (!intFn)
                         return {};
                       auto r = intFn(a.getValue(), cast<IntegerAttr>(e[1]).getValue(),
                                      isUnsigned);
                       return r ? IntegerAttr::get(a.getType(), *r) : Attribute();
                     });
}

} // namespace

#define DLC_FOLD_MATH(Op, fn)                                                  \
  OpFoldResult Op::fold(FoldAdaptor adaptor) {                                 \
    return foldMath(adaptor.getOperands(), fn);                                \
  }
DLC_FOLD_MATH(LogOp, [](double x) { return std::log(x); })
DLC_FOLD_MATH(SqrtOp, [](double x) { return std::sqrt(x); })
DLC_FOLD_MATH(TanhOp, [](double x) { return std::tanh(x); })
DLC_FOLD_MATH(ErfOp, [](double x) { return std::erf(x); })
DLC_FOLD_MATH(FloorOp, [](double x) { return std::floor(x); })
DLC_FOLD_MATH(CeilOp, [](double x) { return std::ceil(x); })
DLC_FOLD_MATH(RoundOp, [](double x) { return std::nearbyint(x); })
DLC_FOLD_MATH(SinOp, [](double x) { return std::sin(x); })
DLC_FOLD_MATH(CosOp, [](double x) { return std::cos(x); })
DLC_FOLD_MATH(TanOp, [](double x) { return std::tan(x); })
DLC_FOLD_MATH(AsinOp, [](double x) { return std::asin(x); })
DLC_FOLD_MATH(AcosOp, [](double x) { return std::acos(x); })
DLC_FOLD_MATH(AtanOp, [](double x) { return std::atan(x); })
DLC_FOLD_MATH(SinhOp, [](double x) { return std::sinh(x); })
DLC_FOLD_MATH(CoshOp, [](double x) { return std::cosh(x); })
DLC_FOLD_MATH(AsinhOp, [](double x) { return std::asinh(x); })
DLC_FOLD_MATH(AcoshOp, [](double x) { return std::acosh(x); })
DLC_FOLD_MATH(AtanhOp, [](double x) { return std::atanh(x); })
#undef DLC_FOLD_MATH

OpFoldResult AbsOp::fold(FoldAdaptor adaptor) {
  if (isa<FloatType>(getType().getElementType()))
    return constFoldUnaryOp<FloatAttr, APFloat, void>(
        adaptor.getOperands(), [](const APFloat &a) { return abs(a); });
  if (isUnsignedType(elementTypeOf(getType())))
    return adaptor.getOperand();
  return constFoldUnaryOp<IntegerAttr, APInt, void>(
      adaptor.getOperands(), [](const APInt &a) { return a.abs(); });
}

OpFoldResult SignOp::fold(FoldAdaptor adaptor) {
  bool isUnsigned = isUnsignedType(elementTypeOf(getType()));
  return mapElements(adaptor.getOperands(), getType(),
                     [&](ArrayRef<Attribute> e) -> Attribute {
                       if (auto f = dyn_cast<FloatAttr>(e[0])) {
                         double v = f.getValueAsDouble();
                         if (std::isnan(v))
                           return f;
                         return FloatAttr::get(f.getType(), v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0);
                       }
                       auto i = cast<IntegerAttr>(e[0]);
                       APInt v = i.getValue();
                       int64_t s = v.isZero() ? 0 : (!isUnsigned && v.isNegative()) ? -1 : 1;
                       return IntegerAttr::get(i.getType(), s);
                     });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  return constFoldUnaryOp<IntegerAttr, APInt, void>(
      adaptor.getOperands(), [](const APInt &a) { return ~a; });
}

OpFoldResult RemOp::fold(FoldAdaptor adaptor) {
  return foldBinaryElements(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b, bool isUnsigned) -> std::optional<APInt> {
        if (b.isZero())
          return std::nullopt;
        return isUnsigned ? a.urem(b) : a.srem(b);
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        APFloat r = a;
        r.mod(b);
        return r;
      });
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  return foldBinaryElements(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b, bool isUnsigned) -> std::optional<APInt> {
        if (!isUnsigned && b.isNegative())
          return std::nullopt;
        APInt result(a.getBitWidth(), 1);
        for (uint64_t i = 0, n = b.getZExtValue(); i < n && i < 64; ++i)
          result *= a;
        return result;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        APFloat r(std::pow(a.convertToDouble(), b.convertToDouble()));
        bool losesInfo;
        r.convert(a.getSemantics(), APFloat::rmNearestTiesToEven, &losesInfo);
        return r;
      });
}

OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  return foldBinaryElements(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> { return a & b; },
      nullptr);
}

OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  return foldBinaryElements(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> { return a | b; },
      nullptr);
}

OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  return foldBinaryElements(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b, bool) -> std::optional<APInt> { return a ^ b; },
      nullptr);
}

//===----------------------------------------------------------------------===//
// CompareOp, SelectOp
//===----------------------------------------------------------------------===//

LogicalResult CompareOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  auto lhs = cast<RankedTensorType>(adaptor.getLhs().getType());
  if (lhs != adaptor.getRhs().getType())
    return emitOptionalError(loc, "'dlc.compare' operands have different "
                                  "types: ",
                             lhs, " and ", adaptor.getRhs().getType());
  results.push_back(RankedTensorType::get(lhs.getShape(),
                                          IntegerType::get(context, 1)));
  return success();
}

OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  if (!adaptor.getLhs() || !adaptor.getRhs())
    return {};
  CompareDirection direction = getDirection();
  bool isUnsigned = isUnsignedType(getLhs().getType().getElementType());
  Type i1 = getType().getElementType();
  return mapElements(
      adaptor.getOperands(), getType(), [&](ArrayRef<Attribute> e) -> Attribute {
        int order; // -1, 0, 1, or 2 for unordered
        if (auto a = dyn_cast<FloatAttr>(e[0])) {
          APFloat::cmpResult c = a.getValue().compare(cast<FloatAttr>(e[1]).getValue());
          order = c == APFloat::cmpLessThan ? -1 : c == APFloat::cmpEqual ? 0
                  : c == APFloat::cmpGreaterThan ? 1 : 2;
        } else {
          APInt x = cast<IntegerAttr>(e[0]).getValue();
          APInt y = cast<IntegerAttr>(e[1]).getValue();
          bool less = isUnsigned ? x.ult(y) : x.slt(y);
          order = x == y ? 0 : less ? -1 : 1;
        }
        bool result = false;
        switch (direction) {
        case CompareDirection::eq: result = order == 0; break;
        case CompareDirection::ne: result = order != 0; break;
        case CompareDirection::lt: result = order == -1; break;
        case CompareDirection::le: result = order == -1 || order == 0; break;
        case CompareDirection::gt: result = order == 1; break;
        case CompareDirection::ge: result = order == 1 || order == 0; break;
        }
        return IntegerAttr::get(i1, result);
      });
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  if (auto condition = dyn_cast_or_null<SplatElementsAttr>(adaptor.getCondition()))
    return condition.getSplatValue<bool>() ? getOnTrue() : getOnFalse();
  if (getOnTrue() == getOnFalse())
    return getOnTrue();
  return mapElements(adaptor.getOperands(), getType(),
                     [](ArrayRef<Attribute> e) -> Attribute {
                       return cast<IntegerAttr>(e[0]).getValue().getBoolValue() ? e[1] : e[2];
                     });
}

//===----------------------------------------------------------------------===//
// ConvertOp
//===----------------------------------------------------------------------===//

/// Converts one constant element to `to`, with the conversion's rules.
static Attribute convertElement(Attribute element, Type from, Type to) {
  bool fromUnsigned = isUnsignedType(from);
  bool toUnsigned = isUnsignedType(to);
  if (auto f = dyn_cast<FloatAttr>(element)) {
    APFloat value = f.getValue();
    if (auto toFloat = dyn_cast<FloatType>(to)) {
      bool losesInfo;
      value.convert(toFloat.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
      return FloatAttr::get(to, value);
    }
    unsigned width = to.getIntOrFloatBitWidth();
    if (width == 1)
      return IntegerAttr::get(to, !value.isZero());
    if (value.isNaN() || value.isInfinity())
      return {}; // Undefined in ONNX; leave it to run time.
    APSInt result(width, toUnsigned);
    bool exact;
    value.convertToInteger(result, APFloat::rmTowardZero, &exact);
    return IntegerAttr::get(to, result);
  }
  APInt value = cast<IntegerAttr>(element).getValue();
  if (auto toFloat = dyn_cast<FloatType>(to)) {
    APFloat result(toFloat.getFloatSemantics());
    result.convertFromAPInt(value, !fromUnsigned && value.getBitWidth() > 1,
                            APFloat::rmNearestTiesToEven);
    return FloatAttr::get(to, result);
  }
  unsigned width = to.getIntOrFloatBitWidth();
  if (width == 1)
    return IntegerAttr::get(to, !value.isZero());
  bool signExtend = !fromUnsigned && value.getBitWidth() > 1;
  return IntegerAttr::get(to, signExtend ? value.sextOrTrunc(width)
                                         : value.zextOrTrunc(width));
}

OpFoldResult ConvertOp::fold(FoldAdaptor adaptor) {
  Type from = getOperand().getType().getElementType();
  Type to = getType().getElementType();
  if (from == to)
    return getOperand();
  return mapElements(adaptor.getOperands(), getType(),
                     [&](ArrayRef<Attribute> e) {
                       return convertElement(e[0], from, to);
                     });
}
