//===- Primitives.cpp - GraphBuilder's wrappers of the dlc ops --*- C++ -*-===//
//
// One method per primitive op beyond the core set in GraphBuilder.cpp: each
// checks its operands, reports misuse with fail(), and creates the op with
// createOrFold so that constant operands fold at once.
//
//===----------------------------------------------------------------------===//

#include "frontend/builder/GraphBuilder.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace dlc;

namespace {

std::string typeName(Type type) {
  std::string text;
  llvm::raw_string_ostream(text) << type;
  return text;
}

std::string listText(ArrayRef<int64_t> values) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(values, os);
  return "[" + text + "]";
}

} // namespace

template <typename OpTy>
Tensor GraphBuilder::unary(llvm::StringRef name, Tensor operand) {
  if (!usable({operand}))
    return {};
  return Tensor(builder.createOrFold<OpTy>(location, operand.value()));
}

Tensor GraphBuilder::bitNot(Tensor operand) {
  if (usable({operand}) && isa<FloatType>(operand.elementType())) {
    fail("not: needs an integer or boolean tensor");
    return {};
  }
  return unary<NotOp>("not", operand);
}
Tensor GraphBuilder::abs(Tensor operand) { return unary<AbsOp>("abs", operand); }
Tensor GraphBuilder::sign(Tensor operand) { return unary<SignOp>("sign", operand); }

Tensor GraphBuilder::math(MathFn fn, Tensor operand) {
  if (!usable({operand}))
    return {};
  if (!isa<FloatType>(operand.elementType())) {
    fail("math functions need a floating-point tensor, got " +
         typeName(operand.elementType()));
    return {};
  }
  switch (fn) {
  case MathFn::log: return unary<LogOp>("log", operand);
  case MathFn::sqrt: return unary<SqrtOp>("sqrt", operand);
  case MathFn::tanh: return unary<TanhOp>("tanh", operand);
  case MathFn::erf: return unary<ErfOp>("erf", operand);
  case MathFn::floor: return unary<FloorOp>("floor", operand);
  case MathFn::ceil: return unary<CeilOp>("ceil", operand);
  case MathFn::round: return unary<RoundOp>("round", operand);
  case MathFn::sin: return unary<SinOp>("sin", operand);
  case MathFn::cos: return unary<CosOp>("cos", operand);
  case MathFn::tan: return unary<TanOp>("tan", operand);
  case MathFn::asin: return unary<AsinOp>("asin", operand);
  case MathFn::acos: return unary<AcosOp>("acos", operand);
  case MathFn::atan: return unary<AtanOp>("atan", operand);
  case MathFn::sinh: return unary<SinhOp>("sinh", operand);
  case MathFn::cosh: return unary<CoshOp>("cosh", operand);
  case MathFn::asinh: return unary<AsinhOp>("asinh", operand);
  case MathFn::acosh: return unary<AcoshOp>("acosh", operand);
  case MathFn::atanh: return unary<AtanhOp>("atanh", operand);
  }
  llvm_unreachable("unknown math function");
}

bool GraphBuilder::broadcastAll(llvm::StringRef op,
                                llvm::MutableArrayRef<Tensor> tensors) {
  SmallVector<int64_t> shape;
  for (const Tensor &t : tensors) {
    auto joined = broadcastShape(op, shape, t.shape());
    if (!joined)
      return false;
    shape = *joined;
  }
  for (Tensor &t : tensors)
    t = broadcastTo(t, shape);
  return !failed();
}

Tensor GraphBuilder::compare(CompareDirection direction, Tensor lhs, Tensor rhs) {
  if (!usable({lhs, rhs}))
    return {};
  if (lhs.elementType() != rhs.elementType()) {
    fail("compare: element types differ (" + typeName(lhs.elementType()) +
         " and " + typeName(rhs.elementType()) + ")");
    return {};
  }
  Tensor operands[] = {lhs, rhs};
  if (!broadcastAll("compare", operands))
    return {};
  return Tensor(builder.createOrFold<CompareOp>(location, direction,
                                                operands[0].value(),
                                                operands[1].value()));
}

Tensor GraphBuilder::select(Tensor condition, Tensor onTrue, Tensor onFalse) {
  if (!usable({condition, onTrue, onFalse}))
    return {};
  if (!condition.elementType().isInteger(1)) {
    fail("select: the condition must be a boolean (i1) tensor");
    return {};
  }
  if (onTrue.elementType() != onFalse.elementType()) {
    fail("select: branch element types differ (" +
         typeName(onTrue.elementType()) + " and " +
         typeName(onFalse.elementType()) + ")");
    return {};
  }
  Tensor operands[] = {condition, onTrue, onFalse};
  if (!broadcastAll("select", operands))
    return {};
  return Tensor(builder.createOrFold<SelectOp>(location, operands[0].value(),
                                               operands[1].value(),
                                               operands[2].value()));
}

