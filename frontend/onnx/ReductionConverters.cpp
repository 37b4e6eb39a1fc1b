//===- ReductionConverters.cpp - ONNX reductions ----------------*- C++ -*-===//
//
// ReduceSum/Mean/Max/Min/Prod and the norms built on them. Axes moved from
// an attribute to an input in opset 13 (ReduceSum) and 18 (the others).
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

using namespace dlc;
using namespace dlc::onnx_import;
using MathFn = GraphBuilder::MathFn;

namespace {

enum class Reduction { sum, mean, max, min, prod, l1, l2, logSum, logSumExp, sumSquare };

void convertReduce(NodeImporter &n, Reduction kind) {
  Tensor x = n.required(0);
  if (!x)
    return;
  int64_t inputSince = kind == Reduction::sum ? 13 : 18;
  llvm::SmallVector<int64_t> axes;
  if (n.opset >= inputSince) {
    if (n.hasInput(1)) {
      auto values = n.constantInts(1, "axes");
      if (!values)
        return;
      axes = *values;
    }
  } else {
    axes = n.intsAttr("axes");
  }
  bool keep = n.intAttr("keepdims", 1);
  if (axes.empty()) {
    if (n.intAttr("noop_with_empty_axes", 0))
      return n.setOutput(0, x);
    for (int64_t d = 0; d < x.rank(); ++d)
      axes.push_back(d);
  }
  GraphBuilder &g = n.g;
  Tensor result;
  switch (kind) {
  case Reduction::sum: result = g.reduceSum(x, axes, keep); break;
  case Reduction::mean: result = g.reduceMean(x, axes, keep); break;
  case Reduction::max: result = g.reduceMax(x, axes, keep); break;
  case Reduction::min: result = g.reduce(ReduceKind::min, x, axes, keep); break;
  case Reduction::prod: result = g.reduce(ReduceKind::prod, x, axes, keep); break;
  case Reduction::l1: result = g.reduceSum(g.abs(x), axes, keep); break;
  case Reduction::l2:
    result = g.math(MathFn::sqrt, g.reduceSum(g.mul(x, x), axes, keep));
    break;
  case Reduction::sumSquare: result = g.reduceSum(g.mul(x, x), axes, keep); break;
  case Reduction::logSum: result = g.math(MathFn::log, g.reduceSum(x, axes, keep)); break;
  case Reduction::logSumExp: {
    // Shift by the maximum so that exp does not overflow.
    Tensor shift = g.reduceMax(x, axes, true);
    Tensor sum = g.reduceSum(g.exp(g.sub(x, shift)), axes, true);
    result = g.add(g.math(MathFn::log, sum), shift);
    if (!keep && result) {
      llvm::SmallVector<int64_t> shape;
      llvm::SmallVector<int64_t> normalized;
      for (int64_t a : axes)
        normalized.push_back(a < 0 ? a + x.rank() : a);
      for (int64_t d = 0; d < x.rank(); ++d)
        if (!llvm::is_contained(normalized, d))
          shape.push_back(x.shape()[d]);
      result = g.reshape(result, shape);
    }
    break;
  }
  }
  n.setOutput(0, result);
}

} // namespace

void onnx_import::registerReductionConverters(ConverterTable &t) {
  auto add = [&t](llvm::StringRef op, Reduction kind) {
    t[op] = [kind](NodeImporter &n) { convertReduce(n, kind); };
  };
  add("ReduceSum", Reduction::sum);
  add("ReduceMean", Reduction::mean);
  add("ReduceMax", Reduction::max);
  add("ReduceMin", Reduction::min);
  add("ReduceProd", Reduction::prod);
  add("ReduceL1", Reduction::l1);
  add("ReduceL2", Reduction::l2);
  add("ReduceLogSum", Reduction::logSum);
  add("ReduceLogSumExp", Reduction::logSumExp);
  add("ReduceSumSquare", Reduction::sumSquare);
}
