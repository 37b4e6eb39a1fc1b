//===- RunCommand.cpp - `dlc run` -------------------------------*- C++ -*-===//
//
// Compiles an ONNX model for the inputs given (their shapes fix symbolic
// dimensions), runs it, prints a summary of every output and writes them to
// an .npz archive.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/Executable.h"
#include "runtime/NumPyIO.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <optional>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::runCommand(
    "run", "Run an ONNX model (compiled for the given inputs) or a .dlc artifact");

namespace {

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.onnx | model.onnxtxt | model.dlc>"),
                               cl::sub(dlc::tool::runCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> inputsPath(
    "inputs", cl::Required,
    cl::desc("Inputs: an .npz keyed by input name, or an .npy for a model "
             "with one input"),
    cl::value_desc("IN.npz"), cl::sub(dlc::tool::runCommand),
    cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> outputPath("out", cl::desc("Write the outputs to this .npz"),
                                cl::value_desc("OUT.npz"), cl::sub(dlc::tool::runCommand),
                                cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> threads("threads",
                          cl::desc("Threads that kernels use (default: one per core)"),
                          cl::init(0), cl::sub(dlc::tool::runCommand),
                          cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> repeat("repeat", cl::desc("Timed runs (default 1)"), cl::init(1),
                         cl::sub(dlc::tool::runCommand), cl::cat(dlc::tool::dlcCategory));

/// "[0.1, 0.2, ... ]": the first few elements.
std::string preview(const HostTensor &tensor) {
  std::string text = "[";
  int64_t shown = std::min<int64_t>(tensor.numElements(), 6);
  for (int64_t i = 0; i < shown; ++i)
    text += (i ? ", " : "") + formatv("{0}", format("%.6g", tensor.elementAsDouble(i))).str();
  return text + (tensor.numElements() > shown ? ", ...]" : "]");
}

/// The model's input names: from the artifact's signature or the ONNX graph.
Expected<std::vector<std::string>> inputNames(const std::optional<Artifact> &artifact) {
  if (!artifact)
    return onnxInputNames(modelPath);
  std::vector<std::string> names;
  for (const TensorSpec &spec : artifact->signature.inputs)
    names.push_back(spec.name);
  return names;
}

} // namespace

int dlc::tool::runRunCommand() {
  auto inputs = readNumPyFile(inputsPath);
  if (!inputs)
    return fail(dlc::tool::runCommand, inputs.takeError());
  // Loading an artifact is timed from reading it.
  auto start = std::chrono::steady_clock::now();
  std::optional<Artifact> artifact;
  if (isArtifactFile(modelPath)) {
    auto read = readArtifact(modelPath);
    if (!read)
      return fail(dlc::tool::runCommand, read.takeError());
    artifact = std::move(*read);
  }
  // A lone .npy feeds the model's only input, whatever the file is called.
  if (StringRef(inputsPath).ends_with(".npy")) {
    auto names = inputNames(artifact);
    if (!names)
      return fail(dlc::tool::runCommand, names.takeError());
    if (names->size() != 1)
      return fail(dlc::tool::runCommand, createStringError("the model has %zu inputs; give them in an .npz "
                                    "keyed by input name",
                                    names->size()));
    inputs->front().first = names->front();
  }
  // An ONNX model is timed from its import (reading its input names above
  // parsed it once more).
  if (!artifact)
    start = std::chrono::steady_clock::now();
  const bool loadedArtifact = artifact.has_value();
  // An ONNX model is compiled for the shapes of the inputs given; graph
  // inputs that set shapes are bound to their values and not fed.
  std::vector<std::string> bound;
  Expected<std::unique_ptr<Executable>> executable = [&]()
      -> Expected<std::unique_ptr<Executable>> {
    if (artifact)
      return Executable::load(std::move(*artifact));
    mlir::MLIRContext context;
    auto model = importOnnxForInputs(context, modelPath, *inputs, bound);
    if (!model)
      return model.takeError();
    return Executable::compile(*model);
  }();
  if (!executable)
    return fail(dlc::tool::runCommand, executable.takeError());
  double compileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (threads)
    (*executable)->setThreads(threads);
  NamedTensors fed;
  for (auto &[name, tensor] : *inputs)
    if (!llvm::is_contained(bound, name))
      fed.emplace_back(name, tensor);
  std::vector<double> times;
  NamedTensors outputs;
  for (unsigned i = 0; i < std::max(1u, unsigned(repeat)); ++i) {
    auto begin = std::chrono::steady_clock::now();
    auto result = (*executable)->run(fed);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    if (!result)
      return fail(dlc::tool::runCommand, result.takeError());
    outputs = std::move(*result);
  }
  std::sort(times.begin(), times.end());
  outs() << formatv("{0}: {1} in {2:f4} s ({3}), ran in {4:f3} ms (median of {5})\n",
                    modelPath.getValue(), loadedArtifact ? "loaded" : "compiled",
                    compileSeconds, (*executable)->compileReport().summary(),
                    times[times.size() / 2] * 1e3, times.size());
  for (const auto &[name, tensor] : outputs)
    outs() << "  " << name << ": " << tensor.describe() << " " << preview(tensor) << "\n";
  if (!outputPath.empty()) {
    if (Error error = writeNumPyFile(outputPath, outputs))
      return fail(dlc::tool::runCommand, std::move(error));
    outs() << "wrote " << outputPath << "\n";
  }
  return 0;
}
