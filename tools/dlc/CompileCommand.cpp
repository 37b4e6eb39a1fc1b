//===- CompileCommand.cpp - `dlc compile` -----------------------*- C++ -*-===//
//
// Compiles an ONNX model into a .dlc artifact (its module, weights and
// signature), or stops at an earlier stage and prints it (--emit), so a
// user can look at what each step made of the model.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "codegen/cpu/Jit.h"
#include "codegen/cpu/Passes.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;
using dlc::tool::secondsSince;

cl::SubCommand dlc::tool::compileCommand(
    "compile", "Compile an ONNX model into a .dlc artifact");

namespace {

enum class Stage { Dlc, Linalg, LLVMDialect, LLVMIR, Artifact };

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.onnx | model.onnxtxt>"),
                               cl::sub(dlc::tool::compileCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> outputPath(
    "o", cl::desc("Where to write (default: MODEL.dlc for an artifact, stdout "
                  "for the other stages)"),
    cl::value_desc("OUT"), cl::sub(dlc::tool::compileCommand),
    cl::cat(dlc::tool::dlcCategory));
cl::list<std::string> shapes(
    "shape", cl::desc("Fix an input's shape: NAME=D1xD2x... (repeatable)"),
    cl::sub(dlc::tool::compileCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<Stage> emit(
    "emit", cl::desc("Stop after a stage and write it:"), cl::init(Stage::Artifact),
    cl::values(clEnumValN(Stage::Dlc, "mlir", "the dlc dialect, as imported"),
               clEnumValN(Stage::Linalg, "linalg", "linalg on tensors"),
               clEnumValN(Stage::LLVMDialect, "llvm", "the LLVM dialect"),
               clEnumValN(Stage::LLVMIR, "llvm-ir", "optimized LLVM IR for this CPU"),
               clEnumValN(Stage::Artifact, "artifact",
                          "the .dlc artifact, after compiling it once (default)")),
    cl::sub(dlc::tool::compileCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> reportPath(
    "report",
    cl::desc("Also write the compile report as JSON: stage times, whether the native code "
             "came from the cache, the memory plan, this process's peak memory"),
    cl::value_desc("FILE"), cl::sub(dlc::tool::compileCommand),
    cl::cat(dlc::tool::dlcCategory));
cl::opt<bool> quiet("quiet", cl::desc("Print errors only"),
                    cl::sub(dlc::tool::compileCommand), cl::cat(dlc::tool::dlcCategory));

/// This process's peak resident memory in bytes (VmHWM), or 0 where
/// /proc/self/status does not say.
int64_t peakResidentBytes() {
  auto status = MemoryBuffer::getFileAsStream("/proc/self/status");
  if (!status)
    return 0;
  SmallVector<StringRef> lines;
  (*status)->getBuffer().split(lines, '\n');
  for (StringRef line : lines) {
    int64_t kib;
    if (line.consume_front("VmHWM:") && !line.trim().drop_back(3).trim().getAsInteger(10, kib))
      return kib * 1024;
  }
  return 0;
}

/// Writes an intermediate stage as text.
int emitStage(Model &model) {
  if (emit == Stage::Linalg || emit == Stage::LLVMDialect || emit == Stage::LLVMIR) {
    CpuStage stage = emit == Stage::Linalg ? CpuStage::Linalg : CpuStage::LLVMDialect;
    if (Error error = lowerForCpu(*model.module, stage))
      return fail(dlc::tool::compileCommand, std::move(error));
  }
  std::string path = outputPath.empty() ? "-" : outputPath.getValue();
  std::error_code ec;
  ToolOutputFile out(path, ec, sys::fs::OF_Text);
  if (ec)
    return fail(dlc::tool::compileCommand, createStringError("cannot write '%s': %s", path.c_str(),
                                  ec.message().c_str()));
  if (emit == Stage::LLVMIR) {
    auto ir = translateToLLVMIR(*model.module, /*optimize=*/true);
    if (!ir)
      return fail(dlc::tool::compileCommand, ir.takeError());
    out.os() << *ir;
  } else {
    model.module->print(out.os());
    out.os() << "\n";
  }
  out.keep();
  return 0;
}

} // namespace

int dlc::tool::runCompileCommand() {
  OnnxImportOptions options;
  if (Error error = parseShapeOptions(shapes, options.shapes))
    return fail(dlc::tool::compileCommand, std::move(error));
  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  auto model = importOnnxFile(context, modelPath, options);
  if (!model)
    return fail(dlc::tool::compileCommand, model.takeError());
  if (emit != Stage::Artifact)
    return emitStage(*model);
  if (!quiet)
    errs() << formatv("dlc compile: imported {0} in {1:f3} s\n", modelPath.getValue(),
                      secondsSince(start));

  // Compile once before writing: a model that cannot be compiled gets no
  // artifact, and the compile cache is warm for its first load.
  auto executable = Executable::compile(*model, CompileCache::fromEnvironment(),
                                        Executable::Weights::AsGiven);
  if (!executable)
    return fail(dlc::tool::compileCommand, executable.takeError());
  const CompileReport &times = (*executable)->compileReport();
  if (!quiet) {
    errs() << "dlc compile: compiled for " << hostCpuDescription() << " (" << times.summary()
           << ")\n";
    if (std::string memory = times.memorySummary(); !memory.empty())
      errs() << "dlc compile: " << memory << "\n";
  }

  std::string path = outputPath;
  if (path.empty()) {
    SmallString<256> derived(modelPath.getValue());
    sys::path::replace_extension(derived, "dlc");
    path = std::string(derived);
  }
  const Artifact &artifact = (*executable)->artifact();
  if (Error error = writeArtifact(path, artifact))
    return fail(dlc::tool::compileCommand, createStringError("cannot write '%s': %s", path.c_str(),
                                  toString(std::move(error)).c_str()));
  if (!reportPath.empty()) {
    CompileReport report = times;
    report.compilerPeakBytes = peakResidentBytes();
    std::error_code ec;
    ToolOutputFile out(reportPath, ec, sys::fs::OF_Text);
    if (ec)
      return fail(dlc::tool::compileCommand,
                  createStringError("cannot write '%s': %s", reportPath.c_str(),
                                    ec.message().c_str()));
    out.os() << report.toJson() << "\n";
    out.keep();
  }
  if (quiet)
    return 0;
  uint64_t size = 0;
  sys::fs::file_size(path, size);
  const Signature &signature = artifact.signature;
  outs() << formatv("wrote {0} ({1:f1} MB): {2} inputs, {3} outputs, {4} weights\n",
                    path, size / 1e6, signature.inputs.size(),
                    signature.outputs.size(), signature.params.size());
  return 0;
}
