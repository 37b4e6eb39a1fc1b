//===- Gradients.cpp - the gradient rule of each dlc op ---------*- C++ -*-===//
//
// DifferentiableOpInterface for the ops that have a rule: given dL/dresult,
// build dL/doperand with dlc ops (reverse mode). passes/Autodiff.cpp walks a
// program backwards through these. Operands of integer or boolean type get
// no gradient (a null value).
//
//===----------------------------------------------------------------------===//

#include "ir/DlcOps.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace dlc;

#include "ir/DlcInterfaces.cpp.inc"

namespace {

using Gradients = FailureOr<SmallVector<Value>>;

bool isFloat(Value value) {
  return isa<FloatType>(cast<RankedTensorType>(value.getType()).getElementType());
}

/// A tensor of `like`'s type filled with `value`.
Value filledLike(OpBuilder &b, Location loc, Value like, double value) {
  auto type = cast<RankedTensorType>(like.getType());
  return ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), value)));
}

/// Builds an elementwise op of `like`'s type.
template <typename Op> Value elementwise(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return Op::create(b, loc, lhs.getType(), lhs, rhs);
}

/// The gradient of a float op with one operand: `rule(g)`; none for
/// integers.
template <typename Rule>
Gradients unary(Operation *op, ValueRange grads, Rule rule) {
  if (!isFloat(op->getOperand(0)))
    return SmallVector<Value>{Value()};
  return SmallVector<Value>{rule(grads[0])};
}

/// Where a max or min took each side: the gradient goes to `lhs` where the
/// result is strictly beyond `rhs` (`beyond`: gt for a max, lt for a min),
/// which is where lhs is strictly beyond rhs; ties (and NaN) go to `rhs`.
/// Deciding from the result, not from lhs, means a ReLU (max(x, 0); a
/// commutative op's fold puts constants on the right) needs only its
/// output for its gradient, so the pre-activation is not kept and a
/// convolution takes the ReLU into its epilogue; and ReLU's derivative at 0
/// is 0, as in PyTorch and JAX.
Gradients splitBy(OpBuilder &b, Operation *op, CompareDirection beyond, ValueRange grads) {
  if (!isFloat(op->getResult(0)))
    return SmallVector<Value>{Value(), Value()};
  Location loc = op->getLoc();
  Value g = grads[0];
  Value mask = CompareOp::create(b, loc, beyond, op->getResult(0), op->getOperand(1));
  Value zero = filledLike(b, loc, g, 0);
  return SmallVector<Value>{SelectOp::create(b, loc, g.getType(), mask, g, zero),
                            SelectOp::create(b, loc, g.getType(), mask, zero, g)};
}

/// The gradient of a max or min over dimensions `reduced` of `candidates`:
/// `gradient` where a candidate equals `extreme` (both of candidates'
/// shape, spread over `reduced`), divided by the number of such ties.
Value shareAmongTies(OpBuilder &b, Location loc, Value candidates, Value extreme, Value gradient,
                     ArrayRef<int64_t> reduced) {
  auto type = cast<RankedTensorType>(candidates.getType());
  Value hit = CompareOp::create(b, loc, CompareDirection::eq, candidates, extreme);
  Value mask = ConvertOp::create(b, loc, type, hit);
  Value ties = ReduceOp::create(b, loc, ReduceKind::sum, mask, b.getDenseI64ArrayAttr(reduced));
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!llvm::is_contained(reduced, d))
      kept.push_back(d);
  Value tiesSpread = BroadcastOp::create(b, loc, type, ties, b.getDenseI64ArrayAttr(kept));
  return elementwise<DivOp>(b, loc, elementwise<MulOp>(b, loc, gradient, mask), tiesSpread);
}

/// `value` with its last two dimensions swapped.
Value transposeLastTwo(OpBuilder &b, Location loc, Value value) {
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  std::swap(perm[rank - 1], perm[rank - 2]);
  return TransposeOp::create(b, loc, value, b.getDenseI64ArrayAttr(perm));
}

} // namespace

Gradients AddOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  return SmallVector<Value>{grads[0], grads[0]};
}

Gradients SubOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  return SmallVector<Value>{grads[0], NegOp::create(b, getLoc(), grads[0].getType(), grads[0])};
}

