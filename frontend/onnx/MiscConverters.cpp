//===- MiscConverters.cpp - Einsum, quantization, windows... ----*- C++ -*-===//
//
// The ONNX ops that are neither elementwise, nor shape ops, nor layers:
// Einsum, BitShift, (de)quantization, signal windows, ReverseSequence and
// Compress.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

#include <cmath>
#include <map>

using namespace dlc;
using namespace dlc::onnx_import;
using MathFn = GraphBuilder::MathFn;

namespace {

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// One operand's labels; ellipsis dimensions get labels 256, 257, ...
using Labels = llvm::SmallVector<int>;

/// Parses one term of an equation, expanding "..." to `ellipsisRank` labels
/// (right-aligned, so labels are shared across operands).
std::optional<Labels> parseTerm(llvm::StringRef term, int64_t rank,
                                int64_t maxEllipsis, bool isOutput) {
  Labels labels;
  size_t dots = term.find("...");
  int64_t explicitCount = term.size() - (dots == llvm::StringRef::npos ? 0 : 3);
  int64_t ellipsisRank = isOutput ? maxEllipsis : rank - explicitCount;
  if (ellipsisRank < 0 || ellipsisRank > maxEllipsis ||
      (dots == llvm::StringRef::npos && !isOutput && explicitCount != rank))
    return std::nullopt;
  for (size_t i = 0; i < term.size(); ++i) {
    if (i == dots) {
      for (int64_t e = 0; e < ellipsisRank; ++e)
        labels.push_back(256 + static_cast<int>(maxEllipsis - ellipsisRank + e));
      i += 2;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(term[i])))
      return std::nullopt;
    labels.push_back(term[i]);
  }
  return labels;
}

/// Takes the diagonal of every label repeated within one operand.
Tensor removeRepeatedLabels(GraphBuilder &g, Tensor t, Labels &labels) {
  for (size_t i = 0; i < labels.size() && t; ++i)
    for (size_t j = i + 1; j < labels.size() && t; ++j) {
      if (labels[i] != labels[j])
        continue;
      int64_t n = t.shape()[i];
      if (n > (int64_t(1) << 24)) {
        g.fail("einsum: a diagonal of " + llvm::Twine(n) + " elements is too large");
        return {};
      }
      // Move the pair last, flatten it, and gather positions k * (n + 1).
      llvm::SmallVector<int64_t> perm;
      for (size_t d = 0; d < labels.size(); ++d)
        if (d != i && d != j)
          perm.push_back(d);
      perm.append({int64_t(i), int64_t(j)});
      t = g.transpose(t, perm);
      llvm::SmallVector<int64_t> shape(t.shape().drop_back(2));
      shape.push_back(n * n);
      HostTensor diagonal(DType::i64, {n});
      for (int64_t k = 0; k < n; ++k)
        diagonal.dataAs<int64_t>()[k] = k * (n + 1);
      t = g.gather(g.reshape(t, shape), g.constant(diagonal), shape.size() - 1);
      Labels kept;
      for (size_t d = 0; d < labels.size(); ++d)
        if (d != i && d != j)
          kept.push_back(labels[d]);
      kept.push_back(labels[i]);
      labels = kept;
      i = static_cast<size_t>(-1);
      break;
    }
  return t;
}

