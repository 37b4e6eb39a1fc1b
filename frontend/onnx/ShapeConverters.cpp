//===- ShapeConverters.cpp - ONNX shape and data-movement ops ---*- C++ -*-===//
//
// Reshapes, slices, gathers, scatters, pads and the ops that make tensors of
// a given shape. Shape operands must be known when compiling; they usually
// are constants after folding.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

#include <cmath>
#include <numeric>

using namespace dlc;
using namespace dlc::onnx_import;

namespace {

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Axes from the attribute (older opsets) or from input `inputIndex`.
std::optional<llvm::SmallVector<int64_t>>
axesOf(NodeImporter &n, int64_t inputSinceOpset, size_t inputIndex) {
  if (n.opset >= inputSinceOpset) {
    if (!n.hasInput(inputIndex))
      return llvm::SmallVector<int64_t>{};
    return n.constantInts(inputIndex, "axes");
  }
  return n.intsAttr("axes");
}

/// An i64 index tensor wrapped into [0, size) when negative.
Tensor wrapIndex(GraphBuilder &g, Tensor index, int64_t size) {
  index = g.convert(index, mlir::IntegerType::get(&g.context(), 64));
  Tensor zero = g.scalar(0, index.elementType());
  return g.select(g.compare(CompareDirection::lt, index, zero),
                  g.add(index, g.scalar(double(size), index.elementType())), index);
}

/// The flat positions in `data` that ONNX's GatherElements/ScatterElements
/// address with `indices` along `axis`, shaped like `indices`.
Tensor elementPositions(GraphBuilder &g, Tensor data, Tensor indices, int64_t axis) {
  llvm::SmallVector<int64_t> strides = stridesOf(data.shape());
  mlir::Type i64 = mlir::IntegerType::get(&g.context(), 64);
  Tensor flat = g.scalar(0, i64);
  for (int64_t d = 0; d < indices.rank(); ++d) {
    Tensor coordinate = d == axis ? wrapIndex(g, indices, data.shape()[d])
                                  : g.iota(indices.shape(), d, i64);
    flat = g.add(flat, g.mul(coordinate, g.scalar(double(strides[d]), i64)));
  }
  return flat;
}

std::optional<ScatterKind> scatterKind(NodeImporter &n) {
  std::string reduction = n.stringAttr("reduction", "none");
  if (reduction == "none") return ScatterKind::none;
  if (reduction == "add") return ScatterKind::add;
  if (reduction == "mul") return ScatterKind::mul;
  if (reduction == "max") return ScatterKind::max;
  if (reduction == "min") return ScatterKind::min;
  n.fail("reduction '" + reduction + "' is not one of none, add, mul, max, min");
  return std::nullopt;
}

void convertReshape(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  llvm::SmallVector<int64_t> shape;
  if (n.opset < 5) {
    shape = n.intsAttr("shape");
  } else {
    auto values = n.constantInts(1, "shape");
    if (!values)
      return;
    shape = *values;
  }
  bool allowZero = n.intAttr("allowzero", 0) != 0;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= x.rank())
        return void(n.fail("shape entry " + llvm::Twine(i) +
                           " is 0 (copy) but the input has rank " + llvm::Twine(x.rank())));
      shape[i] = x.shape()[i];
    }
  n.setOutput(0, n.g.reshape(x, shape));
}

