//===- DlcOps.cpp - dlc op verifiers, type rules and folders ----*- C++ -*-===//
//
// The shape rules of the dlc ops (verifiers and result-type inference) and
// their folders, which constant-fold shape subgraphs and erase no-op views.
//
//===----------------------------------------------------------------------===//

#include "ir/DlcOps.h"
#include "ir/ConstantFolding.h"
#include "ir/HostTensor.h"

#include "mlir/Dialect/CommonFolders.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace dlc;

#include "ir/DlcEnums.cpp.inc"

#define GET_OP_CLASSES
#include "ir/DlcOps.cpp.inc"

namespace {

/// Folds a binary elementwise op whose operands are both constant. Integer
/// ops get `intFn`, float ops `floatFn`; either may decline by returning
/// std::nullopt (division by zero, say).
template <typename FloatFn, typename IntFn>
OpFoldResult foldBinary(ArrayRef<Attribute> operands, Type type,
                        FloatFn floatFn, IntFn intFn) {
  if (!operands[0] || !operands[1])
    return {};
  // The common folders read splats without checking their element type, so
  // pick the float or integer path here.
  if (isa<FloatType>(cast<ShapedType>(type).getElementType()))
    return constFoldBinaryOp<FloatAttr, APFloat, void>(
        operands,
        [&](const APFloat &a, const APFloat &b) { return floatFn(a, b); });
  return constFoldBinaryOp<IntegerAttr, APInt, void>(
      operands,
      [&](const APInt &a, const APInt &b) { return intFn(a, b); });
}

/// Computes `fn` in double precision and rounds back to `like`'s semantics.
APFloat applyInDouble(const APFloat &like, double (*fn)(double)) {
  APFloat result(fn(like.convertToDouble()));
  bool losesInfo = false;
  result.convert(like.getSemantics(), APFloat::rmNearestTiesToEven, &losesInfo);
  return result;
}

bool isPermutation(ArrayRef<int64_t> perm) {
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &results) {
  results.push_back(adaptor.getValue().getType());
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

OpFoldResult ExpOp::fold(FoldAdaptor adaptor) {
  return constFoldUnaryOp<FloatAttr, APFloat, void>(
      adaptor.getOperands(),
      [](const APFloat &a) { return applyInDouble(a, [](double x) { return std::exp(x); }); });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (isa<FloatType>(getType().getElementType()))
    return constFoldUnaryOp<FloatAttr, APFloat, void>(
        adaptor.getOperands(), [](const APFloat &a) { return neg(a); });
  return constFoldUnaryOp<IntegerAttr, APInt, void>(
      adaptor.getOperands(), [](const APInt &a) { return -a; });
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> { return a + b; },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> { return a + b; });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> { return a - b; },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> { return a - b; });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> { return a * b; },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> { return a * b; });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> { return a / b; },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        // Division by zero and INT_MIN / -1 are left to run time.
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.sdiv(b);
      });
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return llvm::maximum(a, b);
      },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a.sge(b) ? a : b;
      });
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return llvm::minimum(a, b);
      },
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a.sle(b) ? a : b;
      });
}