void convertEinsum(NodeImporter &n) {
  std::string equation = n.stringAttr("equation", "");
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  llvm::StringRef eq(equation);
  auto [lhs, rhs] = eq.split("->");
  bool explicitOutput = eq.contains("->");
  llvm::SmallVector<llvm::StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != n.numInputs())
    return void(n.fail("equation '" + equation + "' has " + llvm::Twine(terms.size()) +
                       " operands but the node has " + llvm::Twine(n.numInputs()) + " inputs"));
  llvm::SmallVector<Tensor> operands;
  int64_t maxEllipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    Tensor t = n.required(i);
    if (!t)
      return;
    operands.push_back(t);
    if (terms[i].contains("..."))
      maxEllipsis = std::max<int64_t>(maxEllipsis, t.rank() - (int64_t(terms[i].size()) - 3));
  }
  std::map<int, int64_t> sizes;
  std::map<int, int> counts;
  llvm::SmallVector<Labels> labels;
  for (size_t i = 0; i < terms.size(); ++i) {
    auto parsed = parseTerm(terms[i], operands[i].rank(), maxEllipsis, false);
    if (!parsed)
      return void(n.fail("term '" + terms[i] + "' of '" + equation +
                         "' does not match an input of rank " + llvm::Twine(operands[i].rank())));
    operands[i] = removeRepeatedLabels(n.g, operands[i], *parsed);
    if (!operands[i])
      return;
    for (size_t d = 0; d < parsed->size(); ++d) {
      int label = (*parsed)[d];
      int64_t size = operands[i].shape()[d];
      int64_t &known = sizes[label];
      if (known > 1 && size > 1 && known != size)
        return void(n.fail("label sizes disagree in '" + equation + "'"));
      known = std::max(known, size);
      ++counts[label];
    }
    labels.push_back(std::move(*parsed));
  }
  Labels output;
  if (explicitOutput) {
    auto parsed = parseTerm(rhs, 0, maxEllipsis, true);
    if (!parsed)
      return void(n.fail("cannot parse the output term of '" + equation + "'"));
    output = *parsed;
  } else {
    for (int64_t e = 0; e < maxEllipsis; ++e)
      output.push_back(256 + e);
    for (auto [label, count] : counts)
      if (count == 1 && label < 256)
        output.push_back(label);
  }
  // Every label gets a position: the output's first, then the summed ones.
  Labels order(output);
  for (auto [label, count] : counts)
    if (!llvm::is_contained(order, label))
      order.push_back(label);
  Tensor product;
  for (size_t i = 0; i < operands.size(); ++i) {
    llvm::SmallVector<int64_t> perm, shape;
    for (int label : order) {
      auto it = llvm::find(labels[i], label);
      if (it != labels[i].end()) {
        perm.push_back(it - labels[i].begin());
        shape.push_back(operands[i].shape()[it - labels[i].begin()]);
      } else {
        shape.push_back(1);
      }
    }
    Tensor t = n.g.reshape(n.g.transpose(operands[i], perm), shape);
    product = product.valid() ? n.g.mul(product, t) : t;
  }
  llvm::SmallVector<int64_t> summed;
  for (size_t d = output.size(); d < order.size(); ++d)
    summed.push_back(d);
  if (!summed.empty() && product)
    product = n.g.reduceSum(product, summed);
  if (product) {
    llvm::SmallVector<int64_t> shape;
    for (int label : output)
      shape.push_back(sizes[label]);
    product = n.g.broadcastTo(product, shape);
  }
  n.setOutput(0, product);
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// Reshapes a per-axis parameter to broadcast along `axis` of `like`.
Tensor alongAxis(NodeImporter &n, Tensor v, Tensor like, int64_t axis) {
  if (v.rank() == 0 || v.numElements() == 1)
    return n.g.reshape(v, {});
  llvm::SmallVector<int64_t> shape(like.rank(), 1);
  shape[axis] = v.numElements();
  return n.g.reshape(v, shape);
}

/// round-half-even(x) clamped to the range of the integer type `to`.
Tensor saturate(NodeImporter &n, Tensor x, mlir::Type to) {
  unsigned width = to.getIntOrFloatBitWidth();
  bool isUnsigned = to.isUnsignedInteger();
  double low = isUnsigned ? 0 : -std::ldexp(1.0, width - 1);
  double high = isUnsigned ? std::ldexp(1.0, width) - 1 : std::ldexp(1.0, width - 1) - 1;
  Tensor r = n.g.math(MathFn::round, x);
  r = n.g.min(n.g.max(r, n.g.scalar(low, x.elementType())), n.g.scalar(high, x.elementType()));
  return n.g.convert(r, to);
}