void convertSlice(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  llvm::SmallVector<int64_t> starts, ends, axes, steps;
  if (n.opset < 10) {
    starts = n.intsAttr("starts");
    ends = n.intsAttr("ends");
    axes = n.intsAttr("axes");
  } else {
    auto s = n.constantInts(1, "starts"), e = n.constantInts(2, "ends");
    if (!s || !e)
      return;
    starts = *s;
    ends = *e;
    if (n.hasInput(3)) {
      auto a = n.constantInts(3, "axes");
      if (!a)
        return;
      axes = *a;
    }
    if (n.hasInput(4)) {
      auto st = n.constantInts(4, "steps");
      if (!st)
        return;
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return void(n.fail("starts, ends, axes and steps must have one entry each"));

  int64_t rank = x.rank();
  llvm::SmallVector<int64_t> start(rank, 0), limit(x.shape()), stride(rank, 1);
  llvm::SmallVector<int64_t> reversed;
  for (size_t i = 0; i < starts.size(); ++i) {
    auto axis = n.axis(axes[i], rank);
    if (!axis)
      return;
    int64_t d = x.shape()[*axis], step = steps[i];
    if (step == 0)
      return void(n.fail("a slice step is 0"));
    auto clampIndex = [&](int64_t v, int64_t low, int64_t high) {
      if (v < 0)
        v += d;
      return std::min(std::max(v, low), high);
    };
    int64_t s, e;
    if (step > 0) {
      s = clampIndex(starts[i], 0, d);
      e = clampIndex(ends[i], 0, d);
    } else {
      // Slice the reversed axis, where index i is d - 1 - i.
      s = d - 1 - clampIndex(starts[i], -1, d - 1);
      int64_t endValue = ends[i] < -d ? -1 : clampIndex(ends[i], -1, d - 1);
      e = d - 1 - endValue;
      reversed.push_back(*axis);
    }
    start[*axis] = s;
    limit[*axis] = std::max(s, e);
    stride[*axis] = std::abs(step);
  }
  x = n.g.reverse(x, reversed);
  n.setOutput(0, n.g.slice(x, start, limit, stride));
}

void convertSplit(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  auto axis = n.axis(n.intAttr("axis", 0), x.rank());
  if (!axis)
    return;
  int64_t d = x.shape()[*axis];
  int64_t parts = n.numOutputs();
  llvm::SmallVector<int64_t> sizes;
  if (n.opset >= 13 && n.hasInput(1)) {
    auto s = n.constantInts(1, "split");
    if (!s)
      return;
    sizes = *s;
  } else if (n.opset < 13) {
    sizes = n.intsAttr("split");
  }
  if (sizes.empty()) {
    int64_t chunk = n.hasAttr("num_outputs") ? (d + parts - 1) / parts
                                             : (parts ? d / parts : 0);
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::min(chunk, d - i * chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != parts ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != d)
    return void(n.fail("split sizes do not add up to the dimension (" +
                       llvm::Twine(d) + ") over " + llvm::Twine(parts) + " outputs"));
  llvm::SmallVector<int64_t> start(x.rank(), 0), limit(x.shape()), stride(x.rank(), 1);
  int64_t offset = 0;
  for (int64_t i = 0; i < parts; ++i) {
    start[*axis] = offset;
    limit[*axis] = offset + sizes[i];
    n.setOutput(i, n.g.slice(x, start, limit, stride));
    offset += sizes[i];
  }
}

void convertPad(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  int64_t rank = x.rank();
  llvm::SmallVector<int64_t> pads;
  std::string mode = n.stringAttr("mode", "constant");
  Tensor value;
  if (n.opset < 11) {
    pads = n.intsAttr(n.opset < 2 ? "paddings" : "pads");
    value = n.g.scalar(n.floatAttr("value", 0), x.elementType());
  } else {
    auto p = n.constantInts(1, "pads");
    if (!p)
      return;
    pads = *p;
    value = n.hasInput(2) ? n.input(2) : n.g.scalar(0, x.elementType());
  }
  llvm::SmallVector<int64_t> axes;
  if (n.opset >= 18 && n.hasInput(3)) {
    auto a = n.constantInts(3, "axes");
    if (!a)
      return;
    for (int64_t axis : *a) {
      auto normalized = n.axis(axis, rank);
      if (!normalized)
        return;
      axes.push_back(*normalized);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size())
    return void(n.fail("pads needs " + llvm::Twine(2 * axes.size()) +
                       " entries, got " + llvm::Twine(pads.size())));
  llvm::SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    low[axes[i]] = pads[i];
    high[axes[i]] = pads[i + axes.size()];
  }
  if (mode == "constant")
    return n.setOutput(0, n.g.pad(x, low, high, value));
  if (mode != "reflect" && mode != "edge" && mode != "wrap")
    return void(n.fail("mode '" + mode + "' is not constant, reflect, edge or wrap"));
  // The other modes read existing elements: gather each axis with the
  // source index of every output position.
  for (int64_t d = 0; d < rank; ++d) {
    if (low[d] == 0 && high[d] == 0)
      continue;
    int64_t size = x.shape()[d];
    if (!n.importSized(size + low[d] + high[d], "padding"))
      return;
    if (size == 0 || (mode == "reflect" && size < 2 && (low[d] > 0 || high[d] > 0)))
      return void(n.fail("cannot " + mode + "-pad an axis of size " + llvm::Twine(size)));
    HostTensor index(DType::i64, {size + low[d] + high[d]});
    for (int64_t p = 0; p < index.numElements(); ++p) {
      int64_t i = p - low[d];
      if (mode == "edge") {
        i = std::min(std::max<int64_t>(i, 0), size - 1);
      } else if (mode == "wrap") {
        i = ((i % size) + size) % size;
      } else {
        int64_t period = 2 * (size - 1);
        i = ((i % period) + period) % period;
        if (i >= size)
          i = period - i;
      }
      index.dataAs<int64_t>()[p] = i;
    }
    x = n.g.gather(x, n.g.constant(index), d);
  }
  n.setOutput(0, x);
}

void convertConstant(NodeImporter &n) {
  if (auto value = n.tensorAttr("value"))
    return n.setOutput(0, n.g.constant(*value));
  if (n.hasAttr("value_float"))
    return n.setOutput(0, n.g.scalar(n.floatAttr("value_float", 0)));
  if (n.hasAttr("value_int"))
    return n.setOutput(0, n.g.scalar(double(n.intAttr("value_int", 0)), n.i64()));
  if (n.hasAttr("value_floats")) {
    auto values = n.floatsAttr("value_floats");
    return n.setOutput(0, n.g.constant(HostTensor::fromFloats(
                              {int64_t(values.size())}, values)));
  }
  if (n.hasAttr("value_ints")) {
    auto values = n.intsAttr("value_ints");
    HostTensor t(DType::i64, {int64_t(values.size())});
    std::copy(values.begin(), values.end(), t.dataAs<int64_t>());
    return n.setOutput(0, n.g.constant(t));
  }
  if (!n.g.failed())
    n.fail("only tensor, float and int values are supported (not sparse or "
           "string constants)");
}

void convertConstantOfShape(NodeImporter &n) {
  auto shape = n.constantInts(0, "shape");
  if (!shape)
    return;
  HostTensor value = HostTensor::fromFloats({1}, {0.0f});
  if (auto attr = n.tensorAttr("value"))
    value = *attr;
  if (value.numElements() != 1)
    return void(n.fail("value must hold one element"));
  // A splat: broadcasting the one value folds to a splat constant.
  Tensor element = n.g.reshape(n.g.constant(value), {});
  n.setOutput(0, n.g.broadcastTo(element, *shape));
}

void convertRange(NodeImporter &n) {
  auto start = n.constantFloats(0, "start"), limit = n.constantFloats(1, "limit"),
       delta = n.constantFloats(2, "delta");
  if (!start || !limit || !delta)
    return;
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1 ||
      delta->front() == 0)
    return void(n.fail("start, limit and delta must be scalars, delta not 0"));
  Tensor like = n.input(0);
  double stepCount = std::ceil((limit->front() - start->front()) / delta->front());
  if (!(stepCount < double(GraphBuilder::kMaxElements)))
    return void(n.fail("the range would have too many elements"));
  int64_t count = std::max<int64_t>(0, static_cast<int64_t>(stepCount));
  mlir::Type t = like.elementType();
  Tensor steps = n.g.convert(n.g.iota({count}, 0, n.i64()), t);
  n.setOutput(0, n.g.add(n.g.mul(steps, n.g.reshape(n.input(2), {})),
                         n.g.reshape(like, {})));
}

void convertTile(NodeImporter &n) {
  Tensor x = n.required(0);
  auto repeats = n.constantInts(1, "repeats");
  if (!x || !repeats)
    return;
  if (static_cast<int64_t>(repeats->size()) != x.rank())
    return void(n.fail("repeats needs one entry per dimension"));
  llvm::SmallVector<int64_t> interleaved, broadcast, result;
  for (int64_t d = 0; d < x.rank(); ++d) {
    interleaved.append({1, x.shape()[d]});
    broadcast.append({(*repeats)[d], x.shape()[d]});
    result.push_back((*repeats)[d] * x.shape()[d]);
  }
  n.setOutput(0, n.g.reshape(n.g.broadcastTo(n.g.reshape(x, interleaved), broadcast), result));
}

void convertExpand(NodeImporter &n) {
  Tensor x = n.required(0);
  auto shape = n.constantInts(1, "shape");
  if (!x || !shape)
    return;
  // Bidirectional: the target may hold 1 where the input is larger.
  size_t rank = std::max<size_t>(x.rank(), shape->size());
  llvm::SmallVector<int64_t> target(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - x.rank() ? 1 : x.shape()[i - (rank - x.rank())];
    int64_t b = i < rank - shape->size() ? 1 : (*shape)[i - (rank - shape->size())];
    target[i] = a == 1 ? b : a;
  }
  n.setOutput(0, n.g.broadcastTo(x, target));
}

void convertTrilu(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  if (x.rank() < 2)
    return void(n.fail("needs a tensor of rank 2 or more"));
  int64_t k = 0;
  if (n.hasInput(1)) {
    auto values = n.constantInts(1, "k");
    if (!values)
      return;
    k = values->empty() ? 0 : values->front();
  }
  llvm::ArrayRef<int64_t> matrix = x.shape().take_back(2);
  Tensor rows = n.g.iota(matrix, 0, n.i64()), cols = n.g.iota(matrix, 1, n.i64());
  Tensor offset = n.g.sub(cols, rows);
  Tensor kt = n.g.scalar(double(k), n.i64());
  Tensor keep = n.intAttr("upper", 1) ? n.g.compare(CompareDirection::ge, offset, kt)
                                      : n.g.compare(CompareDirection::le, offset, kt);
  n.setOutput(0, n.g.select(keep, x, n.g.scalar(0, x.elementType())));
}

void convertOneHot(NodeImporter &n) {
  Tensor indices = n.required(0);
  auto depth = n.constantFloats(1, "depth");
  Tensor values = n.required(2);
  if (!indices || !depth || !values)
    return;
  if (depth->size() != 1 || values.rank() != 1 || values.shape()[0] != 2)
    return void(n.fail("depth must be a scalar and values hold [off, on]"));
  if (!(depth->front() >= 1 && depth->front() < double(GraphBuilder::kMaxElements)))
    return void(n.fail("depth must be a positive number of classes"));
  int64_t d = static_cast<int64_t>(depth->front());
  int64_t rank = indices.rank() + 1;
  auto axis = n.axis(n.intAttr("axis", -1), rank);
  if (!axis)
    return;
  llvm::SmallVector<int64_t> shape(indices.shape());
  shape.insert(shape.begin() + *axis, d);
  llvm::SmallVector<int64_t> expanded(indices.shape());
  expanded.insert(expanded.begin() + *axis, 1);
  Tensor position = n.g.reshape(wrapIndex(n.g, indices, d), expanded);
  Tensor hot = n.g.compare(CompareDirection::eq, n.g.iota(shape, *axis, n.i64()), position);
  Tensor off = n.g.reshape(n.g.slice(values, {0}, {1}, {1}), {});
  Tensor on = n.g.reshape(n.g.slice(values, {1}, {2}, {1}), {});
  n.setOutput(0, n.g.select(hot, on, off));
}

void convertGatherElements(NodeImporter &n) {
  Tensor data = n.required(0), indices = n.required(1);
  if (!data || !indices)
    return;
  auto axis = n.axis(n.intAttr("axis", 0), data.rank());
  if (!axis)
    return;
  if (indices.rank() != data.rank())
    return void(n.fail("indices must have the data's rank"));
  Tensor flatData = n.g.reshape(data, {data.numElements()});
  n.setOutput(0, n.g.gather(flatData, elementPositions(n.g, data, indices, *axis), 0));
}

void convertScatterElements(NodeImporter &n) {
  Tensor data = n.required(0), indices = n.required(1), updates = n.required(2);
  auto kind = scatterKind(n);
  if (!data || !indices || !updates || !kind)
    return;
  auto axis = n.axis(n.intAttr("axis", 0), data.rank());
  if (!axis)
    return;
  if (indices.shape() != updates.shape() || indices.rank() != data.rank())
    return void(n.fail("indices and updates must have one shape and the data's rank"));
  int64_t count = indices.numElements();
  Tensor positions = n.g.reshape(elementPositions(n.g, data, indices, *axis), {count});
  Tensor flat = n.g.scatterFlat(*kind, n.g.reshape(data, {data.numElements()}),
                                positions, n.g.reshape(updates, {count}));
  n.setOutput(0, n.g.reshape(flat, data.shape()));
}

/// The flat offset in data.shape[:b+k] of each index tuple of GatherND /
/// ScatterND, shaped indices.shape[:-1].
Tensor tuplePositions(NodeImporter &n, Tensor data, Tensor indices, int64_t batch) {
  int64_t k = indices.shape().back();
  llvm::SmallVector<int64_t> outer(indices.shape().drop_back());
  llvm::SmallVector<int64_t> strides = stridesOf(data.shape().take_front(batch + k));
  Tensor flat = n.g.scalar(0, n.i64());
  for (int64_t d = 0; d < batch; ++d)
    flat = n.g.add(flat, n.g.mul(n.g.iota(outer, d, n.i64()),
                                 n.g.scalar(double(strides[d]), n.i64())));
  llvm::SmallVector<int64_t> start(indices.rank(), 0), limit(indices.shape()),
      stride(indices.rank(), 1);
  for (int64_t j = 0; j < k; ++j) {
    start.back() = j;
    limit.back() = j + 1;
    Tensor component = n.g.reshape(n.g.slice(indices, start, limit, stride), outer);
    component = wrapIndex(n.g, component, data.shape()[batch + j]);
    flat = n.g.add(flat, n.g.mul(component, n.g.scalar(double(strides[batch + j]), n.i64())));
  }
  return flat;
}

void convertGatherND(NodeImporter &n) {
  Tensor data = n.required(0), indices = n.required(1);
  if (!data || !indices)
    return;
  int64_t batch = n.intAttr("batch_dims", 0);
  if (indices.rank() < 1 || batch < 0 || batch >= std::min(data.rank(), indices.rank()) ||
      batch + indices.shape().back() > data.rank())
    return void(n.fail("indices of shape " + formatShape(indices.shape()) +
                       " with batch_dims " + llvm::Twine(batch) +
                       " do not fit data of shape " + formatShape(data.shape())));
  int64_t k = indices.shape().back();
  llvm::SmallVector<int64_t> dataShape = {product(data.shape().take_front(batch + k))};
  llvm::append_range(dataShape, data.shape().drop_front(batch + k));
  Tensor positions = tuplePositions(n, data, indices, batch);
  n.setOutput(0, n.g.gather(n.g.reshape(data, dataShape), positions, 0));
}

void convertScatterND(NodeImporter &n) {
  Tensor data = n.required(0), indices = n.required(1), updates = n.required(2);
  auto kind = scatterKind(n);
  if (!data || !indices || !updates || !kind)
    return;
  int64_t k = indices.rank() ? indices.shape().back() : 0;
  if (indices.rank() < 1 || k > data.rank())
    return void(n.fail("indices of shape " + formatShape(indices.shape()) +
                       " do not fit data of shape " + formatShape(data.shape())));
  int64_t tuples = product(indices.shape().drop_back());
  int64_t inner = product(data.shape().drop_front(k));
  if (updates.numElements() != tuples * inner)
    return void(n.fail("updates of shape " + formatShape(updates.shape()) +
                       " do not match the indexed slices"));
  Tensor base = n.g.reshape(tuplePositions(n, data, indices, 0), {tuples, 1});
  Tensor positions = n.g.add(n.g.mul(base, n.g.scalar(double(inner), n.i64())),
                             n.g.iota({tuples, inner}, 1, n.i64()));
  Tensor flat = n.g.scatterFlat(*kind, n.g.reshape(data, {data.numElements()}),
                                n.g.reshape(positions, {tuples * inner}),
                                n.g.reshape(updates, {tuples * inner}));
  n.setOutput(0, n.g.reshape(flat, data.shape()));
}

void convertDepthToSpace(NodeImporter &n, bool toSpace) {
  Tensor x = n.required(0);
  if (!x)
    return;
  int64_t b = n.intAttr("blocksize", 0);
  if (x.rank() != 4 || b < 1 || b > (1 << 16))
    return void(n.fail("needs a 4-D [N, C, H, W] input and a positive blocksize"));
  int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  if (toSpace) {
    if (C % (b * b))
      return void(n.fail("channels (" + llvm::Twine(C) + ") are not a multiple of blocksize²"));
    bool crd = n.stringAttr("mode", "DCR") == "CRD";
    Tensor y = crd ? n.g.transpose(n.g.reshape(x, {N, C / (b * b), b, b, H, W}), {0, 1, 4, 2, 5, 3})
                   : n.g.transpose(n.g.reshape(x, {N, b, b, C / (b * b), H, W}), {0, 3, 4, 1, 5, 2});
    return n.setOutput(0, n.g.reshape(y, {N, C / (b * b), H * b, W * b}));
  }
  if (H % b || W % b)
    return void(n.fail("height and width must be multiples of blocksize"));
  Tensor y = n.g.transpose(n.g.reshape(x, {N, C, H / b, b, W / b, b}), {0, 3, 5, 1, 2, 4});
  n.setOutput(0, n.g.reshape(y, {N, C * b * b, H / b, W / b}));
}

void convertCumSum(NodeImporter &n) {
  Tensor x = n.required(0);
  auto axisValue = n.constantInts(1, "axis");
  if (!x || !axisValue || axisValue->size() != 1)
    return void(x && axisValue ? n.fail("axis must be a scalar") : false);
  auto axis = n.axis(axisValue->front(), x.rank());
  if (!axis)
    return;
  bool exclusive = n.intAttr("exclusive", 0), reverse = n.intAttr("reverse", 0);
  int64_t d = x.shape()[*axis];
  if (reverse)
    x = n.g.reverse(x, {*axis});
  GraphBuilder::WindowOptions window;
  window.window.assign(x.rank(), 1);
  window.window[*axis] = std::max<int64_t>(d, 1);
  window.padLow.assign(x.rank(), 0);
  window.padLow[*axis] = exclusive ? d : d - 1;
  Tensor sums = n.g.reduceWindow(ReduceKind::sum, x, window);
  if (exclusive && sums) {
    llvm::SmallVector<int64_t> start(x.rank(), 0), limit(sums.shape()), stride(x.rank(), 1);
    limit[*axis] = d;
    sums = n.g.slice(sums, start, limit, stride);
  }
  if (reverse)
    sums = n.g.reverse(sums, {*axis});
  n.setOutput(0, sums);
}

} // namespace

Tensor onnx_import::flattenAt(NodeImporter &n, Tensor x, int64_t axis) {
  if (axis < 0)
    axis += x.rank();
  if (axis < 0 || axis > x.rank()) {
    n.fail("axis is out of range");
    return {};
  }
  return n.g.reshape(x, {product(x.shape().take_front(axis)),
                         product(x.shape().drop_front(axis))});
}

void onnx_import::registerShapeConverters(ConverterTable &t) {
  t["Reshape"] = convertReshape;
  t["Slice"] = convertSlice;
  t["Split"] = convertSplit;
  t["Pad"] = convertPad;
  t["Constant"] = convertConstant;
  t["ConstantOfShape"] = convertConstantOfShape;
  t["Range"] = convertRange;
  t["Tile"] = convertTile;
  t["Expand"] = convertExpand;
  t["Trilu"] = convertTrilu;
  t["OneHot"] = convertOneHot;
  t["GatherElements"] = convertGatherElements;
  t["ScatterElements"] = convertScatterElements;
  t["Scatter"] = convertScatterElements;
  t["GatherND"] = convertGatherND;
  t["ScatterND"] = convertScatterND;
  t["DepthToSpace"] = [](NodeImporter &n) { convertDepthToSpace(n, true); };
  t["SpaceToDepth"] = [](NodeImporter &n) { convertDepthToSpace(n, false); };
  t["CumSum"] = convertCumSum;

  t["Flatten"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, flattenAt(n, x, n.intAttr("axis", 1)));
  };
  t["Squeeze"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    auto axes = axesOf(n, 13, 1);
    if (!x || !axes)
      return;
    llvm::SmallVector<bool> drop(x.rank(), false);
    for (int64_t a : *axes) {
      auto axis = n.axis(a, x.rank());
      if (!axis)
        return;
      if (x.shape()[*axis] != 1)
        return void(n.fail("cannot squeeze dimension " + llvm::Twine(*axis) +
                           " of size " + llvm::Twine(x.shape()[*axis])));
      drop[*axis] = true;
    }
    llvm::SmallVector<int64_t> shape;
    for (int64_t d = 0; d < x.rank(); ++d)
      if (!(axes->empty() ? x.shape()[d] == 1 : drop[d]))
        shape.push_back(x.shape()[d]);
    n.setOutput(0, n.g.reshape(x, shape));
  };
  t["Unsqueeze"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    auto axes = axesOf(n, 13, 1);
    if (!x || !axes)
      return;
    int64_t rank = x.rank() + axes->size();
    llvm::SmallVector<bool> inserted(rank, false);
    for (int64_t a : *axes) {
      auto axis = n.axis(a, rank);
      if (!axis)
        return;
      inserted[*axis] = true;
    }
    llvm::SmallVector<int64_t> shape;
    for (int64_t d = 0, from = 0; d < rank; ++d)
      shape.push_back(inserted[d] ? 1 : x.shape()[from++]);
    n.setOutput(0, n.g.reshape(x, shape));
  };
  t["Transpose"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (!x)
      return;
    llvm::SmallVector<int64_t> perm = n.intsAttr("perm");
    if (perm.empty())
      for (int64_t d = x.rank() - 1; d >= 0; --d)
        perm.push_back(d);
    n.setOutput(0, n.g.transpose(x, perm));
  };
  t["Concat"] = [](NodeImporter &n) {
    llvm::SmallVector<Tensor> parts;
    for (size_t i = 0; i < n.numInputs(); ++i)
      if (Tensor t = n.required(i))
        parts.push_back(t);
    if (parts.empty() || n.g.failed())
      return;
    auto axis = n.axis(n.intAttr("axis", 0), parts[0].rank());
    if (axis)
      n.setOutput(0, n.g.concat(parts, *axis));
  };
  t["Gather"] = [](NodeImporter &n) {
    Tensor data = n.required(0), indices = n.required(1);
    if (data && indices)
      n.setOutput(0, n.g.gather(data, indices, n.intAttr("axis", 0)));
  };
  t["Shape"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (!x)
      return;
    int64_t rank = x.rank();
    int64_t start = n.intAttr("start", 0), end = n.intAttr("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    HostTensor shape(DType::i64, {std::max<int64_t>(end - start, 0)});
    for (int64_t d = start; d < end; ++d)
      shape.dataAs<int64_t>()[d - start] = x.shape()[d];
    n.setOutput(0, n.g.constant(shape));
  };
  t["Size"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.scalar(double(x.numElements()), n.i64()));
  };
  t["EyeLike"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (!x)
      return;
    if (x.rank() != 2)
      return void(n.fail("needs a 2-D input"));
    mlir::Type type = n.hasAttr("dtype") ? elementTypeOf(n.g.context(), n.intAttr("dtype", 1))
                                         : x.elementType();
    if (!type)
      return void(n.fail("dtype is not supported"));
    Tensor rows = n.g.iota(x.shape(), 0, n.i64()), cols = n.g.iota(x.shape(), 1, n.i64());
    Tensor diagonal = n.g.compare(CompareDirection::eq, n.g.sub(cols, rows),
                                  n.g.scalar(double(n.intAttr("k", 0)), n.i64()));
    n.setOutput(0, n.g.convert(diagonal, type));
  };
  t["TopK"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (!x)
      return;
    int64_t k;
    if (n.opset < 10) {
      k = n.intAttr("k", 0);
    } else {
      auto values = n.constantInts(1, "k");
      if (!values)
        return;
      k = values->empty() ? 0 : values->front();
    }
    auto [values, indices] = n.g.topK(x, k, n.intAttr("axis", -1), n.intAttr("largest", 1));
    n.setOutput(0, values);
    n.setOutput(1, indices);
  };
  auto argExtreme = [](bool max) {
    return [max](NodeImporter &n) {
      Tensor x = n.required(0);
      if (!x)
        return;
      bool keep = n.intAttr("keepdims", 1), last = n.intAttr("select_last_index", 0);
      int64_t axis = n.intAttr("axis", 0);
      n.setOutput(0, max ? n.g.argMax(x, axis, keep, last) : n.g.argMin(x, axis, keep, last));
    };
  };
  t["ArgMax"] = argExtreme(true);
  t["ArgMin"] = argExtreme(false);
}
