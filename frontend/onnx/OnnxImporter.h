//===- OnnxImporter.h - ONNX models into the dlc dialect --------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf, or ONNX's textual syntax) and builds
// the equivalent dlc model through GraphBuilder, one converter per ONNX op.
// Every op gets the ONNX node's name as its location. Anything dlc cannot
// take is refused with a message naming the file, the node and its op.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_ONNX_ONNXIMPORTER_H
#define DLC_FRONTEND_ONNX_ONNXIMPORTER_H

#include "ir/Model.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace dlc {

/// What the model is imported for. Training-mode BatchNormalization and
/// Dropout (and their attributes saying so) matter only to the first two.
enum class OnnxImportMode {
  /// Running the model: nodes in training mode are refused.
  inference,
  /// A training step (`dlc train`): BatchNormalization normalizes with the
  /// batch's statistics and returns updated running statistics as outputs
  /// named "dlc.update:NAME" (NAME the statistic's initializer); Dropout
  /// masks with uniform random numbers read from inputs named
  /// "dlc.random:N" (see frontend/builder/Training.h).
  training,
  /// Evaluating a model being trained: every node as in inference, whatever
  /// its training_mode says.
  evaluation,
};

struct OnnxImportOptions {
  OnnxImportMode mode = OnnxImportMode::inference;
  /// Fixes graph inputs' shapes, symbolic dimensions included
  /// (`--shape x=1x3x224x224`).
  llvm::StringMap<std::vector<int64_t>> shapes;
  /// Graph inputs whose values are known when compiling: they become
  /// constants, so that shapes computed from them fold.
  llvm::StringMap<HostTensor> constantInputs;
  /// Inference only: a model with convolutions whose graph inputs share a
  /// batch above 1 in dimension 0, and whose every node keeps the samples
  /// apart (frontend/onnx/SampleSplit.h), is imported at batch 1 with
  /// the module attribute dlc.batch_split = the batch: a run computes the
  /// samples one at a time, spread over the threads. The environment
  /// variable DLC_BATCH_SPLIT=0 turns this off too.
  bool splitBatch = true;
};

/// Imports the model in `path`: `.onnx` files are binary protobuf, files
/// ending in `.onnxtxt` or `.txt` are ONNX's textual syntax.
llvm::Expected<Model> importOnnxFile(mlir::MLIRContext &context,
                                     llvm::StringRef path,
                                     const OnnxImportOptions &options = {});

/// Imports a model held in memory (binary protobuf). `name` is used in
/// diagnostics and to resolve external data relative to `directory`.
llvm::Expected<Model> importOnnxBuffer(mlir::MLIRContext &context,
                                       llvm::StringRef bytes,
                                       llvm::StringRef name,
                                       llvm::StringRef directory,
                                       const OnnxImportOptions &options = {});

/// Imports `path` for running on `inputs`: every graph input given gets its
/// shape from the tensor (fixing symbolic dimensions), and graph inputs that
/// set shapes are bound to their given values (as --constant-input does).
/// `bound` receives the names of the inputs that became constants, which
/// are then not fed to the compiled model.
llvm::Expected<Model> importOnnxForInputs(mlir::MLIRContext &context,
                                          llvm::StringRef path,
                                          const NamedTensors &inputs,
                                          std::vector<std::string> &bound);

/// The names of the graph inputs of the model in `path` (initializers
/// excluded), in order.
llvm::Expected<std::vector<std::string>> onnxInputNames(llvm::StringRef path);

/// Reads an ONNX TensorProto file (the conformance data's input_N.pb), with
/// its name. Fails on a malformed file or an unsupported data type.
llvm::Expected<std::pair<std::string, HostTensor>>
readOnnxTensorFile(llvm::StringRef path);

/// What exportOnnxWithWeights did with each name.
struct OnnxExportSummary {
  std::vector<std::string> replaced; ///< initializers given new values
  std::vector<std::string> kept;     ///< initializers left as they were
  std::vector<std::string> unused;   ///< weights that name no initializer
};

/// Writes the model in `originalPath` to `outputPath` (atomically) with each
/// initializer named in `weights` replaced by its tensor (same type and
/// shape, or an error). Nodes, inputs and outputs are kept as they are.
/// Fails, writing nothing, when no weight names an initializer.
llvm::Expected<OnnxExportSummary> exportOnnxWithWeights(llvm::StringRef originalPath,
                                                        const NamedTensors &weights,
                                                        llvm::StringRef outputPath);

/// The ONNX operators (default domain) that the importer converts.
std::vector<std::string> supportedOnnxOps();

} // namespace dlc

#endif // DLC_FRONTEND_ONNX_ONNXIMPORTER_H