//===----------------------------------------------------------------------===//
// BroadcastOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  auto operandType = getOperand().getType();
  auto resultType = getResult().getType();
  ArrayRef<int64_t> dims = getDims();
  if (operandType.getElementType() != resultType.getElementType())
    return emitOpError("result element type ")
           << resultType.getElementType() << " differs from operand's "
           << operandType.getElementType();
  if (static_cast<int64_t>(dims.size()) != operandType.getRank())
    return emitOpError("needs one entry in dims per operand dimension (")
           << operandType.getRank() << "), got " << dims.size();
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (dim < 0 || dim >= resultType.getRank())
      return emitOpError("dims[") << i << "] = " << dim
                                  << " is not a dimension of the result (rank "
                                  << resultType.getRank() << ")";
    if (i > 0 && dim <= dims[i - 1])
      return emitOpError("dims must be strictly increasing, got [")
             << dims << "]";
    int64_t from = operandType.getDimSize(i);
    int64_t to = resultType.getDimSize(dim);
    if (from != 1 && from != to)
      return emitOpError("operand dimension ")
             << i << " has size " << from << ", which cannot broadcast to "
             << "result dimension " << dim << " of size " << to;
  }
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getOperand()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  auto elements = constantElements(adaptor.getOperand());
  if (!elements)
    return {};
  ArrayRef<int64_t> inShape = getOperand().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  return buildElements(getType(), [&](int64_t i) {
    SmallVector<int64_t> outIndex = delinearize(i, outShape);
    SmallVector<int64_t> inIndex;
    for (auto [d, dim] : llvm::enumerate(getDims()))
      inIndex.push_back(inShape[d] == 1 ? 0 : outIndex[dim]);
    return (*elements)[linearize(inIndex, inShape)];
  });
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto operandType = getOperand().getType();
  auto resultType = getResult().getType();
  if (operandType.getElementType() != resultType.getElementType())
    return emitOpError("result element type ")
           << resultType.getElementType() << " differs from operand's "
           << operandType.getElementType();
  if (operandType.getNumElements() != resultType.getNumElements())
    return emitOpError("cannot reshape ")
           << formatShape(operandType.getShape()) << " ("
           << operandType.getNumElements() << " elements) to "
           << formatShape(resultType.getShape()) << " ("
           << resultType.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getOperand()))
    return dense.reshape(getType());
  // A reshape of a reshape reads the original elements directly.
  if (auto inner = getOperand().getDefiningOp<ReshapeOp>()) {
    getOperandMutable().assign(inner.getOperand());
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto operandType = cast<RankedTensorType>(adaptor.getOperand().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (static_cast<int64_t>(perm.size()) != operandType.getRank() ||
      !isPermutation(perm))
    return emitOptionalError(loc, "'dlc.transpose' perm [", perm,
                             "] is not a permutation of the operand's ",
                             operandType.getRank(), " dimensions");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(operandType.getDimSize(p));
  results.push_back(RankedTensorType::get(shape, operandType.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPerm(), llvm::seq<int64_t>(0, getPerm().size())))
    return getOperand();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getOperand()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  if (auto elements = constantElements(adaptor.getOperand())) {
    ArrayRef<int64_t> inShape = getOperand().getType().getShape();
    ArrayRef<int64_t> outShape = getType().getShape();
    return buildElements(getType(), [&](int64_t i) {
      SmallVector<int64_t> outIndex = delinearize(i, outShape);
      SmallVector<int64_t> inIndex(outIndex.size());
      for (auto [d, p] : llvm::enumerate(getPerm()))
        inIndex[p] = outIndex[d];
      return (*elements)[linearize(inIndex, inShape)];
    });
  }
  // transpose(transpose(x, p), q) = transpose(x, p∘q).
  if (auto inner = getOperand().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t q : getPerm())
      composed.push_back(inner.getPerm()[q]);
    getOperandMutable().assign(inner.getOperand());
    setPerm(composed);
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// ReduceOp
//===----------------------------------------------------------------------===//

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto operandType = cast<RankedTensorType>(adaptor.getOperand().getType());
  ArrayRef<int64_t> dims = adaptor.getDims();
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (dim < 0 || dim >= operandType.getRank())
      return emitOptionalError(loc, "'dlc.reduce' dims[", i, "] = ", dim,
                               " is not a dimension of the operand (rank ",
                               operandType.getRank(), ")");
    if (i > 0 && dim <= dims[i - 1])
      return emitOptionalError(loc, "'dlc.reduce' dims must be sorted and "
                                    "distinct, got [",
                               dims, "]");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < operandType.getRank(); ++d)
    if (!llvm::is_contained(dims, d))
      shape.push_back(operandType.getDimSize(d));
  results.push_back(RankedTensorType::get(shape, operandType.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// DotOp
//===----------------------------------------------------------------------===//

LogicalResult DotOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  auto lhs = cast<RankedTensorType>(adaptor.getLhs().getType());
  auto rhs = cast<RankedTensorType>(adaptor.getRhs().getType());
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "'dlc.dot' operands have different element "
                                  "types: ",
                             lhs.getElementType(), " and ",
                             rhs.getElementType());
  if (lhs.getRank() < 2 || lhs.getRank() != rhs.getRank())
    return emitOptionalError(loc, "'dlc.dot' needs operands of one rank, at "
                                  "least 2; got ",
                             formatShape(lhs.getShape()), " and ",
                             formatShape(rhs.getShape()));
  int64_t rank = lhs.getRank();
  ArrayRef<int64_t> lhsShape = lhs.getShape(), rhsShape = rhs.getShape();
  if (lhsShape.drop_back(2) != rhsShape.drop_back(2))
    return emitOptionalError(loc, "'dlc.dot' batch dimensions differ: ",
                             formatShape(lhsShape), " and ",
                             formatShape(rhsShape));
  if (lhsShape[rank - 1] != rhsShape[rank - 2])
    return emitOptionalError(loc, "'dlc.dot' contracts lhs dimension of size ",
                             lhsShape[rank - 1], " with rhs dimension of size ",
                             rhsShape[rank - 2], " (", formatShape(lhsShape),
                             " times ", formatShape(rhsShape), ")");
  SmallVector<int64_t> shape(lhsShape.drop_back(1));
  shape.push_back(rhsShape[rank - 1]);
  results.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

OpFoldResult ReduceOp::fold(FoldAdaptor adaptor) {
  if (getDims().empty())
    return getOperand();
  auto elements = constantElements(adaptor.getOperand());
  if (!elements)
    return {};
  auto inType = getOperand().getType();
  ArrayRef<int64_t> inShape = inType.getShape();
  ArrayRef<int64_t> outShape = cast<RankedTensorType>(getType()).getShape();
  bool isUnsigned = isUnsignedType(inType.getElementType());
  ReduceKind kind = getKind();
  SmallVector<Attribute> accumulators(
      cast<RankedTensorType>(getType()).getNumElements());
  for (int64_t i = 0; i < static_cast<int64_t>(elements->size()); ++i) {
    SmallVector<int64_t> inIndex = delinearize(i, inShape);
    SmallVector<int64_t> outIndex;
    for (int64_t d = 0; d < static_cast<int64_t>(inShape.size()); ++d)
      if (!llvm::is_contained(getDims(), d))
        outIndex.push_back(inIndex[d]);
    Attribute &acc = accumulators[linearize(outIndex, outShape)];
    Attribute value = (*elements)[i];
    if (!acc) {
      acc = value;
      continue;
    }
    if (auto a = dyn_cast<FloatAttr>(acc)) {
      APFloat x = a.getValue(), y = cast<FloatAttr>(value).getValue();
      APFloat r = kind == ReduceKind::sum    ? x + y
                  : kind == ReduceKind::prod ? x * y
                  : kind == ReduceKind::max  ? llvm::maximum(x, y)
                                             : llvm::minimum(x, y);
      acc = FloatAttr::get(a.getType(), r);
    } else {
      auto integer = cast<IntegerAttr>(acc);
      APInt x = integer.getValue(), y = cast<IntegerAttr>(value).getValue();
      bool yLess = isUnsigned ? y.ult(x) : y.slt(x);
      APInt r = kind == ReduceKind::sum    ? x + y
                : kind == ReduceKind::prod ? x * y
                : kind == ReduceKind::max  ? (yLess ? x : y)
                                           : (yLess ? y : x);
      acc = IntegerAttr::get(integer.getType(), r);
    }
  }
  if (llvm::any_of(accumulators, [](Attribute a) { return !a; }))
    return {}; // Reducing an empty dimension.
  return DenseElementsAttr::get(cast<ShapedType>(getType()), accumulators);
}

bool dlc::padsImplicitly(Operation *op) {
  // (An input without elements has none to read: its copy is all padding.)
  auto hasElements = [](Value input) {
    return cast<RankedTensorType>(input.getType()).getNumElements() > 0;
  };
  if (auto conv = dyn_cast<FusedConvOp>(op))
    return conv.getGroups() != 1 && hasElements(conv.getInput());
  auto conv = dyn_cast<ConvOp>(op);
  if (!conv)
    return false;
  auto input = cast<RankedTensorType>(conv.getInput().getType());
  int64_t channels = input.getDimSize(1);
  return input.getElementType().isF32() && input.getRank() == 4 && hasElements(conv.getInput()) &&
         conv.getGroups() != 1 &&
         int64_t(conv.getGroups()) == channels &&
         cast<RankedTensorType>(conv.getFilter().getType()).getDimSize(0) == channels &&
         llvm::all_of(conv.getLhsDilation(), [](int64_t d) { return d == 1; });
}

// (Used by dlc-lower-to-linalg: a pointwise convolution whose result is so
// copied is computed by the implicit GEMM, which writes the padded
// interior in place, rather than by a GEMM, which writes a dense result.)
bool dlc::feedsSpatialPadding(Value value) {
  auto padded = [](ArrayRef<int64_t> low, ArrayRef<int64_t> high) {
    return llvm::any_of(low, [](int64_t p) { return p != 0; }) ||
           llvm::any_of(high, [](int64_t p) { return p != 0; });
  };
  return llvm::any_of(value.getUsers(), [&](Operation *user) {
    if (padsImplicitly(user))
      return false;
    if (auto conv = dyn_cast<ConvOp>(user))
      return padded(conv.getPadLow(), conv.getPadHigh());
    if (auto conv = dyn_cast<FusedConvOp>(user))
      return padded(conv.getPadLow(), conv.getPadHigh());
    if (auto window = dyn_cast<ReduceWindowOp>(user))
      return padded(window.getPadLow(), window.getPadHigh());
    if (auto pad = dyn_cast<PadOp>(user))
      return padded(pad.getLow(), pad.getHigh());
    return false;
  });
}