Gradients MulOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  Location loc = getLoc();
  return SmallVector<Value>{elementwise<MulOp>(b, loc, grads[0], getRhs()),
                            elementwise<MulOp>(b, loc, grads[0], getLhs())};
}

// d(a / b) = da / b - db · (a / b) / b
Gradients DivOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  Location loc = getLoc();
  Value g = grads[0];
  Value dLhs = elementwise<DivOp>(b, loc, g, getRhs());
  Value dRhs = NegOp::create(b, loc, g.getType(),
                             elementwise<MulOp>(b, loc, dLhs, getResult()));
  return SmallVector<Value>{dLhs, dRhs};
}

Gradients MaxOp::gradients(OpBuilder &b, ValueRange grads) {
  return splitBy(b, getOperation(), CompareDirection::gt, grads);
}

Gradients MinOp::gradients(OpBuilder &b, ValueRange grads) {
  return splitBy(b, getOperation(), CompareDirection::lt, grads);
}

Gradients NegOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads, [&](Value g) -> Value {
    return NegOp::create(b, getLoc(), g.getType(), g);
  });
}

Gradients AbsOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads, [&](Value g) -> Value {
    Value sign = SignOp::create(b, getLoc(), g.getType(), getOperand());
    return elementwise<MulOp>(b, getLoc(), g, sign);
  });
}

// d exp(x) = exp(x) dx
Gradients ExpOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads,
               [&](Value g) { return elementwise<MulOp>(b, getLoc(), g, getResult()); });
}

// d log(x) = dx / x
Gradients LogOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads,
               [&](Value g) { return elementwise<DivOp>(b, getLoc(), g, getOperand()); });
}

// d sqrt(x) = dx / (2 sqrt(x))
Gradients SqrtOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads, [&](Value g) {
    Value twice = elementwise<AddOp>(b, getLoc(), getResult(), getResult());
    return elementwise<DivOp>(b, getLoc(), g, twice);
  });
}

// d tanh(x) = (1 - tanh(x)²) dx
Gradients TanhOp::gradients(OpBuilder &b, ValueRange grads) {
  return unary(*this, grads, [&](Value g) {
    Location loc = getLoc();
    Value square = elementwise<MulOp>(b, loc, getResult(), getResult());
    return elementwise<SubOp>(b, loc, g, elementwise<MulOp>(b, loc, g, square));
  });
}

Gradients SelectOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value(), Value()};
  Location loc = getLoc();
  Value g = grads[0], zero = filledLike(b, loc, g, 0);
  return SmallVector<Value>{Value(),
                            SelectOp::create(b, loc, g.getType(), getCondition(), g, zero),
                            SelectOp::create(b, loc, g.getType(), getCondition(), zero, g)};
}

// A float-to-float conversion passes the gradient back converted.
Gradients ConvertOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getOperand()) || !isFloat(getResult()))
    return SmallVector<Value>{Value()};
  return SmallVector<Value>{
      ConvertOp::create(b, getLoc(), getOperand().getType(), grads[0]).getResult()};
}

Gradients ReshapeOp::gradients(OpBuilder &b, ValueRange grads) {
  return SmallVector<Value>{
      ReshapeOp::create(b, getLoc(), getOperand().getType(), grads[0]).getResult()};
}

Gradients TransposeOp::gradients(OpBuilder &b, ValueRange grads) {
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = int64_t(i);
  return SmallVector<Value>{
      TransposeOp::create(b, getLoc(), grads[0], b.getDenseI64ArrayAttr(inverse)).getResult()};
}

// Every operand element was copied to the result elements along the added
// (or stretched) dimensions: its gradient is their sum.
Gradients BroadcastOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value()};
  auto source = cast<RankedTensorType>(getOperand().getType());
  auto type = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> dims = getDims();
  SmallVector<int64_t> summed;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    const int64_t *mapped = llvm::find(dims, d);
    bool added = mapped == dims.end();
    bool stretched = !added && source.getDimSize(mapped - dims.begin()) == 1 &&
                     type.getDimSize(d) != 1;
    if (added || stretched)
      summed.push_back(d);
  }
  Value g = grads[0];
  if (!summed.empty())
    g = ReduceOp::create(b, getLoc(), ReduceKind::sum, g, b.getDenseI64ArrayAttr(summed));
  if (g.getType() != source)
    g = ReshapeOp::create(b, getLoc(), source, g);
  return SmallVector<Value>{g};
}

