//===- BenchCommand.cpp - `dlc bench` ---------------------------*- C++ -*-===//
//
// Times one model alone: compiles an ONNX file (or loads a .dlc artifact),
// feeds it random inputs of the signature's types and shapes, and prints
// the distribution of run times; with --profile, the time of each runtime
// kernel (runtime/KernelProfile.h). Engines are compared by bench/
// scripts; this is for looking at one model.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/Executable.h"
#include "runtime/KernelProfile.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <numeric>
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
cl::opt<bool> profile(
    "profile",
    cl::desc("Also time each runtime kernel (GEMMs, convolutions, pooling) and print them, "
             "most time first, per run"),
    cl::sub(dlc::tool::benchCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> top("top", cl::desc("Kernels listed by --profile (default 20)"), cl::init(20),
                      cl::sub(dlc::tool::benchCommand), cl::cat(dlc::tool::dlcCategory));

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

/// The kernels' times per run, most first, as shares of `total`, the
/// runs' time (times the threads that run samples at once, for a split
/// batch; timing each kernel makes the runs a little slower); what is left
/// is the generated code and the time between kernels.
void printProfile(const std::vector<KernelProfile::Entry> &entries, double total, size_t runs) {
  outs() << formatv("kernels, per run (times with --profile's own overhead):\n{0,9}  {1,6}  "
                    "{2,5}  {3,7}  {4}\n",
                    "ms", "share", "calls", "GFLOP/s", "kernel and shape");
  double timed = 0;
  for (const KernelProfile::Entry &entry : entries)
    timed += entry.seconds;
  auto line = [&](double seconds, double calls, double flops, StringRef what) {
    std::string rate = flops > 0 ? formatv("{0:f1}", flops / seconds * 1e-9).str() : "-";
    std::string count = calls > 0 ? formatv("{0:f0}", calls).str() : "";
    outs() << formatv("{0,9:f3}  {1,5:f1}%  {2,5}  {3,7}  {4}\n", seconds / runs * 1e3,
                      100 * seconds / total, count, rate, what);
  };
  size_t shown = std::min<size_t>(entries.size(), top);
  for (size_t i = 0; i < shown; ++i) {
    const KernelProfile::Entry &entry = entries[i];
    line(entry.seconds, double(entry.calls) / runs, entry.flops,
         (entry.kernel + " " + entry.shape));
  }
  if (shown < entries.size()) {
    double seconds = 0, flops = 0;
    for (size_t i = shown; i < entries.size(); ++i)
      seconds += entries[i].seconds, flops += entries[i].flops;
    line(seconds, 0, flops, formatv("{0} other kernel shapes", entries.size() - shown).str());
  }
  line(std::max(0.0, total - timed), 0, 0, "generated code and the rest of the run");
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
  if (int64_t samples = exe.signature().samples; samples > 1)
    outs() << formatv("batch: {0} samples, one at a time over the threads (the arena "
                      "below is one sample's, one per thread; kernel times add up the "
                      "threads')\n",
                      samples);
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
  KernelProfile kernels;
  KernelProfile::Scope profiling(profile ? &kernels : nullptr);
  auto begin = std::chrono::steady_clock::now();
  while (secondsSince(begin) < seconds || runs.size() < 5) {
    auto runStart = std::chrono::steady_clock::now();
    auto outputs = exe.run(inputs);
    runs.push_back(secondsSince(runStart));
    if (!outputs)
      return fail(dlc::tool::benchCommand, outputs.takeError());
  }
  const double total = std::accumulate(runs.begin(), runs.end(), 0.0);
  std::sort(runs.begin(), runs.end());
  auto at = [&](double q) { return runs[size_t(q * (runs.size() - 1))] * 1e3; };
  outs() << formatv("latency: median {0:f3} ms, p10 {1:f3} ms, p90 {2:f3} ms over {3} runs\n",
                    at(0.5), at(0.1), at(0.9), runs.size());
  // A batch split into samples keeps all threads in kernels of their own:
  // its kernel times are the threads' together.
  const int64_t busyThreads =
      std::min<int64_t>(exe.threads(), exe.signature().samples);
  if (profile)
    printProfile(kernels.entries(), total * double(busyThreads), runs.size());
  return 0;
}