/// The axis of per-axis (de)quantization; unused (0) when the scale is a
/// single value.
std::optional<int64_t> quantizationAxis(NodeImporter &n, Tensor x, Tensor scale) {
  if (scale.numElements() == 1)
    return 0;
  if (scale.rank() != 1) {
    n.fail("blocked quantization (a scale of rank " + llvm::Twine(scale.rank()) +
           ") is not supported; scales are scalars or per-axis vectors");
    return std::nullopt;
  }
  return n.axis(n.intAttr("axis", 1), x.rank());
}

void convertQuantize(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1);
  if (!x || !scale)
    return;
  auto axis = quantizationAxis(n, x, scale);
  if (!axis)
    return;
  mlir::Type to = n.hasInput(2) ? n.input(2).elementType()
                                : mlir::IntegerType::get(&n.g.context(), 8, mlir::IntegerType::Unsigned);
  if (!mlir::isa<mlir::IntegerType>(to))
    return void(n.fail("only integer quantized types are supported"));
  Tensor y = n.g.div(x, alongAxis(n, n.g.convert(scale, x.elementType()), x, *axis));
  if (n.hasInput(2))
    y = n.g.add(n.g.math(MathFn::round, y),
                alongAxis(n, n.g.convert(n.input(2), x.elementType()), x, *axis));
  n.setOutput(0, saturate(n, y, to));
}

void convertDequantize(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1);
  if (!x || !scale)
    return;
  auto axis = quantizationAxis(n, x, scale);
  if (!axis)
    return;
  mlir::Type t = scale.elementType();
  Tensor y = n.g.convert(x, t);
  if (n.hasInput(2))
    y = n.g.sub(y, alongAxis(n, n.g.convert(n.input(2), t), x, *axis));
  n.setOutput(0, n.g.mul(y, alongAxis(n, scale, x, *axis)));
}

void convertDynamicQuantize(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  llvm::SmallVector<int64_t> all;
  for (int64_t d = 0; d < x.rank(); ++d)
    all.push_back(d);
  mlir::Type t = x.elementType();
  mlir::Type u8 = mlir::IntegerType::get(&n.g.context(), 8, mlir::IntegerType::Unsigned);
  Tensor zero = n.g.scalar(0, t);
  Tensor high = n.g.max(n.g.reduceMax(x, all), zero);
  Tensor low = n.g.min(n.g.reduce(ReduceKind::min, x, all), zero);
  Tensor scale = n.g.div(n.g.sub(high, low), n.g.scalar(255, t));
  Tensor zeroPoint = saturate(n, n.g.sub(zero, n.g.div(low, scale)), u8);
  Tensor y = n.g.add(n.g.math(MathFn::round, n.g.div(x, scale)), n.g.convert(zeroPoint, t));
  n.setOutput(0, saturate(n, y, u8));
  n.setOutput(1, scale);
  n.setOutput(2, zeroPoint);
}

//===----------------------------------------------------------------------===//
// Windows, BitShift, ReverseSequence, Compress
//===----------------------------------------------------------------------===//

void convertWindow(NodeImporter &n, llvm::ArrayRef<double> coefficients) {
  auto size = n.constantInts(0, "size");
  if (!size)
    return;
  if (size->size() != 1 || size->front() < 0)
    return void(n.fail("size must be a non-negative scalar"));
  int64_t count = size->front();
  if (!n.importSized(count, "the window"))
    return;
  double period = n.intAttr("periodic", 1) ? count : count - 1;
  std::vector<float> values(count);
  for (int64_t k = 0; k < count; ++k) {
    double v = 0;
    for (size_t c = 0; c < coefficients.size(); ++c)
      v += coefficients[c] * std::cos(2 * M_PI * c * k / period) * (c % 2 ? -1 : 1);
    values[k] = static_cast<float>(v);
  }
  mlir::Type type = elementTypeOf(n.g.context(), n.intAttr("output_datatype", 1));
  if (!type)
    return void(n.fail("output_datatype is not supported"));
  n.setOutput(0, n.g.convert(n.g.constant(HostTensor::fromFloats({count}, values)), type));
}

