//===- CompilerProcess.h - compiling a model in a child process -*- C++ -*-===//
//
// The Python package and the C++ API compile an ONNX model in a child
// process by default: `dlc compile` imports it, compiles it (filling the
// compile cache) and writes an artifact, which this process then loads with
// its native code from the cache. The compiler's memory (the parsed ONNX
// model, MLIR and LLVM's heaps and the code pages of libMLIR and libLLVM
// that compiling touches, 35-60 MiB for a small model) then never belongs
// to the process that serves the model, and a compiler crash on a bad model
// is an error here, not the end of this process. See docs/architecture.md,
// "Compiling in a child process".
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_COMPILERPROCESS_H
#define DLC_RUNTIME_COMPILERPROCESS_H

#include "runtime/CompileCache.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlc {

class Executable;

/// The `dlc` program that compiles in a child process: $DLC_COMPILER when
/// set (an error when it names no executable file), else the one this build
/// made (DLC_BUILD_COMPILER). Nothing when neither is there: callers then
/// compile in their own process.
llvm::Expected<std::optional<std::string>> findCompilerProgram();

/// Runs `compiler compile --shape ... -o ARTIFACT --report REPORT --quiet
/// -- ONNX` with the cache's directory as DLC_CACHE_DIR (a temporary
/// directory, removed afterwards, when caching is off or the cache's
/// directory cannot be written) and loads the artifact it writes. The
/// executable's compile report is the child's (stage times, whether its
/// code came from the cache, the memory plan, the child's peak memory),
/// with this process's linking time. A failed compile gives the child's
/// diagnostic; a child killed by a signal, an error that says so. Nothing
/// written stays behind but the cache's entries.
llvm::Expected<std::unique_ptr<Executable>>
compileInChildProcess(llvm::StringRef compiler, llvm::StringRef onnxPath,
                      const std::map<std::string, std::vector<int64_t>> &shapes,
                      const CompileCache &cache = CompileCache::fromEnvironment());

/// compileInChildProcess with the program findCompilerProgram names, or
/// null (and no error) when there is none: the caller then compiles in its
/// own process. What dlc.compile and CompiledModel::compile call.
llvm::Expected<std::unique_ptr<Executable>>
tryCompileInChildProcess(llvm::StringRef onnxPath,
                         const std::map<std::string, std::vector<int64_t>> &shapes);

} // namespace dlc

#endif // DLC_RUNTIME_COMPILERPROCESS_H
