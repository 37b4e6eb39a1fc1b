//===- DlcOps.td - the dlc operations -----------------------*- tablegen -*-===//
//
// Every primitive op of the dlc dialect, each with its verifier and the rule
// that infers its result type.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_OPS_TD
#define DLC_OPS_TD

include "ir/DlcDialect.td"
include "ir/DlcInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Ops with a gradient rule (ir/Gradients.cpp).
defvar Differentiable = DeclareOpInterfaceMethods<Dlc_DifferentiableOpInterface>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Dlc_ConstantOp : Dlc_Op<"constant", [ConstantLike, Pure,
    InferTypeOpAdaptor]> {
  let summary = "a tensor constant";
  let description = [{
    Produces a tensor whose elements are given by an elements attribute.

    ```mlir
    %0 = dlc.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise operations
//===----------------------------------------------------------------------===//

class Dlc_UnaryOp<string mnemonic, Type operandType, string doc, list<Trait> traits = []>
    : Dlc_Op<mnemonic, !listconcat([Pure, Elementwise, SameOperandsAndResultType], traits)> {
  let summary = doc;
  let description = "Computes " # doc # " of each element.\n\n"
      # "```mlir\n%1 = dlc." # mnemonic # " %0 : tensor<4x8xf32>\n```";
  let arguments = (ins operandType:$operand);
  let results = (outs operandType:$result);
  let assemblyFormat = "$operand attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Dlc_ExpOp : Dlc_UnaryOp<"exp", Dlc_FloatTensor, "the exponential", [Differentiable]>;
def Dlc_NegOp : Dlc_UnaryOp<"neg", Dlc_Tensor, "the negation", [Differentiable]>;
def Dlc_AbsOp : Dlc_UnaryOp<"abs", Dlc_Tensor, "the absolute value", [Differentiable]>;
def Dlc_SignOp : Dlc_UnaryOp<"sign", Dlc_Tensor, "the sign (-1, 0 or 1)">;
def Dlc_NotOp : Dlc_UnaryOp<"not", Dlc_IntTensor, "the bitwise complement (logical not of i1)">;

// Float-only math, one op per function; the folder evaluates in double.
class Dlc_MathOp<string mnemonic, string doc, list<Trait> traits = []>
    : Dlc_UnaryOp<mnemonic, Dlc_FloatTensor, doc, traits>;
def Dlc_LogOp : Dlc_MathOp<"log", "the natural logarithm", [Differentiable]>;
def Dlc_SqrtOp : Dlc_MathOp<"sqrt", "the square root", [Differentiable]>;
def Dlc_TanhOp : Dlc_MathOp<"tanh", "the hyperbolic tangent", [Differentiable]>;
def Dlc_ErfOp : Dlc_MathOp<"erf", "the error function">;
def Dlc_FloorOp : Dlc_MathOp<"floor", "the largest integer not above">;
def Dlc_CeilOp : Dlc_MathOp<"ceil", "the smallest integer not below">;
def Dlc_RoundOp : Dlc_MathOp<"round", "the nearest integer, ties to even">;
def Dlc_SinOp : Dlc_MathOp<"sin", "the sine">;
def Dlc_CosOp : Dlc_MathOp<"cos", "the cosine">;
def Dlc_TanOp : Dlc_MathOp<"tan", "the tangent">;
def Dlc_AsinOp : Dlc_MathOp<"asin", "the arcsine">;
def Dlc_AcosOp : Dlc_MathOp<"acos", "the arccosine">;
def Dlc_AtanOp : Dlc_MathOp<"atan", "the arctangent">;
def Dlc_SinhOp : Dlc_MathOp<"sinh", "the hyperbolic sine">;
def Dlc_CoshOp : Dlc_MathOp<"cosh", "the hyperbolic cosine">;
def Dlc_AsinhOp : Dlc_MathOp<"asinh", "the inverse hyperbolic sine">;
def Dlc_AcoshOp : Dlc_MathOp<"acosh", "the inverse hyperbolic cosine">;
def Dlc_AtanhOp : Dlc_MathOp<"atanh", "the inverse hyperbolic tangent">;

class Dlc_BinaryOp<string mnemonic, string doc, list<Trait> traits = []>
    : Dlc_Op<mnemonic, !listconcat([Pure, Elementwise,
                                     SameOperandsAndResultType], traits)> {
  let summary = doc;
  let description = "Computes " # doc # " of two tensors of the same type, "
      # "element by element. Operands of different shapes must be made equal "
      # "with `dlc.broadcast` first.\n\n"
      # "```mlir\n%2 = dlc." # mnemonic # " %0, %1 : tensor<4x8xf32>\n```";
  let arguments = (ins Dlc_Tensor:$lhs, Dlc_Tensor:$rhs);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Dlc_AddOp : Dlc_BinaryOp<"add", "the sum", [Commutative, Differentiable]>;
def Dlc_SubOp : Dlc_BinaryOp<"sub", "the difference", [Differentiable]>;
def Dlc_MulOp : Dlc_BinaryOp<"mul", "the product", [Commutative, Differentiable]>;
def Dlc_DivOp : Dlc_BinaryOp<"div", "the quotient (integers round toward zero)", [Differentiable]>;
def Dlc_MaxOp : Dlc_BinaryOp<"max", "the maximum (NaN if either is NaN)", [Commutative, Differentiable]>;
def Dlc_MinOp : Dlc_BinaryOp<"min", "the minimum (NaN if either is NaN)", [Commutative, Differentiable]>;
def Dlc_RemOp : Dlc_BinaryOp<"rem", "the remainder with the sign of the dividend (C fmod)">;
def Dlc_PowOp : Dlc_BinaryOp<"pow", "the power">;
def Dlc_AndOp : Dlc_BinaryOp<"and", "the bitwise and (logical and of i1)", [Commutative]>;
def Dlc_OrOp : Dlc_BinaryOp<"or", "the bitwise or (logical or of i1)", [Commutative]>;
def Dlc_XorOp : Dlc_BinaryOp<"xor", "the bitwise exclusive or", [Commutative]>;

def Dlc_CompareOp : Dlc_Op<"compare", [Pure, Elementwise, InferTypeOpAdaptor,
    AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "compares two tensors element by element";
  let description = [{
    Yields an `i1` tensor of the operands' shape. Float comparisons are
    ordered (false when either is NaN) except `ne`, which is true then.

    ```mlir
    %2 = dlc.compare lt %0, %1 : tensor<4xf32> -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Dlc_CompareDirection:$direction, Dlc_Tensor:$lhs,
                       Dlc_Tensor:$rhs);
  let results = (outs Dlc_BoolTensor:$result);
  let assemblyFormat = [{
    $direction $lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_SelectOp : Dlc_Op<"select", [Differentiable, Pure, Elementwise,
    AllTypesMatch<["on_true", "on_false", "result"]>]> {
  let summary = "picks elements from two tensors by a condition";
  let description = [{
    `result[i] = condition[i] ? on_true[i] : on_false[i]`; all three have one
    shape.

    ```mlir
    %3 = dlc.select %c, %a, %b : tensor<4xi1>, tensor<4xf32>
    ```
  }];
  let arguments = (ins Dlc_BoolTensor:$condition, Dlc_Tensor:$on_true,
                       Dlc_Tensor:$on_false);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $on_true `,` $on_false attr-dict `:` type($condition) `,` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_ConvertOp : Dlc_Op<"convert", [Differentiable, Pure, Elementwise]> {
  let summary = "converts elements to another type";
  let description = [{
    Float to integer rounds toward zero; integer to float rounds to nearest;
    to `i1` means "not zero".

    ```mlir
    %1 = dlc.convert %0 : tensor<4xf32> -> tensor<4xi64>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand) `->` type($result)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Shape operations
//===----------------------------------------------------------------------===//

def Dlc_BroadcastOp : Dlc_Op<"broadcast", [Differentiable, Pure]> {
  let summary = "broadcasts a tensor to a larger shape";
  let description = [{
    Maps operand dimension `i` to result dimension `dims[i]`; every other
    result dimension is new. An operand dimension is either equal to its
    result dimension or 1, in which case it is repeated. The result type
    is the target shape, so it is written out, as in `tensor.reshape`.

    ```mlir
    %1 = dlc.broadcast %0, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, DenseI64ArrayAttr:$dims);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `dims` `=` $dims attr-dict `:` type($operand) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Dlc_ReshapeOp : Dlc_Op<"reshape", [Differentiable, Pure]> {
  let summary = "gives a tensor a new shape with the same elements";
  let description = [{
    Reinterprets the elements, in row-major order, with the result's shape.
    Operand and result hold the same number of elements of the same type.

    ```mlir
    %1 = dlc.reshape %0 : tensor<2x8xf32> -> tensor<16xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Dlc_TransposeOp : Dlc_Op<"transpose", [Differentiable, Pure,
    InferTypeOpAdaptor]> {
  let summary = "permutes the dimensions of a tensor";
  let description = [{
    Result dimension `i` is operand dimension `perm[i]`.

    ```mlir
    %1 = dlc.transpose %0, perm = [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, DenseI64ArrayAttr:$perm);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `perm` `=` $perm attr-dict `:` type($operand) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_IotaOp : Dlc_Op<"iota", [Pure]> {
  let summary = "counts along one dimension";
  let description = [{
    `result[i0, ..., in] = i_dim`, converted to the element type.

    ```mlir
    %0 = dlc.iota dim = 1 : tensor<2x3xi64>
    ```
  }];
  let arguments = (ins I64Attr:$dim);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "`dim` `=` $dim attr-dict `:` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Dlc_SliceOp : Dlc_Op<"slice", [Differentiable, Pure, InferTypeOpAdaptor]> {
  let summary = "takes a strided box out of a tensor";
  let description = [{
    Dimension `i` keeps indices `start[i], start[i] + strides[i], ...` below
    `limit[i]`. Strides are positive; `dlc.reverse` turns a tensor around.

    ```mlir
    %1 = dlc.slice %0, start = [0, 1], limit = [4, 8], strides = [2, 3] : tensor<4x8xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$limit, DenseI64ArrayAttr:$strides);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` `start` `=` $start `,` `limit` `=` $limit `,` `strides` `=` $strides
    attr-dict `:` type($operand) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_ReverseOp : Dlc_Op<"reverse", [Differentiable, Pure, SameOperandsAndResultType]> {
  let summary = "reverses the order of elements along some dimensions";
  let description = [{
    ```mlir
    %1 = dlc.reverse %0, dims = [1] : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, DenseI64ArrayAttr:$dims);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = "$operand `,` `dims` `=` $dims attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Dlc_ConcatOp : Dlc_Op<"concat", [Differentiable, Pure, InferTypeOpAdaptor]> {
  let summary = "joins tensors along one dimension";
  let description = [{
    The operands agree in every dimension but `dim` and in element type.

    ```mlir
    %2 = dlc.concat(%0, %1) dim = 0 : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<6x3xf32>
    ```
  }];
  let arguments = (ins Variadic<Dlc_Tensor>:$inputs, I64Attr:$dim);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    `(` $inputs `)` `dim` `=` $dim attr-dict `:` type($inputs) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_PadOp : Dlc_Op<"pad", [Differentiable, Pure, InferTypeOpAdaptor]> {
  let summary = "surrounds a tensor with a constant";
  let description = [{
    Adds `low[i]` elements before and `high[i]` after dimension `i`, all
    equal to the rank-0 `value`. Pads are not negative; slice to crop.

    ```mlir
    %2 = dlc.pad %0, %zero, low = [0, 1], high = [2, 1] : tensor<2x3xf32>, tensor<f32> -> tensor<4x5xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, Dlc_Tensor:$value,
                       DenseI64ArrayAttr:$low, DenseI64ArrayAttr:$high);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $operand `,` $value `,` `low` `=` $low `,` `high` `=` $high attr-dict
    `:` type($operand) `,` type($value) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_GatherOp : Dlc_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "picks slices of a tensor by index along one axis";
  let description = [{
    `result[a..., i..., b...] = data[a..., indices[i...], b...]` where the
    `a` dimensions precede `axis`. Indices are in `[0, dim)`; the builder
    wraps negative ones first. This is ONNX's Gather; the other gathers are
    built from it on flattened data.

    ```mlir
    %2 = dlc.gather %0, %1, axis = 0 : tensor<5x3xf32>, tensor<2xi64> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$data, Dlc_IntTensor:$indices, I64Attr:$axis);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $data `,` $indices `,` `axis` `=` $axis attr-dict `:` type($data) `,` type($indices) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_ScatterOp : Dlc_Op<"scatter", [Pure, InferTypeOpAdaptor]> {
  let summary = "writes values into a flat tensor at given positions";
  let description = [{
    Starts from `data` (rank 1) and, for each `i` in order, combines
    `updates[i]` into position `indices[i]`: `none` overwrites, the other
    kinds accumulate. Every scatter of ONNX flattens to this.

    ```mlir
    %3 = dlc.scatter none %0, %1, %2 : tensor<10xf32>, tensor<3xi64>, tensor<3xf32>
    ```
  }];
  let arguments = (ins Dlc_ScatterKind:$kind, Dlc_Tensor:$data,
                       Dlc_IntTensor:$indices, Dlc_Tensor:$updates);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $kind $data `,` $indices `,` $updates attr-dict `:` type($data) `,` type($indices) `,` type($updates)
  }];
}

//===----------------------------------------------------------------------===//
// Reductions and contractions
//===----------------------------------------------------------------------===//

def Dlc_ReduceOp : Dlc_Op<"reduce", [Differentiable, Pure,
    InferTypeOpAdaptor]> {
  let summary = "reduces a tensor over some of its dimensions";
  let description = [{
    Combines the elements along `dims` (sorted, distinct) with `kind`: sum,
    prod, max or min. The reduced dimensions are removed from the result;
    reshape afterwards to keep them as size 1.

    ```mlir
    %1 = dlc.reduce sum %0, dims = [1] : tensor<4x8xf32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Dlc_ReduceKind:$kind, Dlc_Tensor:$operand,
                       DenseI64ArrayAttr:$dims);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $kind $operand `,` `dims` `=` $dims attr-dict `:` type($operand) `->` type($result)
  }];
  let hasFolder = 1;
}

def Dlc_DotOp : Dlc_Op<"dot", [Differentiable, Pure,
    InferTypeOpAdaptor]> {
  let summary = "batched matrix product";
  let description = [{
    Multiplies `[B..., M, K]` by `[B..., K, N]` into `[B..., M, N]`; both
    operands have the same rank (at least 2), the same batch dimensions and
    the same element type. Broadcasting batch dimensions is the builder's job.

    ```mlir
    %2 = dlc.dot %0, %1 : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$lhs, Dlc_Tensor:$rhs);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

def Dlc_ConvOp : Dlc_Op<"conv", [Differentiable, Pure, InferTypeOpAdaptor]> {
  let summary = "N-dimensional convolution, channels first";
  let description = [{
    Input `[N, C, D1...]`, filter `[O, C / groups, K1...]`, result
    `[N, O, E1...]` with
    `Ei = (dilate(Di, lhs_dilation) + pad_low + pad_high - dilate(Ki, dilations)) / strides + 1`.
    `lhs_dilation` greater than 1 inserts zeros between input elements, which
    is how transposed convolutions are expressed.

    ```mlir
    %2 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
         pad_low = [1, 1], pad_high = [1, 1], groups = 1
         : tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32> -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$input, Dlc_Tensor:$filter,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$lhs_dilation,
                       DenseI64ArrayAttr:$pad_low, DenseI64ArrayAttr:$pad_high,
                       I64Attr:$groups);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $filter `,` `strides` `=` $strides `,` `dilations` `=` $dilations `,`
    `lhs_dilation` `=` $lhs_dilation `,` `pad_low` `=` $pad_low `,` `pad_high` `=` $pad_high `,`
    `groups` `=` $groups attr-dict `:` type($input) `,` type($filter) `->` type($result)
  }];
}

def Dlc_FusedConvOp : Dlc_Op<"fused_conv", [Pure, AttrSizedOperandSegments]> {
  let summary = "2-D float32 convolution with a per-channel epilogue";
  let description = [{
    A `dlc.conv` (float32, two spatial dimensions; one group, or depthwise:
    `groups` equal to the input and output channels, one filter [1, KH, KW]
    per channel) whose result goes through the elementwise chain that
    usually follows it in a network:
    its bias, an inference batch norm, a residual sum, a ReLU or ReLU6. With
    `c = conv(input, filter)`:

    ```
    result[n, o, y, x] = min(max(c[n, o, y, x] · scale[o] + shift[o]
                                 + residual[n, o, y, x], min), max)
    ```

    Each of `scale`, `shift` (`[O]`), `residual` (the result's type), `min`
    and `max` (0-d) may be absent: the term is skipped. The
    `dlc-fuse-conv-epilogues` pass forms this op from `dlc.conv` and its
    chain; the CPU code generator applies the epilogue to each tile of the
    GEMM that computes the convolution, while the tile is in cache.

    ```mlir
    %r = dlc.fused_conv %x, %w scale %s shift %b min %lo max %hi,
         strides = [1, 1], dilations = [1, 1], pad_low = [1, 1], pad_high = [1, 1]
         : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>, tensor<16xf32>,
            tensor<f32>, tensor<f32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Dlc_FloatTensor:$input, Dlc_FloatTensor:$filter,
                       Optional<Dlc_FloatTensor>:$scale, Optional<Dlc_FloatTensor>:$shift,
                       Optional<Dlc_FloatTensor>:$residual,
                       Optional<Dlc_FloatTensor>:$min, Optional<Dlc_FloatTensor>:$max,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pad_low, DenseI64ArrayAttr:$pad_high,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Dlc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $filter (`scale` $scale^)? (`shift` $shift^)? (`residual` $residual^)?
    (`min` $min^)? (`max` $max^)? `,` `strides` `=` $strides `,` `dilations` `=` $dilations `,`
    `pad_low` `=` $pad_low `,` `pad_high` `=` $pad_high attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Dlc_ReduceWindowOp : Dlc_Op<"reduce_window", [Differentiable, Pure, InferTypeOpAdaptor]> {
  let summary = "reduces sliding windows (pooling)";
  let description = [{
    Each result element combines, with `kind`, the window of operand
    elements it covers; one entry per operand dimension in `window`,
    `strides`, `dilations`, `pad_low` and `pad_high`. Padding holds the
    kind's identity (0 for sum, -inf for max...), so it never wins.

    ```mlir
    %1 = dlc.reduce_window max %0, window = [1, 1, 3, 3], strides = [1, 1, 2, 2],
         dilations = [1, 1, 1, 1], pad_low = [0, 0, 1, 1], pad_high = [0, 0, 1, 1]
         : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
    ```
  }];
  let arguments = (ins Dlc_ReduceKind:$kind, Dlc_Tensor:$operand,
                       DenseI64ArrayAttr:$window, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pad_low, DenseI64ArrayAttr:$pad_high);
  let results = (outs Dlc_Tensor:$result);
  let assemblyFormat = [{
    $kind $operand `,` `window` `=` $window `,` `strides` `=` $strides `,`
    `dilations` `=` $dilations `,` `pad_low` `=` $pad_low `,` `pad_high` `=` $pad_high
    attr-dict `:` type($operand) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// Whether the windows tile the operand exactly: stride = window,
    /// no padding, no dilation inside a window, and every operand element
    /// in one window (the usual 2×2 stride-2 pooling). Such pooling and
    /// its gradient are elementwise on a view split into (output, offset).
    bool windowsTileOperand();
  }];
}

def Dlc_TopKOp : Dlc_Op<"top_k", [Pure, InferTypeOpAdaptor]> {
  let summary = "the k largest or smallest elements along a dimension";
  let description = [{
    Sorted values and their `i64` indices; equal values keep index order.

    ```mlir
    %v, %i = dlc.top_k %0, k = 2, dim = 1, largest = true : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
    ```
  }];
  let arguments = (ins Dlc_Tensor:$operand, I64Attr:$k, I64Attr:$dim,
                       BoolAttr:$largest);
  let results = (outs Dlc_Tensor:$values, Dlc_IntTensor:$indices);
  let assemblyFormat = [{
    $operand `,` `k` `=` $k `,` `dim` `=` $dim `,` `largest` `=` $largest attr-dict
    `:` type($operand) `->` type($values) `,` type($indices)
  }];
}

#endif // DLC_OPS_TD