// A sum sends its gradient to every element it summed; a max or min to
// the elements equal to the result, shared equally among ties.
Gradients ReduceOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value()};
  ReduceKind kind = getKind();
  if (kind == ReduceKind::prod)
    return emitOpError("has no gradient rule for a product reduction yet");
  Location loc = getLoc();
  Value operand = getOperand();
  auto source = cast<RankedTensorType>(operand.getType());
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < source.getRank(); ++d)
    if (!llvm::is_contained(getDims(), d))
      kept.push_back(d);
  auto spread = [&](Value value) -> Value {
    return BroadcastOp::create(b, loc, source, value, b.getDenseI64ArrayAttr(kept));
  };
  Value g = spread(grads[0]);
  if (kind == ReduceKind::sum)
    return SmallVector<Value>{g};
  return SmallVector<Value>{shareAmongTies(b, loc, operand, spread(getResult()), g, getDims())};
}

// The operand's elements are the result's interior; the pad value is
// every other element.
Gradients PadOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  Location loc = getLoc();
  auto type = cast<RankedTensorType>(getOperand().getType());
  SmallVector<int64_t> start(getLow()), limit, strides(type.getRank(), 1), all;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    limit.push_back(start[d] + type.getDimSize(d));
    all.push_back(d);
  }
  Value g = grads[0];
  Value interior = SliceOp::create(b, loc, g, b.getDenseI64ArrayAttr(start),
                                   b.getDenseI64ArrayAttr(limit), b.getDenseI64ArrayAttr(strides));
  auto sum = [&](Value value) -> Value {
    return ReduceOp::create(b, loc, ReduceKind::sum, value, b.getDenseI64ArrayAttr(all));
  };
  Value dValue = elementwise<SubOp>(b, loc, sum(g), sum(interior));
  return SmallVector<Value>{interior, dValue};
}

// A slice with unit strides: its gradient padded with zeros back to the
// operand's shape.
Gradients SliceOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value()};
  if (llvm::any_of(getStrides(), [](int64_t s) { return s != 1; }))
    return emitOpError("has no gradient rule for strided slices yet");
  auto type = cast<RankedTensorType>(getOperand().getType());
  SmallVector<int64_t> high;
  for (int64_t d = 0; d < type.getRank(); ++d)
    high.push_back(type.getDimSize(d) - getLimit()[d]);
  Location loc = getLoc();
  Value zero = ConstantOp::create(
      b, loc, DenseElementsAttr::get(RankedTensorType::get({}, type.getElementType()),
                                     b.getFloatAttr(type.getElementType(), 0)));
  return SmallVector<Value>{PadOp::create(b, loc, grads[0], zero, getStartAttr(),
                                          b.getDenseI64ArrayAttr(high))
                                .getResult()};
}

// Each input gets its part of the gradient.
Gradients ConcatOp::gradients(OpBuilder &b, ValueRange grads) {
  SmallVector<Value> result;
  auto type = cast<RankedTensorType>(getType());
  int64_t dim = getDim(), offset = 0;
  for (Value input : getInputs()) {
    auto inputType = cast<RankedTensorType>(input.getType());
    if (!isFloat(input)) {
      result.push_back(Value());
      offset += inputType.getDimSize(dim);
      continue;
    }
    SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape()),
        strides(type.getRank(), 1);
    start[dim] = offset;
    limit[dim] = offset + inputType.getDimSize(dim);
    offset = limit[dim];
    result.push_back(SliceOp::create(b, getLoc(), grads[0], b.getDenseI64ArrayAttr(start),
                                     b.getDenseI64ArrayAttr(limit),
                                     b.getDenseI64ArrayAttr(strides)));
  }
  return result;
}

Gradients ReverseOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value()};
  return SmallVector<Value>{
      ReverseOp::create(b, getLoc(), grads[0], getDimsAttr()).getResult()};
}

