//===- Jit.h - JIT compilation of lowered modules ---------------*- C++ -*-===//
//
// Turns a module in the LLVM dialect into native code for the host CPU with
// ORC (through MLIR's ExecutionEngine) and calls its functions.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_JIT_H
#define DLC_CODEGEN_CPU_JIT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir {
class ExecutionEngine;
class ModuleOp;
} // namespace mlir

namespace dlc {

/// Native code for one module, compiled for the host CPU.
class JitModule {
public:
  explicit JitModule(std::unique_ptr<mlir::ExecutionEngine> engine);
  ~JitModule();

  /// Calls `function`, compiled with the bare-pointer calling convention,
  /// with one data pointer per memref argument.
  llvm::Error call(llvm::StringRef function, llvm::ArrayRef<void *> pointers);

private:
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

/// Optimizes (O3, host CPU features) and JIT-compiles `module`, which must
/// already be in the LLVM dialect.
llvm::Expected<std::unique_ptr<JitModule>> jitCompile(mlir::ModuleOp module);

/// Translates `module` (LLVM dialect) to textual LLVM IR, optimized as the
/// JIT would optimize it when `optimize` is set.
llvm::Expected<std::string> translateToLLVMIR(mlir::ModuleOp module,
                                              bool optimize);

/// The host CPU's name and feature string, e.g. "znver4 +avx2,+avx512f,...".
std::string hostCpuDescription();

} // namespace dlc

#endif // DLC_CODEGEN_CPU_JIT_H
