//===- ExampleCommand.cpp - `dlc example` -----------------------*- C++ -*-===//
//
// Builds a bundled example with the GraphBuilder API, compiles it for the
// host CPU, runs it, checks it against a float64 reference and prints the
// output and the time each stage took. --emit stops after a stage and prints
// its IR instead.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "codegen/cpu/Jit.h"
#include "codegen/cpu/Passes.h"
#include "frontend/builder/Examples.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::exampleCommand(
    "example", "Build, compile and run a bundled builder example (mlp)");

namespace {

enum class EmitStage { Run, Dlc, Linalg, LLVMDialect, LLVMIR };

cl::opt<std::string> exampleName(cl::Positional, cl::desc("<example: mlp>"),
                                 cl::init("mlp"), cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<int64_t> batch("batch", cl::desc("Batch size (default 8)"), cl::init(8),
                       cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));
cl::list<int64_t> widths("widths",
                         cl::desc("Layer widths, input first (default 784,256,10)"),
                         cl::CommaSeparated, cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<uint64_t> seed("seed", cl::desc("Seed for weights and input (default 1)"),
                       cl::init(1), cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> repeat("repeat", cl::desc("Timed runs (default 20)"),
                         cl::init(20), cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<EmitStage> emit(
    "emit", cl::desc("Stop after a stage and print it"), cl::init(EmitStage::Run),
    cl::values(clEnumValN(EmitStage::Run, "run", "compile and run (default)"),
               clEnumValN(EmitStage::Dlc, "mlir", "the dlc dialect, as built"),
               clEnumValN(EmitStage::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(EmitStage::LLVMDialect, "llvm", "the LLVM dialect"),
               clEnumValN(EmitStage::LLVMIR, "llvm-ir", "optimized LLVM IR")),
    cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("With --emit, print each op's location (its node name)"),
    cl::sub(dlc::tool::exampleCommand), cl::cat(dlc::tool::dlcCategory));

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/// Prints up to 4 rows and 6 columns of a 2-D float tensor.
void printMatrix(raw_ostream &os, const HostTensor &tensor) {
  int64_t rows = tensor.shape()[0], cols = tensor.shape()[1];
  const float *data = tensor.dataAs<float>();
  for (int64_t r = 0; r < std::min<int64_t>(rows, 4); ++r) {
    os << "  [" << r << "]";
    for (int64_t c = 0; c < std::min<int64_t>(cols, 6); ++c)
      os << format(" %9.5f", data[r * cols + c]);
    os << (cols > 6 ? " ..." : "") << "\n";
  }
  if (rows > 4)
    os << "  ... " << rows - 4 << " more rows\n";
}

} // namespace

int dlc::tool::runExampleCommand() {
  if (exampleName != "mlp")
    return fail(dlc::tool::exampleCommand, createStringError("unknown example '%s'; the examples are: mlp",
                                  exampleName.c_str()));
  MlpConfig config;
  config.batch = batch;
  config.seed = seed;
  if (!widths.empty())
    config.widths.assign(widths.begin(), widths.end());
  if (config.batch <= 0 || llvm::any_of(config.widths, [](int64_t w) { return w <= 0; }))
    return fail(dlc::tool::exampleCommand, createStringError("--batch and --widths must be positive"));

  mlir::MLIRContext context;
  auto model = buildMlp(context, config);
  if (!model)
    return fail(dlc::tool::exampleCommand, model.takeError());
  std::vector<HostTensor> weights;
  int64_t weightCount = 0;
  for (auto &[name, weight] : model->weights) {
    weights.push_back(weight);
    weightCount += weight.numElements();
  }

  if (emit != EmitStage::Run) {
    if (emit != EmitStage::Dlc) {
      CpuStage stage = emit == EmitStage::Linalg ? CpuStage::Linalg : CpuStage::LLVMDialect;
      if (Error error = lowerForCpu(*model->module, stage))
        return fail(dlc::tool::exampleCommand, std::move(error));
    }
    if (emit == EmitStage::LLVMIR) {
      auto ir = translateToLLVMIR(*model->module, /*optimize=*/true);
      if (!ir)
        return fail(dlc::tool::exampleCommand, ir.takeError());
      outs() << *ir;
    } else {
      mlir::OpPrintingFlags flags;
      if (printLocations)
        flags.enableDebugInfo();
      model->module->print(outs(), flags);
      outs() << "\n";
    }
    return 0;
  }

  outs() << "dlc example mlp: ";
  for (size_t i = 0; i < config.widths.size(); ++i)
    outs() << (i ? "-" : "") << config.widths[i];
  outs() << ", batch " << config.batch << ", seed " << config.seed << ", "
         << weightCount << " weights\n";

  auto executable = Executable::compile(*model);
  if (!executable)
    return fail(dlc::tool::exampleCommand, executable.takeError());
  const CompileReport &times = (*executable)->compileReport();
  outs() << "compile: " << times.summary() << "\n";

  Rng rng(config.seed + 1000);
  HostTensor x = randomUniform({config.batch, config.widths.front()}, -1, 1, rng);
  std::vector<double> runTimes;
  std::vector<HostTensor> outputs;
  for (unsigned i = 0; i < std::max(1u, unsigned(repeat)); ++i) {
    auto start = std::chrono::steady_clock::now();
    auto result = (*executable)->run({x});
    runTimes.push_back(std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start).count());
    if (!result)
      return fail(dlc::tool::exampleCommand, result.takeError());
    outputs = std::move(*result);
  }
  double flops = 0;
  for (size_t i = 1; i < config.widths.size(); ++i)
    flops += 2.0 * config.batch * config.widths[i - 1] * config.widths[i];
  double seconds = median(runTimes);
  outs() << format("run: median %.3f ms over %zu runs (%.2f GFLOP/s)\n",
                   seconds * 1e3, runTimes.size(), flops / seconds * 1e-9);

  const HostTensor &logits = outputs.front();
  std::vector<double> reference = evaluateMlpInFloat64(config, weights, x);
  double maxError = 0;
  for (int64_t i = 0; i < logits.numElements(); ++i) {
    double expected = reference[i];
    double error = std::abs(logits.dataAs<float>()[i] - expected) /
                   std::max(1.0, std::abs(expected));
    maxError = std::max(maxError, error);
  }
  outs() << "logits " << logits.describe() << ":\n";
  printMatrix(outs(), logits);
  bool ok = maxError <= 1e-5;
  outs() << format("check against a float64 reference: max relative error "
                   "%.2e (%s)\n",
                   maxError, ok ? "ok, within 1e-5" : "FAILED, above 1e-5");
  return ok ? 0 : 1;
}