// C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC (per batch).
Gradients DotOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  Location loc = getLoc();
  Value g = grads[0];
  Value dLhs = DotOp::create(b, loc, g, transposeLastTwo(b, loc, getRhs()));
  Value dRhs = DotOp::create(b, loc, transposeLastTwo(b, loc, getLhs()), g);
  return SmallVector<Value>{dLhs, dRhs};
}

namespace {

/// `value` of shape [A, B, rest...] split at dimension 1 into [A, G, B/G,
/// rest...], its first three dimensions permuted by `perm`, and two of them
/// merged: the first two with `mergeFirst`, else the last two.
Value regroup(OpBuilder &b, Location loc, Value value, int64_t groups,
              ArrayRef<int64_t> perm, bool mergeFirst) {
  auto type = cast<RankedTensorType>(value.getType());
  if (groups == 1) {
    // Both uses then swap the first two dimensions: a plain transpose,
    // which the convolution's padding can take in place (through a 5-D
    // view it was one more copy), or a reshape when one of them is 1 (a
    // single input channel).
    SmallVector<int64_t> order = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    std::swap(order[0], order[1]);
    SmallVector<int64_t> swapped(type.getShape());
    std::swap(swapped[0], swapped[1]);
    if (swapped[0] == 1 || swapped[1] == 1)
      return ReshapeOp::create(b, loc, RankedTensorType::get(swapped, type.getElementType()),
                               value);
    return TransposeOp::create(b, loc, value, b.getDenseI64ArrayAttr(order));
  }
  SmallVector<int64_t> split = {type.getDimSize(0), groups, type.getDimSize(1) / groups};
  llvm::append_range(split, type.getShape().drop_front(2));
  Value grouped = ReshapeOp::create(b, loc, RankedTensorType::get(split, type.getElementType()),
                                    value);
  SmallVector<int64_t> order(perm);
  for (int64_t d = 3; d < int64_t(split.size()); ++d)
    order.push_back(d);
  Value moved = TransposeOp::create(b, loc, grouped, b.getDenseI64ArrayAttr(order));
  auto movedType = cast<RankedTensorType>(moved.getType());
  int64_t d0 = movedType.getDimSize(0), d1 = movedType.getDimSize(1),
          d2 = movedType.getDimSize(2);
  SmallVector<int64_t> merged = mergeFirst ? SmallVector<int64_t>{d0 * d1, d2}
                                           : SmallVector<int64_t>{d0, d1 * d2};
  llvm::append_range(merged, movedType.getShape().drop_front(3));
  return ReshapeOp::create(b, loc, RankedTensorType::get(merged, type.getElementType()), moved);
}

/// A filter [G·Mg, Cg, K...] as [G·Cg, Mg, K...]: the filter of the
/// transposed convolution, group by group.
Value regroupFilter(OpBuilder &b, Location loc, Value filter, int64_t groups) {
  auto type = cast<RankedTensorType>(filter.getType());
  int64_t mg = type.getDimSize(0) / groups, cg = type.getDimSize(1);
  SmallVector<int64_t> split = {groups, mg, cg};
  llvm::append_range(split, type.getShape().drop_front(2));
  Value grouped = ReshapeOp::create(b, loc, RankedTensorType::get(split, type.getElementType()),
                                    filter);
  SmallVector<int64_t> order = {0, 2, 1};
  for (int64_t d = 3; d < int64_t(split.size()); ++d)
    order.push_back(d);
  Value moved = TransposeOp::create(b, loc, grouped, b.getDenseI64ArrayAttr(order));
  SmallVector<int64_t> merged = {groups * cg, mg};
  llvm::append_range(merged, type.getShape().drop_front(2));
  return ReshapeOp::create(b, loc, RankedTensorType::get(merged, type.getElementType()), moved);
}

/// The first `sizes` elements of each spatial dimension of `value`.
Value spatialPrefix(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> sizes) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape().drop_front(2) == sizes)
    return value;
  SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape()),
      strides(type.getRank(), 1);
  for (auto [i, size] : llvm::enumerate(sizes))
    limit[i + 2] = size;
  return SliceOp::create(b, loc, value, b.getDenseI64ArrayAttr(start),
                         b.getDenseI64ArrayAttr(limit), b.getDenseI64ArrayAttr(strides));
}

} // namespace

