//===- Pipeline.cpp - the CPU lowering pipeline -----------------*- C++ -*-===//
//
// Assembles the passes that take dlc on tensors to the LLVM dialect, and
// registers what they need.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"
#include "passes/Passes.h"
#include "ir/DlcDialect.h"
#include "ir/Diagnostics.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace dlc;

namespace {

/// dlc on tensors to linalg on tensors (the `linalg` stage).
void buildLinalgPipeline(OpPassManager &pm) {
  // Weight gradients come out as transposes of products; the product of
  // transposes reads the small operands transposed instead.
  pm.addNestedPass<func::FuncOp>(createDlcTransposeProducts());
  // A convolution's bias, batch norm, residual and ReLU become its GEMM's
  // epilogue: applied to each tile while it is in cache, not in passes
  // over the whole result.
  pm.addNestedPass<func::FuncOp>(createDlcFuseConvEpilogues());
  pm.addPass(createDlcLowerToLinalg());
  pm.addPass(createCanonicalizerPass());
}

/// dlc on tensors to straight-line calls of kernels on buffers.
void buildKernelPipeline(OpPassManager &pm) {
  buildLinalgPipeline(pm);
  // Chains of elementwise ops (a convolution's batch norm and ReLU, a
  // residual add) become one loop nest: one pass over memory, no
  // intermediate buffers.
  pm.addPass(createDlcFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  // An op whose result is inserted into a bigger tensor (a convolution's
  // zero padding, a concatenation) writes into that tensor's slice in place
  // instead of into a buffer of its own that is then copied.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());

  // Bufferize with plain (identity-layout) memrefs at the function boundary
  // and turn results into out-parameters, so the runtime passes one bare
  // pointer per input, parameter and output.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // In-place writes leave copies of a slice onto the same slice behind.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  // Matrix products call the runtime's tuned kernels; every other op
  // becomes a function of its own (compile time stays linear), then loops.
  pm.addPass(createDlcCpuKernelCalls());
  // A pointwise product and the depthwise convolution that alone reads
  // its result (MobileNet's blocks) run as one kernel, rows at a time.
  pm.addPass(createDlcCpuPairKernels());
  // A parameter's (or optimizer state's) new value goes into the memory of
  // its old one where the order of the kernels allows.
  pm.addPass(createDlcInPlaceOutputs());
  pm.addPass(createDlcOutlineKernels());
  // A softmax's or a layer norm's kernels (a row-wise reduction and the
  // elementwise ops around it) become one, run row by row.
  pm.addPass(createDlcFuseRows());
}

} // namespace

void dlc::buildCpuLoweringPipeline(OpPassManager &pm) {
  buildKernelPipeline(pm);
  // Intermediate buffers share one arena, allocated once per run.
  pm.addPass(createDlcPlanMemory());
  // Kernels large enough run on every thread of the pool.
  pm.addPass(createDlcParallelKernels());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // exp, erf and tanh become polynomials that vectorize; integer powers
  // become loops; functions LLVM has no intrinsic for (asin...) become libm
  // calls; the rest become LLVM intrinsics.
  pm.addPass(createDlcApproximateMath());
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  ConvertFuncToLLVMPassOptions funcToLLVM;
  funcToLLVM.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcToLLVM));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

llvm::Error dlc::lowerForCpu(ModuleOp module, CpuStage stage) {
  MLIRContext *context = module.getContext();
  DialectRegistry registry;
  registerCpuCodegenDialects(registry);
  context->appendDialectRegistry(registry);

  DiagnosticCapture diagnostics(context);
  PassManager pm(context);
  if (stage == CpuStage::Linalg) {
    buildLinalgPipeline(pm);
  } else if (stage == CpuStage::Kernels) {
    buildKernelPipeline(pm);
  } else {
    buildCpuLoweringPipeline(pm);
  }
  if (failed(pm.run(module)))
    return diagnostics.takeError("CPU code generation failed");
  return llvm::Error::success();
}

void dlc::registerCpuPasses() {
  registerDlcPasses();
  registerDlcCpuPasses();
  PassPipelineRegistration<>(
      "dlc-lower-to-kernels",
      "Lower dlc ops on tensors to kernels on buffers: @main calling one "
      "function per kernel and the runtime's GEMM (what `dlc inspect` reads)",
      [](OpPassManager &pm) { buildKernelPipeline(pm); });
  PassPipelineRegistration<>(
      "dlc-lower-to-llvm",
      "Lower dlc ops on tensors all the way to the LLVM dialect (the CPU "
      "pipeline that dlc's JIT runs)",
      [](OpPassManager &pm) { buildCpuLoweringPipeline(pm); });
}

void dlc::registerCpuCodegenDialects(DialectRegistry &registry) {
  registry.insert<DlcDialect, affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, index::IndexDialect, LLVM::LLVMDialect,
                  linalg::LinalgDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect, ub::UBDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  // memref.alloc as an AllocationOpInterface: without it
  // buffer-results-to-out-params cannot hoist a result's buffer into the
  // caller's output and copies every output at the end of each run (all of
  // a training step's parameters and optimizer state).
  memref::registerAllocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}
