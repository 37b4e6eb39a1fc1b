//===- Commands.h - the subcommands of dlc ----------------------*- C++ -*-===//
//
// Each subcommand lives in its own file and declares its options there with
// cl::sub(); dlc.cpp dispatches to the one the user named.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_TOOLS_DLC_COMMANDS_H
#define DLC_TOOLS_DLC_COMMANDS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <chrono>
#include <string>
#include <vector>

namespace dlc::tool {

/// Every dlc option belongs here; the options that libLLVM registers do not,
/// and are hidden from --help.
extern llvm::cl::OptionCategory dlcCategory;

extern llvm::cl::SubCommand exampleCommand;
extern llvm::cl::SubCommand importCommand;
extern llvm::cl::SubCommand conformanceCommand;
extern llvm::cl::SubCommand runCommand;
extern llvm::cl::SubCommand compileCommand;
extern llvm::cl::SubCommand benchCommand;
extern llvm::cl::SubCommand inspectCommand;
extern llvm::cl::SubCommand trainCommand;
extern llvm::cl::SubCommand exportCommand;
extern llvm::cl::SubCommand cacheCommand;

/// Prints `error` as "dlc COMMAND: error: ..." and returns exit code 1.
int fail(const llvm::cl::SubCommand &command, llvm::Error error);

/// Seconds from `start` until now.
inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Builds, compiles and runs a bundled builder example; returns the exit code.
int runExampleCommand();
/// Imports an ONNX model and prints its IR; returns the exit code.
int runImportCommand();
/// Runs ONNX backend test folders; returns the exit code.
int runConformanceCommand();
/// Compiles a model for given inputs, runs it and writes the outputs.
int runRunCommand();
/// Compiles an ONNX model into a .dlc artifact, or prints a stage of it.
int runCompileCommand();
/// Times one model on random inputs.
int runBenchCommand();
/// Shows a model's kernels, FLOPs and memory plan.
int runInspectCommand();
/// Trains an ONNX model on .npz data; writes checkpoints and metrics.
int runTrainCommand();
/// Writes trained weights back into an ONNX model.
int runExportCommand();
/// Shows or clears the compile cache.
int runCacheCommand();

/// Parses `NAME=D1xD2x...` (or `NAME=scalar`) as given to --shape.
llvm::Expected<std::pair<std::string, std::vector<int64_t>>>
parseShapeOption(llvm::StringRef text);

/// Parses every --shape given into `shapes` (name → dimensions).
llvm::Error parseShapeOptions(llvm::ArrayRef<std::string> texts,
                              llvm::StringMap<std::vector<int64_t>> &shapes);

} // namespace dlc::tool

#endif // DLC_TOOLS_DLC_COMMANDS_H
