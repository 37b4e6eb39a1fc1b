//===- DlcOps.td - the dlc operations -----------------------*- tablegen -*-===//
//
// Every primitive op of the dlc dialect, each with its verifier and the rule
// that infers its result type.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_OPS_TD
#define DLC_OPS_TD

include "ir/DlcDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

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

class Dlc_UnaryOp<string mnemonic, Type operandType, string doc>
    : Dlc_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = doc;
  let description = "Computes " # doc # " of each element.\n\n"
      # "```mlir\n%1 = dlc." # mnemonic # " %0 : tensor<4x8xf32>\n```";
  let arguments = (ins operandType:$operand);
  let results = (outs operandType:$result);
  let assemblyFormat = "$operand attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Dlc_ExpOp : Dlc_UnaryOp<"exp", Dlc_FloatTensor, "the exponential">;
def Dlc_NegOp : Dlc_UnaryOp<"neg", Dlc_Tensor, "the negation">;

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

def Dlc_AddOp : Dlc_BinaryOp<"add", "the sum", [Commutative]>;
def Dlc_SubOp : Dlc_BinaryOp<"sub", "the difference">;
def Dlc_MulOp : Dlc_BinaryOp<"mul", "the product", [Commutative]>;
def Dlc_DivOp : Dlc_BinaryOp<"div", "the quotient (integers round toward zero)">;
def Dlc_MaxOp : Dlc_BinaryOp<"max", "the maximum (NaN if either is NaN)", [Commutative]>;
def Dlc_MinOp : Dlc_BinaryOp<"min", "the minimum (NaN if either is NaN)", [Commutative]>;

//===----------------------------------------------------------------------===//
// Shape operations
//===----------------------------------------------------------------------===//

def Dlc_BroadcastOp : Dlc_Op<"broadcast", [Pure]> {
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

def Dlc_ReshapeOp : Dlc_Op<"reshape", [Pure]> {
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

def Dlc_TransposeOp : Dlc_Op<"transpose", [Pure,
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

//===----------------------------------------------------------------------===//
// Reductions and contractions
//===----------------------------------------------------------------------===//

def Dlc_ReduceOp : Dlc_Op<"reduce", [Pure,
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
}

def Dlc_DotOp : Dlc_Op<"dot", [Pure,
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

#endif // DLC_OPS_TD