void convertBitShift(NodeImporter &n) {
  Tensor x = n.required(0), y = n.required(1);
  if (!x || !y)
    return;
  if (!x.elementType().isUnsignedInteger())
    return void(n.fail("BitShift takes unsigned integers"));
  std::string direction = n.stringAttr("direction", "");
  Tensor factor = n.g.pow(n.g.scalar(2, y.elementType()), y);
  if (direction == "LEFT")
    n.setOutput(0, n.g.mul(x, factor));
  else if (direction == "RIGHT")
    n.setOutput(0, n.g.div(x, factor));
  else
    n.fail("direction must be LEFT or RIGHT, got '" + direction + "'");
}

void convertReverseSequence(NodeImporter &n) {
  Tensor x = n.required(0);
  auto lengths = n.constantInts(1, "sequence_lens");
  if (!x || !lengths)
    return;
  auto batchAxis = n.axis(n.intAttr("batch_axis", 1), x.rank());
  auto timeAxis = n.axis(n.intAttr("time_axis", 0), x.rank());
  if (!batchAxis || !timeAxis || *batchAxis == *timeAxis)
    return void(batchAxis && timeAxis ? n.fail("batch_axis and time_axis must differ") : false);
  int64_t time = x.shape()[*timeAxis];
  if (!n.importSized(x.numElements(), "reversing sequences"))
    return;
  HostTensor positions(DType::i64, x.shape());
  llvm::SmallVector<int64_t> strides(x.rank(), 1);
  for (int64_t d = x.rank() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * x.shape()[d + 1];
  for (int64_t i = 0; i < positions.numElements(); ++i) {
    int64_t t = (i / strides[*timeAxis]) % time;
    int64_t b = (i / strides[*batchAxis]) % x.shape()[*batchAxis];
    int64_t length = b < static_cast<int64_t>(lengths->size()) ? (*lengths)[b] : time;
    int64_t source = t < length ? length - 1 - t : t;
    positions.dataAs<int64_t>()[i] = i + (source - t) * strides[*timeAxis];
  }
  Tensor flat = n.g.reshape(x, {x.numElements()});
  n.setOutput(0, n.g.gather(flat, n.g.constant(positions), 0));
}

void convertCompress(NodeImporter &n) {
  Tensor x = n.required(0);
  auto condition = n.constantInts(1, "condition");
  if (!x || !condition)
    return;
  int64_t axis = 0;
  if (n.hasAttr("axis")) {
    auto a = n.axis(n.intAttr("axis", 0), x.rank());
    if (!a)
      return;
    axis = *a;
  } else {
    x = n.g.reshape(x, {x.numElements()});
  }
  std::vector<int64_t> kept;
  for (size_t i = 0; i < condition->size() && int64_t(i) < x.shape()[axis]; ++i)
    if ((*condition)[i])
      kept.push_back(i);
  HostTensor indices(DType::i64, {int64_t(kept.size())});
  std::copy(kept.begin(), kept.end(), indices.dataAs<int64_t>());
  n.setOutput(0, n.g.gather(x, n.g.constant(indices), axis));
}

} // namespace

void onnx_import::registerMiscConverters(ConverterTable &t) {
  t["Einsum"] = convertEinsum;
  t["QuantizeLinear"] = convertQuantize;
  t["DequantizeLinear"] = convertDequantize;
  t["DynamicQuantizeLinear"] = convertDynamicQuantize;
  t["HannWindow"] = [](NodeImporter &n) { convertWindow(n, {0.5, 0.5}); };
  t["HammingWindow"] = [](NodeImporter &n) { convertWindow(n, {25.0 / 46, 21.0 / 46}); };
  t["BlackmanWindow"] = [](NodeImporter &n) { convertWindow(n, {0.42, 0.5, 0.08}); };
  t["BitShift"] = convertBitShift;
  t["ReverseSequence"] = convertReverseSequence;
  t["Compress"] = convertCompress;
}
