//===- SampleSplit.cpp - does a graph keep a batch's samples apart? -*- C++ -*-===//

#include "frontend/onnx/SampleSplit.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

#include <optional>

using namespace dlc;
using namespace dlc::onnx_import;

namespace {

/// Ops whose results are batched when their first input is and every other
/// input is shared: per-sample by definition (a convolution, a pooling, a
/// normalization with fixed statistics), or elementwise with one operand.
const llvm::StringSet<> &perSampleOps() {
  static const llvm::StringSet<> ops = {
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
      "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LRN",
      "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish",
      "Tanh", "Softplus", "Softsign", "Mish", "Gelu", "ThresholdedRelu", "Shrink", "Exp",
      "Log", "Sqrt", "Abs", "Neg", "Erf", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
      "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Not", "IsNaN", "IsInf",
      "Identity", "Cast", "Clip", "Dropout"};
  return ops;
}

/// Elementwise ops of several operands, with NumPy broadcasting.
const llvm::StringSet<> &broadcastOps() {
  static const llvm::StringSet<> ops = {
      "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal",
      "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Mod", "PRelu",
      "BitShift"};
  return ops;
}

/// Reductions whose axes are an attribute (or, from some opset on, input 1).
const llvm::StringSet<> &reductionOps() {
  static const llvm::StringSet<> ops = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                                        "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                        "ReduceLogSumExp", "ReduceSumSquare"};
  return ops;
}

const onnx::AttributeProto *attribute(const onnx::NodeProto &node, llvm::StringRef name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t intAttribute(const onnx::NodeProto &node, llvm::StringRef name, int64_t fallback) {
  const onnx::AttributeProto *a = attribute(node, name);
  return a ? a->i() : fallback;
}

/// The elements of a constant integer tensor, or nothing.
std::optional<llvm::SmallVector<int64_t>> knownInts(const Tensor &t) {
  mlir::DenseIntElementsAttr attr;
  if (!t.valid() || !mlir::matchPattern(t.value(), mlir::m_Constant(&attr)))
    return std::nullopt;
  llvm::SmallVector<int64_t> values;
  for (const llvm::APInt &v : attr.getValues<llvm::APInt>())
    values.push_back(v.getSExtValue());
  return values;
}

/// `axis` in [0, rank) (negative counts from the end), or -1 if outside.
int64_t normalized(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  return axis >= 0 && axis < rank ? axis : -1;
}

/// The axes a node names where the importer reads them: attribute `axes`
/// before `inputFrom` (the opset that moved them to input 1), input 1 from
/// it on; nothing when it names none there.
std::optional<llvm::SmallVector<int64_t>> axesOf(const onnx::NodeProto &node, int64_t opset,
                                                 llvm::ArrayRef<Tensor> inputs,
                                                 int64_t inputFrom) {
  if (opset < inputFrom) {
    if (const onnx::AttributeProto *a = attribute(node, "axes"))
      return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
    return std::nullopt;
  }
  if (inputs.size() > 1 && inputs[1].valid())
    return knownInts(inputs[1]);
  return std::nullopt;
}

} // namespace

std::string dlc::onnx_import::sampleSplitRefusal(
    const onnx::NodeProto &node, int64_t opset, llvm::ArrayRef<Tensor> inputs,
    llvm::ArrayRef<Tensor> results, llvm::function_ref<bool(llvm::StringRef)> batched) {
  llvm::SmallVector<bool> isBatched;
  bool any = false;
  for (int i = 0; i < node.input_size(); ++i) {
    isBatched.push_back(!node.input(i).empty() && batched(node.input(i)));
    any |= isBatched.back();
  }
  if (!any)
    return "";
  const std::string op = node.op_type();
  const bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
  if (!defaultDomain)
    return op + " of domain '" + node.domain() + "'";
  // Whatever the rules below say, each result keeps the one sample in
  // dimension 0 (an op that moved or dropped it would mix samples: a
  // squeeze of every size-1 dimension, a flatten into dimension 0).
  for (const Tensor &result : results)
    if (result.valid() && (result.rank() == 0 || result.shape()[0] != 1))
      return op + " with a result without the sample in dimension 0";
  const int64_t rank = inputs.empty() || !inputs[0].valid() ? 0 : inputs[0].rank();
  auto onlyFirstBatched = [&] {
    for (size_t i = 1; i < isBatched.size(); ++i)
      if (isBatched[i])
        return false;
    return isBatched[0];
  };
  auto firstBatchedOnly = [&](const std::string &what) -> std::string {
    return onlyFirstBatched() ? "" : op + " with " + what;
  };

  if (perSampleOps().contains(op)) {
    if (op == "BatchNormalization" && node.output_size() > 1)
      return "BatchNormalization in training mode (batch statistics)";
    return firstBatchedOnly("a batched operand other than its first");
  }
  if (broadcastOps().contains(op)) {
    // A batched operand's dimension 0 is the result's; a shared one must
    // not reach it (rank below the result's, or dimension 0 of 1).
    const int64_t resultRank = results.empty() || !results[0].valid() ? 0 : results[0].rank();
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].valid())
        continue;
      if (isBatched[i] && inputs[i].rank() != resultRank)
        return op + " broadcasting a batched operand of lower rank";
      if (!isBatched[i] && inputs[i].rank() == resultRank && inputs[i].shape()[0] != 1)
        return op + " with a shared operand along dimension 0";
    }
    return "";
  }
  if (op == "Gemm") {
    if (intAttribute(node, "transA", 0))
      return "Gemm with transA (the batch would be summed over)";
    if (inputs.size() > 2 && inputs[2].valid() && inputs[2].rank() == 2 &&
        inputs[2].shape()[0] != 1)
      return "Gemm with a bias along dimension 0";
    return firstBatchedOnly("a batched B or C");
  }
  if (op == "MatMul") {
    if (rank < 2)
      return "MatMul of a batched vector (the batch would be summed over)";
    if (isBatched.size() > 1 && isBatched[1]) {
      // Products per sample: both batched, of the same rank above 2.
      if (!isBatched[0] || inputs[1].rank() != rank || rank < 3)
        return "MatMul whose batched B is summed over";
      return "";
    }
    // A shared B's leading (batch) dimensions must not reach dimension 0:
    // fewer of them than A's, or 1 there. (A matrix B's first dimension is
    // the sum's.)
    const int64_t bRank = inputs[1].rank();
    if (bRank > rank || (bRank >= 3 && bRank == rank && inputs[1].shape()[0] != 1))
      return "MatMul with a shared B along dimension 0";
    return "";
  }
  if (op == "Flatten") {
    if (normalized(intAttribute(node, "axis", 1), rank) < 1)
      return "Flatten at axis 0";
    return firstBatchedOnly("a batched operand other than its first");
  }
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    int64_t axis = intAttribute(node, "axis", opset >= 13 ? -1 : 1);
    if (normalized(axis, rank) < 1)
      return op + " over dimension 0";
    return firstBatchedOnly("a batched operand other than its first");
  }
  if (op == "LayerNormalization") {
    if (normalized(intAttribute(node, "axis", -1), rank) < 1)
      return "LayerNormalization over dimension 0";
    if (node.output_size() > 1)
      return "LayerNormalization with its statistics as results";
    return firstBatchedOnly("batched scale or bias");
  }
  if (op == "Transpose") {
    const onnx::AttributeProto *perm = attribute(node, "perm");
    if (!perm || perm->ints_size() == 0 || perm->ints(0) != 0)
      return "Transpose that moves dimension 0";
    return firstBatchedOnly("a batched operand other than its first");
  }
  if (op == "Reshape") {
    if (!onlyFirstBatched())
      return "Reshape to a batched shape";
    // Dimension 0 copied (0), or inferred (-1) from a sample's elements.
    // (Before opset 5 the shape is an attribute.)
    std::optional<llvm::SmallVector<int64_t>> target;
    if (opset < 5) {
      if (const onnx::AttributeProto *a = attribute(node, "shape"))
        target = llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
    } else if (inputs.size() > 1) {
      target = knownInts(inputs[1]);
    }
    if (!target || target->empty())
      return "Reshape to a shape not known when compiling";
    if ((*target)[0] == 0 && !intAttribute(node, "allowzero", 0))
      return "";
    if ((*target)[0] == -1 && results[0].valid() && results[0].rank() >= 1 &&
        results[0].shape()[0] == 1)
      return "";
    return "Reshape that sets dimension 0";
  }
  if (op == "Concat" || op == "Split") {
    if (normalized(intAttribute(node, "axis", 0), rank) < 1)
      return op + " along dimension 0";
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (op == "Concat" && inputs[i].valid() && !isBatched[i])
        return "Concat of a shared operand";
      if (op == "Split" && isBatched[i] != (i == 0))
        return "Split with a batched size or a shared operand";
    }
    return "";
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    // Squeeze without axes (or with none listed) would drop dimension 0
    // at batch 1.
    auto axes = axesOf(node, opset, inputs, 13);
    if (!axes || axes->empty())
      return op + " without axes";
    const int64_t outRank = op == "Squeeze" ? rank : rank + int64_t(axes->size());
    for (int64_t axis : *axes)
      if (normalized(axis, outRank) < 1)
        return op + " at dimension 0";
    return firstBatchedOnly("batched axes");
  }
  if (reductionOps().contains(op)) {
    auto axes = axesOf(node, opset, inputs, op == "ReduceSum" ? 13 : 18);
    if (!axes || axes->empty())
      return op + " over every dimension";
    for (int64_t axis : *axes)
      if (normalized(axis, rank) < 1)
        return op + " over dimension 0";
    return firstBatchedOnly("batched axes");
  }
  if (op == "Gather") {
    const int64_t axis = normalized(intAttribute(node, "axis", 0), rank);
    // Rows of a shared table picked per sample (an embedding), or
    // elements of a sample picked by shared indices.
    if (!isBatched[0] && isBatched[1] && axis == 0 && inputs[1].rank() >= 1)
      return "";
    if (isBatched[0] && !isBatched[1] && axis >= 1)
      return "";
    return "Gather across samples";
  }
  return op + " (not known to keep samples apart)";
}
