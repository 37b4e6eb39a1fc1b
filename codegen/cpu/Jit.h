//===- Jit.h - native code for the host CPU ---------------------*- C++ -*-===//
//
// Turns a module in the LLVM dialect into a relocatable object for the host
// CPU, and loads such objects with ORC's LLJIT to call their functions. The
// two steps are apart so that objects can be cached on disk: a cache hit
// skips lowering, optimization and code generation entirely.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_JIT_H
#define DLC_CODEGEN_CPU_JIT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <utility>

namespace llvm::orc {
class LLJIT;
} // namespace llvm::orc

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace dlc {

/// Native code for one module, loaded into this process.
class JitModule {
public:
  ~JitModule();

  /// A function the generated code may call, by name (KernelAbi.h).
  using Symbol = std::pair<llvm::StringRef, void *>;

  /// Links `object` (as compileToObject makes it) into this process. The
  /// object's undefined symbols resolve to `runtimeSymbols`, to MLIR's
  /// runtime helpers and to this process's (libm, libc).
  static llvm::Expected<std::unique_ptr<JitModule>>
  load(llvm::StringRef object, llvm::ArrayRef<Symbol> runtimeSymbols = {});

  /// A compiled function with the bare-pointer calling convention, called
  /// through its packed entry point: one data pointer per memref argument.
  using PackedFunction = void (*)(void **pointers);

  /// The packed entry point of `function`. Resolve it once and keep it:
  /// a lookup goes through the JIT's symbol tables.
  llvm::Expected<PackedFunction> lookup(llvm::StringRef function);

  /// The address of the public global `name` (a table the compiler left
  /// for the runtime), or null when the code defines none.
  const void *lookupGlobal(llvm::StringRef name);

private:
  explicit JitModule(std::unique_ptr<llvm::orc::LLJIT> jit);
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

/// Translates `module` (LLVM dialect) to LLVM IR, adds a packed entry point
/// for every public function, optimizes it (O3, host CPU features) and
/// emits a relocatable object.
llvm::Expected<std::string> compileToObject(mlir::ModuleOp module);

/// Translates `module` (LLVM dialect) to textual LLVM IR, optimized as
/// compileToObject optimizes it when `optimize` is set.
llvm::Expected<std::string> translateToLLVMIR(mlir::ModuleOp module,
                                              bool optimize);

/// Everything about the host that generated code depends on: target
/// triple, CPU name and feature set, LLVM version. Part of each cache key.
std::string hostTargetKey();

/// The host CPU's name and its notable vector features, e.g.
/// "znver4 +avx2 +fma +avx512f".
std::string hostCpuDescription();

} // namespace dlc

#endif // DLC_CODEGEN_CPU_JIT_H