Tensor GraphBuilder::convert(Tensor operand, Type elementType) {
  if (!usable({operand}))
    return {};
  if (!elementType) {
    fail("convert: no target element type");
    return {};
  }
  if (operand.elementType() == elementType)
    return operand;
  auto type = RankedTensorType::get(operand.shape(), elementType);
  return Tensor(builder.createOrFold<ConvertOp>(location, type, operand.value()));
}

Tensor GraphBuilder::iota(llvm::ArrayRef<int64_t> shape, int64_t dim,
                          Type elementType) {
  if (failed())
    return {};
  if (!elementType) {
    fail("iota: no element type");
    return {};
  }
  if (dim < 0 || dim >= static_cast<int64_t>(shape.size())) {
    fail("iota: dimension " + std::to_string(dim) + " is out of range");
    return {};
  }
  if (!checkSize("iota", shape))
    return {};
  auto type = RankedTensorType::get(shape, elementType);
  return Tensor(builder.createOrFold<IotaOp>(location, type, dim));
}

Tensor GraphBuilder::slice(Tensor operand, llvm::ArrayRef<int64_t> start,
                           llvm::ArrayRef<int64_t> limit,
                           llvm::ArrayRef<int64_t> strides) {
  if (!usable({operand}))
    return {};
  int64_t rank = operand.rank();
  bool valid = static_cast<int64_t>(start.size()) == rank &&
               static_cast<int64_t>(limit.size()) == rank &&
               static_cast<int64_t>(strides.size()) == rank;
  for (int64_t d = 0; valid && d < rank; ++d)
    valid = start[d] >= 0 && start[d] <= limit[d] &&
            limit[d] <= operand.shape()[d] && strides[d] > 0;
  if (!valid) {
    fail("slice: cannot take " + listText(start) + " to " + listText(limit) +
         " by " + listText(strides) + " from " + formatShape(operand.shape()));
    return {};
  }
  return Tensor(builder.createOrFold<SliceOp>(
      location, operand.value(), builder.getDenseI64ArrayAttr(start),
      builder.getDenseI64ArrayAttr(limit), builder.getDenseI64ArrayAttr(strides)));
}

Tensor GraphBuilder::reverse(Tensor operand, llvm::ArrayRef<int64_t> dims) {
  if (!usable({operand}))
    return {};
  auto normalized = normalizeDims("reverse", dims, operand.rank());
  if (!normalized)
    return {};
  if (normalized->empty())
    return operand;
  return Tensor(builder.createOrFold<ReverseOp>(
      location, operand.value(), builder.getDenseI64ArrayAttr(*normalized)));
}

Tensor GraphBuilder::concat(llvm::ArrayRef<Tensor> tensors, int64_t dim) {
  if (failed() || tensors.empty()) {
    if (!failed())
      fail("concat: needs at least one tensor");
    return {};
  }
  SmallVector<Value> values;
  for (const Tensor &t : tensors) {
    if (!usable({t}))
      return {};
    bool compatible = t.rank() == tensors[0].rank() &&
                      t.elementType() == tensors[0].elementType();
    for (int64_t d = 0; compatible && d < t.rank(); ++d)
      compatible = d == dim || t.shape()[d] == tensors[0].shape()[d];
    if (!compatible || dim < 0 || dim >= t.rank()) {
      fail("concat: cannot join " + formatShape(tensors[0].shape()) + " and " +
           formatShape(t.shape()) + " along dimension " + std::to_string(dim));
      return {};
    }
    values.push_back(t.value());
  }
  return Tensor(builder.createOrFold<ConcatOp>(location, values, dim));
}

Tensor GraphBuilder::pad(Tensor operand, llvm::ArrayRef<int64_t> low,
                         llvm::ArrayRef<int64_t> high, Tensor value) {
  if (!usable({operand, value}))
    return {};
  int64_t rank = operand.rank();
  if (static_cast<int64_t>(low.size()) != rank ||
      static_cast<int64_t>(high.size()) != rank) {
    fail("pad: needs one low and one high pad per dimension");
    return {};
  }
  // Negative pads crop first.
  SmallVector<int64_t> start(rank), limit(operand.shape()), strides(rank, 1);
  SmallVector<int64_t> padLow(rank), padHigh(rank);
  for (int64_t d = 0; d < rank; ++d) {
    start[d] = std::max<int64_t>(0, -low[d]);
    limit[d] -= std::max<int64_t>(0, -high[d]);
    padLow[d] = std::max<int64_t>(0, low[d]);
    padHigh[d] = std::max<int64_t>(0, high[d]);
    if (limit[d] < start[d]) {
      fail("pad: negative pads remove more than dimension " +
           std::to_string(d) + " holds");
      return {};
    }
  }
  SmallVector<int64_t> padded(limit);
  for (int64_t d = 0; d < rank; ++d)
    padded[d] = limit[d] - start[d] + padLow[d] + padHigh[d];
  if (!checkSize("pad", padded))
    return {};
  operand = slice(operand, start, limit, strides);
  value = reshape(convert(value, operand.elementType()), {});
  if (!operand || !value)
    return {};
  return Tensor(builder.createOrFold<PadOp>(
      location, operand.value(), value.value(), builder.getDenseI64ArrayAttr(padLow),
      builder.getDenseI64ArrayAttr(padHigh)));
}