// out[n, o, y] = Σ in_pad[n, g·Cg + c, y·s + k·d] · w[o, c, k]:
//   dIn is a convolution of dOut spread by the strides with the filter
//   flipped and its channels transposed per group;
//   dW is a convolution over the batch: input and dOut with batch and
//   channels swapped (per group), the dilations as strides and the strides
//   as dilations.
Gradients ConvOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value(), Value()};
  if (llvm::any_of(getLhsDilation(), [](int64_t d) { return d != 1; }))
    return emitOpError("has no gradient rule for input dilation (a transposed convolution) yet");
  Location loc = getLoc();
  Value g = grads[0], input = getInput(), filter = getFilter();
  auto inType = cast<RankedTensorType>(input.getType());
  auto filterType = cast<RankedTensorType>(filter.getType());
  auto outType = cast<RankedTensorType>(getType());
  int64_t spatial = inType.getRank() - 2, groups = getGroups();
  ArrayRef<int64_t> strides = getStrides(), dilations = getDilations();
  ArrayRef<int64_t> padLow = getPadLow(), padHigh = getPadHigh();
  SmallVector<int64_t> ones(spatial, 1), zeros(spatial, 0);

  // dIn: dOut spread by the strides, padded so that the window covers each
  // input position once for every output it fed.
  SmallVector<int64_t> inLow, inHigh;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t window = (filterType.getDimSize(i + 2) - 1) * dilations[i];
    int64_t in = inType.getDimSize(i + 2), out = outType.getDimSize(i + 2);
    int64_t covered = (out - 1) * strides[i] + window + 1; // of the padded input
    int64_t low = window - padLow[i];
    int64_t high = window - padHigh[i] + (in + padLow[i] + padHigh[i] - covered);
    if (low < 0 || high < 0)
      return emitOpError("has no gradient rule for padding wider than the window yet");
    inLow.push_back(low);
    inHigh.push_back(high);
  }
  SmallVector<int64_t> spatialDims;
  for (int64_t i = 0; i < spatial; ++i)
    spatialDims.push_back(i + 2);
  // [O, Cg, K] -> [G·Cg, Mg, K], flipped.
  Value flipped = ReverseOp::create(b, loc, regroupFilter(b, loc, filter, groups),
                                    b.getDenseI64ArrayAttr(spatialDims));
  Value dInput = ConvOp::create(b, loc, g, flipped, b.getDenseI64ArrayAttr(ones),
                                getDilationsAttr(), b.getDenseI64ArrayAttr(strides),
                                b.getDenseI64ArrayAttr(inLow), b.getDenseI64ArrayAttr(inHigh),
                                groups);

  // dW: [N, G·Cg, H] -> [Cg, G·N, H] and dOut [N, G·Mg, Ho] -> [G·Mg, N, Ho].
  Value inputT = regroup(b, loc, input, groups, {2, 1, 0}, /*mergeFirst=*/false);
  Value gradT = regroup(b, loc, g, groups, {1, 2, 0}, /*mergeFirst=*/true);
  Value dFilterT = ConvOp::create(b, loc, inputT, gradT, getDilationsAttr(),
                                  b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(ones),
                                  getPadLowAttr(), getPadHighAttr(), groups);
  // [Cg, O, K'] -> [O, Cg, K] (K' ≥ K where strides leave rows unused).
  SmallVector<int64_t> swap = llvm::to_vector(llvm::seq<int64_t>(0, spatial + 2));
  std::swap(swap[0], swap[1]);
  Value dFilter = TransposeOp::create(b, loc, dFilterT, b.getDenseI64ArrayAttr(swap));
  dFilter = spatialPrefix(b, loc, dFilter, filterType.getShape().drop_front(2));
  return SmallVector<Value>{dInput, dFilter};
}

