//===- BenchCommand.cpp - `dlc bench` ---------------------------*- C++ -*-===//
//
// Times one model alone: compiles an ONNX file (or loads a .dlc artifact),
// feeds it random inputs of the signature's types and shapes, and prints
// the distribution of run times. Engines are compared by bench/ scripts;
// this is for looking at one model.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <random>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;
using dlc::tool::secondsSince;

cl::SubCommand dlc::tool::benchCommand("bench", "Time one model on random inputs");

namespace {

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.onnx | model.onnxtxt | model.dlc>"),
                               cl::sub(dlc::tool::benchCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::list<std::string> shapes(
    "shape", cl::desc("Fix an input's shape: NAME=D1xD2x... (repeatable)"),
    cl::sub(dlc::tool::benchCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> threads("threads",
                          cl::desc("Threads that kernels use (default: one per core)"),
                          cl::init(0), cl::sub(dlc::tool::benchCommand),
                          cl::cat(dlc::tool::dlcCategory));
cl::opt<double> seconds("seconds", cl::desc("How long to keep timing (default 3)"),
                        cl::init(3.0), cl::sub(dlc::tool::benchCommand),
                        cl::cat(dlc::tool::dlcCategory));

/// Uniform values in [-1, 1] for floats; zeros for integers and booleans,
/// which are usually indices or masks that must stay in range.
HostTensor randomInput(const TensorSpec &spec, std::mt19937 &rng) {
  HostTensor tensor(spec.dtype, spec.shape);
  if (spec.dtype == DType::f32) {
    std::uniform_real_distribution<float> uniform(-1, 1);
    for (int64_t i = 0; i < tensor.numElements(); ++i)
      tensor.dataAs<float>()[i] = uniform(rng);
  } else if (spec.dtype == DType::f64) {
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (int64_t i = 0; i < tensor.numElements(); ++i)
      tensor.dataAs<double>()[i] = uniform(rng);
  }
  return tensor;
}

} // namespace

int dlc::tool::runBenchCommand() {
  auto start = std::chrono::steady_clock::now();
  Expected<std::unique_ptr<Executable>> executable =
      [&]() -> Expected<std::unique_ptr<Executable>> {
    if (isArtifactFile(modelPath))
      return Executable::loadFile(modelPath);
    OnnxImportOptions options;
    if (Error error = parseShapeOptions(shapes, options.shapes))
      return std::move(error);
    mlir::MLIRContext context;
    auto model = importOnnxFile(context, modelPath, options);
    if (!model)
      return model.takeError();
    return Executable::compile(*model);
  }();
  if (!executable)
    return fail(dlc::tool::benchCommand, executable.takeError());
  Executable &exe = **executable;
  if (threads)
    exe.setThreads(threads);
  const CompileReport &times = exe.compileReport();
  outs() << formatv("{0}: ready in {1:f3} s ({2}), {3} threads\n", modelPath.getValue(),
                    secondsSince(start), times.summary(), exe.threads());
  if (std::string memory = times.memorySummary(); !memory.empty())
    outs() << "memory: " << memory << "\n";

  std::mt19937 rng(1);
  std::vector<HostTensor> inputs;
  for (const TensorSpec &spec : exe.signature().inputs)
    inputs.push_back(randomInput(spec, rng));
  std::vector<double> runs;
  auto first = exe.run(inputs); // warm-up: the first run allocates the arena
  if (!first)
    return fail(dlc::tool::benchCommand, first.takeError());
  auto begin = std::chrono::steady_clock::now();
  while (secondsSince(begin) < seconds || runs.size() < 5) {
    auto runStart = std::chrono::steady_clock::now();
    auto outputs = exe.run(inputs);
    runs.push_back(secondsSince(runStart));
    if (!outputs)
      return fail(dlc::tool::benchCommand, outputs.takeError());
  }
  std::sort(runs.begin(), runs.end());
  auto at = [&](double q) { return runs[size_t(q * (runs.size() - 1))] * 1e3; };
  outs() << formatv("latency: median {0:f3} ms, p10 {1:f3} ms, p90 {2:f3} ms over {3} runs\n",
                    at(0.5), at(0.1), at(0.9), runs.size());
  return 0;
}