Tensor GraphBuilder::gather(Tensor data, Tensor indices, int64_t axis) {
  if (!usable({data, indices}))
    return {};
  if (isa<FloatType>(indices.elementType())) {
    fail("gather: indices must be integers");
    return {};
  }
  if (axis < 0)
    axis += data.rank();
  if (axis < 0 || axis >= data.rank()) {
    fail("gather: axis is out of range for rank " + std::to_string(data.rank()));
    return {};
  }
  // Negative indices count from the end.
  Tensor size = scalar(static_cast<double>(data.shape()[axis]), indices.elementType());
  Tensor zero = scalar(0, indices.elementType());
  Tensor wrapped = select(compare(CompareDirection::lt, indices, zero),
                          add(indices, size), indices);
  if (!wrapped)
    return {};
  return Tensor(builder.createOrFold<GatherOp>(location, data.value(),
                                               wrapped.value(), axis));
}

Tensor GraphBuilder::scatterFlat(ScatterKind kind, Tensor data, Tensor indices,
                                 Tensor updates) {
  if (!usable({data, indices, updates}))
    return {};
  if (data.rank() != 1 || indices.rank() != 1 || updates.rank() != 1 ||
      indices.shape()[0] != updates.shape()[0] ||
      data.elementType() != updates.elementType()) {
    fail("scatter: needs rank-1 data, indices and updates, one update per index");
    return {};
  }
  return Tensor(builder.createOrFold<ScatterOp>(location, kind, data.value(),
                                                indices.value(), updates.value()));
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, top-k
//===----------------------------------------------------------------------===//

namespace {
/// `values`, or `count` copies of `fill` when it is empty.
SmallVector<int64_t> orFill(ArrayRef<int64_t> values, size_t count, int64_t fill) {
  return values.empty() ? SmallVector<int64_t>(count, fill)
                        : SmallVector<int64_t>(values);
}
} // namespace

Tensor GraphBuilder::conv(Tensor input, Tensor filter, Tensor bias,
                          const ConvOptions &options) {
  if (!usable({input, filter}))
    return {};
  size_t spatial = input.rank() >= 2 ? input.rank() - 2 : 0;
  SmallVector<int64_t> strides = orFill(options.strides, spatial, 1);
  SmallVector<int64_t> dilations = orFill(options.dilations, spatial, 1);
  SmallVector<int64_t> lhsDilation = orFill(options.lhsDilation, spatial, 1);
  SmallVector<int64_t> padLow = orFill(options.padLow, spatial, 0);
  SmallVector<int64_t> padHigh = orFill(options.padHigh, spatial, 0);
  int64_t groups = options.groups;
  bool valid = spatial >= 1 && filter.rank() == input.rank() && groups >= 1 &&
               strides.size() == spatial && dilations.size() == spatial &&
               lhsDilation.size() == spatial && padLow.size() == spatial &&
               padHigh.size() == spatial &&
               input.elementType() == filter.elementType() &&
               filter.shape()[1] * groups == input.shape()[1] &&
               filter.shape()[0] % groups == 0;
  for (size_t i = 0; valid && i < spatial; ++i) {
    int64_t in = (input.shape()[i + 2] - 1) * lhsDilation[i] + 1;
    int64_t window = (filter.shape()[i + 2] - 1) * dilations[i] + 1;
    valid = strides[i] > 0 && dilations[i] > 0 && lhsDilation[i] > 0 &&
            padLow[i] >= 0 && padHigh[i] >= 0 &&
            in + padLow[i] + padHigh[i] >= window;
  }
  if (!valid) {
    fail("conv: cannot convolve input " + formatShape(input.shape()) +
         " with filter " + formatShape(filter.shape()) + " (groups " +
         std::to_string(groups) + ", strides " + listText(strides) +
         ", dilations " + listText(dilations) + ", pads " + listText(padLow) +
         " " + listText(padHigh) + ")");
    return {};
  }
  Tensor result(builder.createOrFold<ConvOp>(
      location, input.value(), filter.value(), builder.getDenseI64ArrayAttr(strides),
      builder.getDenseI64ArrayAttr(dilations),
      builder.getDenseI64ArrayAttr(lhsDilation),
      builder.getDenseI64ArrayAttr(padLow), builder.getDenseI64ArrayAttr(padHigh),
      groups));
  if (!bias.valid())
    return result;
  if (bias.rank() != 1 || bias.shape()[0] != filter.shape()[0]) {
    fail("conv: bias must have one value per output channel (" +
         std::to_string(filter.shape()[0]) + "), got " + formatShape(bias.shape()));
    return {};
  }
  SmallVector<int64_t> biasShape(input.rank(), 1);
  biasShape[1] = bias.shape()[0];
  return add(result, reshape(bias, biasShape));
}

Tensor GraphBuilder::reduceWindow(ReduceKind kind, Tensor operand,
                                  const WindowOptions &options) {
  if (!usable({operand}))
    return {};
  size_t rank = operand.rank();
  SmallVector<int64_t> window = orFill(options.window, rank, 1);
  SmallVector<int64_t> strides = orFill(options.strides, rank, 1);
  SmallVector<int64_t> dilations = orFill(options.dilations, rank, 1);
  SmallVector<int64_t> padLow = orFill(options.padLow, rank, 0);
  SmallVector<int64_t> padHigh = orFill(options.padHigh, rank, 0);
  bool valid = window.size() == rank && strides.size() == rank &&
               dilations.size() == rank && padLow.size() == rank &&
               padHigh.size() == rank;
  for (size_t d = 0; valid && d < rank; ++d)
    valid = window[d] > 0 && strides[d] > 0 && dilations[d] > 0 &&
            padLow[d] >= 0 && padHigh[d] >= 0 &&
            operand.shape()[d] + padLow[d] + padHigh[d] >=
                (window[d] - 1) * dilations[d] + 1;
  if (!valid) {
    fail("pool: window " + listText(window) + " with strides " +
         listText(strides) + " and pads " + listText(padLow) + " " +
         listText(padHigh) + " does not fit " + formatShape(operand.shape()));
    return {};
  }
  return Tensor(builder.createOrFold<ReduceWindowOp>(
      location, kind, operand.value(), builder.getDenseI64ArrayAttr(window),
      builder.getDenseI64ArrayAttr(strides), builder.getDenseI64ArrayAttr(dilations),
      builder.getDenseI64ArrayAttr(padLow), builder.getDenseI64ArrayAttr(padHigh)));
}

std::pair<Tensor, Tensor> GraphBuilder::topK(Tensor operand, int64_t k,
                                             int64_t dim, bool largest) {
  if (!usable({operand}))
    return {};
  if (dim < 0)
    dim += operand.rank();
  if (dim < 0 || dim >= operand.rank() || k < 0 || k > operand.shape()[dim]) {
    fail("topk: k = " + std::to_string(k) + " along dimension " +
         std::to_string(dim) + " does not fit " + formatShape(operand.shape()));
    return {};
  }
  auto op = TopKOp::create(builder, location, operand.value(), k, dim, largest);
  return {Tensor(op.getValues()), Tensor(op.getIndices())};
}

Tensor GraphBuilder::argExtreme(bool max, Tensor operand, int64_t dim,
                                bool keepDims, bool lastIndex) {
  if (!usable({operand}))
    return {};
  if (dim < 0)
    dim += operand.rank();
  if (dim < 0 || dim >= operand.rank() || operand.shape()[dim] == 0) {
    fail(std::string(max ? "argmax" : "argmin") +
         ": dimension is out of range or empty");
    return {};
  }
  // Positions equal to the extreme keep their index; the others get a value
  // that loses the index reduction (n for the first index, -1 for the last).
  Tensor extreme = reduce(max ? ReduceKind::max : ReduceKind::min, operand,
                          {dim}, /*keepDims=*/true);
  Type i64 = builder.getI64Type();
  Tensor positions = iota(operand.shape(), dim, i64);
  Tensor loser = scalar(lastIndex ? -1.0 : double(operand.shape()[dim]), i64);
  Tensor candidates =
      select(compare(CompareDirection::eq, operand, extreme), positions, loser);
  return reduce(lastIndex ? ReduceKind::max : ReduceKind::min, candidates,
                {dim}, keepDims);
}

Tensor GraphBuilder::argMax(Tensor operand, int64_t dim, bool keepDims,
                            bool lastIndex) {
  return argExtreme(true, operand, dim, keepDims, lastIndex);
}

Tensor GraphBuilder::argMin(Tensor operand, int64_t dim, bool keepDims,
                            bool lastIndex) {
  return argExtreme(false, operand, dim, keepDims, lastIndex);
}