// Pooling over the spatial dimensions of [N, C, spatial...]: the windows
// are read as patches by a convolution of the operand (padded with the
// kind's identity, as a finite value) with a one-hot filter per window
// offset; a sum sends each output's gradient to its whole window, a max or
// min to the elements equal to it (ties share), and the patches'
// convolution carries the result back to the operand (its own rule).
Gradients ReduceWindowOp::gradients(OpBuilder &b, ValueRange grads) {
  if (!isFloat(getResult()))
    return SmallVector<Value>{Value()};
  ReduceKind kind = getKind();
  if (kind == ReduceKind::prod)
    return emitOpError("has no gradient rule for a product pooling yet");
  auto type = cast<RankedTensorType>(getOperand().getType());
  auto outType = cast<RankedTensorType>(getType());
  int64_t rank = type.getRank(), spatial = rank - 2;
  ArrayRef<int64_t> window = getWindow(), strides = getStrides(), dilations = getDilations(),
                    padLow = getPadLow(), padHigh = getPadHigh();
  for (int64_t d = 0; d < std::min<int64_t>(2, rank); ++d)
    if (rank < 3 || window[d] != 1 || strides[d] != 1 || padLow[d] || padHigh[d])
      return emitOpError("has a gradient rule only for windows over the spatial dimensions of "
                         "[N, C, spatial...]");
  Location loc = getLoc();
  Type element = type.getElementType();
  auto floatType = cast<FloatType>(element);
  int64_t images = type.getDimSize(0) * type.getDimSize(1);

  // Windows that tile the operand exactly (stride = window, no padding or
  // dilation: the usual 2x2 pooling): each spatial dimension splits into
  // (output, offset), and the gradient is elementwise on that view.
  if (windowsTileOperand()) {
    SmallVector<int64_t> split = {type.getDimSize(0), type.getDimSize(1)}, outputDims = {0, 1},
                         offsetDims;
    for (int64_t d = 2; d < rank; ++d) {
      outputDims.push_back(split.size());
      split.push_back(outType.getDimSize(d));
      offsetDims.push_back(split.size());
      split.push_back(window[d]);
    }
    auto splitType = RankedTensorType::get(split, element);
    auto spreadOver = [&](Value perOutput) -> Value {
      return BroadcastOp::create(b, loc, splitType, perOutput,
                                 b.getDenseI64ArrayAttr(outputDims));
    };
    if (kind == ReduceKind::sum) {
      return SmallVector<Value>{
          ReshapeOp::create(b, loc, type, spreadOver(grads[0])).getResult()};
    }
    // A max or min: each output's gradient divided by its number of ties
    // (counted per output, reading the window's offsets as strided slices
    // of the split operand: one elementwise kernel over the outputs), then
    // sent to the elements equal to the output (one over the operand). A
    // reduction over the offsets instead (shareAmongTies) takes three
    // passes over the operand, its innermost dimension the window's width.
    Value operand = ReshapeOp::create(b, loc, splitType, getOperand());
    int64_t windowSize = 1;
    for (int64_t d : offsetDims)
      windowSize *= split[d];
    Value ties;
    for (int64_t index = 0; index < windowSize; ++index) {
      // The slice at window offset `index` (last dimension fastest).
      SmallVector<int64_t> start(split.size(), 0), limit(split), unit(split.size(), 1);
      for (int64_t rest = index, k = int64_t(offsetDims.size()) - 1; k >= 0; --k) {
        int64_t d = offsetDims[k];
        start[d] = rest % split[d];
        limit[d] = start[d] + 1;
        rest /= split[d];
      }
      Value slice = SliceOp::create(b, loc, operand, b.getDenseI64ArrayAttr(start),
                                    b.getDenseI64ArrayAttr(limit), b.getDenseI64ArrayAttr(unit));
      Value candidate = ReshapeOp::create(b, loc, outType, slice);
      Value hit = ConvertOp::create(
          b, loc, outType, CompareOp::create(b, loc, CompareDirection::eq, candidate, getResult()));
      ties = ties ? elementwise<AddOp>(b, loc, ties, hit) : hit;
    }
    Value share = elementwise<DivOp>(b, loc, grads[0], ties);
    Value hit = CompareOp::create(b, loc, CompareDirection::eq, operand, spreadOver(getResult()));
    Value gradient = elementwise<MulOp>(b, loc, ConvertOp::create(b, loc, splitType, hit),
                                        spreadOver(share));
    return SmallVector<Value>{ReshapeOp::create(b, loc, type, gradient).getResult()};
  }

  // The operand as [N·C, 1, spatial...], padded with the identity.
  double identity = 0;
  if (kind != ReduceKind::sum) {
    APFloat largest = APFloat::getLargest(floatType.getFloatSemantics(), kind == ReduceKind::max);
    identity = largest.convertToDouble();
  }
  SmallVector<int64_t> flatShape = {images, 1};
  llvm::append_range(flatShape, type.getShape().drop_front(2));
  Value flat = ReshapeOp::create(b, loc, RankedTensorType::get(flatShape, element), getOperand());
  Value pad = ConstantOp::create(
      b, loc, DenseElementsAttr::get(RankedTensorType::get({}, element),
                                     b.getFloatAttr(element, identity)));
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  llvm::append_range(low, padLow.drop_front(2));
  llvm::append_range(high, padHigh.drop_front(2));
  Value padded = PadOp::create(b, loc, flat, pad, b.getDenseI64ArrayAttr(low),
                               b.getDenseI64ArrayAttr(high));

  // One filter per window offset, 1 at that offset: [K, 1, window...].
  SmallVector<int64_t> windowShape(window.drop_front(2));
  int64_t offsets = 1;
  for (int64_t w : windowShape)
    offsets *= w;
  SmallVector<int64_t> filterShape = {offsets, 1};
  llvm::append_range(filterShape, windowShape);
  auto filterType = RankedTensorType::get(filterShape, element);
  SmallVector<APFloat> oneHot(filterType.getNumElements(), APFloat::getZero(floatType.getFloatSemantics()));
  for (int64_t k = 0; k < offsets; ++k)
    oneHot[k * offsets + k] = APFloat::getOne(floatType.getFloatSemantics());
  Value filter = ConstantOp::create(b, loc, DenseElementsAttr::get(filterType, oneHot));
  SmallVector<int64_t> ones(spatial, 1), zeros(spatial, 0);
  auto patches = ConvOp::create(b, loc, padded, filter,
                                b.getDenseI64ArrayAttr(strides.drop_front(2)),
                                b.getDenseI64ArrayAttr(dilations.drop_front(2)),
                                b.getDenseI64ArrayAttr(ones), b.getDenseI64ArrayAttr(zeros),
                                b.getDenseI64ArrayAttr(zeros), 1);
  auto patchesType = cast<RankedTensorType>(patches.getType());

  // Each output's gradient (and value) over its window's offsets.
  SmallVector<int64_t> perOutput = {images, 1};
  llvm::append_range(perOutput, outType.getShape().drop_front(2));
  auto spread = [&](Value value) -> Value {
    Value reshaped =
        ReshapeOp::create(b, loc, RankedTensorType::get(perOutput, element), value);
    SmallVector<int64_t> dims = llvm::to_vector(llvm::seq<int64_t>(0, spatial + 2));
    return BroadcastOp::create(b, loc, patchesType, reshaped, b.getDenseI64ArrayAttr(dims));
  };
  Value contributions = spread(grads[0]);
  if (kind != ReduceKind::sum) {
    contributions =
        shareAmongTies(b, loc, patches, spread(getResult()), contributions, /*reduced=*/{1});
  }
  FailureOr<SmallVector<Value>> throughPatches = patches.gradients(b, contributions);
  if (failed(throughPatches))
    return failure();
  // Back to the operand: the interior of the padded gradient, reshaped.
  auto paddedType = cast<RankedTensorType>(padded.getType());
  SmallVector<int64_t> start(rank, 0), limit(paddedType.getShape()), step(rank, 1);
  for (int64_t i = 0; i < spatial; ++i) {
    start[i + 2] = low[i + 2];
    limit[i + 2] = low[i + 2] + type.getDimSize(i + 2);
  }
  Value interior = SliceOp::create(b, loc, (*throughPatches)[0], b.getDenseI64ArrayAttr(start),
                                   b.getDenseI64ArrayAttr(limit), b.getDenseI64ArrayAttr(step));
  return SmallVector<Value>{ReshapeOp::create(b, loc, type, interior).getResult()};
}
