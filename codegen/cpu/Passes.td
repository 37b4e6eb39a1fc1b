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
    dot becomes `linalg.matmul` or `linalg.batch_matmul` (reading a
    transposed right operand, or a rank-2 product's transposed left one,
    through its indexing maps), reshape becomes a
    collapse/expand pair, constants become `arith.constant`. The module is
    left on tensors, ready for one-shot bufferization. A dlc op without a
    lowering is an error at its location. Function arguments (inputs and
    weights) are marked `bufferization.writable = false`: bufferization
    copies before any in-place update of one.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
  ];
}

def DlcCpuKernelCalls : Pass<"dlc-cpu-kernel-calls", "mlir::ModuleOp"> {
  let summary = "Call the runtime's tuned kernels for matrix products";
  let description = [{
    Runs on buffers, after bufferization. Replaces every float32
    `linalg.matmul` and `linalg.batch_matmul` (default indexing maps) whose
    operands have unit inner strides with a call to the runtime's GEMM,
    `dlc_gemm_f32` (runtime/kernels/Gemm.h; the argument order is in
    codegen/cpu/KernelAbi.h), which accumulates into the output as the
    linalg op does:

    ```mlir
    linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>)
                  outs(%c : memref<8x4xf32>)
    // becomes
    func.call @dlc_gemm_f32(%batch, %m, %n, %k, %a_ptr, %a_batch_stride, %lda,
        %b_ptr, %b_batch_stride, %b_stride_k, %b_stride_n, %c_ptr,
        %c_batch_stride, %ldc, %flags, %row_scale, %row_shift, %residual,
        %residual_batch_stride, %ldr, %min_bits, %max_bits) : (index, ...) -> ()
    ```

    Pointers are the operands' aligned base pointers plus their offsets, as
    `index`. A matmul may read A as [k, m] (a weight gradient's Xᵀ, see
    dlc-lower-to-linalg) and B as [n, k]: the call passes B's strides and,
    for A, the `kGemmTransposedA` flag. Other element types and layouts keep
    their loops. `flags`
    says that B is a weight (a view of a `dlc.param` argument: the runtime
    packs it once), that C was zero-filled whole just before with nothing
    else touching it in between (the fill is removed and the kernel writes
    its result instead of adding it), and which clamp bounds the epilogue
    has. A batched product followed (with only views and constants in
    between) by a `linalg.generic` that updates its output in place with
    per-row scale, per-row shift, a residual, then max and min with scalars
    (a fused convolution's epilogue, in that order) passes those as the
    epilogue arguments and the generic goes; without one they are 0.

    A `linalg.generic` marked `dlc.conv2d` (a whole 2-D convolution, see
    dlc-lower-to-linalg) on float32 buffers with unit inner strides and a
    filter contiguous after its first dimension becomes a call of
    `dlc_conv2d_f32`, the runtime's implicit-GEMM convolution, with the
    same zero-fill and epilogue rules (the fill may also be of exactly the
    output's view, as when the output is the inside of a padded buffer;
    the epilogue's rows are output channels). A `linalg.generic` marked
    `dlc.depthwise_conv2d` (its filter [C, KH, KW] its one input, the
    input the buffer its body loads from, the padding above and left in
    the mark) becomes a call of `dlc_depthwise_conv2d_f32` by the same
    rules, with the input's height and width and the padding.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::func::FuncDialect",
    "mlir::memref::MemRefDialect",
  ];
}

def DlcCpuPairKernels : Pass<"dlc-cpu-pair-kernels", "mlir::ModuleOp"> {
  let summary = "Call one runtime kernel for a product or convolution and the depthwise convolution of its result";
  let description = [{
    Runs on buffers, after dlc-cpu-kernel-calls. A `dlc_depthwise_conv2d_f32`
    call whose input is an allocation that a `dlc_gemm_f32` call writes as
    its C, where the product is the last op before the convolution that
    may write memory and nothing else uses the allocation (views, their
    metadata and addresses, and its deallocation aside), becomes one call
    of `dlc_expand_depthwise_f32` at the convolution's place, with the
    product's arguments and then the convolution's
    (codegen/cpu/KernelAbi.h):

    ```mlir
    func.call @dlc_gemm_f32(%g0, ..., %c_ptr, ...) : (index, ...) -> ()
    func.call @dlc_depthwise_conv2d_f32(%d0, ..., %c_ptr, ...) : (index, ...) -> ()
    // becomes
    func.call @dlc_expand_depthwise_f32(%g0, ..., %c0, ..., %d0, ..., %c0, ...)
    ```

    A `dlc_conv2d_f32` call pairs the same way, as one call of
    `dlc_conv_depthwise_f32` with the convolution's arguments and then the
    depthwise convolution's (an image network's first layer and the
    depthwise convolution after it).

    MobileNet's inverted residual blocks are such pairs: a 1×1 convolution
    expanding a few channels to many, then a 3×3 depthwise convolution. The
    runtime computes the two a few rows of the expanded tensor at a time,
    channels innermost, without writing the allocation where the shapes
    allow (runtime/kernels/ExpandDepthwise.h). So the allocation goes
    where the two calls' views of it start at the same element and no
    other argument points into it: the call gets its address as 0 and its
    views' sizes, strides and offsets as constants, and the allocation,
    its views, their metadata and addresses and its deallocation are
    erased. Where the runtime calls the
    two kernels in order instead (shapes it does not fuse, a CPU without
    AVX-512), it takes a buffer for the intermediate from the run's
    BufferPool.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def DlcFuseElementwise : Pass<"dlc-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuse chains of elementwise linalg ops on tensors";
  let description = [{
    Merges a `linalg.generic` whose loops are all parallel into the
    all-parallel `linalg.generic` that consumes it, so that a chain such as
    a convolution's batch norm, bias and ReLU, or a residual add, is one
    pass over memory with no intermediate buffer; broadcasts disappear into
    their consumers. Unlike upstream's `--linalg-fuse-elementwise-ops`, it
    never fuses into contractions: a matrix product that absorbed its
    im2col producer would no longer be a matrix product, and would lose
    the runtime's GEMM. A producer that computes something is fused only
    into its sole user (a use by the function's return aside: the fused op
    then yields the producer's value too, as an optimizer's update yields
    the new momentum it reads): fused into each of several users it would be
    computed once per user (BERT's residual stream, which feeds every later
    layer, was recomputed by each: 397 ms against 158 ms once fixed), and
    never through a broadcast (a batch norm's per-channel square root and
    division would run once per pixel).

    A fused generic over a split shape whose result is only merged back
    (a 2×2 max pool's gradient compares the operand, viewed as
    [N, C, H, 2, W, 2], with the per-window maxima) becomes a generic over
    the merged shape that reads the per-window values through
    `d floordiv 2`: its innermost loop runs along a row, not along a
    window's width of 2 (the small CNN's training step 4% faster).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def DlcInPlaceOutputs : Pass<"dlc-in-place-outputs", "mlir::ModuleOp"> {
  let summary = "Compute an output that updates the input of its name in that input's memory";
  let description = [{
    Runs on buffers, after dlc-cpu-kernel-calls and before outlining. A
    training step returns each parameter and each optimizer state under the
    name of the input it updates (`param:fc.weight` in, `param:fc.weight`
    out). Giving the step separate buffers for the old and the new values
    doubles their memory and, at a few MiB per parameter, pushes the whole
    step out of the last-level cache. An output can share its input's memory
    when, in @main's order of ops:

    - the first op that touches the output is a `linalg.generic` with only
      parallel loops that writes the whole output (the argument itself, not a
      view, at the identity map) without reading its old value, and reads the
      input (the argument itself) only at the identity map;
    - no op after that generic touches the input.

    "Touches" counts buffer operands (through views), nested ops, and the
    buffers whose addresses a kernel call takes. The generic is rewritten to
    read the input's values through the output's operand, so that the
    caller must give the output holding the input's values: the input's own
    buffer (no copy) or a copy of it (the runtime makes one when the caller
    passes separate memory). No kernel then takes both buffers, so the
    kernels' `llvm.noalias` arguments stay true.

    ```mlir
    linalg.generic {identity maps} ins(%p_in, %grad : ...) outs(%p_out : ...) {
    ^bb0(%p: f32, %g: f32, %unused: f32): ... }
    // becomes
    linalg.generic {identity maps} ins(%grad : ...) outs(%p_out : ...) {
    ^bb0(%g: f32, %p: f32): ... }
    ```

    The module gets a public constant `@dlc_in_place_outputs` (see
    codegen/cpu/KernelAbi.h) listing the pairs by their positions among the
    signature's outputs and inputs; the runtime reads it from the compiled
    code, so it survives the compile cache.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::memref::MemRefDialect"];
}

def DlcOutlineKernels : Pass<"dlc-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Move each linalg op on buffers into a function of its own";
  let description = [{
    Runs on buffers. Every linalg op of a function becomes a call to a new
    private function (`@main_kernel_3`) that holds the op, marked
    `noinline`. LLVM's optimizer is far from linear in the size of one
    function: a whole model as one function took ResNet-50 25 s to
    optimize. One function per kernel keeps compile time proportional to
    the model, and is the unit that fusion and the thread pool will work
    on. Constants the op uses are cloned into the kernel; other values
    become arguments. An op on a slice that moves with a loop (one image of
    a batch) takes the sliced buffer and the slice's offsets, and makes the
    subview inside the kernel. `memref.copy` ops become `linalg.copy` first, so
    copies are kernels too (compiled loops, not MLIR's element-by-element
    `memrefCopy` helper). When the kernel's buffers are views of pairwise
    distinct allocations or arguments, they are marked `llvm.noalias`, so
    LLVM keeps loop-invariant loads in registers and vectorizes (a batch
    norm's per-channel values were reloaded after every store).

    ```mlir
    linalg.generic {...} ins(%a : memref<4xf32>) outs(%b : memref<4xf32>) {...}
    // becomes
    call @main_kernel_0(%a, %b) : (memref<4xf32>, memref<4xf32>) -> ()
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::linalg::LinalgDialect"];
}

def DlcFuseRows : Pass<"dlc-fuse-rows", "mlir::ModuleOp"> {
  let summary = "Make consecutive row-by-row kernels one kernel";
  let description = [{
    Runs on outlined kernels (after dlc-outline-kernels). A row-wise
    reduction and the elementwise ops around it (softmax: the maximum, the
    exponentials, their sum, the division; layer norm: the mean, the
    deviations, the variance, the normalization) were a kernel each, every
    one a pass over the whole tensor. Consecutive calls of kernels that are
    one linalg op each, all split along a loop of the same number of
    iterations (`dlc::rowLoopOf`: its rows), become one call of a kernel
    that holds their ops in order, marked `dlc.rows`; dlc-parallel-kernels
    then runs them in one loop over the rows, every op on row r before the
    next row, so a row stays in cache from the first op to the last.

    That order computes the same as one op after the other when every
    buffer an op of the group writes is reached by all of them row by row,
    at the same elements for the same row (same offset and row stride, a
    row no longer than the stride): an op on row r then reads exactly what
    the ops before it wrote to row r, and nothing a later op writes. A
    buffer read whole (a layer norm's scale, a scalar) must not be written
    in the group. In a module with outputs computed in place
    (`dlc_in_place_outputs`, a training step), the function's arguments
    count as one buffer (such an output is its input's memory at run
    time); otherwise the runtime passes distinct arrays. Between the
    calls only views, constants, index arithmetic and allocations may
    stand; deallocations move after the group's call.

    ```mlir
    call @main_kernel_25(%sum)             // fill
    call @main_kernel_26(%x, %sum)         // sum of each row of %x
    call @main_kernel_27(%sum3, %mean)     // sum / 768
    // becomes
    call @main_kernel_25_rows(%sum, %x, %sum3, %mean)
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::LLVM::LLVMDialect"];
}

def DlcPlanMemory : Pass<"dlc-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place a function's intermediate buffers in one arena";
  let description = [{
    Runs on buffers, after deallocation has been placed. In each function
    whose body is straight-line code, every statically shaped
    `memref.alloc` released by a `memref.dealloc` in the same block has a
    live range from the allocation to its last use (through views,
    reshapes and the addresses kernel calls take; the dealloc itself sits at
    the end of the block and says nothing). `planArena` (MemoryPlan.h) gives each
    an offset in one arena (best fit, largest-first or earliest-first,
    whichever is smaller); the arena is allocated once at the function's
    start, each buffer becomes a `memref.view` into it, and the deallocs
    go. The function gets `dlc.arena_bytes` (the arena) and
    `dlc.intermediate_bytes` (what the buffers would take apart).

    ```mlir
    %a = memref.alloc() : memref<256xf32>
    ...
    memref.dealloc %a : memref<256xf32>
    // becomes
    %arena = memref.alloc() {alignment = 64 : i64} : memref<1024xi8>
    %a = memref.view %arena[%c0][] : memref<1024xi8> to memref<256xf32>
    ...
    memref.dealloc %arena : memref<1024xi8>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}


def DlcParallelKernels : Pass<"dlc-parallel-kernels", "mlir::ModuleOp"> {
  let summary = "Split outlined kernels' outer parallel loop over the thread pool";
  let description = [{
    Runs on the kernels that dlc-outline-kernels made. A kernel whose op
    does at least `min-work` iteration points gets two more arguments,
    `lo` and `hi` (index), and runs the op on the slices `[lo, hi)` of its
    outermost parallel loop that has two or more iterations (never the
    innermost loop, which stays whole for vectorization). Calls pass the
    whole range, so the kernel is correct when called directly; the kernel
    is marked with the LLVM function attribute `dlc-parallel-for`, and the
    JIT (Jit.cpp) turns each call into a call of the runtime's
    `dlc_parallel_for`, which splits the range over the thread pool.
    Before splitting, an elementwise op's (or a reduction's) loops after
    the split loop merge into one where its buffers are contiguous along
    them and they are all parallel or all reductions (per-channel operands
    lose their unit dimensions first), so a [1, C, 14, 14] batch norm runs
    rows of 196 elements, not 14, and a bias gradient sums rows of H·W.

    ```mlir
    func.func private @main_kernel_0(%a: memref<8x64xf32>, %b: memref<8x64xf32>)
    // becomes
    func.func private @main_kernel_0(%a: memref<8x64xf32>, %b: memref<8x64xf32>,
                                     %lo: index, %hi: index) {
      scf.for %i = %lo to %hi step %c1 {
        // the op on %a[%i, 0] [1, 64] and %b[%i, 0] [1, 64]
      }
    }
    ```
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"32768",
           "Iteration points below which a kernel stays on one thread">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def DlcApproximateMath : Pass<"dlc-approximate-math", "mlir::ModuleOp"> {
  let summary = "Compute exp, erf and tanh with polynomials LLVM can vectorize";
  let description = [{
    Replaces `math.exp`, `math.erf` and `math.tanh` on f32 with MLIR's
    polynomial approximations (arith and bit operations only), so loops
    that use them vectorize instead of calling libm once per element
    (BERT's GELU and softmax). Each op's results stay within the float64
    reference tolerance of the unit tests and the ONNX conformance data.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

#endif // DLC_CODEGEN_CPU_PASSES_TD
