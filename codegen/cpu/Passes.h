//===- Passes.h - CPU code generation passes --------------------*- C++ -*-===//
//
// Declares the CPU lowering passes and the pipelines built from them.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_PASSES_H
#define DLC_CODEGEN_CPU_PASSES_H

#include "mlir/Pass/Pass.h"
#include "llvm/Support/Error.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace dlc {

#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

/// Marks the linalg.generic that applies a fused convolution's epilogue to
/// a GEMM's result in place (see dlc-lower-to-linalg): elementwise fusion
/// leaves it alone and dlc-cpu-kernel-calls folds it into the GEMM call.
constexpr const char *kEpilogueAttribute = "dlc.epilogue";

/// Marks a kernel that dlc-fuse-rows made of several: dlc-parallel-kernels
/// runs its ops in one loop over their rows (dlc::rowLoopOf), each op on a
/// row in turn.
constexpr const char *kRowsAttribute = "dlc.rows";

/// Marks the linalg.generic that is a whole float32 2-D convolution
///   out[n, o, y, x] += in[n, c, y·sh + i·dh, x·sw + j·dw] · filter[o, c, i, j]
/// (loops n, o, y, x, c, i, j), with [sh, sw, dh, dw] as its value:
/// dlc-cpu-kernel-calls makes it a call of the runtime's implicit-GEMM
/// convolution, dlc_conv2d_f32.
constexpr const char *kConv2dAttribute = "dlc.conv2d";

/// Marks the linalg.generic that is a whole float32 2-D depthwise
/// convolution (a filter per channel) with implicit zero padding
///   out[n, c, y, x] += in[n, c, y·sh + i·dh - pt, x·sw + j·dw - pl] · filter[c, i, j]
/// (loops n, c, y, i, j, x), with [sh, sw, dh, dw, pt, pl] as its value.
/// The filter is its one input; its body loads the [N, C, H, W] input
/// itself, at indices it checks (zero outside): the padding is never
/// stored. dlc-cpu-kernel-calls makes it a call of
/// dlc_depthwise_conv2d_f32.
constexpr const char *kDepthwiseConv2dAttribute = "dlc.depthwise_conv2d";

/// Appends the passes that take a module from dlc ops on tensors to the LLVM
/// dialect: lower to linalg, bufferize (results become out-parameters), lower
/// loops, and convert everything to LLVM with the bare-pointer calling
/// convention that the runtime calls.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm);

/// How far lowerForCpu takes a module.
enum class CpuStage {
  Linalg,      ///< linalg, tensor and arith on tensors
  Kernels,     ///< buffers: @main calls one function per kernel (and the
               ///< runtime's GEMM), before memory planning
  LLVMDialect, ///< the LLVM dialect, ready for translation and the JIT
};

/// Lowers `module` (dlc ops on tensors) in place up to `stage`. Fails with
/// the diagnostics of the pass that failed.
llvm::Error lowerForCpu(mlir::ModuleOp module, CpuStage stage);

/// Registers the CPU passes and the `dlc-lower-to-llvm` pipeline with the
/// global pass registry (for dlc-opt).
void registerCpuPasses();

/// Registers every dialect, interface and LLVM translation the CPU lowering
/// needs in `registry`.
void registerCpuCodegenDialects(mlir::DialectRegistry &registry);

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

} // namespace dlc

#endif // DLC_CODEGEN_CPU_PASSES_H
