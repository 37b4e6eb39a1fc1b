//===- Passes.td - CPU code generation passes ---------------*- tablegen -*-===//
//
// Passes that take the dlc dialect toward LLVM on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_PASSES_TD
#define DLC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def DlcLowerToLinalg : Pass<"dlc-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower dlc ops to linalg, tensor and arith on tensors";
  let description = [{
    Rewrites every dlc op as the structured upstream op that computes it:
    elementwise ops and broadcasts become `linalg.generic`, transpose becomes
    `linalg.transpose`, reduce becomes `linalg.reduce` over a filled init,
    dot becomes `linalg.matmul` or `linalg.batch_matmul`, reshape becomes a
    collapse/expand pair, constants become `arith.constant`. The module is
    left on tensors, ready for one-shot bufferization. A dlc op without a
    lowering is an error at its location.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
  ];
}

#endif // DLC_CODEGEN_CPU_PASSES_TD
