//===- ExportCommand.cpp - `dlc export` -------------------------*- C++ -*-===//
//
// Writes trained weights back into the ONNX model they came from: from a
// checkpoint of `dlc train` (its parameters), or from a .dlc artifact (its
// weights). The result runs in any ONNX engine.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/Trainer.h"

#include "llvm/Support/FormatVariadic.h"

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::exportCommand(
    "export", "Write trained weights (a checkpoint or a .dlc) into the original ONNX model");

namespace {

cl::opt<std::string> weightsPath(cl::Positional, cl::Required,
                                 cl::desc("<checkpoint.npz | model.dlc>"),
                                 cl::sub(dlc::tool::exportCommand),
                                 cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> onnxPath("onnx", cl::Required,
                              cl::desc("The ONNX model the weights were trained from"),
                              cl::value_desc("ORIGINAL.onnx"), cl::sub(dlc::tool::exportCommand),
                              cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> outputPath("o", cl::Required, cl::desc("Where to write the ONNX model"),
                                cl::value_desc("TRAINED.onnx"),
                                cl::sub(dlc::tool::exportCommand),
                                cl::cat(dlc::tool::dlcCategory));

/// The weights by initializer name: a checkpoint's parameters and buffers
/// (batch norm's running statistics), or an artifact's weights.
Expected<NamedTensors> readWeights() {
  if (isArtifactFile(weightsPath)) {
    auto artifact = readArtifact(weightsPath);
    if (!artifact)
      return artifact.takeError();
    NamedTensors weights;
    for (auto [spec, weight] : zip(artifact->signature.params, artifact->weights))
      weights.emplace_back(spec.name, weight);
    return weights;
  }
  auto entries = readCheckpoint(weightsPath);
  if (!entries)
    return entries.takeError();
  return checkpointWeights(*entries);
}

} // namespace

int dlc::tool::runExportCommand() {
  auto weights = readWeights();
  if (!weights)
    return fail(dlc::tool::exportCommand, weights.takeError());
  if (weights->empty())
    return fail(dlc::tool::exportCommand,
                createStringError("%s holds no weights", weightsPath.c_str()));
  auto summary = exportOnnxWithWeights(onnxPath, *weights, outputPath);
  if (!summary)
    return fail(dlc::tool::exportCommand, summary.takeError());
  if (!summary->unused.empty()) {
    // Nothing replaced by name means the weights belong to another model.
    std::string names;
    for (const std::string &name : summary->unused)
      names += (names.empty() ? "" : ", ") + name;
    errs() << formatv("dlc export: warning: {0} weight(s) name no initializer of {1}: {2}\n",
                      summary->unused.size(), onnxPath.getValue(), names);
  }
  outs() << formatv("wrote {0}: {1} initializer(s) from {2}, {3} kept as they were\n",
                    outputPath.getValue(), summary->replaced.size(), weightsPath.getValue(),
                    summary->kept.size());
  return 0;
}
