//===- Passes.td - passes on the dlc dialect ----------------*- tablegen -*-===//
//
// Target-independent rewrites of dlc programs.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_PASSES_PASSES_TD
#define DLC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def DlcFuseConvEpilogues : Pass<"dlc-fuse-conv-epilogues", "mlir::func::FuncOp"> {
  let summary = "Fold a convolution's bias, batch norm, residual sum and ReLU into it";
  let description = [{
    Forms a `dlc.fused_conv` group around each float32 2-D `dlc.conv` with
    one group, or depthwise (a group per input and output channel: the
    group keeps `groups`), and the chain of elementwise ops that consumes its result,
    each value of the chain having that one user:

    - `add`, `sub`, `mul` or `div` by a per-output-channel operand (a
      broadcast of a vector along the channel dimension: a bias, an
      inference batch norm) compose into one `scale` and `shift` per
      channel: `(c - mean) · s + b` becomes `c · s + (b - mean · s)`;
    - one `add` of a tensor of the result's shape (a residual connection),
      after which only per-channel additions continue the chain;
    - `max` then `min` with a scalar (ReLU, ReLU6, Clip) end it.

    The per-channel vectors are computed by dlc ops on `[O]` tensors before
    the group. A convolution with nothing to fold stays a `dlc.conv`. The
    batch norm is not multiplied into the filter: the filter is a weight
    bound when the program runs, and the scale costs one multiply in the
    epilogue, not a pass over the weights on every run.
  }];
  let dependentDialects = ["dlc::DlcDialect"];
}

def DlcTransposeProducts : Pass<"dlc-transpose-products", "mlir::func::FuncOp"> {
  let summary = "Compute a transposed matrix product as the product of transposes";
  let description = [{
    Rewrites `transpose(dot(a, b))`, where the transpose swaps the last two
    dimensions and is the product's only user, into
    `dot(transpose(b), transpose(a))`, and lets transposes of transposes
    fold. Reverse-mode gradients make this shape: a layer `y = x · wᵀ`
    (ONNX's Gemm with transB, PyTorch's Linear) gets `dw = (xᵀ · dy)ᵀ`,
    whose transpose of a whole weight-sized matrix becomes `dyᵀ · x`, a
    transpose of the small batch-sized operand only.
  }];
  let dependentDialects = ["dlc::DlcDialect"];
}

#endif // DLC_PASSES_PASSES_TD
