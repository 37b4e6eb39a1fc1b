//===- NodeImporter.h - what a converter sees of one ONNX node --*- C++ -*-===//
//
// Internal to the ONNX importer. A converter reads the node's inputs,
// attributes and compile-time constant inputs through NodeImporter, builds
// the computation with GraphBuilder, and sets the node's outputs. Errors go
// through fail(), which records them at the node's location.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_ONNX_NODEIMPORTER_H
#define DLC_FRONTEND_ONNX_NODEIMPORTER_H

#include "frontend/builder/GraphBuilder.h"
#include "frontend/onnx/OnnxImporter.h"

#include "onnx/onnx_pb.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>

namespace dlc::onnx_import {

/// The MLIR element type of an ONNX TensorProto data type, or null.
mlir::Type elementTypeOf(mlir::MLIRContext &context, int onnxType);

/// Converts a TensorProto (inline or external data under `directory`).
llvm::Expected<HostTensor> tensorFromProto(const onnx::TensorProto &proto,
                                           llvm::StringRef directory);

/// As tensorFromProto, but raw data is taken over instead of copied: the
/// proto is left without it.
llvm::Expected<HostTensor> takeTensorFromProto(onnx::TensorProto &proto,
                                               llvm::StringRef directory);

/// Loads the ModelProto in `path`: binary protobuf, or ONNX text for
/// .onnxtxt and .txt files.
llvm::Expected<onnx::ModelProto> loadModel(llvm::StringRef path);

/// What converters add to a graph imported for a training step: the random
/// inputs Dropout reads and the parameters BatchNormalization updates.
struct TrainingImport {
  unsigned randomInputs = 0;
  std::vector<std::pair<std::string, Tensor>> updates; ///< (initializer, new value)
};

class NodeImporter {
public:
  using WeightLookup = std::function<const HostTensor *(mlir::Value)>;
  /// The graph's tensor of a name produced so far, or an invalid Tensor.
  using ValueLookup = std::function<Tensor(llvm::StringRef)>;

  NodeImporter(GraphBuilder &g, const onnx::NodeProto &node, int64_t opset,
               std::vector<Tensor> inputs, WeightLookup weightOf, ValueLookup valueOf,
               llvm::StringRef directory)
      : g(g), node(node), opset(opset), inputs(std::move(inputs)),
        weightOf(std::move(weightOf)), valueOf(std::move(valueOf)), directory(directory) {}

  GraphBuilder &g;
  const onnx::NodeProto &node;
  const int64_t opset;
  /// How the model is imported; `training` is set for training steps.
  OnnxImportMode mode = OnnxImportMode::inference;
  TrainingImport *training = nullptr;

  /// A fresh graph input of uniform random float32 numbers in [0, 1), new
  /// ones each training step (training steps only).
  Tensor randomUniform(llvm::ArrayRef<int64_t> shape);
  /// Makes `value` the next value of the float initializer that input `i`
  /// names, after each training step (training steps only). Returns false,
  /// having done nothing, when the input is not an initializer.
  bool updateInitializer(size_t i, Tensor value);

  //===--- Inputs and outputs ----------------------------------------------===//

  size_t numInputs() const { return inputs.size(); }
  /// A tensor of the graph named by an attribute rather than an input
  /// (Gradient's y), or an invalid Tensor if no earlier node produced it.
  Tensor valueNamed(llvm::StringRef name) const { return valueOf(name); }
  /// Input `i`, or an invalid tensor when it is absent (empty name).
  Tensor input(size_t i) const { return i < inputs.size() ? inputs[i] : Tensor(); }
  bool hasInput(size_t i) const { return input(i).valid(); }
  /// Input `i`, which the op requires: fails if it is absent.
  Tensor required(size_t i);

  size_t numOutputs() const { return node.output_size(); }
  bool wantsOutput(size_t i) const {
    return static_cast<int>(i) < node.output_size() && !node.output(i).empty();
  }
  void setOutput(size_t i, Tensor value);
  const std::vector<Tensor> &results() const { return outputs; }

  //===--- Attributes ------------------------------------------------------===//

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  bool hasAttr(llvm::StringRef name) const { return attr(name) != nullptr; }
  int64_t intAttr(llvm::StringRef name, int64_t fallback) const;
  float floatAttr(llvm::StringRef name, float fallback) const;
  std::string stringAttr(llvm::StringRef name, llvm::StringRef fallback) const;
  llvm::SmallVector<int64_t> intsAttr(llvm::StringRef name) const;
  llvm::SmallVector<float> floatsAttr(llvm::StringRef name) const;
  std::optional<HostTensor> tensorAttr(llvm::StringRef name);

  //===--- Compile-time values ---------------------------------------------===//

  /// The elements of input `i` as integers, which must be known when
  /// compiling (a constant, an initializer or a bound input). Fails with a
  /// message naming the input and its `role` otherwise.
  std::optional<llvm::SmallVector<int64_t>> constantInts(size_t i,
                                                         llvm::StringRef role);
  std::optional<llvm::SmallVector<double>> constantFloats(size_t i,
                                                          llvm::StringRef role);

  //===--- Helpers ---------------------------------------------------------===//

  /// Records an error at this node; returns false so converters can
  /// `return fail(...)` from bool helpers.
  bool fail(const llvm::Twine &message);
  /// Normalizes a possibly negative axis for `rank`; fails when out of range.
  std::optional<int64_t> axis(int64_t value, int64_t rank, llvm::StringRef what = "axis");
  /// Fails if a constant of `count` elements, computed at import (resize
  /// taps, pad indices...), would be unreasonably large.
  bool importSized(int64_t count, llvm::StringRef what) {
    if (count >= 0 && count <= (int64_t(1) << 24))
      return true;
    return fail(what + " would need a constant of " + llvm::Twine(count) +
                " elements; dlc builds at most 2^24 at import");
  }
  mlir::Type f32() { return mlir::Float32Type::get(&g.context()); }
  mlir::Type i64() { return mlir::IntegerType::get(&g.context(), 64); }

private:
  std::optional<mlir::DenseElementsAttr> constantAttr(size_t i, llvm::StringRef role);

  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  WeightLookup weightOf;
  ValueLookup valueOf;
  std::string directory;
};

/// The product of `values` (an element count).
inline int64_t product(llvm::ArrayRef<int64_t> values) {
  int64_t result = 1;
  for (int64_t v : values)
    result *= v;
  return result;
}

/// The dimensions from `axis` to the last, for normalizations over them.
inline llvm::SmallVector<int64_t> dimsFrom(int64_t axis, int64_t rank) {
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = axis; d < rank; ++d)
    dims.push_back(d);
  return dims;
}

/// Flattens `x` to 2-D at `axis` (which may be negative or equal to the
/// rank), as Flatten and pre-13 Softmax do; fails on an axis out of range.
Tensor flattenAt(NodeImporter &n, Tensor x, int64_t axis);

using Converter = std::function<void(NodeImporter &)>;
using ConverterTable = llvm::StringMap<Converter>;

void registerElementwiseConverters(ConverterTable &table);
void registerShapeConverters(ConverterTable &table);
void registerNeuralNetConverters(ConverterTable &table);
void registerReductionConverters(ConverterTable &table);
void registerResizeConverters(ConverterTable &table);
void registerMiscConverters(ConverterTable &table);
void registerTrainingConverters(ConverterTable &table);

/// The table of every converter of the default domain, built once.
const ConverterTable &converters();

/// The domain of ONNX's training ops (optimizer updates).
constexpr const char *kTrainingDomain = "ai.onnx.preview.training";

/// The converters of kTrainingDomain's ops, built once.
const ConverterTable &trainingConverters();

} // namespace dlc::onnx_import

#endif // DLC_FRONTEND_ONNX_NODEIMPORTER_H
